"""The JSON response of the hot endpoints: orjson when installed (about 8x faster), else the stdlib."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse

__all__ = ['FastJSONResponse']

try:
    import orjson
except ImportError:  # the stdlib renders the same JSON, only slower
    orjson = None  # type: ignore[assignment]


def _stdlib(content: Any) -> bytes:
    return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(',', ':')).encode()


class FastJSONResponse(JSONResponse):
    """Compact UTF-8 JSON like Starlette's ``JSONResponse`` (NaN and infinities render as null with orjson)."""

    def render(self, content: Any) -> bytes:
        if orjson is not None:
            try:
                return orjson.dumps(content)
            except TypeError:  # e.g. an integer beyond 64 bits, which the stdlib encodes
                pass
        return _stdlib(content)
