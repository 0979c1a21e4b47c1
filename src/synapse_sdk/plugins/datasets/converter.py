"""``get_converter(source, target, **options)``: every pair of formats, through DM v2."""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from pydantic import ValidationError as PydanticValidationError

from synapse_sdk.exceptions import ValidationError
from synapse_sdk.plugins.datasets._classes import ClassMap
from synapse_sdk.plugins.datasets._paths import extract_zip
from synapse_sdk.plugins.datasets._signals import terminate_cleanly
from synapse_sdk.plugins.datasets._staging import Staging
from synapse_sdk.plugins.datasets.formats import DatasetFormat, Layout
from synapse_sdk.plugins.datasets.options import ConvertOptions
from synapse_sdk.plugins.datasets.readers.base import Reader, first_error
from synapse_sdk.plugins.datasets.readers.coco import COCOReader
from synapse_sdk.plugins.datasets.readers.dm import DMv1Reader, DMv2Reader
from synapse_sdk.plugins.datasets.readers.voc import VOCReader
from synapse_sdk.plugins.datasets.readers.yolo import YoloReader
from synapse_sdk.plugins.datasets.report import ConversionReport, ReportBuilder
from synapse_sdk.plugins.datasets.writers.base import Writer, WriterSetup
from synapse_sdk.plugins.datasets.writers.coco import COCOWriter
from synapse_sdk.plugins.datasets.writers.dm import DMv1Writer, DMv2Writer
from synapse_sdk.plugins.datasets.writers.voc import VOCWriter
from synapse_sdk.plugins.datasets.writers.yolo import YoloWriter

__all__ = ['DatasetConverter', 'ProgressCallback', 'get_converter', 'open_reader', 'parse_format']

#: ``callback(items_done, items_total)``
ProgressCallback = Callable[[int, int], None]

READERS: dict[DatasetFormat, type[Reader]] = {
    DatasetFormat.DM_V1: DMv1Reader,
    DatasetFormat.DM_V2: DMv2Reader,
    DatasetFormat.YOLO: YoloReader,
    DatasetFormat.COCO: COCOReader,
    DatasetFormat.PASCAL: VOCReader,
}
WRITERS: dict[DatasetFormat, type[Writer]] = {
    DatasetFormat.DM_V1: DMv1Writer,
    DatasetFormat.DM_V2: DMv2Writer,
    DatasetFormat.YOLO: YoloWriter,
    DatasetFormat.COCO: COCOWriter,
    DatasetFormat.PASCAL: VOCWriter,
}
_IDS = ', '.join(f.value for f in DatasetFormat)


def parse_format(value: str | DatasetFormat, role: str = 'format') -> DatasetFormat:
    """A format id, or ``ValueError`` listing the supported ids."""
    try:
        return DatasetFormat(value)
    except ValueError:
        raise ValueError(f"Unknown {role} '{value}'; supported formats: {_IDS}") from None


def get_converter(source: str | DatasetFormat, target: str | DatasetFormat, **options: object) -> DatasetConverter:
    """A converter from ``source`` to ``target`` (see :class:`ConvertOptions` for ``options``).

    An unknown format id raises ``ValueError`` listing the supported ids; an unknown or bad option raises
    :class:`~synapse_sdk.exceptions.ValidationError`.
    """
    source_format = parse_format(source, 'source format')
    target_format = parse_format(target, 'target format')
    try:
        parsed = ConvertOptions(**options)
    except PydanticValidationError as exc:
        raise ValidationError(f'Bad conversion option {first_error(exc)}', {'options': sorted(options)}) from exc
    return DatasetConverter(source_format, target_format, parsed)


def open_reader(fmt: DatasetFormat, path: Path, report: ReportBuilder, options: ConvertOptions) -> Reader:
    """The reader of ``fmt`` over a dataset folder or one file of it."""
    if not path.exists():
        raise FileNotFoundError(f'Source {path} does not exist')
    if path.is_dir():
        return READERS[fmt](path, report, options)
    return READERS[fmt](path.parent, report, options, path)


