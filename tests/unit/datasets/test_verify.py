"""``verify=True`` / ``--verify`` and ``synapse dataset diff``: the read-back comparison of a conversion."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from tests.support.dataset_builders import box, write_dm_item, write_png_header
from typer.testing import CliRunner

from synapse_sdk.cli import app
from synapse_sdk.exceptions import ValidationError
from synapse_sdk.loggers import NoOpLogger
from synapse_sdk.plugins.actions.dataset import DatasetAction, DatasetResult
from synapse_sdk.plugins.datasets import ConvertOptions, DatasetFormat, get_converter
from synapse_sdk.plugins.datasets.compare import Comparison, Tolerance, compare_entries
from synapse_sdk.plugins.datasets.verify import diff_datasets, verify_conversion
from synapse_sdk.plugins.executors import LocalExecutor

runner = CliRunner()
FORMATS = ['dm_v1', 'dm_v2', 'yolo', 'coco', 'pascal']
TARGETS = [(t, 'detect') for t in FORMATS] + [('yolo', 'segment'), ('yolo', 'pose')]


def _kp(aid: str, name: str, x: float, y: float) -> dict[str, Any]:
    return {'id': aid, 'classification': name, 'attrs': [], 'data': [x, y]}


def _poly(aid: str, name: str, points: list[list[float]]) -> dict[str, Any]:
    return {'id': aid, 'classification': name, 'attrs': [], 'data': points}


def adversarial(root: Path) -> Path:
    """Boxes on the borders and past them, unicode names, attributes, two image sizes, keypoints and polygons."""
    write_dm_item(
        root,
        'borders',
        {
            'bounding_box': [
                box('b1', 'car', [0, 0, 200, 100]),
                box('b2', 'vélo 🚲', [199, 99, 1, 1]),
                box('b3', 'car', [180.25, 90.5, 40, 30]),  # past the right and bottom edges: clipped
                box('b4', 'car', [300, 300, 5, 5]),  # wholly outside: out_of_image
                box('b5', '車', [0.01, 0.01, 0.02, 0.02], [{'name': 'occluded', 'value': True}]),
            ]
        },
        size=(200, 100),
    )
    write_dm_item(
        root,
        'person',
        {
            'bounding_box': [box('p1', 'person', [10, 10, 30, 60], [{'name': 'truncated', 'value': 1}])],
            'keypoint': [_kp('k1', 'person', 20, 15), _kp('k2', 'person', 25.5, 40)],
            'polygon': [
                _poly('q1', 'person', [[10, 10], [40, 10], [40, 70], [10, 70]]),
                _poly('q2', 'tree', [[5, 100], [60, 100], [30, 470.5]]),
            ],
            'group': [{'id': 'g1', 'classification': 'person', 'attrs': [], 'data': ['p1', 'k1', 'k2', 'q1']}],
        },
        size=(64, 480),
    )
    return root


@pytest.fixture(scope='module')
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp('verify')
    adversarial(root / 'dm')
    made = {'dm_v2': root / 'dm'}
    for fmt in FORMATS:
        if fmt != 'dm_v2':
            report = get_converter('dm_v2', fmt, images='link', verify=True).convert(root / 'dm', root / fmt)
            assert report.verification is not None and report.verification.ok, report.verification
            made[fmt] = root / fmt
    return made


@pytest.mark.parametrize(('target', 'task'), TARGETS)
@pytest.mark.parametrize('source', FORMATS)
def test_every_pair_verifies_clean(sources: dict[str, Path], tmp_path: Path, source: str, target: str, task: str):
    report = get_converter(source, target, images='link', yolo_task=task, verify=True).convert(
        sources[source], tmp_path / 'out'
    )
    v = report.verification
    assert v is not None
    assert (v.ok, v.drifted, v.missing, v.extra, v.items_missing_count) == (True, 0, 0, 0, 0), v.summary()
    assert v.items_compared == 2 and v.matched > 0
    assert v.max_drift_px <= 0.01


def test_what_the_format_cannot_hold_is_lossy_not_drift(sources: dict[str, Path], tmp_path: Path):
    report = get_converter('dm_v2', 'pascal', images='link', verify=True).convert(sources['dm_v2'], tmp_path / 'v')
    v = report.verification
    assert v is not None and v.ok
    # VOC keeps boxes and its own attributes only: keypoints, polygons, 'occluded' and the box outside are set aside
    assert v.lossy_by_format == {'attrs': 1, 'keypoint': 2, 'out_of_image': 1, 'polygon': 2}
    assert report.lossy['polygon'] == 2 and report.lossy['attrs'] == 1
    assert v.objects['bounding_box:car'] == (2, 2)  # b4 is outside the image: neither side holds it


def test_coco_box_made_for_a_polygon_is_derived(sources: dict[str, Path], tmp_path: Path):
    report = get_converter('dm_v2', 'coco', images='link', verify=True).convert(sources['dm_v2'], tmp_path / 'c')
    v = report.verification
    assert v is not None and v.ok
    assert v.derived == 1  # the lone 'tree' polygon comes back with the box COCO makes for it


@pytest.mark.parametrize(
    ('target', 'task', 'written'),
    [
        ('coco', None, False),
        ('yolo', 'detect', False),
        ('yolo', 'segment', False),
        ('yolo', 'pose', False),
        ('pascal', None, True),
        ('dm_v2', None, True),
    ],
)
def test_zero_area_box_is_skipped_with_its_reason_where_the_format_drops_it(
    tmp_path: Path, target: str, task: str | None, written: bool
):
    boxes = [box('b1', 'car', [10, 10, 20, 20]), box('z', 'car', [5, 5, 0, 0]), box('y', 'car', [5, 5, 3, 0])]
    write_dm_item(tmp_path / 'dm', 'a', {'bounding_box': boxes})
    options = {'yolo_task': task} if task else {}
    converter = get_converter('dm_v2', target, images='link', verify=True, **options)
    report = converter.convert(tmp_path / 'dm', tmp_path / 'out')
    v = report.verification
    assert v is not None and v.ok, v
    if written:  # DM and VOC hold a box without area and read it back
        assert (report.annotations_skipped, v.matched, v.lossy_by_format) == ({}, 3, {})
    else:  # COCO and YOLO readers drop such a box: not written, and said so, with the box named
        assert (report.annotations_written, report.annotations_skipped) == (1, {'empty_box': 2})
        assert [p.message for p in report.problems] == [
            'box z has no area (width 0, height 0)',
            'box y has no area (width 3, height 0)',
        ]
        assert (v.matched, v.missing, v.lossy_by_format) == (1, 0, {'empty_box': 2})


def test_coco_source_box_without_area_is_reported_with_its_line(tmp_path: Path):
    root = tmp_path / 'coco'
    root.mkdir()
    write_png_header(root / 'a.png', 64, 48)
    document = {
        'images': [{'id': 1, 'file_name': 'a.png', 'width': 64, 'height': 48}],
        'annotations': [
            {'id': 1, 'image_id': 1, 'category_id': 1, 'bbox': [1, 1, 5, 5]},
            {'id': 2, 'image_id': 1, 'category_id': 1, 'bbox': [1, 1, 0, 5]},
            {'id': 3, 'image_id': 1, 'category_id': 1},
        ],
        'categories': [{'id': 1, 'name': 'car'}],
    }
    (root / 'annotations.json').write_text(json.dumps(document, indent=1))
    report = get_converter('coco', 'dm_v2').convert(root, tmp_path / 'dm')
    assert (report.annotations_seen, report.annotations_written) == (3, 1)
    assert report.annotations_skipped == {'empty_box': 1, 'invalid_value': 1}
    assert [(p.reason.value, p.line, p.message) for p in report.problems] == [
        (
            'empty_box',
            22,
            'annotation id 2: bbox [1.0, 1.0, 0.0, 5.0] has no area, and no segmentation or keypoints: nothing to read',
        ),
        ('invalid_value', 33, 'annotation id 3: no bbox, and no segmentation or keypoints: nothing to read'),
    ]


def _shift_coco(root: Path, dx: float) -> int:
    path = root / 'annotations.json'
    document = json.loads(path.read_text())
    for annotation in document['annotations']:
        annotation['bbox'][0] += dx
    path.write_text(json.dumps(document))
    return len(document['annotations'])


def _shift_voc(root: Path, dx: int) -> int:
    count = 0
    for xml in (root / 'Annotations').glob('*.xml'):
        text = xml.read_text()
        text, n = re.subn(r'<xmin>([\d.]+)</xmin>', lambda m: f'<xmin>{float(m[1]) + dx:g}</xmin>', text)
        text = re.sub(r'<xmax>([\d.]+)</xmax>', lambda m: f'<xmax>{float(m[1]) + dx:g}</xmax>', text)
        xml.write_text(text)
        count += n
    return count


def _shift_yolo(root: Path, size: tuple[int, int]) -> int:
    count = 0
    for label in (root / 'labels').glob('*.txt'):
        rows = [row.split() for row in label.read_text().splitlines()]
        for row in rows:
            row[1] = f'{float(row[1]) + 1 / size[0]:.6f}'
        label.write_text(''.join(' '.join(row) + '\n' for row in rows))
        count += len(rows)
    return count


def _damaged_dataset(root: Path) -> Path:
    for k in range(3):
        boxes = [box(f'b{j}', 'car' if j % 2 else 'person', [10 + 20 * j, 5 + k, 15, 12.5]) for j in range(3)]
        write_dm_item(root, f'img{k}', {'bounding_box': boxes}, size=(200, 100))
    return root


@pytest.mark.parametrize('target', ['coco', 'pascal', 'yolo'])
def test_a_one_pixel_shift_is_caught_with_the_items_named(tmp_path: Path, target: str):
    src = _damaged_dataset(tmp_path / 'dm')
    options = ConvertOptions(images='link', verify=True)
    converter = get_converter('dm_v2', target, **options.model_dump())
    report = converter.convert(src, tmp_path / 'out')
    assert report.verification is not None and report.verification.ok
    shifted = {'coco': lambda: _shift_coco(tmp_path / 'out', 1.0), 'pascal': lambda: _shift_voc(tmp_path / 'out', 1)}
    count = shifted.get(target, lambda: _shift_yolo(tmp_path / 'out', (200, 100)))()
    assert count == 9
    v = verify_conversion(DatasetFormat.DM_V2, src, DatasetFormat(target), tmp_path / 'out', options, report)
    assert (v.ok, v.drifted, v.matched, v.missing, v.extra) == (False, 9, 0, 0, 0)
    assert {w.item for w in v.worst} == {'img0', 'img1', 'img2'}
    assert all(abs(w.drift_px - 1) < 1e-4 and w.iou is not None and w.iou < 0.999 for w in v.worst)
    assert 'drift 1' in v.summary() and 'worst: img' in v.summary()


def test_compare_polygons_by_points_area_and_rotation():
    square = [[0, 0], [10, 0], [10, 10], [0, 10]]
    comparison = Comparison(Tolerance())
    rotated = {'polygon': [_poly('a', 'x', square[2:] + square[:2])]}
    compare_entries(comparison, 'same', {'polygon': [_poly('a', 'x', square)]}, rotated)
    fewer = {'polygon': [_poly('a', 'x', square[:3])]}
    compare_entries(comparison, 'fewer', {'polygon': [_poly('a', 'x', square)]}, fewer)
    v = comparison.build()
    assert (v.matched, v.drifted) == (1, 1)
    assert (v.worst[0].item, v.worst[0].points, v.worst[0].area) == ('fewer', (4, 3), (100.0, 50.0))


def test_compare_attributes_and_tolerance():
    base = {'bounding_box': [box('a', 'car', [10, 10, 100, 100], [{'name': 'color', 'value': 'red'}])]}
    other = {'bounding_box': [box('a', 'car', [10.005, 10, 100, 100], [{'name': 'color', 'value': 'blue'}])]}
    comparison = Comparison(Tolerance())
    compare_entries(comparison, 'a', base, other)
    v = comparison.build()
    assert (v.drifted, v.worst[0].attrs) == (1, ['color'])  # within 0.01 px, but the attribute changed
    loose = Comparison(Tolerance(iou=0.9, max_drift_px=0.001))
    compare_entries(
        loose, 'a', base, {'bounding_box': [box('a', 'car', [10.005, 10, 100, 100], base['bounding_box'][0]['attrs'])]}
    )
    assert loose.build().drifted == 1  # 0.005 px is past a 0.001 px tolerance


def test_cli_convert_verify_json_and_exit_code(tmp_path: Path):
    src = _damaged_dataset(tmp_path / 'dm')
    args = ['dataset', 'convert', str(src), str(tmp_path / 'c'), '--from', 'dm_v2', '--to', 'coco', '--verify']
    result = runner.invoke(app, [*args, '--json'])
    assert result.exit_code == 0, result.output
    verification = json.loads(result.stdout)['verification']
    assert (verification['ok'], verification['matched']) == (True, 9)
    table = runner.invoke(app, [*args[:3], str(tmp_path / 'c2'), *args[4:]])
    assert table.exit_code == 0 and 'verification: OK' in table.stdout
    # YOLO keeps 6 decimals (well within 0.01 px here), not every digit: drift beyond a tolerance of 0 px
    write_dm_item(
        tmp_path / 'fine',
        'a',
        {'bounding_box': [box('f', 'car', [1.23456789, 1, 5, 5]), box('b', 'car', [1, 1, 5, 5])]},
    )
    args = ['dataset', 'convert', str(tmp_path / 'fine'), str(tmp_path / 'y'), '--from', 'dm_v2', '--to', 'yolo']
    bad = runner.invoke(app, [*args, '--images', 'link', '--verify', '--max-drift-px', '0'])
    assert bad.exit_code == 5, bad.output
    assert 'verification failed: 1 matched, 1 drifted, 0 missing' in bad.stderr


def test_cli_diff_table_json_and_tolerance(tmp_path: Path):
    src = _damaged_dataset(tmp_path / 'dm')
    get_converter('dm_v2', 'coco', images='link').convert(src, tmp_path / 'c')
    same = runner.invoke(
        app, ['dataset', 'diff', str(src), str(tmp_path / 'c'), '--format', 'dm_v2', '--format', 'coco']
    )
    assert same.exit_code == 0, same.output
    assert 'OK' in same.stdout and 'objects matched / drifted' in same.stdout
    _shift_coco(tmp_path / 'c', 1.0)
    args = ['dataset', 'diff', str(src), str(tmp_path / 'c'), '-f', 'dm_v2', '-f', 'coco']
    moved = runner.invoke(app, [*args, '--json'])
    assert moved.exit_code == 5
    found = json.loads(moved.stdout)
    assert (found['ok'], found['drifted']) == (False, 9)
    assert {w['item'] for w in found['worst']} == {'img0', 'img1', 'img2'}
    table = runner.invoke(app, args)
    assert table.exit_code == 5 and 'worst drifted objects' in table.stdout and 'img0' in table.stdout
    loose = runner.invoke(app, [*args, '--iou', '0.85', '--max-drift-px', '1.0001'])
    assert loose.exit_code == 0, loose.output
    three = runner.invoke(app, [*args, '-f', 'yolo'])
    assert three.exit_code == 2 and 'give --format once' in three.output


def test_diff_names_missing_and_extra_items(tmp_path: Path):
    write_dm_item(tmp_path / 'a', 'one', {'bounding_box': [box('b', 'car', [1, 1, 5, 5])]})
    write_dm_item(tmp_path / 'b', 'two', {'bounding_box': [box('b', 'car', [1, 1, 5, 5])]})
    v = diff_datasets(tmp_path / 'a', 'dm_v2', tmp_path / 'b', 'dm_v2')
    assert (v.ok, v.items_missing, v.items_extra, v.missing, v.extra) == (False, ['one'], ['two'], 1, 1)
    with pytest.raises(ValueError, match=r"Unknown format of B 'nope'; supported formats: dm_v1"):
        diff_datasets(tmp_path / 'a', 'dm_v2', tmp_path / 'b', 'nope')


def test_bad_tolerance_option_names_the_field():
    with pytest.raises(
        ValidationError, match=r'Bad conversion option verify_iou: Input should be less than or equal to 1'
    ):
        get_converter('dm_v2', 'coco', verify=True, verify_iou=1.5)


def test_dataset_action_verifies(tmp_path: Path):
    src = _damaged_dataset(tmp_path / 'dm')
    params = {
        'source': str(src),
        'output': str(tmp_path / 'y'),
        'source_format': 'dm_v2',
        'target_format': 'yolo',
        'verify': True,
    }
    result = DatasetResult.model_validate(LocalExecutor(logger_factory=NoOpLogger).execute(DatasetAction, params))
    assert result.report is not None and result.report.verification is not None
    assert (result.report.verification.ok, result.report.verification.matched) == (True, 9)


def test_classes_outside_class_names_are_lossy(tmp_path: Path):
    boxes = [box('a', 'car', [1, 1, 5, 5]), box('b', 'bike', [10, 10, 5, 5]), box('c', 'person', [20, 20, 5, 5])]
    write_dm_item(tmp_path / 'dm', 'a', {'bounding_box': boxes})
    converter = get_converter('dm_v2', 'yolo', images='link', class_names=['person', 'car'], verify=True)
    report = converter.convert(tmp_path / 'dm', tmp_path / 'y')
    v = report.verification
    assert v is not None
    assert (v.ok, v.matched, v.lossy_by_format) == (True, 2, {'unknown_class': 1})
    assert report.annotations_skipped == {'unknown_class': 1}


def test_skipped_items_keep_exit_code_4_and_are_not_missing(tmp_path: Path):
    write_dm_item(tmp_path / 'dm', 'a', {'bounding_box': [box('b', 'car', [1, 1, 5, 5])]})
    write_dm_item(tmp_path / 'dm', 'gone', {'bounding_box': [box('b', 'car', [1, 1, 5, 5])]})
    (tmp_path / 'dm' / 'original_files' / 'gone.png').unlink()
    args = ['dataset', 'convert', str(tmp_path / 'dm'), str(tmp_path / 'y'), '--from', 'dm_v2', '--to', 'yolo']
    result = runner.invoke(app, [*args, '--verify', '--json'])
    assert result.exit_code == 4, result.output
    v = json.loads(result.stdout)['verification']
    assert (v['ok'], v['matched'], v['items_missing_count'], v['lossy_by_format']) == (True, 1, 0, {'items_skipped': 1})


def test_verify_a_zip_source_into_a_split_layout(tmp_path: Path):
    import zipfile

    _damaged_dataset(tmp_path / 'dm')
    archive = tmp_path / 'dm.zip'
    with zipfile.ZipFile(archive, 'w') as zf:
        for path in sorted((tmp_path / 'dm').rglob('*')):
            if path.is_file():
                zf.write(path, Path('dm') / path.relative_to(tmp_path / 'dm'))
    report = get_converter('dm_v2', 'coco', layout='split', verify=True).convert(archive, tmp_path / 'c')
    v = report.verification
    assert v is not None
    assert (v.ok, v.items_compared, v.matched) == (True, 3, 9)  # items found again under their new split folder
    assert {p.parent.name for p in (tmp_path / 'c').rglob('annotations.json')} <= {'train', 'valid', 'test'}
