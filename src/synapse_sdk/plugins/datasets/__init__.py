"""Dataset formats (DM v1/v2, YOLO, COCO, Pascal VOC) and converters between them, through DM v2.

Importing this package is cheap: every name loads on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from synapse_sdk.plugins.datasets._imagesize import image_size
    from synapse_sdk.plugins.datasets.converter import DatasetConverter, get_converter
    from synapse_sdk.plugins.datasets.dm_versions import dm_v1_to_v2, dm_v2_to_v1
    from synapse_sdk.plugins.datasets.formats import DatasetFormat, ImageMode, Layout, YoloTask
    from synapse_sdk.plugins.datasets.options import ConvertOptions
    from synapse_sdk.plugins.datasets.report import ConversionReport, Problem, SkippedItem, SkipReason
    from synapse_sdk.plugins.datasets.validate import validate_dataset

__all__ = [
    'ConversionReport',
    'ConvertOptions',
    'DatasetConverter',
    'DatasetFormat',
    'ImageMode',
    'Layout',
    'Problem',
    'SkipReason',
    'SkippedItem',
    'Tolerance',
    'Verification',
    'YoloTask',
    'diff_datasets',
    'dm_v1_to_v2',
    'dm_v2_to_v1',
    'get_converter',
    'image_size',
    'validate_dataset',
]

_WHERE = {
    'ConversionReport': 'report',
    'ConvertOptions': 'options',
    'DatasetConverter': 'converter',
    'DatasetFormat': 'formats',
    'ImageMode': 'formats',
    'Layout': 'formats',
    'Problem': 'report',
    'SkipReason': 'report',
    'SkippedItem': 'report',
    'Tolerance': 'compare',
    'Verification': 'compare',
    'YoloTask': 'formats',
    'diff_datasets': 'verify',
    'dm_v1_to_v2': 'dm_versions',
    'dm_v2_to_v1': 'dm_versions',
    'get_converter': 'converter',
    'image_size': '_imagesize',
    'validate_dataset': 'validate',
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    value = getattr(importlib.import_module(f'{__name__}.{module}'), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
