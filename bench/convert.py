"""Converter throughput: COCO -> YOLO and YOLO -> COCO on 5,000 images / 50,000 boxes, beside Datumaro.

Also the load time and peak RSS of reading a 100k-annotation COCO file, beside json / orjson / pycocotools:
ours with the fast (batched) index and with the general one (``fast=False``, the code before the fast path).

    .venv/bin/python bench/convert.py                         # ours + plain-Python baseline (+ Datumaro if importable)
    /tmp/synapse-bench-venv/bin/python bench/convert.py       # a venv with '.[datasets,bench]' adds Datumaro
    .venv/bin/python bench/convert.py --load-only --repeat 5  # only the COCO load figures
    .venv/bin/python bench/convert.py --load-only --polygons  # the same, each annotation with a polygon

Every figure is measured in this run, on the same generated data; the median of ``--repeat`` runs is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

SIZES = [(640, 480), (800, 600), (1024, 768), (320, 240)]


def png_bytes(width: int, height: int) -> bytes:
    """A small valid PNG (black RGB) whose size is in its header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = (b'\x00' + b'\x00' * width * 3) * height
    header = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) + chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b'')


def make_coco(
    root: Path, images: int, boxes_per_image: int, *, seed: int = 0, write_images: bool = True, polygons: bool = False
) -> Path:
    """``root/annotations.json`` + ``root/img_<i>.png`` with ``images * boxes_per_image`` boxes over 3 classes;
    with ``polygons``, each annotation also holds a polygon of 3 to 8 points inside its box (hundredths of a px)."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    blobs = {size: png_bytes(*size) for size in SIZES}
    doc_images, annotations = [], []
    for i in range(1, images + 1):
        width, height = SIZES[i % len(SIZES)]
        name = f'img_{i:06d}.png'
        doc_images.append({'id': i, 'file_name': name, 'width': width, 'height': height})
        if write_images:
            (root / name).write_bytes(blobs[(width, height)])
        for _ in range(boxes_per_image):
            w, h = rng.randint(8, width // 3), rng.randint(8, height // 3)
            x, y = rng.randint(0, width - w), rng.randint(0, height - h)
            annotations.append(
                {
                    'id': len(annotations) + 1,
                    'image_id': i,
                    'category_id': rng.randint(1, 3),
                    'bbox': [x, y, w, h],
                    'area': w * h,
                    'iscrowd': 0,
                    'segmentation': [_polygon(rng, x, y, w, h)] if polygons else [],
                }
            )
    categories = [{'id': k, 'name': name, 'supercategory': ''} for k, name in enumerate(['car', 'person', 'bike'], 1)]
    document = {'images': doc_images, 'annotations': annotations, 'categories': categories}
    (root / 'annotations.json').write_text(json.dumps(document))
    return root


def _polygon(rng: random.Random, x: int, y: int, w: int, h: int) -> list[float]:
    """3 to 8 points inside the box ``x, y, w, h``, flat, rounded to 2 decimals (what annotation tools write)."""
    flat: list[float] = []
    for _ in range(rng.randint(3, 8)):
        flat += [round(x + rng.random() * w, 2), round(y + rng.random() * h, 2)]
    return flat


def timed(work: Callable[[Path], object], out: Path, *, delete: bool) -> float:
    """Seconds of one call of ``work(out)``, ``out`` a folder that does not exist yet.

    With ``delete`` the output is removed (untimed) right after the call, as the first version of this script did.
    On this machine's ext4 (no journal) that makes the *next* candidate's file creates slow: for a minute or more
    the allocator skips the inodes just freed (bench/RESULTS.md). By default outputs stay until the end of the run,
    so that every candidate creates its files on a file system in the state a user's conversion finds it.
    """
    start = time.perf_counter()
    work(out)
    seconds = time.perf_counter() - start
    if delete:
        shutil.rmtree(out, ignore_errors=True)
    return seconds


def ours(source: str, target: str, src: Path, images: str) -> Callable[[Path], object]:
    from synapse_sdk.plugins.datasets import get_converter

    converter = get_converter(source, target, images=images)
    return lambda out: converter.convert(src, out)


def plain_coco_to_yolo(src: Path) -> Callable[[Path], object]:
    """The obvious hand-written converter: json.load, group by image, write rows, copy images."""

    def run(out: Path) -> None:
        document = json.loads((src / 'annotations.json').read_text())
        names = {c['id']: i for i, c in enumerate(sorted(document['categories'], key=lambda c: c['id']))}
        by_image: dict[int, list[dict]] = {}
        for ann in document['annotations']:
            by_image.setdefault(ann['image_id'], []).append(ann)
        (out / 'images').mkdir(parents=True)
        (out / 'labels').mkdir()
        for image in document['images']:
            w, h = image['width'], image['height']
            rows = []
            for ann in by_image.get(image['id'], []):
                x, y, bw, bh = ann['bbox']
                cx, cy = (x + bw / 2) / w, (y + bh / 2) / h
                rows.append(f'{names[ann["category_id"]]} {cx:.6f} {cy:.6f} {bw / w:.6f} {bh / h:.6f}')
            stem = os.path.splitext(image['file_name'])[0]
            (out / 'labels' / f'{stem}.txt').write_text('\n'.join(rows) + '\n')
            shutil.copyfile(src / image['file_name'], out / 'images' / image['file_name'])

    return run


def datumaro_layout(src: Path, dest: Path) -> Path:
    """The same COCO data in Datumaro's layout (``annotations/instances_default.json``, ``images/default/``)."""
    (dest / 'annotations').mkdir(parents=True)
    (dest / 'images' / 'default').mkdir(parents=True)
    shutil.copyfile(src / 'annotations.json', dest / 'annotations' / 'instances_default.json')
    for path in src.glob('*.png'):
        os.link(path, dest / 'images' / 'default' / path.name)
    return dest


