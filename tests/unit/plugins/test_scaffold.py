"""Every category's scaffold renders the documented files and runs out of the box."""

import json
import tempfile
import tomllib
import warnings

import pytest
from typer.testing import CliRunner

from synapse_sdk.cli import app
from synapse_sdk.enums import PluginCategory
from synapse_sdk.plugins.config import load_config
from synapse_sdk.plugins.discovery import PluginDiscovery
from synapse_sdk.plugins.scaffold import CATEGORY_ACTIONS, PluginSpec, create_plugin, slugify

runner = CliRunner()


@pytest.fixture(autouse=True)
def _temp_files_in_tmp_path(tmp_path, monkeypatch):
    (tmp_path / 'tmp').mkdir()
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp_path / 'tmp'))


def test_every_category_has_a_scaffold():
    assert set(CATEGORY_ACTIONS) == set(PluginCategory)


@pytest.mark.parametrize('category', list(PluginCategory))
def test_scaffold_of_every_category_runs_with_default_params(category, tmp_path, monkeypatch):
    code = f'demo-{category.value.replace("_", "-")}'
    result = runner.invoke(
        app,
        [
            'plugin',
            'create',
            '--name',
            f'Demo {category}',
            '--category',
            category.value,
            '--path',
            str(tmp_path),
            '--yes',
        ],
    )
    assert result.exit_code == 0, result.output
    folder = tmp_path / f'synapse-{code}-plugin'
    assert result.stdout == f'Created {folder}\nNext: cd {folder} && synapse plugin test\n'
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob('*') if p.is_file())
    modules = sorted(f'plugin/{a.module}.py' for a in CATEGORY_ACTIONS[category])
    assert names == sorted(
        [
            '.gitignore',
            '.synapseignore',
            'README.md',
            'config.yaml',
            'pyproject.toml',
            'requirements.txt',
            'plugin/__init__.py',
            *modules,
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # a scaffold's config.yaml is clean: no warning at all
        config = load_config(folder)
    config.check_publishable()
    assert (config.code, config.category) == (code, category)
    assert list(config.actions) == [a.key for a in CATEGORY_ACTIONS[category]]
    monkeypatch.chdir(folder)
    if category is PluginCategory.PRE_ANNOTATION:  # a real ToTask needs a project: tests/integration/plugins
        report = runner.invoke(app, ['plugin', 'test'])
        assert report.exit_code == 0, report.output
        assert '0 passed, 0 failed, 1 skipped' in report.stdout
    else:
        for spec in CATEGORY_ACTIONS[category]:
            run = runner.invoke(app, ['plugin', 'run', spec.key])
            assert run.exit_code == 0, run.output
            assert isinstance(json.loads(run.stdout), dict)
        report = runner.invoke(app, ['plugin', 'test'])
        assert report.exit_code == 0, report.output
        assert f'{len(CATEGORY_ACTIONS[category])} passed, 0 failed, 0 skipped' in report.stdout
    discovered = PluginDiscovery.discover_actions(folder)
    assert sorted(discovered) == sorted(a.key for a in CATEGORY_ACTIONS[category])
    sync = runner.invoke(app, ['plugin', 'update-config'])
    assert sync.stdout == 'config.yaml is up to date\n'


def test_neural_net_scaffold_publishes_its_ui_schema(tmp_path):
    folder = create_plugin(PluginSpec(name='Net', code='net', category='neural_net'), tmp_path)
    data = PluginDiscovery.from_path(folder).to_config_dict()
    schema = {f['name']: f for f in data['actions']['train']['hyperparameters']['train_ui_schemas']}
    assert schema['learning_rate'] == {
        'name': 'learning_rate',
        'label': 'Learning rate',
        'widget': 'number',
        'type': 'number',
        'exclusive_min': 0,
        'exclusive_max': 1,
        'required': False,
        'default': 0.01,
        'help': 'Initial learning rate',
    }
    assert data['actions']['train']['result_schema']['title'] == 'TrainResult'


def test_existing_folder_is_not_overwritten(tmp_path):
    spec = PluginSpec(name='X', code='x')
    create_plugin(spec, tmp_path)
    with pytest.raises(
        FileExistsError, match=r'synapse-x-plugin already exists; choose another code or remove it first$'
    ):
        create_plugin(spec, tmp_path)
    assert [p.name for p in tmp_path.iterdir() if p.name != 'tmp'] == ['synapse-x-plugin']


@pytest.mark.parametrize(('name', 'code'), [('My YOLO Plugin', 'my-yolo-plugin'), ('  a__b  ', 'a-b'), ('v8!', 'v8')])
def test_slugify(name, code):
    assert slugify(name) == code


@pytest.mark.parametrize('category', [PluginCategory.CUSTOM, PluginCategory.NEURAL_NET])
def test_names_with_quotes_and_backslashes_make_a_plugin_that_imports_and_runs(category, tmp_path, monkeypatch):
    name = 'A """quoted""" \\ name\'s "end\\'
    description = "Say \"hi\" \\ ok ''' <b> & done"
    args = ['plugin', 'create', '--yes', '--name', name, '--code', 'odd', '--description', description]
    result = runner.invoke(app, [*args, '--category', category.value, '--path', str(tmp_path)])
    assert result.exit_code == 0, result.output
    folder = tmp_path / 'synapse-odd-plugin'
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        config = load_config(folder)
    assert (config.name, config.description) == (name, description)
    assert tomllib.loads((folder / 'pyproject.toml').read_text())['project']['description'] == description
    monkeypatch.chdir(folder)
    report = runner.invoke(app, ['plugin', 'test'])
    assert report.exit_code == 0, report.output
    namespace: dict[str, object] = {}
    exec(compile((folder / 'plugin' / '__init__.py').read_text(), '__init__.py', 'exec'), namespace)
    assert namespace['__doc__'] == f"{name}: the plugin's actions live in the modules of this package."


@pytest.mark.parametrize(
    ('args', 'message'),
    [
        (['--name', 'two\nlines'], "name: must be one line of printable text; it contains '\\n'"),
        (['--name', '   '], 'name: must not be empty'),
        (
            ['--name', 'X', '--description', 'tab\there'],
            "description: must be one line of printable text; it contains '\\t'",
        ),
        (['--name', '"""'], '--code is required: no slug can be made from the name \'"""\''),
    ],
)
def test_create_rejects_names_that_are_not_one_printable_line(args, message, tmp_path):
    result = runner.invoke(app, ['plugin', 'create', '--yes', *args, '--path', str(tmp_path)])
    assert (result.exit_code, result.stderr) == (1, f'Error: {message}\n')
    assert [p.name for p in tmp_path.iterdir() if p.name != 'tmp'] == []


def test_the_prompts_check_answers_as_they_are_typed(tmp_path, monkeypatch):
    import questionary

    checks = {}

    class Answer:
        def __init__(self, value):
            self.value = value

        def ask(self):
            return self.value

    def text(message, default='', validate=None):
        checks[message] = validate
        return Answer({'Plugin name:': 'Nice', 'Plugin code (slug):': 'nice', 'Description:': ''}[message])

    monkeypatch.setattr(questionary, 'text', text)
    monkeypatch.setattr(questionary, 'select', lambda message, choices, default: Answer('custom'))
    assert runner.invoke(app, ['plugin', 'create', '--path', str(tmp_path)]).exit_code == 0
    assert [checks['Plugin name:'](v) for v in ('ok', '', 'a\nb')] == [
        True,
        'must not be empty',
        "must be one line of printable text; it contains '\\n'",
    ]
    assert [checks['Plugin code (slug):'](v) for v in ('good-code', 'Bad')] == [
        True,
        "code must be a slug (lowercase letters, digits, '-' or '_'), e.g. 'my-plugin'; got 'Bad'",
    ]
    assert [checks['Description:'](v) for v in ('', 'x\ty')] == [
        True,
        "must be one line of printable text; it contains '\\t'",
    ]
