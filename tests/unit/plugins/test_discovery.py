"""PluginDiscovery and run_plugin on the config.yaml examples of seeds 003 and 004."""

import re
import sys
import textwrap
from pathlib import Path

import pytest
from pydantic import BaseModel

from synapse_sdk.enums import PluginCategory, RunMethod
from synapse_sdk.exceptions import ActionDefinitionError, ActionNotFoundError, ConfigError, ConfigWarning, PluginError
from synapse_sdk.loggers import MemoryLogger
from synapse_sdk.plugins._config_sync import sync_config
from synapse_sdk.plugins.discovery import PluginDiscovery, load_entrypoint
from synapse_sdk.plugins.runner import run_plugin

SEED_003_CONFIG = """
name: My Training Plugin
code: my-training-plugin
version: 1.0.0
category: neural_net
description: Custom training plugin with YOLO support
package_manager: pip
actions:
  greet:
    entrypoint: my_plugin.actions:greet
    method: task
    description: Simple greeting action
  train:
    entrypoint: my_plugin.train:TrainAction
    method: job
    description: Train model on dataset
    input_type: yolo_dataset
    output_type: model_weights
"""

SEED_003_ACTIONS = """
from pydantic import BaseModel, Field

from synapse_sdk.plugins import RuntimeContext, action


class GreetParams(BaseModel):
    name: str = Field(description='Name to greet')
    formal: bool = False


@action(name='greet', params=GreetParams)
def greet(params: GreetParams, ctx: RuntimeContext) -> dict:
    prefix = 'Dear' if params.formal else 'Hello'
    message = f'{prefix} {params.name}!'
    ctx.log_message(message, 'info')
    return {'message': message}
"""

SEED_003_TRAIN = """
from pydantic import BaseModel, Field

from synapse_sdk.plugins.action import BaseAction
from synapse_sdk.plugins.enums import PluginCategory
from synapse_sdk.plugins.types import ModelWeights, YOLODataset


class TrainParams(BaseModel):
    dataset: int = Field(description='Dataset ID to train on')
    epochs: int = Field(default=100, ge=1)
    batch_size: int = Field(default=32, ge=1)


class TrainResult(BaseModel):
    model_path: str
    final_loss: float
    metrics: dict[str, float]


class TrainAction(BaseAction[TrainParams]):
    category = PluginCategory.NEURAL_NET
    input_type = YOLODataset
    output_type = ModelWeights
    result_model = TrainResult

    def execute(self) -> TrainResult:
        self.set_progress(0, self.params.epochs, 'training')
        for epoch in range(self.params.epochs):
            self.set_progress(epoch + 1, self.params.epochs, 'training')
            self.set_metrics({'loss': 0.5, 'mAP50': 0.85}, 'training')
        return TrainResult(model_path='/models/best.pt', final_loss=0.05, metrics={'mAP50': 0.92, 'mAP50-95': 0.78})
"""

SEED_004_BASIC_CONFIG = """
# Plugin metadata
name: YOLOv8 Training Plugin
code: yolov8
version: 0.1.0
category: neural_net

# Description
description: Train and deploy YOLOv8 object detection models
readme: README.md

# Data configuration
data_type: image
tasks:
  - image.object_detection
  - image.instance_segmentation

# Dependencies
package_manager: pip # or 'uv'
wheels_dir: wheels

# Environment variables
env:
  LOG_LEVEL: INFO

# Actions
actions:
  train:
    entrypoint: plugin.train:TrainAction
    method: job
    description: Train a YOLOv8 model

  infer:
    entrypoint: plugin.inference:InferenceAction
    method: task
    description: Run inference on images
"""

SEED_004_COMPLETE_CONFIG = """
name: Image Classification Plugin
code: image-classifier
version: 1.0.0
category: neural_net
description: Train and deploy image classification models

data_type: image
tasks:
  - image.classification

package_manager: pip
package_manager_options: []
wheels_dir: wheels

env:
  CUDA_VISIBLE_DEVICES: '0'
  LOG_LEVEL: INFO

runtime_env:
  py_modules:
    - ./plugin

actions:
  train:
    entrypoint: plugin.train:TrainAction
    method: job
    description: Train classification model
    input_type: dm_v2_dataset
    output_type: model_weights

  infer:
    entrypoint: plugin.inference:InferenceAction
    method: task
    description: Classify images
    input_type: image_file
    output_type: predictions

  export:
    entrypoint: plugin.export:ExportAction
    method: task
    description: Export model to ONNX
    input_type: model_weights
    output_type: onnx_model
"""

