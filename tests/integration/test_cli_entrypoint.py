"""The installed `synapse` console script, run as a real subprocess."""

import json
import os
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
