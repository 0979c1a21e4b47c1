"""config.yaml models and loading: defaults, aliases, enums, YAML errors, unknown keys."""

import re
import textwrap
import warnings

import pytest

from synapse_sdk.enums import (
    AnnotationCategory,
    AnnotationTool,
    DataType,
    PackageManager,
    PluginCategory,
    RunMethod,
    SmartToolType,
)
from synapse_sdk.exceptions import ConfigError, ConfigWarning
from synapse_sdk.plugins.config import ActionConfig, PluginConfig, load_config, normalize_entrypoint, parse_entrypoint


def write(tmp_path, text):
    (tmp_path / 'config.yaml').write_text(textwrap.dedent(text).lstrip(), encoding='utf-8')
    return tmp_path


def test_minimal_config_takes_every_default(tmp_path):
    config = load_config(write(tmp_path, 'name: Demo\ncode: demo\n'))
    assert config.model_dump() == {
        'name': 'Demo',
        'code': 'demo',
        'version': '0.1.0',
        'category': PluginCategory.CUSTOM,
        'description': '',
        'readme': 'README.md',
        'package_manager': PackageManager.PIP,
        'package_manager_options': [],
        'wheels_dir': 'wheels',
        'env': {},
        'runtime_env': {},
        'data_type': None,
        'tasks': [],
        'supported_data_types': [],
        'supported_annotation_tools': {},
        'annotation_category': None,
        'annotation_type': None,
        'smart_tool': None,
        'variant': None,
        'requires': None,
        'dependencies': {},
        'tags': [],
        'actions': {},
    }


def test_action_defaults_and_name_from_key(tmp_path):
    config = load_config(write(tmp_path, 'name: D\ncode: d\nactions:\n  train:\n    entrypoint: pkg.mod:Train\n'))
    assert config.actions['train'] == ActionConfig(name='train', entrypoint='pkg.mod.Train')
    assert config.actions['train'].method is RunMethod.TASK
    assert config.actions['train'].model_dump() == {
        'name': 'train',
        'entrypoint': 'pkg.mod.Train',
        'method': RunMethod.TASK,
        'description': '',
        'input_type': None,
        'output_type': None,
        'serve_options': {},
        'required_resources': {},
        'hyperparameters': {},
    }


def test_action_order_is_yaml_order_and_display_name_kept(tmp_path):
    text = """
    name: D
    code: d
    actions:
      zeta: {entrypoint: a.b:Z, name: Zeta action}
      alpha: {entrypoint: a.b:A, method: local}
      mid:
    """
    config = load_config(write(tmp_path, text))
    assert list(config.actions) == ['zeta', 'alpha', 'mid']
    assert config.actions['zeta'].name == 'Zeta action'
    assert config.actions['alpha'].method is RunMethod.LOCAL
    assert config.actions['mid'].entrypoint == ''


def test_aliases_and_enum_fields(tmp_path):
    text = """
    name: Tool
    code: tool
    category: smart_tool
    supported_data_type: image
    smart_tool_type: interactive
    annotation_category: image
    annotation_type: bbox
    supported_annotation_tools:
      image: [bounding_box, polygon, 3d_bounding_box]
    requires: {sdk: '>=0.1', python: '>=3.11', cuda: '>=12'}
    dependencies: {other-plugin: '>=1.0'}
    """
    config = load_config(write(tmp_path, text))
    assert config.supported_data_types == [DataType.IMAGE]
    assert config.smart_tool is SmartToolType.INTERACTIVE
    assert config.annotation_category is AnnotationCategory.IMAGE
    assert config.supported_annotation_tools == {
        AnnotationCategory.IMAGE: [AnnotationTool.BOUNDING_BOX, AnnotationTool.POLYGON, AnnotationTool.BOUNDING_BOX_3D]
    }
    assert config.requires.model_dump() == {'sdk': '>=0.1', 'python': '>=3.11', 'cuda': '>=12'}
    assert config.dependencies == {'other-plugin': '>=1.0'}