PLUGIN_TRAIN = """
from pydantic import BaseModel, Field

from synapse_sdk.plugins import BaseAction


class TrainParams(BaseModel):
    epochs: int = Field(default=2, ge=1, le=1000)
    learning_rate: float = Field(default=0.001, gt=0, lt=1)


class TrainAction(BaseAction[TrainParams]):
    def execute(self) -> dict:
        for epoch in range(self.params.epochs):
            self.set_progress(epoch + 1, self.params.epochs, step='train')
        return {'epochs': self.params.epochs, 'log_level': self.ctx.env.get('LOG_LEVEL'),
                'gpus': self.ctx.env.get('CUDA_VISIBLE_DEVICES')}
"""

PLUGIN_INFER = """
from pydantic import BaseModel

from synapse_sdk.plugins import BaseAction


class InferParams(BaseModel):
    images: list[str] = ['a.jpg']


class InferenceAction(BaseAction[InferParams]):
    def execute(self) -> dict:
        return {'predictions': [{'image': image, 'label': 'cat'} for image in self.params.images]}
"""

PLUGIN_EXPORT = """
from pydantic import BaseModel

from synapse_sdk.plugins import action


class ExportParams(BaseModel):
    opset: int = 17


@action(params=ExportParams)
def export_onnx(params: ExportParams, ctx) -> dict:
    return {'format': 'onnx', 'opset': params.opset}


ExportAction = export_onnx
"""


def write_plugin(root, config, files):
    root.mkdir(parents=True, exist_ok=True)
    (root / 'config.yaml').write_text(textwrap.dedent(config).lstrip(), encoding='utf-8')
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding='utf-8')
    return root


@pytest.fixture
def seed_003(tmp_path):
    return write_plugin(
        tmp_path / 'my-training-plugin',
        SEED_003_CONFIG,
        {'my_plugin/__init__.py': '', 'my_plugin/actions.py': SEED_003_ACTIONS, 'my_plugin/train.py': SEED_003_TRAIN},
    )


def plugin_files(*, export=False):
    files = {'plugin/__init__.py': '', 'plugin/train.py': PLUGIN_TRAIN, 'plugin/inference.py': PLUGIN_INFER}
    if export:
        files['plugin/export.py'] = PLUGIN_EXPORT
    return files


def quiet():
    return {'logger_factory': MemoryLogger}


# --------------------------------------------------------------------------- seed examples


def test_seed_003_config_loads_and_runs_by_bare_plugin_code(seed_003, monkeypatch):
    monkeypatch.chdir(seed_003)
    with pytest.warns(ConfigWarning, match=r'^data_type is required for neural_net plugins'):
        result = run_plugin(
            plugin_code='my-training-plugin',
            action='train',
            params={'dataset': 123, 'epochs': 10},
            mode='local',
            **quiet(),
        )
    assert result.model_dump() == {
        'model_path': '/models/best.pt',
        'final_loss': 0.05,
        'metrics': {'mAP50': 0.92, 'mAP50-95': 0.78},
    }
    greeting = run_plugin('my-training-plugin', 'greet', {'name': 'Ada', 'formal': True}, **quiet())
    assert greeting == {'message': 'Dear Ada!'}


def test_seed_003_discovery_metadata(seed_003):
    with pytest.warns(ConfigWarning):
        discovery = PluginDiscovery.from_path(seed_003 / 'config.yaml')
    assert discovery.list_actions() == ['greet', 'train']
    assert discovery.get_action_method('train') is RunMethod.JOB
    assert discovery.get_action_method('greet') is RunMethod.TASK
    assert discovery.get_action_input_type('train') == 'yolo_dataset'
    assert discovery.get_action_output_type('train') == 'model_weights'
    assert discovery.get_action_input_type('greet') is None
    assert discovery.get_action_params_model('greet').__name__ == 'GreetParams'
    assert discovery.get_action_result_model('train').__name__ == 'TrainResult'
    assert discovery.get_action_result_model('greet') is None
    assert discovery.get_action_entrypoint('greet') == 'my_plugin.actions.greet'
    train = discovery.get_action_class('train')
    assert (train.__name__, train.action_name, train.category) == ('TrainAction', 'train', PluginCategory.NEURAL_NET)
    assert discovery.get_action_class('greet').action_name == 'greet'
    assert discovery.get_action_ui_schema('greet') == [
        {
            'name': 'name',
            'label': 'Name',
            'widget': 'text',
            'type': 'string',
            'required': True,
            'help': 'Name to greet',
        },
        {
            'name': 'formal',
            'label': 'Formal',
            'widget': 'checkbox',
            'type': 'boolean',
            'required': False,
            'default': False,
        },
    ]


