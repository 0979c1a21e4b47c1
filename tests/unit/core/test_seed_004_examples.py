"""Seed 004 (Defining Actions): every example that defines or runs an action, pasted as written.

Helpers the seed leaves undefined (``do_conversion``, ``train_one_epoch``) are defined here.
"""

import io
import json
import tempfile
import zipfile
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, Field, field_validator

from synapse_sdk.exceptions import ExecutionError, ValidationError
from synapse_sdk.loggers import MemoryLogger
from synapse_sdk.plugins import BaseAction, NoResult, RuntimeContext, action
from synapse_sdk.plugins.enums import PluginCategory
from synapse_sdk.plugins.executors import LocalExecutor


def do_conversion(source: str, target_format: str) -> str:
    return f'{source}.{target_format}'


def train_one_epoch(epoch: int, lr: float) -> float:
    return round(1.0 / (epoch + 1), 4)


def run(target, params):
    loggers = []

    def factory():
        loggers.append(MemoryLogger())
        return loggers[-1]

    return LocalExecutor(logger_factory=factory).execute(target, params), loggers[0]


# --- function-based example ------------------------------------------------------------------------
class ConvertParams(BaseModel):
    input_path: str
    output_format: str = Field(default='yolo', description='Target format')


class ConvertResult(BaseModel):
    output_path: str
    file_count: int


@action(
    name='convert',
    description='Convert dataset to target format',
    params=ConvertParams,
    result=ConvertResult,
)
def convert(params: ConvertParams, ctx: RuntimeContext) -> ConvertResult:
    # Access validated parameters
    source = params.input_path
    target_format = params.output_format

    # Report progress
    ctx.set_progress(0, 100)

    # Your conversion logic here
    output_path = do_conversion(source, target_format)

    ctx.set_progress(100, 100)

    return ConvertResult(output_path=output_path, file_count=42)


def test_function_based_convert():
    result, logger = run(convert, {'input_path': '/in'})
    assert result == ConvertResult(output_path='/in.yolo', file_count=42)
    assert logger.get_progress().percent == 100.0


# --- class-based basic structure ---------------------------------------------------------------------
class TrainParams(BaseModel):
    epochs: int = Field(default=10, ge=1, le=1000)
    learning_rate: float = Field(default=0.001, gt=0, lt=1)
    batch_size: int = Field(default=32, ge=1)


class TrainResult(BaseModel):
    weights_path: str
    final_loss: float


class TrainAction(BaseAction[TrainParams]):
    """Train a model on the dataset."""

    # Optional: override if not using config.yaml
    action_name = 'train'
    category = PluginCategory.NEURAL_NET

    # Optional: enable result validation
    result_model = TrainResult

    def execute(self) -> TrainResult:
        # Access validated parameters via self.params
        epochs = self.params.epochs
        lr = self.params.learning_rate

        # Log events
        self.log('train_start', {'epochs': epochs, 'lr': lr})

        for epoch in range(epochs):
            # Report progress
            self.set_progress(epoch + 1, epochs, step='train')

            loss = train_one_epoch(epoch, lr)

            # Record metrics
            self.set_metrics({'loss': loss, 'epoch': epoch}, step='train')

        return TrainResult(weights_path='/model/weights.pt', final_loss=loss)


def test_class_based_train():
    result, logger = run(TrainAction, {'epochs': 4})
    assert result == TrainResult(weights_path='/model/weights.pt', final_loss=0.25)
    assert logger.events('train_start')[0].data == {'epochs': 4, 'lr': 0.001}
    assert logger.get_metrics('train') == {'loss': 0.25, 'epoch': 3}
    with pytest.raises(ValidationError, match=r'epochs: Input should be less than or equal to 1000'):
        run(TrainAction, {'epochs': 5000})


# --- BaseTrainAction ----------------------------------------------------------------------------------
from synapse_sdk.plugins import BaseTrainAction  # noqa: E402
from synapse_sdk.plugins.actions.train import BaseTrainParams  # noqa: E402  Not re-exported from synapse_sdk.plugins

#: Where ``train`` writes the model it trains (a test points it at its tmp_path).
MODEL_ROOT = Path(tempfile.gettempdir())


def train(dataset, checkpoint):
    """A stand-in trainer: writes a model folder whose weights record what it was trained on."""
    model_dir = MODEL_ROOT / 'model'
    model_dir.mkdir(parents=True, exist_ok=True)
    labels = [item['data']['label'] for item in dataset['items']]
    (model_dir / 'weights.json').write_text(json.dumps({'labels': labels, 'checkpoint': checkpoint}))
    return str(model_dir)


class MyTrainParams(BaseTrainParams):
    epochs: int = 100
    dataset: int  # Required for get_dataset()


class MyTrainAction(BaseTrainAction[MyTrainParams]):
    def execute(self) -> dict:
        # Fetch dataset from backend
        dataset = self.get_dataset()

        # Load checkpoint if resuming
        checkpoint = self.get_checkpoint()

        # Train model...
        model_path = train(dataset, checkpoint)

        # Upload trained model
        model = self.create_model(model_path, name='my-model')

        return {'model_id': model['id']}


