"""The base of every resource namespace, and the shared response parsers."""

from __future__ import annotations

from typing import Any, Protocol

from synapse_sdk.clients.base.call import Call, Parser
from synapse_sdk.exceptions import ClientError

__all__ = ['Executor', 'Reply', 'Resource', 'as_list', 'as_object', 'list_call']

#: What a resource method returns: the parsed value from the sync client, an awaitable of it from the async one.
Reply = Any

PAGE_SIZE = 100


class Executor(Protocol):
    """The part of a client shell a resource uses (``HTTPClient`` or ``AsyncHTTPClient``)."""

    base_url: str

    def _call(self, call: Call, parse: Parser) -> Any: ...

    def _list(self, call: Call, *, list_all: bool = False) -> Any: ...

    def _run(self, flow: Any) -> Any: ...


class Resource:
    """A namespace such as ``client.tasks``: builds calls, leaves I/O to the shell it belongs to."""

    def __init__(self, client: Executor) -> None:
        self._client = client


def as_object(what: str) -> Parser:
    def parse(body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ClientError(200, f'Invalid {what} response: expected a JSON object')
        return body

    return parse


def as_list(body: Any) -> Any:
    return body


def list_call(path: str, params: dict[str, Any] | None = None) -> Call:
    """A first-page GET with ``page_size=100`` unless the caller chose one."""
    from synapse_sdk.clients.base.call import encode_params

    query = {'page_size': PAGE_SIZE, **(params or {})}
    return Call('GET', path, params=encode_params(query))