def test_bad_category_lists_the_eight_values_with_line(tmp_path):
    write(tmp_path, 'name: D\ncode: d\ncategory: neural\n')
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(info.value) == (
        f'{tmp_path / "config.yaml"}: line 3: category: Input should be '
        "'neural_net', 'export', 'upload', 'smart_tool', 'post_annotation', 'pre_annotation', "
        "'data_validation' or 'custom', got 'neural'"
    )


def test_bad_method_names_the_action_line(tmp_path):
    write(tmp_path, 'name: D\ncode: d\nactions:\n  train:\n    entrypoint: a.b:C\n    method: jobs\n')
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(info.value) == (
        f'{tmp_path / "config.yaml"}: line 6: actions.train.method: Input should be '
        "'job', 'task', 'serve', 'restapi' or 'local', got 'jobs'"
    )


def test_missing_required_fields_are_named(tmp_path):
    write(tmp_path, 'version: 1.0.0\n')
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert (
        str(info.value) == f"{tmp_path / 'config.yaml'}: missing required field 'name'; missing required field 'code'"
    )
    assert [e['loc'] for e in info.value.details['errors']] == [['name'], ['code']]


def test_malformed_yaml_names_file_line_and_column(tmp_path):
    write(tmp_path, 'name: D\ncode: d\nactions:\n  train: : x\n')
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(info.value) == (
        f'{tmp_path / "config.yaml"}: invalid YAML at line 4, column 10: mapping values are not allowed here'
    )
    assert info.value.details == {'file': str(tmp_path / 'config.yaml'), 'line': 4, 'column': 10}


@pytest.mark.parametrize(
    ('text', 'message'),
    [
        ('', 'the file is empty; it needs at least `name:` and `code:`'),
        ('- a\n- b\n', 'the top level must be a mapping of keys to values, got list'),
    ],
)
def test_empty_or_non_mapping_file(tmp_path, text, message):
    write(tmp_path, text)
    with pytest.raises(ConfigError, match=f'^{re.escape(str(tmp_path / "config.yaml"))}: {re.escape(message)}$'):
        load_config(tmp_path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=f'^Config file not found: {re.escape(str(tmp_path))}/config.yaml$'):
        load_config(tmp_path)


def test_code_must_be_a_slug(tmp_path):
    write(tmp_path, 'name: D\ncode: My Plugin\n')
    with pytest.raises(ConfigError, match=r"line 2: code: code must be a slug .*got 'My Plugin'$"):
        load_config(tmp_path)


def test_tasks_must_be_data_type_dot_task(tmp_path):
    write(tmp_path, 'name: D\ncode: d\ntasks: [image.object_detection, detection]\n')
    with pytest.raises(ConfigError, match=r"line 3: tasks: task 'detection' must be '<data_type>.<task>'"):
        load_config(tmp_path)


def test_unknown_keys_are_kept_with_one_warning_each_naming_the_closest(tmp_path):
    text = """
    name: D
    code: d
    categroy: export
    requires: {pyhton: '>=3.11'}
    actions:
      train:
        entrypoint: a.b:C
        methdo: job
    """
    with pytest.warns(ConfigWarning) as record:
        config = load_config(write(tmp_path, text))
    assert [str(w.message) for w in record] == [
        "config.yaml: unknown key 'categroy'; closest known key: 'category'",
        "config.yaml: unknown key 'requires.pyhton'; closest known key: 'python'",
        "config.yaml: unknown key 'actions.train.methdo'; closest known key: 'method'",
    ]
    assert config.model_extra == {'categroy': 'export'}
    assert config.actions['train'].model_extra == {'methdo': 'job'}
    assert config.to_dict()['categroy'] == 'export'
    assert config.to_dict()['actions']['train']['methdo'] == 'job'


