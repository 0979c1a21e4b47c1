"""Image width and height from the file header only (no decoding): PNG, JPEG, BMP, WebP, GIF."""

from __future__ import annotations

import struct
from pathlib import Path

__all__ = ['image_size']

_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def image_size(path: Path) -> tuple[int, int] | None:
    """``(width, height)`` read from the header, or None when the file is missing or unreadable."""
    try:
        with open(path, 'rb') as fh:
            head = fh.read(32)
            if head.startswith(b'\x89PNG\r\n\x1a\n') and head[12:16] == b'IHDR':
                return _positive(*struct.unpack('>II', head[16:24]))
            if head[:2] == b'\xff\xd8':
                fh.seek(2)
                return _jpeg(fh)
            if head[:2] == b'BM' and len(head) >= 26:
                width, height = struct.unpack('<ii', head[18:26])
                return _positive(width, abs(height))
            if head[:4] == b'RIFF' and head[8:12] == b'WEBP':
                return _webp(head)
            if head[:6] in (b'GIF87a', b'GIF89a'):
                return _positive(*struct.unpack('<HH', head[6:10]))
    except (OSError, struct.error):
        return None
    return None


def _positive(width: int, height: int) -> tuple[int, int] | None:
    return (width, height) if width > 0 and height > 0 else None


def _jpeg(fh) -> tuple[int, int] | None:
    while True:
        byte = fh.read(1)
        while byte and byte != b'\xff':
            byte = fh.read(1)
        while byte == b'\xff':
            byte = fh.read(1)
        if not byte:
            return None
        marker = byte[0]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            continue
        length_bytes = fh.read(2)
        if len(length_bytes) < 2:
            return None
        (length,) = struct.unpack('>H', length_bytes)
        if marker in _JPEG_SOF:
            data = fh.read(5)
            if len(data) < 5:
                return None
            height, width = struct.unpack('>HH', data[1:5])
            return _positive(width, height)
        fh.seek(length - 2, 1)


def _webp(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b'VP8 ' and len(head) >= 30:
        width, height = struct.unpack('<HH', head[26:30])
        return _positive(width & 0x3FFF, height & 0x3FFF)
    if chunk == b'VP8L' and len(head) >= 25:
        bits = int.from_bytes(head[21:25], 'little')
        return _positive((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b'VP8X' and len(head) >= 30:
        return _positive(int.from_bytes(head[24:27], 'little') + 1, int.from_bytes(head[27:30], 'little') + 1)
    return None
