"""What importing each public package pulls in, each checked in a fresh interpreter.

``import synapse_sdk.plugins`` must stay cheap (STYLE.md: no Ray, FastAPI, SQLAlchemy or numpy); the clients
never load the server or the plugin stack; the Ray executors and the worker load Ray only when used.
"""

from __future__ import annotations

import json
import subprocess
import sys


def test_importing_plugins_loads_no_heavy_modules():
    code = (
        'import sys, json; import synapse_sdk.plugins; '
        'from synapse_sdk.plugins import BaseAction, action, RuntimeContext; '
        "print(json.dumps(sorted(m for m in ('ray', 'fastapi', 'numpy', 'sqlalchemy', 'httpx', 'yaml', "
        "'rich', 'jinja2', 'synapse_sdk.clients', 'synapse_sdk.local') if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_importing_clients_loads_no_server_or_plugin_stack() -> None:
    code = (
        'import sys, synapse_sdk.clients; '
        "print(sorted(m for m in ('fastapi', 'sqlalchemy', 'numpy', 'ray', 'synapse_sdk.local', 'synapse_sdk.plugins') "
        'if m in sys.modules))'
    )
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == '[]'


def test_importing_the_executors_and_the_worker_loads_no_ray():
    code = (
        'import sys, json, synapse_sdk.plugins.executors.ray, synapse_sdk.plugins.entrypoint;'
        'import synapse_sdk.cli.plugin_job;'
        'print(json.dumps([m for m in ("ray", "fastapi", "sqlalchemy", "numpy") if m in sys.modules]))'
    )
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []


def test_importing_the_dataset_converters_loads_no_numpy_pillow_or_ray():
    code = (
        'import sys; import synapse_sdk.plugins.datasets as d; d.get_converter; '
        "print(sorted(m for m in ('numpy', 'PIL', 'pycocotools', 'ray') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout == '[]\n'
