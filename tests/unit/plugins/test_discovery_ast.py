"""discover_actions reads the source without importing it; update-config writes what it finds."""

import sys
import textwrap

import pytest
import yaml

from synapse_sdk.exceptions import ActionDefinitionError
from synapse_sdk.plugins.discovery import PluginDiscovery

SOURCE = '''
from typing import Generic, TypeVar

import torch_is_not_installed  # never imported by discovery

from pydantic import BaseModel
from synapse_sdk.plugins import BaseAction, BaseTrainAction, action
from synapse_sdk.plugins.types import ModelWeights, YOLODataset

P = TypeVar('P')


class Params(BaseModel):
    n: int = 1


class BaseShared(BaseAction[Params]):
    """Abstract by name: skipped."""


class TrainAction(BaseTrainAction[Params]):
    input_type = YOLODataset
    output_type = ModelWeights

    def execute(self):
        return 1


class ImageInferenceAction(BaseShared):
    action_name = 'inference'
    output_type = 'inference_results'

    def execute(self):
        return 2


class Helper:
    pass


@action(name='convert', params=Params)
def convert_dataset(params, ctx):
    return 3


@action
def plain(params, ctx):
    return 4
'''


def make(tmp_path, config):
    (tmp_path / 'plugin').mkdir()
    (tmp_path / 'plugin' / '__init__.py').write_text('')
    (tmp_path / 'plugin' / 'actions.py').write_text(SOURCE)
    (tmp_path / 'tests').mkdir()
    (tmp_path / 'tests' / 'test_x.py').write_text(
        'from synapse_sdk.plugins import BaseAction\nclass XAction(BaseAction): pass\n'
    )
    (tmp_path / 'config.yaml').write_text(textwrap.dedent(config).lstrip())
    return tmp_path


def test_discover_actions_by_ast_imports_nothing(tmp_path):
    make(tmp_path, 'name: P\ncode: p\n')
    found = PluginDiscovery.discover_actions(tmp_path)
    assert found == {
        'train': {
            'entrypoint': 'plugin.actions.TrainAction',
            'input_type': 'yolo_dataset',
            'output_type': 'model_weights',
        },
        'inference': {
            'entrypoint': 'plugin.actions.ImageInferenceAction',
            'input_type': None,
            'output_type': 'inference_results',
        },
        'convert': {'entrypoint': 'plugin.actions.convert_dataset', 'input_type': None, 'output_type': None},
        'plain': {'entrypoint': 'plugin.actions.plain', 'input_type': None, 'output_type': None},
    }
    assert PluginDiscovery.discover_actions(tmp_path / 'config.yaml') == found
    assert 'torch_is_not_installed' not in sys.modules


def test_discover_actions_rejects_unparsable_source_and_duplicate_names(tmp_path):
    make(tmp_path, 'name: P\ncode: p\n')
    (tmp_path / 'plugin' / 'more.py').write_text(
        'from synapse_sdk.plugins import action\n@action(name="plain")\ndef x(p, c): ...\n'
    )
    with pytest.raises(
        ActionDefinitionError, match=r"^Two actions are named 'plain': plugin.actions.plain and plugin.more.x"
    ):
        PluginDiscovery.discover_actions(tmp_path)
    (tmp_path / 'plugin' / 'more.py').write_text('def broken(:\n')
    with pytest.raises(ActionDefinitionError, match=r'more.py: line 1: cannot parse: invalid syntax$'):
        PluginDiscovery.discover_actions(tmp_path)


def test_sync_config_file_updates_entrypoints_types_and_default_methods(tmp_path):
    make(
        tmp_path,
        """
        name: P
        code: p
        custom_key: kept
        actions:
          train:
            entrypoint: plugin.old:TrainAction
            description: keep me
          convert:
            entrypoint: plugin.actions:convert_dataset
            method: task
          legacy:
            entrypoint: elsewhere.mod:Thing
        """,
    )
    with pytest.warns(Warning, match="unknown key 'custom_key'"):
        discovery = PluginDiscovery.from_path(tmp_path)
    with pytest.warns(Warning, match="unknown key 'custom_key'"):
        result = discovery.sync_config_file()
    assert result.changes == [
        "action 'train': entrypoint -> plugin.actions.TrainAction",
        "action 'train': input_type -> yolo_dataset",
        "action 'train': output_type -> model_weights",
        "action 'train': method -> job (default for 'train')",
        "added action 'inference' (plugin.actions.ImageInferenceAction)",
        "added action 'plain' (plugin.actions.plain)",
    ]
    assert result.unmatched == [
        "action 'legacy': entrypoint 'elsewhere.mod.Thing' is not defined in the plugin's source"
    ]
    data = yaml.safe_load((tmp_path / 'config.yaml').read_text())
    assert data['custom_key'] == 'kept'
    assert data['actions'] == {
        'train': {
            'entrypoint': 'plugin.actions.TrainAction',
            'description': 'keep me',
            'input_type': 'yolo_dataset',
            'output_type': 'model_weights',
            'method': 'job',
        },
        'convert': {'entrypoint': 'plugin.actions:convert_dataset', 'method': 'task'},
        'legacy': {'entrypoint': 'elsewhere.mod:Thing'},
        'inference': {
            'entrypoint': 'plugin.actions.ImageInferenceAction',
            'method': 'serve',
            'output_type': 'inference_results',
        },
        'plain': {'entrypoint': 'plugin.actions.plain', 'method': 'task'},
    }
    assert discovery.list_actions() == ['train', 'convert', 'legacy', 'inference', 'plain']
    with pytest.warns(Warning, match="unknown key 'custom_key'"):
        again = discovery.sync_config_file()
    assert (again.changes, again.changed) == ([], False)