def test_version_not_semver_warns_and_is_accepted(tmp_path):
    with pytest.warns(FutureWarning, match=r"^config.yaml: version '1.0' is not X.Y.Z"):
        config = load_config(write(tmp_path, 'name: D\ncode: d\nversion: 1.0\n'))
    assert config.version == '1.0'


def test_neural_net_without_data_type_warns_on_load_and_refuses_to_publish(tmp_path):
    message = (
        "data_type is required for neural_net plugins. Add 'data_type: image' (or text, video, pcd, audio) "
        'to config.yaml'
    )
    with pytest.warns(ConfigWarning, match=f'^{re.escape(message)}$'):
        config = load_config(write(tmp_path, 'name: D\ncode: d\ncategory: neural_net\n'))
    with pytest.raises(ConfigError, match=f'^{re.escape(message)}$'):
        config.check_publishable()
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        load_config(write(tmp_path, 'name: D\ncode: d\ncategory: neural_net\ndata_type: image\n')).check_publishable()


@pytest.mark.parametrize(
    ('manager', 'options', 'effective'),
    [('uv', [], ['--no-cache']), ('pip', [], ['--upgrade']), ('pip', ['--pre'], ['--pre'])],
)
def test_package_manager_option_defaults(manager, options, effective):
    config = PluginConfig(name='D', code='d', package_manager=manager, package_manager_options=options)
    assert config.effective_package_manager_options() == effective


def test_required_resources_spellings_unified():
    spec = ActionConfig(required_resources={'required_cpu_count': 2, 'num_gpus': 1, 'memory_bytes': 1024})
    assert spec.resources() == {'num_cpus': 2, 'num_gpus': 1, 'memory': 1024}
    assert spec.required_resources == {'required_cpu_count': 2, 'num_gpus': 1, 'memory_bytes': 1024}


@pytest.mark.parametrize('text', ['pkg.mod:Name', 'pkg.mod.Name', ' pkg.mod:Name '])
def test_entrypoint_syntaxes_normalise_to_dotted(text):
    assert parse_entrypoint(text) == ('pkg.mod', 'Name')
    assert normalize_entrypoint(text) == 'pkg.mod.Name'


@pytest.mark.parametrize(
    ('text', 'message'),
    [
        ('Name', "entrypoint 'Name' needs a module and an attribute: 'pkg.module:Name' or 'pkg.module.Name'"),
        ('a:b:c', "entrypoint 'a:b:c' has more than one ':'; use 'pkg.module:Name'"),
        ('my-plugin.mod:X', "entrypoint 'my-plugin.mod:X': 'my-plugin' is not a Python identifier"),
        ('', "entrypoint must be 'pkg.module:Name' or 'pkg.module.Name', got ''"),
    ],
)
def test_bad_entrypoints_are_explained(text, message):
    with pytest.raises(ValueError, match=f'^{re.escape(message)}$'):
        parse_entrypoint(text)


def test_bad_entrypoint_in_config_names_the_action_line(tmp_path):
    write(tmp_path, 'name: D\ncode: d\nactions:\n  train:\n    entrypoint: just_a_name\n')
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(info.value) == (
        f'{tmp_path / "config.yaml"}: line 5: actions.train.entrypoint: entrypoint '
        "'just_a_name' needs a module and an attribute: 'pkg.module:Name' or 'pkg.module.Name'"
    )


def test_to_yaml_is_compact_and_keeps_unknown_keys():
    with pytest.warns(ConfigWarning):
        config = PluginConfig.model_validate(
            {
                'name': 'D',
                'code': 'd',
                'custom_key': [1, 2],
                'env': {'A': '1'},
                'actions': {'train': {'entrypoint': 'p.t:T', 'method': 'job', 'input_type': 'yolo_dataset'}},
            }
        )
    assert config.to_yaml() == textwrap.dedent(
        """\
        name: D
        code: d
        version: 0.1.0
        category: custom
        env:
          A: '1'
        custom_key:
        - 1
        - 2
        actions:
          train:
            entrypoint: p.t.T
            method: job
            input_type: yolo_dataset
        """
    )
