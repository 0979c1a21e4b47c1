"""Every option that takes a value shows ``<type>`` in ``--help``, from one rule applied to the whole app."""

import re
from pathlib import Path
from typing import Annotated

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from synapse_sdk.cli import app
from synapse_sdk.cli.metavars import SynapseGroup

runner = CliRunner()
WIDE = {'COLUMNS': '400', 'TERMINAL_WIDTH': '400'}
METAVAR = re.compile(r'^<[^<>\s]+>$')


def commands(command, path=()):
    """``(path, command)`` for every command and group under ``command``, the root included."""
    yield path, command
    for name, sub in sorted(getattr(command, 'commands', {}).items()):
        yield from commands(sub, (*path, name))


def value_options(command):
    return [p for p in command.params if p.param_type_name == 'option' and not p.is_flag and not p.count]


TREE = list(commands(typer.main.get_command(app)))


def test_the_walk_covers_the_whole_app():
    paths = {' '.join(path) for path, _ in TREE}
    assert {'plugin run', 'plugin job logs', 'local token create', 'dataset convert', 'login'} <= paths
    assert sum(len(value_options(command)) for _, command in TREE) >= 30


@pytest.mark.parametrize(('path', 'command'), TREE, ids=[' '.join(path) or 'synapse' for path, _ in TREE])
def test_every_value_option_of_every_command_shows_an_angle_bracket_metavar(path, command):
    options = value_options(command)
    for option in options:
        assert option.metavar is not None and METAVAR.match(option.metavar), (path, option.opts, option.metavar)
    shown = runner.invoke(app, [*path, '--help'], env=WIDE)
    assert shown.exit_code == 0, shown.output
    for option in options:
        name = re.compile(rf'(?<![\w-]){re.escape(option.opts[0])}(?![\w-])')
        rows = [line for line in shown.stdout.splitlines() if line.startswith('│')]  # the options panel
        row = next((line for line in rows if name.search(line)), None)
        assert row is not None, (path, option.opts, shown.stdout)
        assert option.metavar in row, (path, option.opts, row)


@pytest.mark.parametrize(
    ('path', 'option', 'metavar'),
    [
        (('plugin', 'run'), '--path', '<path>'),
        (('plugin', 'run'), '--params', '<str>'),
        (('plugin', 'run'), '--mode', '<local|task|job>'),
        (('plugin', 'serve'), '--timeout', '<float>'),
        (('local', 'serve'), '--port', '<int>'),
        (('local', 'import'), '--spec', '<list[str]>'),
    ],
)
def test_the_metavar_is_the_type_of_the_annotation(path, option, metavar):
    command = dict(TREE)[path]
    assert next(p for p in command.params if option in p.opts).metavar == metavar


def test_flags_take_no_metavar_of_their_own():
    flags = [p for _, command in TREE for p in command.params if p.param_type_name == 'option' and p.is_flag]
    assert {'--debug', '--verbose', '--yes', '--dry-run'} <= {p.opts[0] for p in flags}
    assert all(p.metavar is None for p in flags)


def test_a_new_command_is_labelled_and_an_explicit_metavar_is_kept():
    demo = typer.Typer(cls=SynapseGroup)
    sub = typer.Typer()
    demo.add_typer(sub, name='sub')

    @sub.command('go')
    def go(
        count: Annotated[int, typer.Option('--count')] = 1,
        names: Annotated[list[str] | None, typer.Option('--name')] = None,
        out: Annotated[Path, typer.Option('--out', metavar='<folder>')] = Path('.'),
        quiet: Annotated[bool, typer.Option('--quiet')] = False,
    ) -> None:
        """Go."""

    @demo.command('other')
    def other(level: Annotated[float, typer.Option('--level')] = 0.5) -> None:
        """Other."""

    tree = dict(commands(typer.main.get_command(demo)))
    labels = {p.opts[0]: p.metavar for p in tree[('sub', 'go')].params}
    assert labels == {'--count': '<int>', '--name': '<list[str]>', '--out': '<folder>', '--quiet': None}
    assert [p.metavar for p in tree[('other',)].params] == ['<float>']
