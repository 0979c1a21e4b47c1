"""Refuse request bodies above a size limit with 413, before or while they stream in."""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException

__all__ = ['BodySizeLimit', 'too_large_detail']

Scope = dict[str, Any]


def too_large_detail(max_bytes: int) -> str:
    return f'Request body too large: the limit is {max_bytes} bytes'


class _TooLarge(HTTPException):
    """Raised from ``receive`` once a streamed body passes the limit.

    It is an ``HTTPException`` so that FastAPI's body parsing (JSON and multipart alike) re-raises
    it to the app's handler, which answers 413 instead of "There was an error parsing the body".
    """

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, too_large_detail(max_bytes))


class BodySizeLimit:
    """ASGI middleware: ``Content-Length`` over the limit → 413 at once; a longer stream → 413 too."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get('headers') or []).get(b'content-length')
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        seen = 0
        started = False

        async def limited_receive() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message['type'] == 'http.request':
                seen += len(message.get('body', b''))
                if seen > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            if message['type'] == 'http.response.start':
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:  # raised where no handler turned it into a response
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Any) -> None:
        body = json.dumps({'detail': too_large_detail(self.max_bytes)}).encode()
        headers = [(b'content-type', b'application/json'), (b'content-length', str(len(body)).encode())]
        await send({'type': 'http.response.start', 'status': 413, 'headers': headers})
        await send({'type': 'http.response.body', 'body': body})
