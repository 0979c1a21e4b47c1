"""The installed `synapse` console script, run as a real subprocess."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SYNAPSE = Path(sys.executable).parent / 'synapse'


def synapse(*args, cwd=ROOT):
    env = {**os.environ, 'COLUMNS': '200', 'NO_COLOR': '1'}
    return subprocess.run([str(SYNAPSE), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_entry_point_runs_the_sample_plugin_and_prints_json():
    done = synapse('plugin', 'run', 'greet', '--path', 'examples/hello-plugin', '--params', '{"name": "Ada"}')
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {'message': 'Hello Ada!'}


def test_entry_point_failure_is_one_line_and_exit_1(tmp_path):
    done = synapse('plugin', 'run', 'nope', '--path', str(ROOT / 'examples' / 'hello-plugin'), cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout == ''
    assert done.stderr == "Error: Action 'nope' not found; available actions: greet, count\n"


def test_entry_point_creates_a_plugin_that_passes_its_own_test(tmp_path):
    created = synapse('plugin', 'create', '--name', 'Exporter', '--category', 'export', '--yes', cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    folder = tmp_path / 'synapse-exporter-plugin'
    tested = synapse('plugin', 'test', cwd=folder)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert tested.stdout.rstrip().endswith('1 passed, 0 failed, 0 skipped')


NAPPER = """
import sys
import time

from synapse_sdk.plugins import action


@action
def nap(params, ctx):
    print('napping', file=sys.stderr, flush=True)
    time.sleep(60)


@action
def leave(params, ctx):
    sys.exit(4)
"""


def napper(tmp_path):
    (tmp_path / 'plugin').mkdir()
    (tmp_path / 'plugin' / '__init__.py').write_text('')
    (tmp_path / 'plugin' / 'nap.py').write_text(NAPPER)
    (tmp_path / 'config.yaml').write_text(
        'name: N\ncode: n\nactions:\n  nap: {entrypoint: plugin.nap:nap}\n  leave: {entrypoint: plugin.nap:leave}\n'
    )
    return tmp_path


def test_ctrl_c_stops_a_run_with_one_line_and_exit_130(tmp_path):
    env = {**os.environ, 'COLUMNS': '200', 'NO_COLOR': '1'}
    process = subprocess.Popen(
        [str(SYNAPSE), 'plugin', 'run', 'nap'],
        cwd=napper(tmp_path),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a background shell ignores SIGINT
    )
    try:
        assert process.stderr.readline() == 'napping\n'
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert (process.returncode, out, err) == (130, '', 'Interrupted\n')


def test_sys_exit_in_an_action_is_exit_1_with_one_line(tmp_path):
    done = synapse('plugin', 'run', 'leave', cwd=napper(tmp_path))
    assert (done.returncode, done.stdout, done.stderr) == (
        1,
        '',
        'Error: Action execution failed: the action called sys.exit(4); raise an exception to report a failure '
        '(plugin/nap.py:16, in leave); run again with --debug for the full traceback\n',
    )