def test_seed_004_basic_structure_loads_and_runs_with_config_env(tmp_path):
    root = write_plugin(tmp_path / 'yolov8', SEED_004_BASIC_CONFIG, plugin_files())
    discovery = PluginDiscovery.from_path(root)
    assert discovery.config.tasks == ['image.object_detection', 'image.instance_segmentation']
    assert discovery.config.env == {'LOG_LEVEL': 'INFO'}
    assert run_plugin(str(root), 'train', {'epochs': 3}, **quiet()) == {'epochs': 3, 'log_level': 'INFO', 'gpus': None}
    assert run_plugin(str(root), 'infer', {'images': ['x.png']}, **quiet()) == {
        'predictions': [{'image': 'x.png', 'label': 'cat'}]
    }


def test_seed_004_complete_example_loads_and_runs_every_action(tmp_path):
    root = write_plugin(tmp_path / 'image-classifier', SEED_004_COMPLETE_CONFIG, plugin_files(export=True))
    config_file = str(root / 'config.yaml')
    assert run_plugin(config_file, 'train', None, **quiet()) == {'epochs': 2, 'log_level': 'INFO', 'gpus': '0'}
    assert run_plugin(config_file, 'infer', {}, **quiet()) == {'predictions': [{'image': 'a.jpg', 'label': 'cat'}]}
    assert run_plugin(config_file, 'export', {'opset': 13}, **quiet()) == {'format': 'onnx', 'opset': 13}
    discovery = PluginDiscovery.load(config_file)
    assert discovery.config.runtime_env == {'py_modules': ['./plugin']}
    assert discovery.get_action_input_type('infer') == 'image_file'
    assert discovery.get_action_output_type('export') == 'onnx_model'


# --------------------------------------------------------------------------- errors


def test_unknown_action_lists_the_available_ones(tmp_path):
    root = write_plugin(tmp_path / 'p', SEED_004_BASIC_CONFIG, plugin_files())
    expected = r"^Action 'deploy' not found; available actions: train, infer$"
    with pytest.raises(ActionNotFoundError, match=expected) as info:
        run_plugin(str(root), 'deploy', {})
    assert info.value.details == {'available': ['train', 'infer'], 'plugin': 'yolov8'}


def test_empty_entrypoint(tmp_path):
    root = write_plugin(tmp_path / 'p', 'name: P\ncode: p\nactions:\n  train:\n    method: job\n', {})
    with pytest.raises(ConfigError, match=r"^Action 'train' has no entrypoint defined$"):
        PluginDiscovery.from_path(root).get_action_class('train')


def test_entrypoint_module_that_does_not_import_names_module_and_error(tmp_path):
    root = write_plugin(
        tmp_path / 'p',
        'name: P\ncode: p\nactions:\n  train:\n    entrypoint: plugin.broken:Train\n',
        {'plugin/__init__.py': '', 'plugin/broken.py': 'import torch_that_is_missing\n'},
    )
    with pytest.raises(ActionDefinitionError) as info:
        run_plugin(str(root), 'train', {})
    assert str(info.value) == (
        "Cannot import module 'plugin.broken' for entrypoint 'plugin.broken.Train' of action 'train' "
        "(while importing 'torch_that_is_missing'): ModuleNotFoundError: No module named 'torch_that_is_missing'"
    )
    assert info.value.details == {
        'entrypoint': 'plugin.broken.Train',
        'module': 'plugin.broken',
        'error': 'ModuleNotFoundError',
    }


def test_entrypoint_with_a_syntax_error_names_file_and_line(tmp_path):
    root = write_plugin(
        tmp_path / 'p',
        'name: P\ncode: p\nactions:\n  train:\n    entrypoint: plugin.bad:Train\n',
        {'plugin/__init__.py': '', 'plugin/bad.py': 'x = 1\ndef broken(:\n'},
    )
    with pytest.raises(
        ActionDefinitionError, match=r"^Cannot import module 'plugin.bad' .*: SyntaxError: .*bad.py, line 2\)$"
    ):
        PluginDiscovery.from_path(root).get_action_class('train')


