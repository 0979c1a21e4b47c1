"""Options every converter accepts (``get_converter(source, target, **options)``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from synapse_sdk.plugins.datasets.formats import ImageMode, Layout, YoloTask

__all__ = ['ConvertOptions']


class ConvertOptions(BaseModel):
    """Conversion options; an unknown option is an error."""

    model_config = ConfigDict(extra='forbid', frozen=True)

    images: ImageMode = ImageMode.COPY  #: how images reach the output
    yolo_task: YoloTask = YoloTask.DETECT  #: row type of a YOLO output
    class_names: list[str] | None = None  #: fixes class ids (list order); other classes are skipped
    kpt_shape: tuple[int, int] | None = None  #: YOLO pose ``[K, D]``; default from the source or the first group
    layout: Layout = Layout.AUTO  #: output folder layout
    overwrite: bool = False  #: replace a non-empty output folder
    workers: int = Field(default=8, ge=1, le=64)  #: concurrent image copies
    verify: bool = False  #: read the output back and compare it with the source (report ``verification``)
    verify_iou: float = Field(default=0.999, ge=0, le=1)  #: least IoU of a box and its read-back copy
    verify_max_drift_px: float = Field(default=0.01, ge=0)  #: largest corner / point move allowed, in pixels
