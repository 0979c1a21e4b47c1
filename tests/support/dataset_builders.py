"""Small on-disk datasets for the dataset tests (real files, real headers)."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any


def png_bytes(width: int, height: int) -> bytes:
    """A valid PNG (black, RGB) of the given size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = (b'\x00' + b'\x00' * width * 3) * height
    header = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) + chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b'')


def write_png(path: Path, width: int, height: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(width, height))
    return path


def write_png_header(path: Path, width: int, height: int) -> Path:
    """A PNG of any size that holds only its header (enough for header-only size reading)."""
    header = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
    crc = struct.pack('>I', zlib.crc32(b'IHDR' + header) & 0xFFFFFFFF)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'\x89PNG\r\n\x1a\n' + struct.pack('>I', 13) + b'IHDR' + header + crc)
    return path


def box(aid: str, name: str, data: list[float], attrs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {'id': aid, 'classification': name, 'attrs': attrs or [], 'data': data}


def write_dm_item(folder: Path, stem: str, entry: dict[str, Any], size: tuple[int, int] = (200, 100)) -> None:
    """One DM v2 JSON + its PNG under ``folder/{json,original_files}``."""
    (folder / 'json').mkdir(parents=True, exist_ok=True)
    classification = {tool: sorted({a['classification'] for a in anns}) for tool, anns in entry.items()}
    document = {'classification': classification, 'images': [entry]}
    (folder / 'json' / f'{stem}.json').write_text(json.dumps(document), encoding='utf-8')
    write_png(folder / 'original_files' / f'{stem}.png', *size)


def write_yolo(
    root: Path, labels: dict[str, str], size: tuple[int, int], names: list[str] | None = None, **yaml_extra: Any
) -> Path:
    """A flat YOLO dataset: ``labels`` maps stem → label text."""
    for stem, text in labels.items():
        write_png(root / 'images' / f'{stem}.png', *size)
        (root / 'labels').mkdir(parents=True, exist_ok=True)
        (root / 'labels' / f'{stem}.txt').write_text(text, encoding='utf-8')
    if names is not None:
        import yaml

        config = {'path': str(root), 'train': 'images', 'val': 'images', 'nc': len(names), 'names': names, **yaml_extra}
        (root / 'dataset.yaml').write_text(yaml.safe_dump(config), encoding='utf-8')
    return root


def write_coco(root: Path, document: dict[str, Any], sizes: dict[str, tuple[int, int]] | None = None) -> Path:
    """``root/annotations.json`` plus a PNG for every image entry."""
    root.mkdir(parents=True, exist_ok=True)
    for image in document.get('images', []):
        name = image['file_name']
        if sizes is not None and name not in sizes:
            continue
        if '..' in name or name.startswith('/'):
            continue
        write_png(root / name, image['width'], image['height'])
    (root / 'annotations.json').write_text(json.dumps(document), encoding='utf-8')
    return root


def read_dm(root: Path) -> dict[str, dict[str, Any]]:
    """``{stem: images[0]}`` of every DM v2 JSON under ``root`` (any split)."""
    return {p.stem: json.loads(p.read_text())['images'][0] for p in sorted(root.rglob('json/*.json'))}