def datumaro_convert(source: str, target: str, src: Path) -> Callable[[Path], object]:
    from datumaro.components.dataset import Dataset

    def run(out: Path) -> None:
        Dataset.import_from(str(src), source).export(str(out), target, save_media=True)

    return run


#: loaders of the COCO load figures; ``ours`` reads every item and converts it to DM v2, the others only parse
LOADERS = ('ours (fast index)', 'ours (general index, before)', 'orjson.loads', 'json.load', 'pycocotools COCO()')


def rss_probe(kind: str, path: Path) -> tuple[float, float, float, int]:
    """``(import s, load s, peak RSS MiB, annotations)`` of loading ``path`` with ``kind``, in a fresh process.

    The load is timed after the imports (ours imports pydantic and the SDK, orjson a few milliseconds); the peak
    RSS is VmHWM above a bare interpreter and includes what the imports hold.
    """
    code = f"""
import time, sys
from pathlib import Path
path = Path({str(path)!r})
kind = {kind!r}
start = time.perf_counter()
if kind.startswith('ours'):
    from synapse_sdk.plugins.datasets.readers.coco import COCOReader
    from synapse_sdk.plugins.datasets.options import ConvertOptions
    from synapse_sdk.plugins.datasets.report import ReportBuilder
    imported = time.perf_counter()
    reader = COCOReader(path.parent, ReportBuilder('coco'), ConvertOptions(), fast='general' not in kind)
    n = sum(item.count() for item in reader)
elif kind == 'json.load':
    import json
    imported = time.perf_counter()
    with open(path, encoding='utf-8') as fh:
        n = len(json.load(fh)['annotations'])
elif kind == 'orjson.loads':
    import orjson
    imported = time.perf_counter()
    n = len(orjson.loads(path.read_bytes())['annotations'])
else:
    import io, contextlib
    from pycocotools.coco import COCO
    imported = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        n = len(COCO(str(path)).anns)
end = time.perf_counter()
hwm = next(line for line in open('/proc/self/status') if line.startswith('VmHWM'))
print(imported - start, end - imported, int(hwm.split()[1]) / 1024, n)
"""
    # VmHWM, not ru_maxrss: ru_maxrss survives exec, so a child would report this (big) parent's peak
    bare = "print(int(next(x for x in open('/proc/self/status') if x.startswith('VmHWM')).split()[1]) / 1024)"
    baseline = subprocess.run([sys.executable, '-c', bare], capture_output=True, text=True, check=True)
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    imported, seconds, rss, count = out.stdout.split()
    return float(imported), float(seconds), float(rss) - float(baseline.stdout), int(count)


