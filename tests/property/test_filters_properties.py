"""Filter value parsing (property tests)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from synapse_sdk.clients.base.call import encode_params
from synapse_sdk.local.filters import parse_datetime


@given(st.dates())
def test_a_bare_date_means_midnight(day: date) -> None:
    assert parse_datetime(day.isoformat()) == datetime.combine(day, datetime.min.time())


@given(
    st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(9999, 12, 30)),
    st.integers(min_value=-12 * 60, max_value=14 * 60),
)
def test_aware_datetimes_become_naive_utc(moment: datetime, offset_minutes: int) -> None:
    aware = moment.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    assert parse_datetime(aware.isoformat()) == aware.astimezone(UTC).replace(tzinfo=None)


@given(st.lists(st.text(alphabet='abcxyz_', min_size=1), min_size=1))
def test_list_filters_round_trip_through_the_wire_form(values: list[str]) -> None:
    assert encode_params({'status__in': values})['status__in'].split(',') == values
