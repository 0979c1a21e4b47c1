"""Error bodies: ``{"detail": ...}`` everywhere, request validation as 400 naming each field."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = ['field_path', 'install_error_handlers', 'validation_body']

logger = logging.getLogger('synapse_sdk.local')

_LOC_PREFIXES = ('body', 'query', 'path', 'header', 'form')


def field_path(loc: Sequence[Any], root: str = '') -> str:
    """``('files', 0, 'name')`` → ``files[0].name``; ``root`` names a body that is a list (``logs[0].x``)."""
    path = root
    for part in loc:
        if isinstance(part, int):
            path += f'[{part}]'
        else:
            path += f'.{part}' if path else str(part)
    return path


def validation_body(errors: Sequence[Any], root: str = '') -> dict[str, Any]:
    """``{"detail": "field: message; ...", "errors": {"field": ["message"]}}`` from pydantic errors."""
    fields: dict[str, list[str]] = {}
    for error in errors:
        loc = list(error.get('loc', ()))
        if loc and loc[0] in _LOC_PREFIXES:
            loc = loc[1:]
        name = field_path(loc, root) or 'body'
        message = str(error.get('msg', 'invalid'))
        if error.get('type') == 'json_invalid':
            name, message = 'body', 'Malformed JSON'
        fields.setdefault(name, []).append(message)
    detail = '; '.join(f'{name}: {", ".join(msgs)}' for name, msgs in fields.items())
    return {'detail': detail, 'errors': fields}


def install_error_handlers(app: FastAPI) -> None:
    async def on_validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_body(list(exc.errors())), status_code=400)

    async def on_http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        body = exc.detail if isinstance(exc.detail, dict) else {'detail': exc.detail}
        return JSONResponse(body, status_code=exc.status_code, headers=getattr(exc, 'headers', None))

    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        logger.error('Unhandled error on %s %s: %s', request.method, request.url.path, type(exc).__name__)
        return JSONResponse({'detail': 'Internal server error'}, status_code=500)

    app.add_exception_handler(RequestValidationError, on_validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, on_http)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, on_crash)