def coco_load(scratch: Path, annotations: int, repeat: int, *, polygons: bool = False) -> None:
    """Load time and peak RSS of each of :data:`LOADERS` on one generated file; medians of ``repeat`` rounds."""
    big = make_coco(scratch / 'big', annotations // 10, 10, seed=1, write_images=False, polygons=polygons)
    blank = big / 'blank.png'
    blank.write_bytes(png_bytes(4, 4))
    for image in json.loads((big / 'annotations.json').read_text())['images']:
        os.link(blank, big / image['file_name'])
    size_mib = (big / 'annotations.json').stat().st_size / 2**20
    kind = 'box + polygon' if polygons else 'box-only'
    print(
        f'\n{annotations} {kind} annotations, annotations.json {size_mib:.1f} MiB; median of {repeat}, fresh processes:'
    )
    samples: dict[str, list[tuple[float, float, float, int]]] = {kind: [] for kind in LOADERS}
    for r in range(repeat):  # round-robin, order shuffled per round, as above
        order = list(LOADERS)
        random.Random(r).shuffle(order)
        for kind in order:
            samples[kind].append(rss_probe(kind, big / 'annotations.json'))
    print(f'{"loader":30s} {"load s":>7s} {"import s":>8s} {"peak MiB":>9s}  (peak: VmHWM above a bare interpreter)')
    medians = {}
    for kind, runs in samples.items():
        imported, seconds, rss = (statistics.median(run[k] for run in runs) for k in range(3))
        counts = {run[3] for run in runs}
        if counts != {annotations}:
            raise SystemExit(f'{kind} read {counts} annotations, expected {annotations}')
        medians[kind] = (seconds, rss)
        print(f'{kind:30s} {seconds:7.3f} {imported:8.3f} {rss:9.1f}')
    fast, peer = medians['ours (fast index)'], medians['orjson.loads']
    print(
        f'ours (fast) / orjson.loads: time {fast[0] / peer[0]:.2f}x (target <= 1), '
        f'peak {fast[1] / peer[1]:.2f}x (target <= 0.33)'
    )
    # the same round's two figures side by side: a ratio that holds while the machine's speed drifts
    ratios = sorted(a[1] / b[1] for a, b in zip(samples['ours (fast index)'], samples['orjson.loads'], strict=True))
    print(
        f'per round, ours (fast) / orjson.loads time: median {statistics.median(ratios):.2f}x '
        f'(min {ratios[0]:.2f}x, max {ratios[-1]:.2f}x, {len(ratios)} rounds)'
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--images', type=int, default=5000)
    parser.add_argument('--boxes', type=int, default=10, help='boxes per image')
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--rss-annotations', type=int, default=100_000)
    parser.add_argument('--load-only', action='store_true', help='only the COCO load figures (time, peak RSS)')
    parser.add_argument('--polygons', action='store_true', help='the COCO load figures of a file with polygons')
    parser.add_argument(
        '--scratch',
        type=Path,
        default=None,
        help='where data and outputs go (default: the system temp folder); see bench/RESULTS.md on why it matters',
    )
    parser.add_argument(
        '--delete-between',
        action='store_true',
        help='remove each output right after its call (slows the next creates on ext4 without a journal)',
    )
    args = parser.parse_args()
    total = args.images * args.boxes
    if args.scratch is not None:
        args.scratch.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix='synapse-bench-', dir=args.scratch))
    print(f'scratch folder: {scratch} (--scratch; every candidate reads and writes there)')
    try:
        if args.load_only:
            coco_load(scratch, args.rss_annotations, args.repeat, polygons=args.polygons)
            return
        coco = make_coco(scratch / 'coco', args.images, args.boxes)
        yolo = scratch / 'yolo'
        ours('coco', 'yolo', coco, 'copy')(yolo)
        print(f'data: {args.images} images, {total} boxes; median of {args.repeat}; python {sys.version.split()[0]}')
        works: list[tuple[str, Callable[[Path], object]]] = [
            ('ours COCO->YOLO (images copied)', ours('coco', 'yolo', coco, 'copy')),
            ('ours COCO->YOLO (images linked)', ours('coco', 'yolo', coco, 'link')),
            ('ours YOLO->COCO (images copied)', ours('yolo', 'coco', yolo, 'copy')),
            ('ours YOLO->COCO (images linked)', ours('yolo', 'coco', yolo, 'link')),
            ('plain python COCO->YOLO (json.load, copy)', plain_coco_to_yolo(coco)),
        ]
        try:
            import datumaro  # noqa: F401
        except ImportError:
            print('datumaro: not installed in this interpreter (pip install -e ".[datasets,bench]" in a separate venv)')
        else:
            dm_coco = datumaro_layout(coco, scratch / 'dm_coco')
            dm_yolo = scratch / 'dm_yolo'
            datumaro_convert('coco_instances', 'yolo', dm_coco)(dm_yolo)
            works += [
                ('datumaro COCO->YOLO (save_media)', datumaro_convert('coco_instances', 'yolo', dm_coco)),
                ('datumaro YOLO->COCO (save_media)', datumaro_convert('yolo', 'coco_instances', dm_yolo)),
            ]
        # round-robin, so that load from elsewhere on the machine hits every candidate alike; the order is shuffled
        # per repeat because a file create costs more after a big delete (bench/RESULTS.md), and a fixed order
        # always put the same candidate after the same deleted output
        times: dict[str, list[float]] = {label: [] for label, _ in works}
        outputs = scratch / 'outputs'
        for r in range(args.repeat):
            order = list(works)
            random.Random(r).shuffle(order)
            for i, (label, work) in enumerate(order):
                times[label].append(timed(work, outputs / f'{r}_{i}', delete=args.delete_between))
        print(f'outputs {"removed after each call" if args.delete_between else "kept until the end of the run"}')
        rows = [(label, total / statistics.median(samples)) for label, samples in times.items()]
        for label, rate in rows:
            print(f'{label:48s} {rate:10,.0f} annotations/s')
        rates = dict(rows)
        for direction in ('COCO->YOLO', 'YOLO->COCO'):
            peer = rates.get(f'datumaro {direction} (save_media)')
            if peer:
                ratio = rates[f'ours {direction} (images copied)'] / peer
                print(f'speed-up vs datumaro, {direction}, both copying images: {ratio:.1f}x')
        coco_load(scratch, args.rss_annotations, args.repeat)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == '__main__':
    main()
