"""Bad input is skipped or refused with the reason in the report; nothing is written outside the output."""

from __future__ import annotations

import json
import os
import signal
import zipfile
from pathlib import Path

import pytest
from tests.support.dataset_builders import box, read_dm, write_coco, write_dm_item, write_png, write_yolo
from typer.testing import CliRunner

from synapse_sdk.cli import app
from synapse_sdk.exceptions import ValidationError
from synapse_sdk.plugins.datasets import get_converter, validate_dataset


def _coco(images: list[dict], annotations: list[dict]) -> dict:
    return {'images': images, 'annotations': annotations, 'categories': [{'id': 1, 'name': 'car', 'supercategory': ''}]}


def _ann(aid: int, image_id: int, bbox: list[float], category_id: int = 1) -> dict:
    return {
        'id': aid,
        'image_id': image_id,
        'category_id': category_id,
        'bbox': bbox,
        'area': 1,
        'iscrowd': 0,
        'segmentation': [],
    }


def test_truncated_dm_json_skips_the_item(tmp_path: Path):
    write_dm_item(tmp_path / 'dm', 'good', {'bounding_box': [box('a', 'car', [1, 2, 3, 4])]})
    write_dm_item(tmp_path / 'dm', 'bad', {'bounding_box': [box('a', 'car', [1, 2, 3, 4])]})
    path = tmp_path / 'dm' / 'json' / 'bad.json'
    path.write_text(path.read_text()[:25])
    report = get_converter('dm_v2', 'yolo').convert(tmp_path / 'dm', tmp_path / 'out')
    assert [(s.item, s.reason.value) for s in report.items_skipped] == [('bad', 'invalid_json')]
    assert report.items_written == 1
    assert sorted(os.listdir(tmp_path / 'out' / 'labels')) == ['good.txt']
    assert report.problems[0].file == 'json/bad.json' and report.problems[0].line == 1


def test_truncated_coco_json_is_refused_with_line_and_nothing_written(tmp_path: Path):
    root = write_coco(
        tmp_path / 'coco', _coco([{'id': 1, 'file_name': 'a.png', 'width': 8, 'height': 8}], [_ann(1, 1, [1, 1, 2, 2])])
    )
    text = json.dumps(json.loads((root / 'annotations.json').read_text()), indent=1)
    (root / 'annotations.json').write_text(text[: text.index('"bbox"')])
    with pytest.raises(
        ValidationError,
        match=r'^annotations.json: invalid JSON at line 11: unterminated object or array \(truncated JSON\?\) '
        r'at byte 114$',
    ):
        get_converter('coco', 'yolo').convert(root, tmp_path / 'out')
    assert sorted(os.listdir(tmp_path)) == ['coco']  # no output, no temporary folder left


@pytest.mark.parametrize(
    ('row', 'reason'),
    [
        ('0 .5 .5 .2', 'too_few_values'),
        ('0 .5 .5 .2 .2 .3', 'bad_token_count'),
        ('0 .1 .1 .2 .2 .3 .3 .4', 'bad_token_count'),
        ('-1 .5 .5 .2 .2', 'class_out_of_range'),
        ('1.5 .5 .5 .2 .2', 'class_out_of_range'),
        ('0 .5 abc .2 .2', 'invalid_value'),
        ('0 .5 nan .2 .2', 'invalid_value'),
        ('0 0 0 0 0', 'empty_box'),
    ],
)
def test_bad_yolo_rows_are_skipped_with_reason_and_line(tmp_path: Path, row: str, reason: str):
    write_yolo(tmp_path / 'y', {'img': f'0 .5 .5 .2 .2\n{row}\n'}, size=(10, 10), names=['car'])
    report = get_converter('yolo', 'coco').convert(tmp_path / 'y', tmp_path / 'out')
    assert report.annotations_skipped == {reason: 1}
    assert report.annotations_written == 1
    assert (report.problems[0].file, report.problems[0].line, report.problems[0].reason.value) == (
        'labels/img.txt',
        2,
        reason,
    )


def test_pose_rows_must_match_kpt_shape(tmp_path: Path):
    write_yolo(
        tmp_path / 'y',
        {'img': '0 .5 .5 .2 .2 .4 .4 2 .6 .6 1\n0 .5 .5 .2 .4 .4 .6 .6\n'},
        size=(10, 10),
        names=['person'],
        kpt_shape=[2, 3],
    )
    report = get_converter('yolo', 'dm_v2').convert(tmp_path / 'y', tmp_path / 'out')
    assert report.annotations_skipped == {'bad_token_count': 1}
    assert report.problems[0].message == '8 values; kpt_shape [2, 3] needs 11'
    entry = read_dm(tmp_path / 'out')['img']
    assert [k['data'] for k in entry['keypoint']] == [[4, 4], [6, 6]]
    assert entry['group'][0]['data'] == ['r1', 'r1_k0', 'r1_k1']


