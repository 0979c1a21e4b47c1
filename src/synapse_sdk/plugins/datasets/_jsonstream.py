"""Stream the elements of a JSON document's top-level arrays without loading the document.

Used for COCO files: memory stays bounded by one element plus a 1 MiB read window, whatever the file size.
Elements are parsed with orjson; an element's end is found by trying the next closing bracket
(a prefix that parses is the element, because JSON brackets balance).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson

__all__ = ['JsonStreamError', 'iter_top_level_arrays', 'line_of']

_CHUNK = 1 << 20
_WS = re.compile(rb'[ \t\r\n]*')
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_DELIMITERS = frozenset(b' \t\r\n,]}')
_SEPARATOR = re.compile(rb'[ \t\r\n]*([,\]])[ \t\r\n]*')
_SCALAR = re.compile(rb'-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null')


class JsonStreamError(ValueError):
    """Malformed or truncated JSON at byte ``offset``."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


class _Window:
    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.buf = b''
        self.base = 0  # file offset of buf[0]
        self.pos = 0  # cursor inside buf
        self.eof = False

    def more(self) -> bool:
        """Drop what lies before the cursor and read the next chunk; False at end of file."""
        if self.eof:
            return False
        chunk = self.fh.read(_CHUNK)
        if not chunk:
            self.eof = True
            return False
        self.buf = self.buf[self.pos :] + chunk
        self.base += self.pos
        self.pos = 0
        return True

    def skip_ws(self) -> None:
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf) or not self.more():
                return

    def peek(self) -> int | None:
        self.skip_ws()
        return self.buf[self.pos] if self.pos < len(self.buf) else None

    def expect(self, char: bytes, what: str) -> None:
        if self.peek() != char[0]:
            raise self.error(f'expected {what}')
        self.pos += 1

    def error(self, message: str, at: int | None = None) -> JsonStreamError:
        offset = self.base + (self.pos if at is None else at)
        if self.peek() is None and at is None:
            return JsonStreamError(f'unexpected end of file (truncated JSON?): {message}', offset)
        return JsonStreamError(f'{message} at byte {offset}', offset)

    def regex(self, pattern: re.Pattern[bytes], what: str, *, delimited: bool = False) -> bytes:
        """Match ``pattern`` at the cursor, reading more while the token may continue in the next chunk.

        ``delimited`` tokens (numbers, literals) count as complete only when a delimiter follows them.
        """
        while True:
            match = pattern.match(self.buf, self.pos)
            if match and (self.eof or self._complete(match.end(), delimited)):
                self.pos = match.end()
                return match.group()
            if not self.more():
                if match:
                    self.pos = match.end()
                    return match.group()
                raise self.error(f'expected {what}')

    def _complete(self, end: int, delimited: bool) -> bool:
        if end >= len(self.buf):
            return False
        return not delimited or self.buf[end] in _DELIMITERS or len(self.buf) - end > 64

    def value(self) -> tuple[int, int, Any]:
        """Parse the value at the cursor: ``(file offset, length, value)``."""
        first = self.peek()
        if first is None:
            raise self.error('expected a value')
        if first == ord('"'):
            start = self.base + self.pos
            raw = self.regex(_STRING, 'a string')
            return start, len(raw), orjson.loads(raw)
        if first not in (ord('{'), ord('[')):
            start = self.base + self.pos
            raw = self.regex(_SCALAR, 'a value', delimited=True)
            return start, len(raw), orjson.loads(raw)
        return self._bracketed(b'}' if first == ord('{') else b']')

    def _bracketed(self, closer: bytes) -> tuple[int, int, Any]:
        search = self.pos + 1
        while True:
            end = self.buf.find(closer, search)
            if end < 0:
                search = len(self.buf) - self.pos
                if not self.more():
                    raise self.error('unterminated object or array (truncated JSON?)')
                continue
            view = memoryview(self.buf)[self.pos : end + 1]
            try:
                parsed = orjson.loads(view)
            except orjson.JSONDecodeError as exc:
                # orjson counts characters, not bytes, so its message tells "the input ended here" best
                if exc.pos < len(view) and not exc.msg.startswith(('unexpected end of data', 'EOF while parsing')):
                    raise self.error(f'malformed JSON: {exc.msg}', self.pos + exc.pos) from None
                search = end + 1
                continue
            start = self.base + self.pos
            self.pos = end + 1
            return start, end + 1 - (start - self.base), parsed


def iter_top_level_arrays(path: Path, wanted: frozenset[str]) -> Iterator[tuple[str, int, int, Any]]:
    """Yield ``(key, offset, length, element)`` for each element of the top-level arrays named in ``wanted``.

    Other keys are skipped. Raises :class:`JsonStreamError` with the byte offset on malformed or truncated input.
    """
    with open(path, 'rb') as fh:
        window = _Window(fh)
        window.expect(b'{', "'{' at the start of the document")
        if window.peek() == ord('}'):
            window.pos += 1
            return
        while True:
            key = orjson.loads(window.regex(_STRING, 'a key'))
            window.expect(b':', "':'")
            if key in wanted and window.peek() == ord('['):
                window.pos += 1
                yield from _elements(window, key)
            else:
                window.value()
            following = window.peek()
            if following == ord(','):
                window.pos += 1
                window.skip_ws()
                continue
            if following == ord('}'):
                return
            raise window.error("expected ',' or '}'")


def _elements(window: _Window, key: str) -> Iterator[tuple[str, int, int, Any]]:
    if window.peek() == ord(']'):
        window.pos += 1
        return
    while True:
        if window.buf[window.pos : window.pos + 1] == b'{':  # the common case: straight to the object
            offset, length, element = window._bracketed(b'}')
        else:
            offset, length, element = window.value()
        yield key, offset, length, element
        match = _SEPARATOR.match(window.buf, window.pos)
        if match is None or (match.end() == len(window.buf) and not window.eof):
            following = window.peek()  # slow path: the separator straddles the read window
            window.pos += 1
            if following == ord(']'):
                return
            if following != ord(','):
                window.pos -= 1
                raise window.error(f"expected ',' or ']' in '{key}'")
            window.skip_ws()
            continue
        window.pos = match.end()
        if match.group(1) == b']':
            return


def line_of(path: Path, offset: int) -> int:
    """1-based line number of byte ``offset`` in ``path``."""
    line = 1
    with open(path, 'rb') as fh:
        remaining = offset
        while remaining > 0:
            chunk = fh.read(min(_CHUNK, remaining))
            if not chunk:
                break
            line += chunk.count(b'\n')
            remaining -= len(chunk)
    return line
