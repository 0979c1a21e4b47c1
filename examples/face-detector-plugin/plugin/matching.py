"""Box overlap (IoU) and a greedy one-to-one matcher of detections to true boxes.

Boxes are mappings with pixel ``x``, ``y``, ``w``, ``h`` (top-left corner, width, height), the
format :meth:`plugin.faces.Detector.detect` returns. Pure Python: no OpenCV needed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

Box = Mapping[str, float]


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes; 0.0 when they do not overlap or both are empty."""
    ix = max(0.0, min(a['x'] + a['w'], b['x'] + b['w']) - max(a['x'], b['x']))
    iy = max(0.0, min(a['y'] + a['h'], b['y'] + b['h']) - max(a['y'], b['y']))
    inter = ix * iy
    union = a['w'] * a['h'] + b['w'] * b['h'] - inter
    return inter / union if union > 0 else 0.0


@dataclass(frozen=True)
class Pair:
    """One true box matched to one detection."""

    truth: int  #: index into the true boxes
    detection: int  #: index into the detections
    iou: float


@dataclass(frozen=True)
class Match:
    """The outcome of :func:`match`: pairs, and what was left on either side."""

    pairs: tuple[Pair, ...]
    missed: tuple[int, ...]  #: indices of true boxes no detection matched
    false_positives: tuple[int, ...]  #: indices of detections that matched no true box


def match(truth: Sequence[Box], detections: Sequence[Box], threshold: float = 0.5) -> Match:
    """Pair boxes greedily, highest IoU first, each box used once; pairs below ``threshold`` don't count.

    Greedy by IoU is what detection benchmarks (PASCAL VOC) do; ties break on the lower indices so
    the result is deterministic.
    """
    candidates = sorted(
        (
            (-overlap, t, d)
            for t, true_box in enumerate(truth)
            for d, found in enumerate(detections)
            if (overlap := iou(true_box, found)) >= threshold
        )
    )
    pairs: list[Pair] = []
    used_truth: set[int] = set()
    used_detections: set[int] = set()
    for negative, t, d in candidates:
        if t not in used_truth and d not in used_detections:
            pairs.append(Pair(t, d, -negative))
            used_truth.add(t)
            used_detections.add(d)
    return Match(
        pairs=tuple(sorted(pairs, key=lambda p: p.truth)),
        missed=tuple(t for t in range(len(truth)) if t not in used_truth),
        false_positives=tuple(d for d in range(len(detections)) if d not in used_detections),
    )
