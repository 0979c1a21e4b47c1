import pytest
from pydantic import BaseModel

from synapse_sdk.exceptions import ExecutionError, SchemaIncompatibleError, ValidationError
from synapse_sdk.loggers import MemoryLogger
from synapse_sdk.plugins import BaseAction, RuntimeContext
from synapse_sdk.plugins.pipelines import ActionPipeline
from synapse_sdk.plugins.types import COCODataset, DMDataset, DMv2Dataset, YOLODataset


class DownloadParams(BaseModel):
    dataset: int


class DownloadResult(BaseModel):
    path: str


class ConvertParams(BaseModel):
    path: str
    target: str = 'yolo'


class ConvertResult(BaseModel):
    converted_path: str


class Download(BaseAction[DownloadParams]):
    action_name = 'download'
    output_type = DMv2Dataset
    result_model = DownloadResult

    def execute(self) -> DownloadResult:
        return DownloadResult(path=f'/data/{self.params.dataset}')


class Convert(BaseAction[ConvertParams]):
    action_name = 'convert'
    input_type = DMDataset
    output_type = YOLODataset
    result_model = ConvertResult

    def execute(self) -> dict:
        return {'converted_path': f'{self.params.path}.{self.params.target}'}


class CocoParams(BaseModel):
    converted_path: str


class NeedsCoco(BaseAction[CocoParams]):
    action_name = 'coco_only'
    input_type = COCODataset
    result_model = ConvertResult

    def execute(self) -> dict:
        return {}


def test_results_feed_next_params_and_progress_is_reported():
    pipeline = ActionPipeline([Download, Convert])
    calls = []
    ctx = RuntimeContext(logger=MemoryLogger())
    result = pipeline.execute({'dataset': 7}, ctx, progress_callback=lambda i, n, name: calls.append((i, n, name)))
    assert result == {'converted_path': '/data/7.yolo'}
    assert calls == [(0, 2, 'download'), (1, 2, 'convert'), (2, 2, 'complete')]
    assert pipeline.issues == []


def test_type_mismatch_warns_or_raises_when_strict():
    message = "Type mismatch: 'convert' outputs 'yolo_dataset' but 'coco_only' expects 'coco_dataset'."
    with pytest.warns(UserWarning, match=message):
        ActionPipeline([Convert, NeedsCoco])
    with pytest.raises(SchemaIncompatibleError, match=f'^{message}$'):
        ActionPipeline([Convert, NeedsCoco], strict=True)


def test_empty_pipeline_is_refused():
    with pytest.raises(ValueError, match=r'^Pipeline requires at least one action$'):
        ActionPipeline([])


def test_validate_initial_params_lists_uncovered_required_fields():
    pipeline = ActionPipeline([Download, Convert])
    assert pipeline.validate_initial_params({}) == ['download.dataset']
    assert pipeline.validate_initial_params({'dataset': 1}) == []


def test_params_and_action_failures_are_named():
    ctx = RuntimeContext(logger=MemoryLogger())
    with pytest.raises(
        ValidationError, match=r"^Failed to validate params for action 'download': Parameter validation"
    ):
        ActionPipeline([Download, Convert]).execute({}, ctx)

    class Fails(BaseAction[ConvertParams]):
        action_name = 'fails'
        result_model = ConvertResult

        def execute(self) -> None:
            raise OSError('disk full')

    with pytest.raises(ExecutionError, match=r"^Action 'fails' failed: disk full$") as info:
        ActionPipeline([Download, Fails], validate_schemas=False).execute({'dataset': 1}, ctx)
    assert isinstance(info.value.__cause__, OSError)
