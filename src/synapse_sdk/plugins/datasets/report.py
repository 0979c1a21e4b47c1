"""The report every conversion (and validation) returns."""

from __future__ import annotations

from collections import Counter
from enum import StrEnum

from pydantic import BaseModel, Field

from synapse_sdk.plugins.datasets.compare import Verification
from synapse_sdk.plugins.datasets.formats import DatasetFormat

__all__ = ['ConversionReport', 'Problem', 'ReportBuilder', 'SkipReason', 'SkippedItem']

_MAX_PROBLEMS = 200


class SkipReason(StrEnum):
    """Why an item or an annotation was not written."""

    IMAGE_MISSING = 'image_missing'  #: no image file, or its header cannot be read
    INVALID_JSON = 'invalid_json'  #: truncated or malformed JSON
    INVALID_XML = 'invalid_xml'  #: malformed or unsafe XML
    TOO_FEW_VALUES = 'too_few_values'  #: a YOLO row with fewer than 5 tokens
    BAD_TOKEN_COUNT = 'bad_token_count'  #: a YOLO row whose token count fits no row type
    INVALID_VALUE = 'invalid_value'  #: a number that does not parse, or a malformed geometry
    CLASS_OUT_OF_RANGE = 'class_out_of_range'  #: a class id that is negative, not an integer or not declared
    UNKNOWN_CLASS = 'unknown_class'  #: a class name missing from the ``class_names`` given
    OUT_OF_IMAGE = 'out_of_image'  #: nothing of the shape is left inside the image
    EMPTY_BOX = 'empty_box'  #: a box of zero width or height, which COCO and YOLO readers drop
    UNSAFE_PATH = 'unsafe_path'  #: an absolute or ``..`` path inside the dataset
    NOT_REPRESENTABLE = 'not_representable'  #: the target format has no place for this annotation
    UNSUPPORTED_TOOL = 'unsupported_tool'  #: a tool the source reader does not know
    WRONG_FORMAT = 'wrong_format'  #: a DM v2 document read as ``dm_v1``, or a v1 document read as ``dm_v2``


class SkippedItem(BaseModel):
    """One item (media file) left out of the output."""

    item: str
    reason: SkipReason
    detail: str | None = None


class Problem(BaseModel):
    """Where a bad annotation or item was found (``line`` is 1-based; None when not line based)."""

    file: str
    line: int | None = None
    reason: SkipReason
    message: str


class ConversionReport(BaseModel):
    """What a conversion saw, wrote and left out.

    Every annotation count is in **objects**, on both sides: one YOLO row, one COCO annotation, one VOC
    object, or one DM annotation, where a DM ``group`` and the annotations it ties (a box with its keypoints
    and shapes, as a YOLO pose row or a COCO annotation reads) count as one object. So
    ``annotations_seen = annotations_written + sum(annotations_skipped.values())`` plus the objects a target
    drops as ``lossy`` (Pascal VOC counts non-box tools there; relations go there for every non-DM target).

    ``lossy`` counts, per key, information the target has no place for, each in its own unit: ``attrs``
    (attributes), a tool name (annotations of that tool tied to an object that was written, or dropped by VOC),
    ``group`` / ``relation`` (records), ``keypoints`` (points beyond ``kpt_shape``), ``keypoint_box`` (boxes
    made up for keypoints without one), ``segmentation`` (masks beyond the first of an object), and
    dataset-level details: ``supercategory``, ``skeleton``, ``category_id`` (COCO categories whose
    supercategory, skeleton or id a non-COCO target cannot keep) and ``flip_idx`` (YOLO pose).
    ``clamped`` counts coordinates moved into the image (a clipped box edge, a YOLO value out of [0, 1]).
    ``verification`` (``verify=True``) compares the output, read back, with the source object by object.
    """

    source: DatasetFormat
    target: DatasetFormat | None = None
    output: str | None = None
    items_seen: int = 0
    items_written: int = 0
    items_skipped: list[SkippedItem] = Field(default_factory=list)
    annotations_seen: int = 0
    annotations_written: int = 0
    annotations_skipped: dict[str, int] = Field(default_factory=dict)
    clamped: int = 0
    lossy: dict[str, int] = Field(default_factory=dict)
    classes: dict[str, str] = Field(default_factory=dict)
    #: the first problems found, with file and line (at most 200)
    problems: list[Problem] = Field(default_factory=list)
    #: the read-back comparison, when the conversion ran with ``verify=True``
    verification: Verification | None = None

    @property
    def ok(self) -> bool:
        """Whether nothing was skipped or found bad."""
        return not (self.items_skipped or self.annotations_skipped or self.problems)

    def skipped_summary(self) -> str:
        """One line on the items left out: their count per reason and the first problem, with where it was."""
        if not self.items_seen:
            return 'the source holds no items'
        if not self.items_skipped:
            return f'{self.items_seen} items seen, none written'
        counts = Counter(skipped.reason.value for skipped in self.items_skipped)
        text = f'{len(self.items_skipped)} of {self.items_seen} items skipped ('
        text += ', '.join(f'{reason}: {count}' for reason, count in sorted(counts.items())) + ')'
        first = next((p for p in self.problems if p.reason.value in counts), None)
        if first is not None:
            where = f'{first.file}:{first.line}' if first.line is not None else first.file
            text += f'; first: {where}: {first.message}'
        return text