@pytest.mark.parametrize(
    ('source', 'message'),
    [
        ('class Train:\n    pass\n', 'is not an action: class Train does not subclass BaseAction'),
        ('def Train(params, ctx):\n    return 1\n', "is not an action: function 'Train' is not decorated with @action"),
        ('Train = 42\n', 'is not an action: int value 42'),
        ('x = 1\n', "module 'plugin.actions' has no attribute 'Train'"),
    ],
)
def test_entrypoint_that_is_not_an_action(tmp_path, source, message):
    root = write_plugin(
        tmp_path / 'p',
        'name: P\ncode: p\nactions:\n  train:\n    entrypoint: plugin.actions:Train\n',
        {'plugin/__init__.py': '', 'plugin/actions.py': source},
    )
    with pytest.raises(ActionDefinitionError, match=re.escape(message)):
        PluginDiscovery.from_path(root).get_action_class('train')


def test_plugin_code_that_resolves_to_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PluginError) as info:
        PluginDiscovery.load('no-such-plugin')
    assert str(info.value) == (
        "Plugin 'no-such-plugin' not found: it is not a folder, a config.yaml, an importable module, "
        f'nor the code of the plugin in the current directory ({tmp_path}), '
        'nor a plugin published to the backend at http://synapse.local'
    )
    with pytest.raises(PluginError) as info:
        PluginDiscovery.load('no/such/folder')
    assert str(info.value) == (
        "Plugin 'no/such/folder' not found: it is not a folder, a config.yaml, an importable module, "
        f'nor the code of the plugin in the current directory ({tmp_path}); pass the plugin folder or its config.yaml'
    )


def test_a_folder_named_like_a_module_without_config_falls_back_to_the_module(tmp_path, monkeypatch):
    package = tmp_path / 'modplug_dir'
    package.mkdir()
    (package / '__init__.py').write_text(MODULE_SOURCE, encoding='utf-8')
    (tmp_path / 'notes').mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert run_plugin('modplug_dir', 'double', {'n': 21}, **quiet()) == {'value': 42}
    with pytest.raises(FileNotFoundError) as info:
        run_plugin('notes', 'double', {})
    assert str(info.value) == f'Config file not found: {Path("notes") / "config.yaml"}'
    for name in [n for n in sys.modules if n.startswith('modplug_dir')]:
        sys.modules.pop(name)


def test_update_config_matches_seed_004_actions_by_entrypoint_not_key(tmp_path):
    root = write_plugin(tmp_path / 'yolov8', SEED_004_BASIC_CONFIG, plugin_files())
    before = (root / 'config.yaml').read_bytes()
    assert PluginDiscovery.discover_actions(root)['inference']['entrypoint'] == 'plugin.inference.InferenceAction'
    result = sync_config(root)
    assert (result.changes, result.unmatched) == ([], [])
    assert (root / 'config.yaml').read_bytes() == before
    source = (root / 'plugin' / 'inference.py').read_text(encoding='utf-8')
    (root / 'plugin' / 'inference.py').write_text(
        source.replace('    def execute', "    output_type = 'inference_results'\n\n    def execute"), encoding='utf-8'
    )
    result = sync_config(root)
    assert (result.changes, result.unmatched) == (["action 'infer': output_type -> inference_results"], [])
    config = PluginDiscovery.from_path(root).config
    assert list(config.actions) == ['train', 'infer']
    infer = config.actions['infer']
    assert (infer.entrypoint, infer.method, infer.output_type) == (
        'plugin.inference.InferenceAction',
        RunMethod.TASK,
        'inference_results',
    )


def test_load_needs_a_plugin_code():
    with pytest.raises(ValueError, match=r'^plugin_code is required'):
        PluginDiscovery.load(None)


# --------------------------------------------------------------------------- from_module / load


MODULE_SOURCE = '''
"""A module plugin."""
from pydantic import BaseModel

from synapse_sdk.plugins import BaseAction, BaseTrainAction, action
from synapse_sdk.plugins.types import ModelWeights


class P(BaseModel):
    n: int = 1


class DoubleAction(BaseAction[P]):
    output_type = ModelWeights

    def execute(self) -> dict:
        return {'value': self.params.n * 2}


class Named(BaseAction[P]):
    action_name = 'triple'

    def execute(self) -> int:
        return self.params.n * 3


@action(params=P)
def square(params: P, ctx) -> int:
    return params.n ** 2
'''