class DatasetConverter:
    """Converts a dataset folder, one annotation file, or a ``.zip`` of a dataset."""

    def __init__(self, source: DatasetFormat, target: DatasetFormat, options: ConvertOptions) -> None:
        self.source = source
        self.target = target
        self.options = options

    def __repr__(self) -> str:
        return f'DatasetConverter({self.source.value!r} -> {self.target.value!r})'

    def convert(
        self,
        source: str | os.PathLike[str],
        target: str | os.PathLike[str],
        *,
        progress: ProgressCallback | None = None,
    ) -> ConversionReport:
        """Convert ``source`` into the new folder ``target`` (built beside it, moved into place at the end)."""
        src = Path(source)
        dst = Path(os.path.abspath(target))
        if src.exists() and (dst == src.resolve() or dst.is_relative_to(src.resolve())):
            raise ValidationError(f'Output {dst} lies inside the source {src}; choose a folder outside it', {})
        with ExitStack() as stack:
            stack.enter_context(terminate_cleanly())
            if src.is_file() and zipfile.is_zipfile(src):
                extracted = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix='synapse-dataset-')))
                extract_zip(src, extracted)
                entries = list(extracted.iterdir())
                src = entries[0] if len(entries) == 1 and entries[0].is_dir() else extracted
            return self._convert(src, dst, progress)
        raise AssertionError('unreachable')  # pragma: no cover

    def _convert(self, src: Path, dst: Path, progress: ProgressCallback | None) -> ConversionReport:
        builder = ReportBuilder(self.source, self.target)
        reader = open_reader(self.source, src, builder, self.options)
        classes, full_list = self._classes(reader)
        layout = self.options.layout
        total = reader.total()
        split_layout = layout is Layout.SPLIT or (layout is Layout.AUTO and reader.has_splits)
        with Staging(dst, overwrite=self.options.overwrite) as staging:
            setup = WriterSetup(
                staging,
                dst,
                classes,
                self.options,
                builder,
                split_layout=split_layout,
                kpt_shape=self.options.kpt_shape or reader.kpt_shape,
                flip_idx=reader.flip_idx,
                full_class_list=full_list,
                expected_items=total,
            )
            writer = WRITERS[self.target](setup)
            try:
                for item in reader:
                    writer.write(item)
                    if progress is not None and total:
                        progress(min(builder.items_seen, total), total)
                writer.close()
            except BaseException:
                writer.placer.abort()
                raise
        builder.classes = self._class_report(classes, full_list)
        report = builder.build(output=str(dst))
        if self.options.verify:
            from synapse_sdk.plugins.datasets.verify import verify_conversion

            verification = verify_conversion(self.source, src, self.target, dst, self.options, report)
            report = report.model_copy(update={'verification': verification})
        return report

    def _classes(self, reader: Reader) -> tuple[ClassMap, bool]:
        declared = reader.class_map()
        if self.options.class_names is not None:
            classes = ClassMap.from_list(self.options.class_names, frozen=True)
            if declared is not None:  # category details follow the names; ids follow the list
                classes.details = {n: d for n, d in declared.details.items() if n in classes.ids}
            return classes, True
        if declared is not None:
            return declared, True
        if self.target in (DatasetFormat.YOLO, DatasetFormat.COCO):
            return ClassMap.from_list(reader.scan_classes()), True
        return ClassMap(), False

    def _class_report(self, classes: ClassMap, full_list: bool) -> dict[str, str]:
        if not full_list:
            classes = ClassMap.from_list(sorted(set(classes.names.values())))
        coco_ids = self.target is DatasetFormat.COCO or (
            self.source is DatasetFormat.COCO and self.target not in (DatasetFormat.YOLO,)
        )
        return classes.report(1 if coco_ids else 0, coco=coco_ids and bool(classes.coco_ids))
