"""``logs/``: one entry or a list, written in one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Request
from pydantic import Field, TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import select

from synapse_sdk.local.errors import validation_body
from synapse_sdk.local.filters import FilterField, build_clauses, parse_int, parse_str, query_multi
from synapse_sdk.local.models import Job, LogEntry
from synapse_sdk.local.pagination import RESERVED_PARAMS, each, paginate
from synapse_sdk.local.routers._common import DbInt, StrictBody
from synapse_sdk.local.state import State
from synapse_sdk.local.views import LOGS

router = APIRouter()

_LOG_FILTERS = {
    'job': FilterField(LogEntry.job_id, parse_int, nullable=True),
    'event': FilterField(LogEntry.event, parse_str),
    'step': FilterField(LogEntry.step, parse_str, nullable=True),
    'level': FilterField(LogEntry.level, parse_str, nullable=True),
}


class LogIn(StrictBody):
    event: str = Field(min_length=1, max_length=200)
    data: dict[str, Any] = Field(default_factory=dict)
    datetime: datetime
    job: DbInt | None = None
    step: str | None = None
    level: str | None = None
    file: str | None = Field(default=None, pattern=r'^data:[^;,]*(;[^,]*)?,')


def log_out(row: LogEntry) -> dict[str, Any]:
    return {
        'id': row.id,
        'event': row.event,
        'data': row.data,
        'datetime': row.datetime,
        'job': row.job_id,
        'step': row.step,
        'level': row.level,
        'file': row.file,
    }


_ONE = TypeAdapter(LogIn)
_MANY = TypeAdapter(list[LogIn])


def parse_entries(body: Any) -> list[LogIn]:
    """One entry or a list; errors name the field path (``logs[0].datetime``, or ``datetime`` for one)."""
    if not isinstance(body, dict | list):
        raise HTTPException(400, 'body: expected a log entry object or a list of them')
    try:
        return _MANY.validate_python(body) if isinstance(body, list) else [_ONE.validate_python(body)]
    except PydanticValidationError as exc:
        root = 'logs' if isinstance(body, list) else ''
        raise HTTPException(400, validation_body(exc.errors(include_url=False), root)) from None


@router.post('/logs/', status_code=201)
def create_logs(body: Annotated[Any, Body()], state: State) -> dict[str, Any]:
    entries = parse_entries(body)
    with state.db.write() as session:
        jobs = {e.job for e in entries if e.job is not None}
        found = set(session.scalars(select(Job.id).where(Job.id.in_(jobs)))) if jobs else set()
        if jobs - found:
            raise HTTPException(400, f'job: job {min(jobs - found)} does not exist')
        rows = [
            LogEntry(
                job_id=e.job,
                event=e.event,
                data=e.data,
                datetime=e.datetime.isoformat(),
                step=e.step,
                level=e.level,
                file=e.file,
            )
            for e in entries
        ]
        session.add_all(rows)
    return {'count': len(rows)}


@router.get('/logs/')
def list_logs(request: Request, state: State) -> dict[str, Any]:
    clauses = build_clauses(query_multi(request.query_params), _LOG_FILTERS, RESERVED_PARAMS)
    with state.db.read() as session:
        return paginate(request, state, session, select(LogEntry).where(*clauses), each(log_out), LOGS)
