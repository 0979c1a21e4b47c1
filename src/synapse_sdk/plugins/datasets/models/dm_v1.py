"""DataMaker v1: one JSON per assignment; geometry in ``annotationsData`` matched by ``id``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ['V1_TO_V2_TOOL', 'V2_TO_V1_TOOL', 'DMv1Annotation', 'DMv1AnnotationData', 'DMv1Document']

#: v1 camelCase tool → v2 tool
V1_TO_V2_TOOL: dict[str, str] = {
    'boundingBox': 'bounding_box',
    'polygon': 'polygon',
    'polyline': 'polyline',
    'keypoint': 'keypoint',
    'segmentation': 'segmentation',
    'relation': 'relation',
    'annotationGroup': 'group',
    'namedEntity': 'named_entity',
    'timeRange': 'time_range',
}
V2_TO_V1_TOOL: dict[str, str] = {v2: v1 for v1, v2 in V1_TO_V2_TOOL.items()}


class DMv1Annotation(BaseModel):
    """An entry of ``annotations[<asset>]``."""

    model_config = ConfigDict(extra='allow')

    id: str
    tool: str
    isLocked: bool = False
    isVisible: bool = True
    classification: dict[str, Any] = Field(default_factory=dict)


class DMv1AnnotationData(BaseModel):
    """An entry of ``annotationsData[<asset>]``."""

    model_config = ConfigDict(extra='allow')

    id: str
    coordinate: Any = None


class DMv1Document(BaseModel):
    """A whole DM v1 file."""

    model_config = ConfigDict(extra='allow')

    assignmentId: Any = None
    extra: dict[str, Any] = Field(default_factory=dict)
    annotations: dict[str, list[DMv1Annotation]] = Field(default_factory=dict)
    annotationsData: dict[str, list[DMv1AnnotationData]] = Field(default_factory=dict)
    relations: Any = Field(default_factory=dict)
    annotationGroups: Any = Field(default_factory=dict)