def test_yolo_values_outside_unit_range_are_clamped_and_counted(tmp_path: Path):
    write_yolo(tmp_path / 'y', {'img': '0 0.95 .5 .2 1.5\n'}, size=(100, 100), names=['car'])
    report = get_converter('yolo', 'dm_v2').convert(tmp_path / 'y', tmp_path / 'out')
    # h 1.5 -> 1 (one clamp), then the box [85, 0, 20, 100] is clipped at x = 100 (one more)
    assert report.clamped == 2
    assert read_dm(tmp_path / 'out')['img']['bounding_box'][0]['data'] == [85, 0, 15, 100]


def test_box_outside_image_is_clipped_or_skipped_for_coco_and_voc(tmp_path: Path):
    entry = {'bounding_box': [box('in', 'car', [90, 40, 20, 20]), box('out', 'car', [300, 300, 5, 5])]}
    write_dm_item(tmp_path / 'dm', 'img', entry, size=(100, 50))
    for target in ('coco', 'pascal'):
        report = get_converter('dm_v2', target).convert(tmp_path / 'dm', tmp_path / target)
        assert (report.annotations_written, report.annotations_skipped, report.clamped) == (1, {'out_of_image': 1}, 4)
    annotations = json.loads((tmp_path / 'coco' / 'annotations.json').read_text())['annotations']
    assert [a['bbox'] for a in annotations] == [[90, 40, 10, 10]]


def test_coco_unknown_category_and_orphan_annotation(tmp_path: Path):
    document = _coco(
        [{'id': 1, 'file_name': 'a.png', 'width': 8, 'height': 8}],
        [_ann(1, 1, [1, 1, 2, 2]), _ann(2, 1, [1, 1, 2, 2], category_id=9), _ann(3, 42, [1, 1, 2, 2])],
    )
    root = write_coco(tmp_path / 'coco', document)
    report = get_converter('coco', 'yolo').convert(root, tmp_path / 'out')
    assert report.annotations_skipped == {'class_out_of_range': 1, 'image_missing': 1}
    assert report.annotations_seen == 3 and report.annotations_written == 1
    assert [p.message for p in report.problems] == [
        '1 annotations name no image',
        'annotation id 2: category_id 9 is not in categories',
    ]


def test_missing_images_are_skipped(tmp_path: Path):
    write_dm_item(tmp_path / 'dm', 'a', {'bounding_box': [box('b', 'car', [1, 1, 2, 2])]})
    (tmp_path / 'dm' / 'json' / 'b.json').write_text('{"images": []}')
    report = get_converter('dm_v2', 'dm_v2').convert(tmp_path / 'dm', tmp_path / 'out')
    assert [(s.item, s.reason.value) for s in report.items_skipped] == [('b', 'image_missing')]
    coco = _coco([{'id': 1, 'file_name': 'gone.png', 'width': 8, 'height': 8}], [_ann(1, 1, [1, 1, 2, 2])])
    root = write_coco(tmp_path / 'coco', coco, sizes={})
    report = get_converter('coco', 'dm_v2').convert(root, tmp_path / 'out2')
    assert [(s.item, s.reason.value) for s in report.items_skipped] == [('gone', 'image_missing')]
    assert report.annotations_skipped == {'image_missing': 1}


@pytest.mark.parametrize('name', ['../escape.png', '/etc/passwd', 'a/../../b.png', 'C:\\x.png'])
def test_unsafe_coco_file_names_are_skipped_and_never_written(tmp_path: Path, name: str):
    write_png(tmp_path / 'escape.png', 8, 8)
    document = _coco([{'id': 1, 'file_name': name, 'width': 8, 'height': 8}], [_ann(1, 1, [1, 1, 2, 2])])
    root = write_coco(tmp_path / 'coco', document)
    report = get_converter('coco', 'coco').convert(root, tmp_path / 'out')
    assert [s.reason.value for s in report.items_skipped] == ['unsafe_path']
    assert sorted(p.name for p in (tmp_path / 'out').rglob('*')) == ['annotations.json']