def test_from_module_skips_imported_bases_and_names_classes(tmp_path, monkeypatch):
    (tmp_path / 'modplug_one.py').write_text(MODULE_SOURCE, encoding='utf-8')
    monkeypatch.syspath_prepend(str(tmp_path))
    import modplug_one

    discovery = PluginDiscovery.from_module(modplug_one, name='Module Plugin', category='export')
    assert discovery.list_actions() == ['double', 'triple', 'square']
    assert (discovery.config.name, discovery.config.code, discovery.config.category) == (
        'Module Plugin',
        'module-plugin',
        PluginCategory.EXPORT,
    )
    assert discovery.get_action_config('double').entrypoint == 'modplug_one.DoubleAction'
    assert discovery.get_action_output_type('double') == 'model_weights'
    assert discovery.get_action_class('double').category is PluginCategory.EXPORT
    assert run_plugin('modplug_one', 'double', {'n': 4}, **quiet()) == {'value': 8}
    assert run_plugin('modplug_one', 'square', {'n': 5}, **quiet()) == 25
    sys.modules.pop('modplug_one')


def test_from_module_scans_a_package_and_its_submodules(tmp_path, monkeypatch):
    package = tmp_path / 'modplug_pkg'
    package.mkdir()
    (package / '__init__.py').write_text('', encoding='utf-8')
    (package / 'actions.py').write_text(MODULE_SOURCE, encoding='utf-8')
    monkeypatch.syspath_prepend(str(tmp_path))
    import modplug_pkg

    discovery = PluginDiscovery.from_module(modplug_pkg)
    assert discovery.list_actions() == ['double', 'triple', 'square']
    assert discovery.config.category is PluginCategory.CUSTOM
    assert 'triple:' in discovery.to_yaml()
    for name in [n for n in sys.modules if n.startswith('modplug_pkg')]:
        sys.modules.pop(name)


def test_from_module_rejects_two_actions_with_one_name(tmp_path, monkeypatch):
    source = (
        MODULE_SOURCE
        + '\n\nclass Other(BaseAction[P]):\n    action_name = "square"\n\n    def execute(self):\n        return 0\n'
    )
    (tmp_path / 'modplug_dup.py').write_text(source, encoding='utf-8')
    monkeypatch.syspath_prepend(str(tmp_path))
    import modplug_dup

    with pytest.raises(ActionDefinitionError, match=r"^Two actions in modplug_dup are named 'square'"):
        PluginDiscovery.from_module(modplug_dup)
    sys.modules.pop('modplug_dup')


def test_load_caches_per_config_file_until_it_changes(tmp_path):
    root = write_plugin(tmp_path / 'p', SEED_004_BASIC_CONFIG, plugin_files())
    first = PluginDiscovery.load(root)
    assert PluginDiscovery.load(str(root)) is first
    assert PluginDiscovery.load(root / 'config.yaml') is first
    text = (root / 'config.yaml').read_text(encoding='utf-8')
    (root / 'config.yaml').write_text(text.replace('description: Run inference on images', 'description: changed'))
    second = PluginDiscovery.load(root)
    assert second is not first
    assert second.get_action_config('infer').description == 'changed'


def test_to_config_dict_sends_everything_with_generated_schemas(tmp_path):
    root = write_plugin(
        tmp_path / 'p',
        SEED_004_COMPLETE_CONFIG.replace('wheels_dir: wheels', 'wheels_dir: wheels\nextra_key: kept'),
        plugin_files(export=True),
    )
    with pytest.warns(ConfigWarning, match=r"unknown key 'extra_key'"):
        discovery = PluginDiscovery.from_path(root)
    data = discovery.to_config_dict()
    assert data['extra_key'] == 'kept'
    assert data['env'] == {'CUDA_VISIBLE_DEVICES': '0', 'LOG_LEVEL': 'INFO'}
    assert (data['package_manager'], data['package_manager_options'], data['runtime_env']) == (
        'pip',
        [],
        {'py_modules': ['./plugin']},
    )
    assert data['actions']['export']['hyperparameters'] == {
        'train_ui_schemas': [
            {
                'name': 'opset',
                'label': 'Opset',
                'widget': 'number',
                'type': 'integer',
                'step': 1,
                'required': False,
                'default': 17,
            }
        ]
    }
    assert data['actions']['train']['required_resources'] == {}
    assert data['actions']['train']['result_schema'] is None
    assert list(data['actions']) == ['train', 'infer', 'export']


def test_load_entrypoint_is_public_for_workers(tmp_path):
    root = write_plugin(tmp_path / 'p', SEED_004_BASIC_CONFIG, plugin_files())
    target = load_entrypoint('plugin.train:TrainAction', root)
    assert target.__name__ == 'TrainAction'
    assert issubclass(target.params_model, BaseModel)
    with pytest.raises(ActionDefinitionError, match=r"^Invalid entrypoint: entrypoint 'nodots' needs a module"):
        load_entrypoint('nodots', root)
