"""``DatasetAction``: download a dataset, or convert one between DM v1/v2, YOLO, COCO and Pascal VOC."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, Field, model_validator

from synapse_sdk.enums import PluginCategory
from synapse_sdk.plugins.action import BaseAction
from synapse_sdk.plugins.datasets.formats import DatasetFormat, ImageMode, Layout, YoloTask
from synapse_sdk.plugins.datasets.report import ConversionReport
from synapse_sdk.plugins.types import Dataset

__all__ = ['DatasetAction', 'DatasetOperation', 'DatasetParams', 'DatasetResult']


class DatasetOperation(StrEnum):
    """What a :class:`DatasetAction` run does."""

    DOWNLOAD = 'download'  #: fetch a URL, ``.zip`` or folder into ``output`` (archives checked member by member)
    CONVERT = 'convert'  #: convert ``source`` (``source_format``) into ``output`` (``target_format``)


class DatasetParams(BaseModel):
    """Params of :class:`DatasetAction`."""

    operation: DatasetOperation = DatasetOperation.CONVERT
    source: str = Field(description='Dataset folder, annotation file, .zip, or (download) an http(s) URL')
    output: str = Field(description='New output folder')
    source_format: DatasetFormat | None = Field(default=None, description='Format of source (convert)')
    target_format: DatasetFormat = DatasetFormat.DM_V2
    images: ImageMode = ImageMode.COPY
    yolo_task: YoloTask = YoloTask.DETECT
    class_names: list[str] | None = None
    layout: Layout = Layout.AUTO
    overwrite: bool = False
    verify: bool = Field(default=False, description='Read the output back and compare it with the source (convert)')
    verify_iou: float = Field(default=0.999, ge=0, le=1, description='Least IoU of a box and its read-back copy')
    verify_max_drift_px: float = Field(default=0.01, ge=0, description='Largest corner / point move, in pixels')

    @model_validator(mode='after')
    def _convert_needs_source_format(self) -> DatasetParams:
        if self.operation is DatasetOperation.CONVERT and self.source_format is None:
            raise ValueError(
                f'source_format is required to convert; one of: {", ".join(f.value for f in DatasetFormat)}'
            )
        return self


class DatasetResult(BaseModel):
    """What a :class:`DatasetAction` run produced."""

    operation: DatasetOperation
    output: str
    files: int | None = None  #: files placed (download)
    report: ConversionReport | None = None  #: the conversion report (convert)


class DatasetAction(BaseAction[DatasetParams]):
    """Download or convert a dataset; progress goes to the ``download`` / ``convert`` step."""

    action_name: ClassVar[str | None] = 'dataset'
    description: ClassVar[str] = 'Download a dataset, or convert it between DM v1/v2, YOLO, COCO and Pascal VOC'
    category: ClassVar[PluginCategory | None] = PluginCategory.EXPORT
    input_type = Dataset
    output_type = Dataset
    result_model = DatasetResult

    def execute(self) -> DatasetResult:
        """Run the requested operation."""
        params = self.params
        if params.operation is DatasetOperation.DOWNLOAD:
            from synapse_sdk.plugins.actions.dataset.download import fetch_dataset

            step = DatasetOperation.DOWNLOAD.value
            files = fetch_dataset(
                params.source,
                params.output,
                overwrite=params.overwrite,
                progress=lambda done, total: self.set_progress(done, total, step),
            )
            self.set_metrics({'files': files}, step)
            self.log('dataset_downloaded', {'output': params.output, 'files': files})
            return DatasetResult(operation=params.operation, output=params.output, files=files)
        return self._convert()

    def _convert(self) -> DatasetResult:
        from synapse_sdk.plugins.datasets.converter import get_converter

        params = self.params
        assert params.source_format is not None
        step = DatasetOperation.CONVERT.value
        converter = get_converter(
            params.source_format,
            params.target_format,
            images=params.images,
            yolo_task=params.yolo_task,
            class_names=params.class_names,
            layout=params.layout,
            overwrite=params.overwrite,
            verify=params.verify,
            verify_iou=params.verify_iou,
            verify_max_drift_px=params.verify_max_drift_px,
        )
        report = converter.convert(
            params.source, params.output, progress=lambda done, total: self.set_progress(done, total, step)
        )
        self.set_metrics(
            {
                'items_written': report.items_written,
                'items_skipped': len(report.items_skipped),
                'annotations_written': report.annotations_written,
                'annotations_skipped': sum(report.annotations_skipped.values()),
                'clamped': report.clamped,
                **_verification_metrics(report),
            },
            step,
        )
        self.log('dataset_converted', report.model_dump(mode='json', exclude={'problems'}))
        return DatasetResult(operation=params.operation, output=params.output, report=report)


def _verification_metrics(report: ConversionReport) -> dict[str, int | bool]:
    """``verified`` and the drifted / missing / extra counts, when the run verified its output."""
    v = report.verification
    if v is None:
        return {}
    return {'verified': v.ok, 'drifted': v.drifted, 'missing': v.missing, 'extra': v.extra}
