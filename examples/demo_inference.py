"""The demo's second part: the same local backend pre-annotates a project by inference on Ray Serve.

1. serve the backend (`synapse local serve`): its agent starts Ray on 127.0.0.1 when first needed;
2. generate images with known faces (scikit-image's astronaut, pasted at known places);
3. import them, publish the face-detector pre-processor, upload its model (OpenCV's Haar cascade);
4. `synapse plugin run to_task` with `method: inference`: ToTask dispatches the deployment, waits for
   the Serve app to run, and annotates every task through it;
5. check every box against the known faces (IoU >= 0.5) and print the table.
"""

from __future__ import annotations

import importlib.util
import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
FACES = ROOT / 'examples' / 'face-detector-plugin'
PRE_ANNOTATION = ROOT / 'examples' / 'pre-annotation-plugin'
SAMPLES = 12


def _module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f'`synapse local serve` exited with {process.returncode}')
        try:
            with urllib.request.urlopen(f'{url}health/', timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f'the local backend did not answer at {url} within {timeout:.0f} s')


def run(demo: Path, env: dict[str, str], synapse: Callable[..., str], console: Console) -> None:
    """The inference part, against the demo's state directories (``env``)."""
    started = time.monotonic()
    port = _free_port()
    url = f'http://127.0.0.1:{port}/'
    synapse_bin = Path(sys.executable).with_name('synapse')
    log = open(demo / 'serve.log', 'wb')
    console.print(f'[bold cyan]$ synapse local serve --port {port}[/]  (in the background)')
    server = subprocess.Popen(
        [str(synapse_bin), 'local', 'serve', '--port', str(port)], env=env, stdout=log, stderr=log
    )
    try:
        _wait_for(url, server)
        _annotate(demo, env, synapse, console, url)
    finally:
        server.send_signal(signal.SIGINT)  # the server stops its agent's Ray with it
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    console.print(f'Inference part done in {time.monotonic() - started:.1f}s (Ray started and stopped with the server)')


def _annotate(demo: Path, env: dict[str, str], synapse: Callable[..., str], console: Console, url: str) -> None:
    samples = _module('face_samples', FACES / 'samples.py').make_samples(demo / 'faces', count=SAMPLES)
    (demo / 'faces' / 'truth.json').unlink()
    faces_total = sum(len(s.boxes) for s in samples)
    console.print(f'Generated {len(samples)} images with {faces_total} known faces')
    imported = synapse('local', 'import', str(demo / 'faces'), '--project', 'faces', '--spec', 'image=*.jpg', env=env)
    project = int(re.search(r'\(id (\d+)\)', imported).group(1))  # type: ignore[union-attr]
    published = synapse('plugin', 'publish', '--path', str(FACES), env=env)
    release = int(re.search(r'as release (\d+)', published).group(1))  # type: ignore[union-attr]

    from synapse_sdk.clients import BackendClient

    token = (Path(env['SYNAPSE_LOCAL_DIR']) / 'access_token').read_text().strip()
    client = BackendClient(url, token)
    faces = _module('face_model', FACES / 'plugin' / 'faces.py')
    model_dir = faces.build_model_folder(demo / 'haar-model')
    model = client.create_model({'file': str(model_dir), 'name': 'haar-frontalface', 'plugin_release': release})
    console.print(f'Uploaded the model as models/{model["id"]}/ (the cascade and its thresholds)')

    params = {
        'name': 'demo_faces',
        'project': project,
        'agent': 1,
        'method': 'inference',
        'pre_processor': release,
        'model': model['id'],
        'pre_processor_poll_seconds': 1,
    }
    args = ('plugin', 'run', 'to_task', '--path', str(PRE_ANNOTATION), '--params', json.dumps(params))
    result = json.loads(synapse(*args, env={**env, 'SYNAPSE_HOST': url, 'SYNAPSE_ACCESS_TOKEN': token}))
    _report(console, client, project, samples, result)
    client.close()


def _report(console: Console, client: Any, project: int, samples: list[Any], result: dict[str, Any]) -> None:
    matching = _module('face_matching', FACES / 'plugin' / 'matching.py')
    truth = {s.path.name: s.boxes for s in samples}
    found, matched, false_positives = 0, 0, 0
    for task in client.list_tasks({'project': project, 'expand': 'data_unit'}):
        name = task['data_unit']['files']['image']['file_name_original']
        boxes = [
            {'x': a['data']['x'], 'y': a['data']['y'], 'w': a['data']['width'], 'h': a['data']['height']}
            for a in task['data'].get('annotations', {}).get('image_1', [])
        ]
        outcome = matching.match(truth[name], boxes, 0.5)
        found += len(boxes)
        matched += len(outcome.pairs)
        false_positives += len(outcome.false_positives)
    expected = sum(len(boxes) for boxes in truth.values())
    table = Table(title='to_task by inference (face detector on Ray Serve)', show_header=True)
    for column in ('tasks', 'annotated', 'failed', 'faces known', 'boxes', 'matched (IoU >= 0.5)', 'false positives'):
        table.add_column(column, justify='right')
    table.add_row(
        str(result['total_tasks']),
        str(result['success_count']),
        str(result['failed_count']),
        str(expected),
        str(found),
        str(matched),
        str(false_positives),
    )
    console.print(table)
    if result['success_count'] != len(samples) or matched != expected:
        raise SystemExit('the inference part did not annotate every task with the known faces')
