"""Semantic data types: what an action consumes and produces.

Pipelines use them to check that neighbouring actions fit. Each type has a ``name`` (used as
``input_type`` / ``output_type`` in config.yaml) and a ``format`` tag::

    dataset            dm_dataset (dm) > dm_v1_dataset (dm_v1), dm_v2_dataset (dm_v2)
                       yolo_dataset (yolo), coco_dataset (coco), pascal_voc_dataset (pascal)
    model              model_weights (weights), onnx_model (onnx), tensorrt_model (tensorrt)
    result             test_results (metrics), inference_results (predictions)
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    'COCODataset',
    'DMDataset',
    'DMv1Dataset',
    'DMv2Dataset',
    'DataType',
    'Dataset',
    'InferenceResults',
    'Model',
    'ModelWeights',
    'ONNXModel',
    'PascalVOCDataset',
    'Result',
    'TensorRTModel',
    'TestResults',
    'YOLODataset',
    'get_data_type',
    'list_data_types',
]

_REGISTRY: dict[str, type[DataType]] = {}


class DataType:
    """Base class for semantic data types."""

    name: ClassVar[str] = 'data'
    format: ClassVar[str | None] = None
    description: ClassVar[str] = ''

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if 'name' in cls.__dict__:
            _REGISTRY[cls.name] = cls

    @classmethod
    def is_compatible_with(cls, other: type[DataType]) -> bool:
        """True when either type is a subclass of the other."""
        return issubclass(cls, other) or issubclass(other, cls)


_REGISTRY[DataType.name] = DataType


class Dataset(DataType):
    """Any dataset."""

    name = 'dataset'


class DMDataset(Dataset):
    """DataMaker format."""

    name = 'dm_dataset'
    format = 'dm'


class DMv1Dataset(DMDataset):
    """DataMaker v1."""

    name = 'dm_v1_dataset'
    format = 'dm_v1'


class DMv2Dataset(DMDataset):
    """DataMaker v2."""

    name = 'dm_v2_dataset'
    format = 'dm_v2'


class YOLODataset(Dataset):
    """YOLO detection / segmentation / pose format."""

    name = 'yolo_dataset'
    format = 'yolo'


class COCODataset(Dataset):
    """COCO instances / keypoints format."""

    name = 'coco_dataset'
    format = 'coco'


class PascalVOCDataset(Dataset):
    """Pascal VOC XML format."""

    name = 'pascal_voc_dataset'
    format = 'pascal'


class Model(DataType):
    """Any model artefact."""

    name = 'model'


class ModelWeights(Model):
    """Trained weights."""

    name = 'model_weights'
    format = 'weights'


class ONNXModel(Model):
    """An ONNX export."""

    name = 'onnx_model'
    format = 'onnx'


class TensorRTModel(Model):
    """A TensorRT engine."""

    name = 'tensorrt_model'
    format = 'tensorrt'


class Result(DataType):
    """Any result."""

    name = 'result'


class TestResults(Result):
    """Test / evaluation metrics."""

    __test__ = False  # not a pytest test class
    name = 'test_results'
    format = 'metrics'


class InferenceResults(Result):
    """Inference predictions."""

    name = 'inference_results'
    format = 'predictions'


def get_data_type(name: str) -> type[DataType] | None:
    """The semantic type registered under ``name`` (``'yolo_dataset'``), or None for free-form names."""
    return _REGISTRY.get(name)


def list_data_types() -> list[str]:
    """Names of every registered semantic type."""
    return sorted(_REGISTRY)