def test_unsafe_voc_filename_is_skipped(tmp_path: Path):
    (tmp_path / 'voc' / 'Annotations').mkdir(parents=True)
    xml = '<annotation><filename>../../x.jpg</filename><size><width>4</width><height>4</height></size></annotation>'
    (tmp_path / 'voc' / 'Annotations' / 'a.xml').write_text(xml)
    report = get_converter('pascal', 'dm_v2').convert(tmp_path / 'voc', tmp_path / 'out')
    assert [(s.item, s.reason.value) for s in report.items_skipped] == [('a', 'unsafe_path')]


def test_voc_entities_are_refused(tmp_path: Path):
    (tmp_path / 'voc' / 'Annotations').mkdir(parents=True)
    xml = '<!DOCTYPE a [<!ENTITY x "boom">]><annotation><filename>&x;</filename></annotation>'
    (tmp_path / 'voc' / 'Annotations' / 'a.xml').write_text(xml)
    report = get_converter('pascal', 'dm_v2').convert(tmp_path / 'voc', tmp_path / 'out')
    assert [(s.item, s.reason.value) for s in report.items_skipped] == [('a', 'invalid_xml')]


def test_zip_with_traversal_member_is_refused_before_extracting(tmp_path: Path):
    archive = tmp_path / 'data.zip'
    with zipfile.ZipFile(archive, 'w') as zf:
        zf.writestr('ds/json/a.json', '{}')
        zf.writestr('../../evil.txt', 'x')
    with pytest.raises(ValidationError, match=r"^data.zip: unsafe member path '../../evil.txt'"):
        get_converter('dm_v2', 'yolo').convert(archive, tmp_path / 'out')
    assert sorted(os.listdir(tmp_path)) == ['data.zip']


def test_zip_dataset_converts(tmp_path: Path):
    write_dm_item(tmp_path / 'ds', 'a', {'bounding_box': [box('b', 'car', [10, 20, 50, 40])]})
    archive = tmp_path / 'ds.zip'
    with zipfile.ZipFile(archive, 'w') as zf:
        for path in sorted((tmp_path / 'ds').rglob('*')):
            zf.write(path, path.relative_to(tmp_path).as_posix())
    report = get_converter('dm_v2', 'yolo').convert(archive, tmp_path / 'out')
    assert (report.items_written, (tmp_path / 'out' / 'labels' / 'a.txt').read_text()) == (
        1,
        '0 0.175000 0.400000 0.250000 0.400000\n',
    )


def test_a_crash_mid_way_leaves_no_output_and_no_temp_folder(tmp_path: Path):
    write_dm_item(tmp_path / 'dm', 'a', {'bounding_box': [box('b', 'car', [1, 1, 2, 2])]})
    (tmp_path / 'dm' / 'json' / 'b.json').write_text('{"images": [{}]}')
    os.mkfifo(tmp_path / 'dm' / 'original_files' / 'b.png')  # copying a pipe fails
    with pytest.raises(OSError, match='named pipe'):
        get_converter('dm_v2', 'dm_v2').convert(tmp_path / 'dm', tmp_path / 'out')
    assert sorted(os.listdir(tmp_path)) == ['dm']


def test_existing_output_is_refused_unless_overwrite(tmp_path: Path):
    write_dm_item(tmp_path / 'dm', 'a', {'bounding_box': [box('b', 'car', [1, 1, 2, 2])]})
    (tmp_path / 'out').mkdir()
    (tmp_path / 'out' / 'keep.txt').write_text('x')
    with pytest.raises(ValidationError, match=r'already exists and is not empty'):
        get_converter('dm_v2', 'yolo').convert(tmp_path / 'dm', tmp_path / 'out')
    assert os.listdir(tmp_path / 'out') == ['keep.txt']
    get_converter('dm_v2', 'yolo', overwrite=True).convert(tmp_path / 'dm', tmp_path / 'out')
    assert sorted(os.listdir(tmp_path / 'out')) == ['classes.txt', 'dataset.yaml', 'images', 'labels']
    assert sorted(os.listdir(tmp_path)) == ['dm', 'out']


def test_output_inside_source_is_refused(tmp_path: Path):
    write_dm_item(tmp_path / 'dm', 'a', {})
    with pytest.raises(ValidationError, match=r'lies inside the source'):
        get_converter('dm_v2', 'yolo').convert(tmp_path / 'dm', tmp_path / 'dm' / 'out')


def test_unknown_option_is_refused():
    with pytest.raises(ValidationError, match=r'^Bad conversion option yolo_tsk: Extra inputs are not permitted$'):
        get_converter('dm_v2', 'yolo', yolo_tsk='pose')


