"""``--verify`` on the benchmark dataset for every pair, and ``dataset diff`` of our COCO against pycocotools."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
from typer.testing import CliRunner

from synapse_sdk.cli import app
from synapse_sdk.plugins.datasets import get_converter
from synapse_sdk.plugins.datasets.verify import diff_datasets

FORMATS = ['dm_v1', 'dm_v2', 'yolo', 'coco', 'pascal']
TARGETS = [(t, 'detect') for t in FORMATS] + [('yolo', 'segment'), ('yolo', 'pose')]
BENCH = Path(__file__).parents[3] / 'bench' / 'convert.py'
runner = CliRunner()


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location('bench_convert', BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault('bench_convert', module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def bench_sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The benchmark's COCO dataset (``make_coco``, 40 images x 6 boxes) and its conversion to every format."""
    root = tmp_path_factory.mktemp('bench')
    made = {'coco': _bench().make_coco(root / 'coco', 40, 6)}
    for fmt in FORMATS:
        if fmt != 'coco':
            report = get_converter('coco', fmt, images='link', verify=True).convert(made['coco'], root / fmt)
            assert report.verification is not None and report.verification.ok, report.verification.summary()
            made[fmt] = root / fmt
    return made


@pytest.mark.parametrize(('target', 'task'), TARGETS)
@pytest.mark.parametrize('source', FORMATS)
def test_benchmark_dataset_every_pair_verifies(
    bench_sources: dict[str, Path], tmp_path: Path, source: str, target: str, task: str
):
    converter = get_converter(source, target, images='link', yolo_task=task, verify=True)
    report = converter.convert(bench_sources[source], tmp_path / 'out')
    v = report.verification
    assert v is not None
    assert (v.ok, v.items_compared, v.matched, v.drifted) == (True, 40, 240, 0), v.summary()
    assert v.min_iou is None or v.min_iou >= 0.999


def test_our_coco_equals_pycocotools_reading_of_it(bench_sources: dict[str, Path], tmp_path: Path):
    from pycocotools.coco import COCO

    ours = tmp_path / 'ours'
    get_converter('dm_v2', 'coco', images='link').convert(bench_sources['dm_v2'], ours)
    coco = COCO(str(ours / 'annotations.json'))
    assert len(coco.getAnnIds()) == 240 and len(coco.getImgIds()) == 40
    theirs = ours / 'pycocotools.json'  # beside our file, so that both name the same images
    theirs.write_text(json.dumps(coco.dataset), encoding='utf-8')
    v = diff_datasets(ours / 'annotations.json', 'coco', theirs, 'coco')
    assert (v.ok, v.items_compared, v.matched, v.max_drift_px) == (True, 40, 240, 0.0), v.summary()
    result = runner.invoke(
        app, ['dataset', 'diff', str(ours / 'annotations.json'), str(theirs), '-f', 'coco', '--json']
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)['matched'] == 240
    # and a real difference in pycocotools' copy is found and named
    coco.dataset['annotations'][0]['bbox'][0] += 1
    theirs.write_text(json.dumps(coco.dataset), encoding='utf-8')
    changed = diff_datasets(ours / 'annotations.json', 'coco', theirs, 'coco')
    image = next(i for i in coco.dataset['images'] if i['id'] == coco.dataset['annotations'][0]['image_id'])
    assert (changed.ok, changed.drifted, changed.worst[0].item) == (False, 1, Path(image['file_name']).stem)
