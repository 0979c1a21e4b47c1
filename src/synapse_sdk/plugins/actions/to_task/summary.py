"""What a proposal changes in a task: objects added / removed / changed, per class, and a confidence histogram.

Task data in the task-object format (seed 000): ``{'annotations': {<image key>: [object, ...]}, ...}``,
each object with an ``id``, a ``tool`` (``bounding_box``, ``polygon``, ...), ``classification.class``
and its geometry under ``data``. An object's identity is its image key and id (its position when it
has no id). Its confidence is the first number found in ``confidence`` / ``score`` of the object,
of its ``classification`` or of its ``data``; objects without one are counted as ``unscored``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ['BINS', 'AnnotationObject', 'merge_summaries', 'objects', 'summarize']

BINS = 10  #: confidence histogram bins over [0, 1]
_SCORE_KEYS = ('confidence', 'score')


@dataclass(frozen=True, slots=True)
class AnnotationObject:
    """One object of a task's data, flattened."""

    image: str
    id: str
    tool: str
    label: str
    data: Any
    confidence: float | None


def confidence_of(obj: Mapping[str, Any]) -> float | None:
    for holder in (obj, obj.get('classification'), obj.get('data')):
        if isinstance(holder, Mapping):
            for key in _SCORE_KEYS:
                value = holder.get(key)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    return float(value)
    return None


def label_of(obj: Mapping[str, Any]) -> str:
    classification = obj.get('classification')
    if isinstance(classification, Mapping):
        for key in ('class', 'label', 'name'):
            if classification.get(key) is not None:
                return str(classification[key])
    for key in ('class', 'label'):
        if obj.get(key) is not None:
            return str(obj[key])
    return '(none)'


def objects(data: Any) -> Iterator[AnnotationObject]:
    """The objects of task ``data`` (nothing when it is not in the task-object format)."""
    annotations = data.get('annotations') if isinstance(data, Mapping) else None
    if not isinstance(annotations, Mapping):
        return
    for image, items in annotations.items():
        for index, obj in enumerate(items if isinstance(items, list) else ()):
            if not isinstance(obj, Mapping):
                continue
            yield AnnotationObject(
                image=str(image),
                id=str(obj.get('id') if obj.get('id') is not None else f'#{index}'),
                tool=str(obj.get('tool') or ''),
                label=label_of(obj),
                data=obj.get('data'),
                confidence=confidence_of(obj),
            )


def _histogram(scores: Iterable[float]) -> list[int]:
    bins = [0] * BINS
    for score in scores:
        bins[min(BINS - 1, max(0, int(score * BINS)))] += 1
    return bins


def summarize(current: Any, proposed: Any) -> dict[str, Any]:
    """The change from ``current`` to ``proposed``: counts overall and per class, and the histogram."""
    before = {(o.image, o.id): o for o in objects(current)}
    after = {(o.image, o.id): o for o in objects(proposed)}
    per_class: dict[str, Counter[str]] = {}

    def count(label: str, what: str) -> None:
        per_class.setdefault(label, Counter())[what] += 1

    added = removed = changed = unchanged = 0
    for key, obj in after.items():
        old = before.get(key)
        if old is None:
            added += 1
            count(obj.label, 'added')
        elif (old.label, old.tool, old.data) != (obj.label, obj.tool, obj.data):
            changed += 1
            count(obj.label, 'changed')
        else:
            unchanged += 1
            count(obj.label, 'unchanged')
    for key, obj in before.items():
        if key not in after:
            removed += 1
            count(obj.label, 'removed')
    scores = [o.confidence for o in after.values() if o.confidence is not None]
    return {
        'added': added,
        'removed': removed,
        'changed': changed,
        'unchanged': unchanged,
        'objects': len(after),
        'unscored': len(after) - len(scores),
        'classes': {label: dict(c) for label, c in sorted(per_class.items())},
        'confidence': _histogram(scores),
    }


def merge_summaries(summaries: Iterable[Mapping[str, Any] | None]) -> dict[str, Any]:
    """A run's summary: the sum of its tasks' summaries (``tasks``: how many had one)."""
    total: dict[str, Any] = {
        'tasks': 0,
        'added': 0,
        'removed': 0,
        'changed': 0,
        'unchanged': 0,
        'objects': 0,
        'unscored': 0,
        'classes': {},
        'confidence': [0] * BINS,
    }
    for summary in summaries:
        if not summary:
            continue
        total['tasks'] += 1
        for key in ('added', 'removed', 'changed', 'unchanged', 'objects', 'unscored'):
            total[key] += int(summary.get(key, 0))
        for label, counts in (summary.get('classes') or {}).items():
            bucket = total['classes'].setdefault(label, {})
            for what, n in counts.items():
                bucket[what] = bucket.get(what, 0) + int(n)
        for i, n in enumerate((summary.get('confidence') or [])[:BINS]):
            total['confidence'][i] += int(n)
    total['classes'] = dict(sorted(total['classes'].items()))
    return total
