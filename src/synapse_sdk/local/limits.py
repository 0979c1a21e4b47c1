"""Refuse request bodies above a size limit with 413, before or while they stream in.

Two limits: file uploads (``multipart/form-data`` sent to a route that takes a form, such as
``data_files/``) get the large upload limit; every other body (JSON above all) gets a much smaller
one, so that a huge JSON document is refused before it is buffered and parsed. Both are enforced
from ``Content-Length`` at once and, for chunked bodies without one, while the body streams in.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from starlette.exceptions import HTTPException

__all__ = ['DEFAULT_MAX_JSON_BYTES', 'BodySizeLimit', 'form_route_matcher', 'json_too_large_detail', 'too_large_detail']

Scope = dict[str, Any]

#: 16 MiB; override with ``create_app(max_json_bytes=...)`` or ``synapse local serve --max-json-bytes``.
DEFAULT_MAX_JSON_BYTES = 16 << 20


def _size(n: int) -> str:
    for unit, shift in (('GiB', 30), ('MiB', 20), ('KiB', 10)):
        if n >= 1 << shift:
            return f'{n / (1 << shift):g} {unit}'
    return f'{n} B'


def too_large_detail(max_bytes: int) -> str:
    return f'Request body too large: the limit is {max_bytes} bytes'


def json_too_large_detail(max_json_bytes: int, max_upload_bytes: int) -> str:
    """The 413 detail of a non-upload body; it names both limits when they differ."""
    if max_json_bytes >= max_upload_bytes:
        return too_large_detail(max_json_bytes)
    return (
        f'{too_large_detail(max_json_bytes)} ({_size(max_json_bytes)}) for JSON and other non-file bodies '
        f'(`synapse local serve --max-json-bytes` sets it); file uploads (multipart/form-data) may be up to '
        f'{max_upload_bytes} bytes ({_size(max_upload_bytes)})'
    )


class _TooLarge(HTTPException):
    """Raised from ``receive`` once a streamed body passes the limit.

    It is an ``HTTPException`` so that FastAPI's body parsing (JSON and multipart alike) re-raises
    it to the app's handler, which answers 413 instead of "There was an error parsing the body".
    """

    def __init__(self, detail: str) -> None:
        super().__init__(413, detail)


def form_route_matcher(routes: Callable[[], Sequence[Any]]) -> Callable[[Scope], bool]:
    """``matcher(scope)``: whether the request goes to a route whose body is a form (a file upload route).

    ``routes()`` gives the app's routes; they are read on first use, once every router is included.
    """
    from fastapi import params
    from fastapi.routing import APIRoute
    from starlette.routing import Match

    def form_routes(candidates: Sequence[Any]) -> Iterator[APIRoute]:
        for route in candidates:
            if isinstance(route, APIRoute):
                if route.body_field is not None and isinstance(route.body_field.field_info, params.Form):
                    yield route
            else:  # newer FastAPI keeps an included router as one entry (without a prefix here)
                yield from form_routes(getattr(getattr(route, 'original_router', None), 'routes', ()))

    found: list[APIRoute] | None = None

    def matches(scope: Scope) -> bool:
        nonlocal found
        if found is None:
            found = list(form_routes(routes()))
        return any(route.matches(scope)[0] is Match.FULL for route in found)

    return matches


def _is_multipart(scope: Scope) -> bool:
    for name, value in scope.get('headers') or ():
        if name == b'content-type':
            return bool(value.lower().startswith(b'multipart/form-data'))
    return False


class BodySizeLimit:
    """ASGI middleware: a body over its limit gets 413, from ``Content-Length`` at once or while it streams.

    ``max_bytes`` is the upload limit; ``max_json_bytes`` (default: the same) applies to every body that is
    not a ``multipart/form-data`` request to a route ``is_upload`` accepts.
    """

    def __init__(
        self,
        app: Any,
        max_bytes: int,
        *,
        max_json_bytes: int | None = None,
        is_upload: Callable[[Scope], bool] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_json_bytes = max_bytes if max_json_bytes is None else min(max_json_bytes, max_bytes)
        self._is_upload = is_upload or (lambda _scope: True)

    def limit_for(self, scope: Scope) -> tuple[int, str]:
        """``(limit, 413 detail)`` for a request."""
        if self.max_json_bytes == self.max_bytes or (_is_multipart(scope) and self._is_upload(scope)):
            return self.max_bytes, too_large_detail(self.max_bytes)
        return self.max_json_bytes, json_too_large_detail(self.max_json_bytes, self.max_bytes)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return
        limit, detail = self.limit_for(scope)
        declared = dict(scope.get('headers') or []).get(b'content-length')
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, detail)
            return
        seen = 0
        started = False

        async def limited_receive() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message['type'] == 'http.request':
                seen += len(message.get('body', b''))
                if seen > limit:
                    raise _TooLarge(detail)
            return message

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            if message['type'] == 'http.response.start':
                started = True
                if seen > limit:  # the rest of the body is never read: the connection cannot serve another request
                    message = {**message, 'headers': [*message.get('headers', ()), (b'connection', b'close')]}
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:  # raised where no handler turned it into a response
            if not started:
                await _refuse(send, detail)


async def _refuse(send: Any, detail: str) -> None:
    body = json.dumps({'detail': detail}).encode()
    headers = [
        (b'content-type', b'application/json'),
        (b'content-length', str(len(body)).encode()),
        (b'connection', b'close'),  # the rest of the body is never read
    ]
    await send({'type': 'http.response.start', 'status': 413, 'headers': headers})
    await send({'type': 'http.response.body', 'body': body})
