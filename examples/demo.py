"""The main job, end to end on the embedded local backend (run by `make demo`).

1. initialise a fresh local backend in `.demo/` (never touches your real ~/.synapse);
2. generate a sample project: images plus one box-annotation JSON per image, a few broken;
3. import it with `synapse local import`;
4. pre-annotate every task with `synapse plugin run to_task` (file method, example plugin);
5. print the result table: total / succeeded / failed with reasons;
6. then the same backend pre-annotates a second project by inference: a face detector published as a
   pre-processor, deployed on a local Ray Serve by ToTask itself (``demo_inference.py``).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / '.demo'
PLUGIN = ROOT / 'examples' / 'pre-annotation-plugin'
SYNAPSE = Path(sys.executable).with_name('synapse')
IMAGES = 60
console = Console(highlight=False)


def synapse(*args: str, env: dict[str, str], expect: int = 0) -> str:
    """Run the `synapse` CLI; its stderr (progress, messages) goes to the terminal, stdout is returned.

    ``expect``: the exit code the step should end with (``plugin run`` exits 3 when some tasks failed).
    """
    console.print(f'[bold cyan]$ synapse {" ".join(args)}[/]')
    sys.stdout.flush()
    done = subprocess.run([str(SYNAPSE), *args], env=env, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != expect:
        console.print(done.stdout)
        raise SystemExit(f'`synapse {args[0]} {args[1]}` failed with exit code {done.returncode}')
    return done.stdout


def make_sample(folder: Path) -> dict[str, str]:
    """Images and box files; returns what is deliberately wrong, by file stem."""
    folder.mkdir(parents=True)
    rng = random.Random(7)
    broken = {'img_007': 'truncated JSON', 'img_019': 'no annotation file', 'img_033': "no 'boxes' list"}
    for i in range(IMAGES):
        stem = f'img_{i:03d}'
        (folder / f'{stem}.jpg').write_bytes(b'\xff\xd8\xff\xe0' + rng.randbytes(64))
        boxes = [
            {
                'label': rng.choice(['car', 'person', 'bike']),
                'x': rng.randint(0, 500),
                'y': rng.randint(0, 300),
                'w': 40,
                'h': 30,
            }
            for _ in range(rng.randint(1, 4))
        ]
        if stem == 'img_007':
            (folder / f'{stem}.json').write_text('{"boxes": [{"label": "car", "x": ')
        elif stem == 'img_019':
            continue
        elif stem == 'img_033':
            (folder / f'{stem}.json').write_text(json.dumps({'objects': boxes}))
        else:
            (folder / f'{stem}.json').write_text(json.dumps({'boxes': boxes}))
    return broken


def main() -> None:
    """Run the demo."""
    started = time.monotonic()
    shutil.rmtree(DEMO, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith('SYNAPSE_')}
    env.update(
        SYNAPSE_LOCAL_DIR=str(DEMO / 'local'),
        SYNAPSE_STATE_DIR=str(DEMO / 'state'),
        SYNAPSE_CONFIG_DIR=str(DEMO / 'config'),
        RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER='0',
    )
    synapse('local', 'init', env=env)
    broken = make_sample(DEMO / 'sample')
    console.print(f'Generated {IMAGES} images with box files ({len(broken)} deliberately broken)')
    synapse(
        'local', 'import', str(DEMO / 'sample'), '--project', 'demo',
        '--spec', 'image=*.jpg', '--spec', 'annotation_data=*.json', env=env,
    )  # fmt: skip
    params = {'name': 'demo_prelabel', 'project': 1, 'agent': 1, 'target_specification_name': 'annotation_data'}
    # 3 files are broken on purpose: the run finishes with failed tasks, which `plugin run` reports as exit code 3
    args = ('plugin', 'run', 'to_task', '--path', str(PLUGIN), '--params', json.dumps(params))
    output = synapse(*args, env=env, expect=3)
    result = json.loads(output)

    table = Table(title='to_task result', show_header=True)
    table.add_column('total', justify='right')
    table.add_column('succeeded', justify='right', style='green')
    table.add_column('failed', justify='right', style='red')
    table.add_column('status')
    table.add_row(
        str(result['total_tasks']), str(result['success_count']), str(result['failed_count']), result['status']
    )
    console.print(table)
    if result['failures']:
        reasons = Table(title='failures', show_header=True)
        reasons.add_column('task', justify='right')
        reasons.add_column('reason')
        for failure in sorted(result['failures'], key=lambda f: f['task_id']):
            reasons.add_row(str(failure['task_id']), failure['error'])
        console.print(reasons)
    console.print(f'Done in {time.monotonic() - started:.1f}s. Task data is in {DEMO / "local"}; '
                  f'export it with: SYNAPSE_LOCAL_DIR={DEMO / "local"} synapse local export demo OUT_DIR')  # fmt: skip
    expected_failures = len(broken)
    if result['failed_count'] != expected_failures or result['success_count'] != IMAGES - expected_failures:
        raise SystemExit('the demo did not produce the expected result')

    console.rule('Part 2: pre-annotation by inference on Ray Serve')
    from demo_inference import run as run_inference

    run_inference(DEMO, env, synapse, console)


if __name__ == '__main__':
    main()