def test_base_train_action_is_defined_with_progress_categories():
    assert MyTrainAction.params_model is MyTrainParams
    assert MyTrainAction.category is PluginCategory.NEURAL_NET
    action_obj = MyTrainAction(MyTrainParams(dataset=1), RuntimeContext(logger=MemoryLogger()))
    assert (action_obj.progress.DATASET, action_obj.progress.TRAIN, action_obj.progress.MODEL_UPLOAD) == (
        'dataset',
        'train',
        'model_upload',
    )


def test_base_train_action_without_backend_says_how_to_configure_one():
    ctx = RuntimeContext(logger=MemoryLogger(), client=None)  # no client and no factory: nothing configured
    with pytest.raises(ExecutionError, match=r'^get_dataset\(\) needs a backend client, but none is configured'):
        MyTrainAction(MyTrainParams(dataset=5), ctx).run()


def test_my_train_action_runs_against_the_local_backend(tmp_path, monkeypatch):
    from synapse_sdk.local.connect import connect_local

    monkeypatch.setitem(globals(), 'MODEL_ROOT', tmp_path / 'work')
    with connect_local(tmp_path / 'local', in_process=True) as client:
        collection = client.data_collections.create('photos', [{'name': 'image', 'is_primary': True}])
        dataset = client.datasets.create('cats-v1', data_collection=collection['id'])
        for label in ('cat', 'dog'):
            image = client.data_files.upload(f'{label}-pixels'.encode(), f'{label}.jpg')
            unit = client.data_units.create(collection['id'], {'image': {'file': image['id'], 'is_primary': True}})
            client.datasets.add_items(dataset['id'], [{'data_unit': unit['id'], 'data': {'label': label}}])

        ctx = RuntimeContext(logger=MemoryLogger(), client=client)
        result = MyTrainAction(MyTrainParams(dataset=dataset['id']), ctx).run()

        model = client.get_model(result['model_id'])
        assert (model['name'], model['plugin_release'], model['metadata']) == ('my-model', None, {})
        archive = zipfile.ZipFile(io.BytesIO(client.data_files.download(model['file'])))
        assert archive.namelist() == ['weights.json']
        assert json.loads(archive.read('weights.json')) == {'labels': ['cat', 'dog'], 'checkpoint': None}
        assert [m['id'] for m in client.models.list()] == [result['model_id']]


def test_get_dataset_without_dataset_field_raises_value_error_with_instructions():
    class NoDataset(BaseTrainAction[BaseTrainParams]):
        def execute(self) -> None:
            self.get_dataset()

    with pytest.raises(ValueError, match=r'needs a `dataset: int` field in BaseTrainParams; add it, or override'):
        NoDataset(BaseTrainParams(), RuntimeContext(logger=MemoryLogger())).run()


# --- result validation ---------------------------------------------------------------------------------
class ExportParams(BaseModel):
    target: str = 'all'


class ExportResult(BaseModel):
    output_path: str
    record_count: int


class ExportAction(BaseAction[ExportParams]):
    # Enable validation
    result_model = ExportResult

    def execute(self) -> ExportResult:
        # Return validated result
        return ExportResult(output_path='/data/export', record_count=1000)


def test_result_validation_example():
    assert run(ExportAction, {})[0] == ExportResult(output_path='/data/export', record_count=1000)
    assert BaseAction.result_model is NoResult


# --- parameter models -----------------------------------------------------------------------------------
class AugmentationConfig(BaseModel):
    """Nested configuration for data augmentation."""

    flip: bool = True
    rotate: float = Field(default=0.0, ge=0, le=360)


class FieldTrainParams(BaseModel):
    # Required field
    dataset: int

    # With default and constraints
    epochs: int = Field(default=100, ge=1, le=1000, description='Training epochs')

    # With choices
    optimizer: Literal['adam', 'sgd', 'adamw'] = 'adam'

    # Nested model
    augmentation: AugmentationConfig | None = None


class InferenceParams(BaseModel):
    confidence: float = 0.5

    @field_validator('confidence')
    @classmethod
    def validate_confidence(cls, v: float) -> float:
        if not 0 <= v <= 1:
            raise ValueError('Confidence must be between 0 and 1')
        return v


def test_parameter_models_validate_through_an_action():
    @action(params=FieldTrainParams)
    def fit(params: FieldTrainParams, ctx: RuntimeContext) -> dict:
        return params.model_dump()

    assert run(fit, {'dataset': 1, 'augmentation': {'rotate': 90}})[0]['augmentation'] == {'flip': True, 'rotate': 90.0}
    with pytest.raises(ValidationError) as info:
        run(fit, {'dataset': 1, 'optimizer': 'rmsprop', 'augmentation': {'rotate': 400}})
    assert str(info.value) == (
        "Parameter validation failed: optimizer: Input should be 'adam', 'sgd' or 'adamw'; "
        'augmentation.rotate: Input should be less than or equal to 360'
    )

    @action(params=InferenceParams)
    def infer(params: InferenceParams, ctx: RuntimeContext) -> float:
        return params.confidence

    with pytest.raises(
        ValidationError, match=r'^Parameter validation failed: confidence: Value error, Confidence must'
    ):
        run(infer, {'confidence': 2})
