"""Backend clients a test makes and the suite closes after it (``make_client`` + the ``close_clients`` fixture)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from synapse_sdk.clients import BackendClient, RetryPolicy

_OPEN: list[BackendClient] = []


def make_client(base_url: str, token: str, *, attempts: int = 3, max_backoff: float = 0.05) -> BackendClient:
    """A client with fast retries; closed after the test by :func:`close_clients`."""
    client = BackendClient(base_url, token, retry=RetryPolicy(attempts=attempts, backoff=0.01, max_backoff=max_backoff))
    _OPEN.append(client)
    return client


@pytest.fixture(autouse=True)
def close_clients() -> Iterator[None]:
    """Close every client :func:`make_client` made during the test (import it into a conftest)."""
    yield
    while _OPEN:
        _OPEN.pop().close()
