"""Export throughput: media downloaded one at a time (concurrency=1) vs the default (8 in flight).

Run: .venv/bin/python bench/export.py [--items 500] [--latency-ms 20]

Everything runs on 127.0.0.1: the local backend (uvicorn, own process; the export's backend identity and
client), and a file server that answers each image after ``--latency-ms`` (own process, like object
storage). Each export runs in its own process over the same ``ExportItem`` listing (``BaseExportAction.export``
with the items' file URLs on the file server), writes COCO, and reports its wall time and peak RSS. Prints
items/s of both and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from to_task_file import SERVE_BACKEND, free_port, stop, wait_for  # the same servers as that bench

SERVE_IMAGES = """
import asyncio, struct, sys, zlib
from aiohttp import web
latency = float(sys.argv[2]) / 1000

def png(width, height):
    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
    header = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
    raw = b''.join(b'\\x00' + b'\\x80' * (3 * width) for _ in range(height))
    return b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', header) + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b'')

BODY = png(64, 48)

async def handle(request):
    await asyncio.sleep(latency)
    return web.Response(body=BODY, content_type='image/png')

app = web.Application()
app.router.add_get('/img/{i}.png', handle)
web.run_app(app, host='127.0.0.1', port=int(sys.argv[1]), print=None, access_log=None)
"""

RUN_EXPORT = """
import json, sys, time
from synapse_sdk.clients import BackendClient
from synapse_sdk.loggers import NoOpLogger
from synapse_sdk.plugins.actions.export import BaseExportAction, ExportItem, ExportParams
from synapse_sdk.plugins.context import RuntimeContext

base_url, token, images_url, count, concurrency, out = sys.argv[1:7]
count, concurrency = int(count), int(concurrency)

def item(i):
    box = {'id': f'b{i}', 'classification': 'car', 'attrs': [], 'data': [4, 4, 20 + i % 20, 10]}
    files = {'image_1': {'url': f'{images_url}/img/{i}.png', 'is_primary': True, 'file_name_original': f'{i}.png'}}
    return ExportItem(id=i + 1, data={'images': [{'bounding_box': [box]}]}, files=files)

class Export(BaseExportAction[ExportParams]):
    action_name = 'export'

client = BackendClient(base_url, token)
action = Export(ExportParams(path=out), RuntimeContext(logger=NoOpLogger(), client=client))
started = time.perf_counter()
report = action.export((item(i) for i in range(count)), count, path=out, concurrency=concurrency, resume=False)
elapsed = time.perf_counter() - started
rss_mib = int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0]) / 1024
print(json.dumps({'seconds': elapsed, 'counts': report.counts, 'rss_mib': rss_mib}))
"""


def run(base_url: str, token: str, images_url: str, count: int, concurrency: int, out: Path) -> dict[str, Any]:
    """One export in a fresh process; its figures."""
    args = [base_url, token, images_url, str(count), str(concurrency), str(out)]
    done = subprocess.run([sys.executable, '-c', RUN_EXPORT, *args], capture_output=True, text=True, check=True)
    row: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if row['counts'] != {'exported': count}:
        raise SystemExit(f'concurrency={concurrency}: expected {count} exported, got {row["counts"]}')
    return row


def main() -> None:
    """Set up, run both configurations, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--items', type=int, default=500)
    parser.add_argument('--latency-ms', type=float, default=20)
    parser.add_argument('--concurrency', type=int, default=8, help='the default run (ExportParams default: 8)')
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        from synapse_sdk.local.setup import init_local

        state = Path(tmp) / 'local'
        token = init_local(state).token
        backend_port, images_port = free_port(), free_port()
        env = {**os.environ, 'SYNAPSE_STATE_DIR': str(Path(tmp) / 'state')}
        procs = [
            subprocess.Popen([sys.executable, '-c', SERVE_BACKEND, str(state), str(backend_port)], env=env),
            subprocess.Popen([sys.executable, '-c', SERVE_IMAGES, str(images_port), str(args.latency_ms)], env=env),
        ]
        os.environ['SYNAPSE_STATE_DIR'] = env['SYNAPSE_STATE_DIR']
        try:
            wait_for(backend_port)
            wait_for(images_port)
            base_url, images_url = f'http://127.0.0.1:{backend_port}/', f'http://127.0.0.1:{images_port}'
            rows = [
                ('concurrency=1 (one at a time)', run(base_url, token, images_url, args.items, 1, Path(tmp) / 'o1')),
                (
                    f'concurrency={args.concurrency} (default)',
                    run(base_url, token, images_url, args.items, args.concurrency, Path(tmp) / 'o2'),
                ),
            ]
        finally:
            stop(procs)
    load_after = os.getloadavg()
    print(f'export to COCO, {args.items} items, each image served with {args.latency_ms:.0f} ms latency')
    print(f'{"run":<32} {"items/s":>8} {"seconds":>8} {"peak RSS MiB":>13}')
    for label, row in rows:
        seconds = float(row['seconds'])
        print(f'{label:<32} {args.items / seconds:>8.1f} {seconds:>8.2f} {float(row["rss_mib"]):>13.1f}')
    one, default = (float(row['seconds']) for _, row in rows)
    print(
        f'speed-up: {one / default:.1f}x; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after (1 min)'
    )


if __name__ == '__main__':
    main()
