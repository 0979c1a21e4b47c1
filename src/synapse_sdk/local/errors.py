"""Error bodies: ``{"detail": ...}`` everywhere, request validation as 400 naming each field."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = ['install_error_handlers', 'validation_body']

logger = logging.getLogger('synapse_sdk.local')

_LOC_PREFIXES = ('body', 'query', 'path', 'header', 'form')


def validation_body(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"detail": "field: message; ...", "errors": {"field": ["message"]}}`` from pydantic errors."""
    fields: dict[str, list[str]] = {}
    for error in errors:
        loc = [str(part) for part in error.get('loc', ())]
        if loc and loc[0] in _LOC_PREFIXES:
            loc = loc[1:]
        name = '.'.join(loc) or 'body'
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
