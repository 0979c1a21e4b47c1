"""Images with known face boxes, made from scikit-image's bundled ``astronaut()`` (no download).

The face of the astronaut is cropped once (with some margin: a cascade needs the hair line and
chin), then scaled and maybe mirrored copies are pasted, one per cell of a 2 x 2 grid, on plain or
smooth noise backgrounds. Image ``i`` holds ``i % 4`` faces, so one image in four holds none. The true box
of each copy is the astronaut's face box carried through the same scale, mirror and offset.

Run as a script: ``python samples.py DEST [--count N] [--seed S]`` writes ``DEST/<name>.jpg`` and
``DEST/truth.json``. Deterministic: the same seed and library versions give the same bytes.
"""

from __future__ import annotations

import argparse
import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The astronaut's face in ``skimage.data.astronaut()`` (512 x 512): x, y, w, h in pixels. It is
#: what the frontal face cascade finds there with the detector's defaults; a test pins it.
FACE_BOX = (177, 66, 95, 95)
#: The crop pasted into samples: the face box and a margin of about 0.4 of its size on each side.
CROP = (140, 30, 167, 167)

SIZES = ((320, 320), (480, 360), (640, 480), (400, 560), (560, 400), (640, 640))
FACE_SIDES = (56, 128)  #: range of a pasted face's side in pixels
JPEG_QUALITY = 90


@dataclass(frozen=True)
class Sample:
    """One generated image and its true face boxes (``{'label', 'x', 'y', 'w', 'h'}``, pixels)."""

    name: str
    path: Path
    boxes: list[dict[str, Any]]


def _libs() -> tuple[Any, Any, Any]:
    try:
        cv2 = importlib.import_module('cv2')
        np = importlib.import_module('numpy')
        data = importlib.import_module('skimage.data')
    except ImportError as exc:
        raise ImportError("samples need OpenCV and scikit-image: pip install 'synapse-sdk[face-detector]'") from exc
    return cv2, np, data


def _background(np: Any, cv2: Any, rng: Any, width: int, height: int, noisy: bool) -> Any:
    """A plain colour, or low-frequency noise (blurred, so it holds no face-like edges)."""
    if not noisy:
        colour = rng.integers(40, 216, size=3)
        return np.broadcast_to(colour.astype(np.uint8), (height, width, 3)).copy()
    noise = rng.integers(0, 256, size=(height // 8 + 1, width // 8 + 1, 3)).astype(np.uint8)
    return cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)


def _paste_faces(np: Any, cv2: Any, rng: Any, image: Any, crop: Any, count: int) -> list[dict[str, Any]]:
    """Paste ``count`` (0-4) face copies, each inside its own cell of a 2 x 2 grid, so none overlap."""
    height, width = image.shape[:2]
    cell_w, cell_h = width // 2, height // 2
    fx, fy, fw, fh = FACE_BOX
    cx, cy, cw, _ = CROP
    largest = min(FACE_SIDES[1], min(cell_w, cell_h) * fw // cw)
    boxes = []
    for cell in sorted(int(c) for c in rng.choice(4, size=count, replace=False)):
        scale = int(rng.integers(FACE_SIDES[0], largest + 1)) / fw
        side = round(cw * scale)
        copy = cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)
        rel_x = (fx - cx) * scale
        if rng.integers(0, 2):  # mirrored
            copy = copy[:, ::-1]
            rel_x = side - rel_x - fw * scale
        x = (cell % 2) * cell_w + int(rng.integers(0, cell_w - side + 1))
        y = (cell // 2) * cell_h + int(rng.integers(0, cell_h - side + 1))
        image[y : y + side, x : x + side] = copy
        boxes.append(
            {
                'label': 'face',
                'x': x + round(rel_x),
                'y': y + round((fy - cy) * scale),
                'w': round(fw * scale),
                'h': round(fh * scale),
            }
        )
    return sorted(boxes, key=lambda b: (b['y'], b['x'], b['w'], b['h']))


def make_samples(dest: Path, count: int = 12, seed: int = 0) -> list[Sample]:
    """Write ``count`` JPEG images and ``truth.json`` into ``dest``; return their true boxes."""
    cv2, np, data = _libs()
    rng = np.random.default_rng(seed)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    cx, cy, cw, ch = CROP
    crop = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)[cy : cy + ch, cx : cx + cw]
    samples = []
    for index in range(count):
        width, height = SIZES[int(rng.integers(0, len(SIZES)))]
        image = _background(np, cv2, rng, width, height, noisy=index % 2 == 1)
        boxes = _paste_faces(np, cv2, rng, image, crop, index % 4)
        name = f'sample-{index:02d}'
        ok, encoded = cv2.imencode('.jpg', image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise RuntimeError(f'{name}: JPEG encoding failed')
        path = dest / f'{name}.jpg'
        path.write_bytes(encoded.tobytes())
        samples.append(Sample(name, path, boxes))
    truth = {s.name: {'file': s.path.name, 'boxes': s.boxes} for s in samples}
    (dest / 'truth.json').write_text(json.dumps(truth, indent=2, sort_keys=True) + '\n', encoding='utf-8')
    return samples


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python samples.py DEST [--count N] [--seed S]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('dest', type=Path)
    parser.add_argument('--count', type=int, default=12)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    samples = make_samples(args.dest, args.count, args.seed)
    faces = sum(len(s.boxes) for s in samples)
    print(f'{len(samples)} images, {faces} faces -> {args.dest}')


if __name__ == '__main__':
    main()