def test_invalid_dm_annotation_is_skipped_with_its_path(tmp_path: Path):
    entry = {
        'bounding_box': [
            box('a', 'car', [1, 2, 3]),
            box('bad id!', 'car', [1, 2, 3, 4]),
            box('ok', 'car', [1, 2, 3, 4]),
        ]
    }
    write_dm_item(tmp_path / 'dm', 'img', entry)
    report = validate_dataset(tmp_path / 'dm', 'dm_v2')
    assert report.annotations_skipped == {'invalid_value': 2}
    assert [p.message for p in report.problems] == [
        'bounding_box[0] data.3: Field required',
        "bounding_box[1] id: String should match pattern '^[a-zA-Z0-9_-]+$'",
    ]


@pytest.mark.parametrize(
    ('fmt', 'message'),
    [
        ('dm_v2', r'no json/ folder \(nor train/ and valid/ splits holding one\); not a DM dataset$'),
        ('pascal', r'no Annotations/ folder; not a Pascal VOC dataset$'),
        ('yolo', r'no images/ \(or img/, imgs/\) folder, and no train/ and valid/ splits$'),
        ('coco', r'no annotations.json \(nor train/ and valid/ splits\)$'),
    ],
)
def test_a_folder_of_the_wrong_format_is_refused(tmp_path: Path, fmt: str, message: str):
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValidationError, match=message):
        get_converter(fmt, 'dm_v2').convert(tmp_path / 'empty', tmp_path / 'out')
    assert sorted(os.listdir(tmp_path)) == ['empty']


def test_a_dm_v2_dataset_read_as_dm_v1_fails_with_a_hint(tmp_path: Path):
    write_dm_item(tmp_path / 'dm', 'a', {'bounding_box': [box('b', 'car', [1, 1, 2, 2])]})
    report = get_converter('dm_v1', 'yolo').convert(tmp_path / 'dm', tmp_path / 'out')
    hint = "looks like dm_v2 ('images' or 'classification', no 'annotations'); read it as dm_v2"
    assert [s.model_dump(mode='json') for s in report.items_skipped] == [
        {'item': 'a', 'reason': 'wrong_format', 'detail': hint}
    ]
    result = CliRunner().invoke(app, ['dataset', 'validate', str(tmp_path / 'dm'), '--format', 'dm_v1'])
    assert (result.exit_code, result.stderr) == (1, f'Error: json/a.json: wrong_format: {hint}\n')


def test_a_dm_v1_dataset_read_as_dm_v2_fails_with_a_hint(tmp_path: Path):
    write_dm_item(tmp_path / 'v2', 'a', {'bounding_box': [box('b', 'car', [1, 1, 2, 2])]})
    get_converter('dm_v2', 'dm_v1').convert(tmp_path / 'v2', tmp_path / 'v1')
    report = validate_dataset(tmp_path / 'v1', 'dm_v2')
    assert [(p.file, p.reason.value, p.message) for p in report.problems] == [
        (
            'json/a.json',
            'wrong_format',
            "looks like dm_v1 ('annotations' and 'annotationsData', no 'images'); read it as dm_v1",
        )
    ]
    assert validate_dataset(tmp_path / 'v1', 'dm_v1').ok


def _sigterm_at_second_item(done: int, total: int) -> None:
    if done == 2:
        # a default SIGTERM would end the test run: only send it when the converter's handler is in place
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
        os.kill(os.getpid(), signal.SIGTERM)


def test_sigterm_mid_way_cleans_up_like_ctrl_c_and_restores_the_handler(tmp_path: Path):
    for stem in ('a', 'b', 'c'):
        write_dm_item(tmp_path / 'dm', stem, {'bounding_box': [box('b', 'car', [1, 1, 2, 2])]})
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        with pytest.raises(SystemExit) as stopped:
            get_converter('dm_v2', 'yolo').convert(tmp_path / 'dm', tmp_path / 'out', progress=_sigterm_at_second_item)
        assert stopped.value.code == 143
        assert sorted(os.listdir(tmp_path)) == ['dm']  # no output, no hidden .out.*.partial folder
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_sigterm_handler_the_host_set_stays_in_charge(tmp_path: Path):
    write_dm_item(tmp_path / 'dm', 'a', {'bounding_box': [box('b', 'car', [1, 1, 2, 2])]})

    def host(signum: int, frame: object) -> None:
        raise AssertionError('not sent')

    seen = []
    previous = signal.signal(signal.SIGTERM, host)
    try:
        get_converter('dm_v2', 'yolo').convert(
            tmp_path / 'dm',
            tmp_path / 'out',
            progress=lambda done, total: seen.append(signal.getsignal(signal.SIGTERM)),
        )
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert seen == [host]