class ReportBuilder:
    """A cheap mutable accumulator; :meth:`build` freezes it into a :class:`ConversionReport`."""

    def __init__(self, source: DatasetFormat, target: DatasetFormat | None = None) -> None:
        self.source = source
        self.target = target
        self.items_seen = 0
        self.items_written = 0
        self.items_skipped: list[SkippedItem] = []
        self.annotations_seen = 0
        self.annotations_written = 0
        self.annotations_skipped: Counter[str] = Counter()
        self.clamped = 0
        self.lossy: Counter[str] = Counter()
        self.classes: dict[str, str] = {}
        self.problems: list[Problem] = []

    def skip_item(self, item: str, reason: SkipReason, detail: str | None = None, *, file: str | None = None) -> None:
        """Record an item left out."""
        self.items_skipped.append(SkippedItem(item=item, reason=reason, detail=detail))
        self.problem(file or item, None, reason, detail or reason.value)

    def skip_annotation(
        self, reason: SkipReason, *, file: str | None = None, line: int | None = None, message: str = ''
    ) -> None:
        """Record an annotation left out (``file``/``line`` locate it for ``validate``)."""
        self.annotations_skipped[reason.value] += 1
        if file is not None:
            self.problem(file, line, reason, message or reason.value)

    def wants_problems(self) -> bool:
        """Whether a further problem would be kept (finding a line costs a read: skip it when not)."""
        return len(self.problems) < _MAX_PROBLEMS

    def problem(self, file: str, line: int | None, reason: SkipReason, message: str) -> None:
        """Remember where something bad was found (the first 200 only)."""
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(Problem(file=file, line=line, reason=reason, message=message))

    def lose(self, what: str, count: int = 1) -> None:
        """Count information the target format cannot hold."""
        if count:
            self.lossy[what] += count

    def build(self, output: str | None = None) -> ConversionReport:
        """Freeze the counts into a report."""
        return ConversionReport(
            source=self.source,
            target=self.target,
            output=output,
            items_seen=self.items_seen,
            items_written=self.items_written,
            items_skipped=list(self.items_skipped),
            annotations_seen=self.annotations_seen,
            annotations_written=self.annotations_written,
            annotations_skipped=dict(sorted(self.annotations_skipped.items())),
            clamped=self.clamped,
            lossy=dict(sorted(self.lossy.items())),
            classes=dict(self.classes),
            problems=list(self.problems),
        )
