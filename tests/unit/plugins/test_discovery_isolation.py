"""Two plugins whose code lives in a package named `plugin` load side by side without shadowing."""

import sys

from synapse_sdk.loggers import NoOpLogger
from synapse_sdk.plugins.discovery import PluginDiscovery
from synapse_sdk.plugins.runner import run_plugin

CONFIG = 'name: {code}\ncode: {code}\nactions:\n  who:\n    entrypoint: plugin.actions:who\n'
ACTIONS = """
from synapse_sdk.plugins import action
from plugin.helpers import NAME


@action
def who(params, ctx):
    from plugin import helpers  # imported at run time too

    return {{'name': NAME, 'late': helpers.NAME, 'folder': '{code}'}}
"""


def make(root, code):
    (root / 'plugin').mkdir(parents=True)
    (root / 'config.yaml').write_text(CONFIG.format(code=code), encoding='utf-8')
    (root / 'plugin' / '__init__.py').write_text('', encoding='utf-8')
    (root / 'plugin' / 'helpers.py').write_text(f'NAME = {code!r}\n', encoding='utf-8')
    (root / 'plugin' / 'actions.py').write_text(ACTIONS.format(code=code), encoding='utf-8')
    return root


def test_two_plugin_packages_do_not_shadow_each_other(tmp_path):
    first = make(tmp_path / 'first', 'first')
    second = make(tmp_path / 'second', 'second')
    one = PluginDiscovery.from_path(first)
    two = PluginDiscovery.from_path(second)
    who_one = one.get_action_class('who')
    who_two = two.get_action_class('who')
    assert who_one is not who_two
    assert run_plugin(str(second), 'who', {}, logger_factory=NoOpLogger) == {
        'name': 'second',
        'late': 'second',
        'folder': 'second',
    }
    assert run_plugin(str(first), 'who', {}, logger_factory=NoOpLogger) == {
        'name': 'first',
        'late': 'first',
        'folder': 'first',
    }
    assert sys.modules['plugin'].__path__[0] == str((first / 'plugin').resolve())


def test_reloading_a_plugin_keeps_its_class_identity(tmp_path):
    first = make(tmp_path / 'a', 'alpha')
    second = make(tmp_path / 'b', 'beta')
    original = PluginDiscovery.from_path(first).get_action_class('who')
    PluginDiscovery.from_path(second).get_action_class('who')
    again = PluginDiscovery.from_path(first).get_action_class('who')
    assert again is original
    assert sys.path.count(str(first.resolve())) == 0


def test_a_cached_plugin_is_reactivated_before_it_runs_again(tmp_path):
    first = make(tmp_path / 'x', 'xray')
    second = make(tmp_path / 'y', 'yankee')
    quiet = {'logger_factory': NoOpLogger}
    assert run_plugin(str(first), 'who', {}, **quiet)['late'] == 'xray'
    assert run_plugin(str(second), 'who', {}, **quiet)['late'] == 'yankee'
    assert run_plugin(str(first), 'who', {}, **quiet) == {'name': 'xray', 'late': 'xray', 'folder': 'xray'}


def test_edited_source_is_imported_again_by_a_new_discovery(tmp_path):
    import os

    root = make(tmp_path / 'e', 'echo')
    assert run_plugin(str(root), 'who', {}, logger_factory=NoOpLogger)['name'] == 'echo'
    helpers = root / 'plugin' / 'helpers.py'
    helpers.write_text("NAME = 'edited'\n", encoding='utf-8')
    stat = helpers.stat()
    os.utime(helpers, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000))
    assert PluginDiscovery.from_path(root).get_action_class('who').function({}, None)['name'] == 'edited'
