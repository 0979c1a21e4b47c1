"""Pydantic models of every dataset format."""

from synapse_sdk.plugins.datasets.models.coco import COCOAnnotation, COCOCategory, COCODocument, COCOImage, COCORle
from synapse_sdk.plugins.datasets.models.dm_v1 import DMv1Annotation, DMv1AnnotationData, DMv1Document
from synapse_sdk.plugins.datasets.models.dm_v2 import (
    DM_V2_TOOLS,
    DMAttr,
    DMv2Annotation,
    DMv2BoundingBox,
    DMv2Document,
    DMv2Group,
    DMv2Keypoint,
    DMv2Polygon,
    DMv2Polyline,
    DMv2Relation,
    DMv2Segmentation,
    SegmentationMask,
)
from synapse_sdk.plugins.datasets.models.voc import VOCAnnotation, VOCBox, VOCObject, VOCSize
from synapse_sdk.plugins.datasets.models.yolo import YoloDatasetConfig

__all__ = [
    'DM_V2_TOOLS',
    'COCOAnnotation',
    'COCOCategory',
    'COCODocument',
    'COCOImage',
    'COCORle',
    'DMAttr',
    'DMv1Annotation',
    'DMv1AnnotationData',
    'DMv1Document',
    'DMv2Annotation',
    'DMv2BoundingBox',
    'DMv2Document',
    'DMv2Group',
    'DMv2Keypoint',
    'DMv2Polygon',
    'DMv2Polyline',
    'DMv2Relation',
    'DMv2Segmentation',
    'SegmentationMask',
    'VOCAnnotation',
    'VOCBox',
    'VOCObject',
    'VOCSize',
    'YoloDatasetConfig',
]
