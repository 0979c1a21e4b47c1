"""Mask encodings: DM ``raw_indices`` / ``dm_rle`` (row-major) and COCO RLE (column-major, list or string)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    'coco_counts_from_rows',
    'coco_string_from_counts',
    'counts_from_coco_string',
    'dm_rle_from_rows',
    'rows_from_coco_counts',
    'rows_from_dm_mask',
]


def counts_from_coco_string(text: str) -> list[int]:
    """Decode COCO's compressed RLE string into run lengths."""
    counts: list[int] = []
    position = 0
    data = text.encode('ascii')
    while position < len(data):
        value = 0
        shift = 0
        more = True
        while more:
            if position >= len(data):
                raise ValueError('compressed RLE string ends in the middle of a value')
            char = data[position] - 48
            value |= (char & 0x1F) << shift
            more = bool(char & 0x20)
            position += 1
            shift += 5
            if not more and char & 0x10:
                value |= -1 << shift
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value)
    if any(c < 0 for c in counts):
        raise ValueError('compressed RLE string decodes to a negative run')
    return counts


def coco_string_from_counts(counts: Sequence[int]) -> str:
    """Encode run lengths as COCO's compressed RLE string."""
    out = bytearray()
    for i, count in enumerate(counts):
        value = count - counts[i - 2] if i > 2 else count
        more = True
        while more:
            char = value & 0x1F
            value >>= 5
            more = value != -1 if char & 0x10 else value != 0
            if more:
                char |= 0x20
            out.append(char + 48)
    return out.decode('ascii')


def _runs(sorted_indices: Iterable[int], total: int) -> list[int]:
    counts: list[int] = []
    position = 0  # first pixel not yet covered by a run
    run_start = previous = -1
    for index in sorted_indices:
        if previous >= 0 and index == previous + 1:
            previous = index
            continue
        if previous >= 0:
            counts.append(previous + 1 - run_start)
            position = previous + 1
        counts.append(index - position)
        run_start = previous = index
    if previous >= 0:
        counts.append(previous + 1 - run_start)
        position = previous + 1
    if position < total:
        counts.append(total - position)
    return counts or [total]


def _indices(counts: Sequence[int]) -> list[int]:
    indices: list[int] = []
    position = 0
    for i, count in enumerate(counts):
        if i % 2:
            indices.extend(range(position, position + count))
        position += count
    return indices


def rows_from_dm_mask(mask: dict[str, Any]) -> tuple[list[int], int, int]:
    """Row-major foreground indices, height and width of a DM ``segmentation`` ``data``."""
    height, width = mask['size']
    if mask['encoding'] == 'raw_indices':
        return sorted(set(mask['indices'])), height, width
    return _indices(mask['counts']), height, width


def dm_rle_from_rows(rows: Sequence[int], height: int, width: int) -> dict[str, Any]:
    """A DM ``dm_rle`` mask from sorted row-major indices."""
    return {'encoding': 'dm_rle', 'size': [height, width], 'counts': _runs(rows, height * width)}


def coco_counts_from_rows(rows: Iterable[int], height: int, width: int) -> list[int]:
    """COCO (column-major) run lengths from row-major indices."""
    columns = sorted((index % width) * height + index // width for index in rows)
    return _runs(columns, height * width)


def rows_from_coco_counts(counts: Sequence[int], height: int, width: int) -> list[int]:
    """Sorted row-major indices from COCO (column-major) run lengths."""
    if sum(counts) > height * width:
        raise ValueError('RLE counts cover more pixels than size [h, w]')
    return sorted((index % height) * width + index // height for index in _indices(counts))
