"""Stream the elements of a JSON document's top-level arrays without loading the document.

Used for COCO files: memory stays bounded by one element plus a 1 MiB read window, whatever the file size.
Elements are parsed with orjson; an element's end is found by trying the next closing bracket
(a prefix that parses is the element, because JSON brackets balance).

:func:`iter_top_level_batches` is the fast variant: it parses up to 16 KiB of consecutive elements with one
``orjson.loads``, cut at a ``}, {`` between two objects (a cut inside a string or a nested value cannot parse, so
a slice that parses ends at an element boundary). It gives no offset per element: callers that need one (to
report a line) use :func:`iter_top_level_arrays`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson

__all__ = [
    'JsonStreamError',
    'LineCounter',
    'element_offsets',
    'iter_top_level_arrays',
    'iter_top_level_batches',
    'iter_top_level_spans',
    'line_of',
]

_CHUNK = 1 << 20
_BATCH_CHUNK = 1 << 18  # read size of the batched stream: a read window costs ~3 of them at its peak
_BATCH = 1 << 14  # bytes per orjson.loads in iter_top_level_batches: small, so batches die young (cheap GC)
_TRIES = 4  # cuts tried per batch before taking one element the general way
_NEXT_OBJECT = re.compile(rb'[ \t\r\n]*,[ \t\r\n]*\{')
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
    def __init__(self, fh: BinaryIO, chunk: int = _CHUNK) -> None:
        self.fh = fh
        self.chunk = chunk
        self.buf = b''
        self.base = 0  # file offset of buf[0]
        self.pos = 0  # cursor inside buf
        self.eof = False

    def more(self) -> bool:
        """Drop what lies before the cursor and read the next chunk; False at end of file."""
        if self.eof:
            return False
        chunk = self.fh.read(self.chunk)
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

    def batch(self, size: int) -> tuple[list[Any], bytes] | None:
        """``(elements, JSON text)``: consecutive elements (objects) parsed with one ``orjson.loads``, and the
        text they were parsed from; None where no cut parses.

        The cursor is at an element; on success it moves past the last element of the batch.
        """
        while len(self.buf) - self.pos < size and self.more():
            pass
        end = min(len(self.buf), self.pos + size)
        tries = 0
        while tries < _TRIES:
            cut = self.buf.rfind(b'}', self.pos, end)
            if cut < 0:
                return None
            end = cut
            if _NEXT_OBJECT.match(self.buf, cut + 1) is None:
                continue
            doc = b'[' + self.buf[self.pos : cut + 1] + b']'
            try:
                elements = orjson.loads(doc)
            except orjson.JSONDecodeError as exc:
                if not exc.msg.startswith('unexpected content after document'):
                    tries += 1
                    continue
                # the array closed inside the slice: cut before the place it closed (orjson counts characters)
                closed = exc.pos if doc.isascii() else len(exc.doc[: exc.pos].encode())
                end = min(end, self.pos + closed - 1)
                continue
            self.pos = cut + 1
            return (elements, doc) if isinstance(elements, list) else None
        return None


def iter_top_level_arrays(path: Path, wanted: frozenset[str]) -> Iterator[tuple[str, int, int, Any]]:
    """Yield ``(key, offset, length, element)`` for each element of the top-level arrays named in ``wanted``.

    Other keys are skipped. Raises :class:`JsonStreamError` with the byte offset on malformed or truncated input.
    """
    for key, offset, length, elements, _ in _iter_arrays(path, wanted, 0):
        yield key, offset, length, elements[0]


def iter_top_level_batches(
    path: Path, wanted: frozenset[str], batch_bytes: int = _BATCH
) -> Iterator[tuple[str, list[Any], bytes | None]]:
    """Yield ``(key, elements, text)``: the elements of the top-level arrays named in ``wanted``, in order, in
    batches, with the JSON text a batch was parsed from (None for an element parsed alone).

    A batch holds the objects of at most ``batch_bytes`` of JSON (or one element, however large). Memory is
    bounded by one batch plus the read window (256 KiB reads). Raises :class:`JsonStreamError` on malformed or
    truncated input (its message may differ from :func:`iter_top_level_arrays`'s).
    """
    if batch_bytes < 1:
        raise ValueError(f'batch_bytes must be at least 1, got {batch_bytes}')
    for key, _, _, elements, text in _iter_arrays(path, wanted, batch_bytes):
        yield key, elements, text


def iter_top_level_spans(
    path: Path, wanted: frozenset[str], batch_bytes: int = _BATCH
) -> Iterator[tuple[str, int, int, list[Any]]]:
    """As :func:`iter_top_level_batches`, with where each batch lies: ``(key, offset, length, elements)`` (the
    bytes from the first element's first to the last element's last; ``[`` + them + ``]`` parses to ``elements``).
    """
    if batch_bytes < 1:
        raise ValueError(f'batch_bytes must be at least 1, got {batch_bytes}')
    for key, offset, length, elements, _ in _iter_arrays(path, wanted, batch_bytes):
        yield key, offset, length, elements


_Run = tuple[str, int, int, list[Any], bytes | None]  # key, offset, length, elements, the batch's JSON text


def _iter_arrays(path: Path, wanted: frozenset[str], batch: int) -> Iterator[_Run]:
    """The elements of the wanted arrays, ``batch`` bytes at a time (0: one by one, each with its offset)."""
    with open(path, 'rb') as fh:
        window = _Window(fh, _BATCH_CHUNK if batch else _CHUNK)
        window.expect(b'{', "'{' at the start of the document")
        if window.peek() == ord('}'):
            window.pos += 1
            return
        while True:
            key = orjson.loads(window.regex(_STRING, 'a key'))
            window.expect(b':', "':'")
            if key in wanted and window.peek() == ord('['):
                window.pos += 1
                yield from _elements(window, key, batch)
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


def _elements(window: _Window, key: str, batch: int) -> Iterator[_Run]:
    if window.peek() == ord(']'):
        window.pos += 1
        return
    while True:
        is_object = window.buf[window.pos : window.pos + 1] == b'{'
        start = window.base + window.pos
        parsed = window.batch(batch) if batch and is_object else None
        if parsed is not None:
            yield key, start, window.base + window.pos - start, *parsed
        else:
            if is_object:  # the common case: straight to the object
                offset, length, element = window._bracketed(b'}')
            else:
                offset, length, element = window.value()
            yield key, offset, length, [element], None
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


def element_offsets(path: Path, start: int, count: int) -> list[int]:
    """Byte offsets of the ``count`` consecutive array elements that begin at byte ``start`` (one read)."""
    offsets: list[int] = []
    with open(path, 'rb') as fh:
        fh.seek(start)
        window = _Window(fh)
        window.base = start
        for k in range(count):
            if k:
                window.expect(b',', "','")
            window.skip_ws()
            offsets.append(window.base + window.pos)
            window.value()
    return offsets


def line_of(path: Path, offset: int) -> int:
    """1-based line number of byte ``offset`` in ``path`` (many offsets of one file: :class:`LineCounter`)."""
    return LineCounter(path).line(offset)


class LineCounter:
    """1-based line numbers of byte offsets in one file: offsets asked for in increasing order cost one read of
    the file in all (each count goes on from the last), any other from the start."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset, self._line = 0, 1

    def line(self, offset: int) -> int:
        """Line of byte ``offset``."""
        if offset < self._offset:
            self._offset, self._line = 0, 1
        line, remaining = self._line, offset - self._offset
        with open(self.path, 'rb') as fh:
            fh.seek(self._offset)
            while remaining > 0:
                chunk = fh.read(min(_CHUNK, remaining))
                if not chunk:
                    break
                line += chunk.count(b'\n')
                remaining -= len(chunk)
        self._offset, self._line = offset - remaining, line
        return line
