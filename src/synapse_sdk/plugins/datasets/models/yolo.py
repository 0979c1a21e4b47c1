"""YOLO (Ultralytics): ``dataset.yaml`` and label rows."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ['YoloDatasetConfig']


class YoloDatasetConfig(BaseModel):
    """``dataset.yaml``: ``names`` is a list (a ``{index: name}`` map is accepted and turned into one)."""

    model_config = ConfigDict(extra='allow')

    path: str | None = None
    train: str | list[str] | None = None
    val: str | list[str] | None = None
    test: str | list[str] | None = None
    nc: int | None = Field(default=None, ge=0)
    names: list[str] = Field(default_factory=list)
    kpt_shape: tuple[int, int] | None = None
    flip_idx: list[int] | None = None

    @field_validator('names', mode='before')
    @classmethod
    def _names(cls, value: Any) -> Any:
        if isinstance(value, dict):
            try:
                indexed = {int(k): str(v) for k, v in value.items()}
            except (TypeError, ValueError) as exc:
                raise ValueError('names map keys must be integers') from exc
            if sorted(indexed) != list(range(len(indexed))):
                return [indexed.get(i, f'class_{i}') for i in range(max(indexed) + 1)] if indexed else []
            return [indexed[i] for i in range(len(indexed))]
        return [str(v) for v in value] if isinstance(value, list) else value

    @field_validator('kpt_shape')
    @classmethod
    def _kpt_shape(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and (value[0] < 1 or value[1] not in (2, 3)):
            raise ValueError('kpt_shape must be [K, D] with K >= 1 and D 2 or 3')
        return value

    @model_validator(mode='after')
    def _nc(self) -> YoloDatasetConfig:
        if self.nc is not None and self.names and self.nc != len(self.names):
            raise ValueError(f'nc is {self.nc} but names has {len(self.names)} entries')
        return self
