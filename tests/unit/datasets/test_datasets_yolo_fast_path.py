"""YOLO detect output of box-only items takes a batched path; it must equal the general path byte for byte."""

import json
from pathlib import Path

import pytest
from tests.support.dataset_builders import box, write_coco, write_dm_item

from synapse_sdk.plugins.datasets import get_converter
from synapse_sdk.plugins.datasets.readers import coco as coco_reader
from synapse_sdk.plugins.datasets.writers.yolo import YoloWriter


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob('*')) if p.is_file()}


def coco_mixed() -> dict:
    def ann(aid: int, image_id: int, bbox: list[float], category_id: int = 1, **extra: object) -> dict:
        return {'id': aid, 'image_id': image_id, 'category_id': category_id, 'bbox': bbox, 'iscrowd': 0, **extra}

    images = [
        {'id': 1, 'file_name': 'plain.png', 'width': 64, 'height': 48},
        {'id': 2, 'file_name': 'clamped.png', 'width': 64, 'height': 48},
        {'id': 3, 'file_name': 'attrs.png', 'width': 64, 'height': 48},
        {'id': 4, 'file_name': 'polygon.png', 'width': 64, 'height': 48},
        {'id': 5, 'file_name': 'missing.png', 'width': 64, 'height': 48},
        {'id': 6, 'file_name': 'sub/nested.png', 'width': 32, 'height': 32},
        {'id': 7, 'file_name': 'empty.png', 'width': 64, 'height': 48},
        {'id': 8, 'file_name': 'badclass.png', 'width': 64, 'height': 48},
    ]
    annotations = [
        ann(1, 1, [0, 0, 10, 8]),
        ann(2, 1, [1.5, 2.25, 10.125, 7.0], category_id=2),
        ann(3, 1, [54, 40, 10, 8], category_id=2),  # touches the right and bottom edges exactly
        ann(4, 2, [60, 40, 10, 20]),  # leaves the image: clamped
        ann(5, 2, [2, 2, 4, 4]),
        ann(6, 3, [2, 2, 4, 4], attributes={'occluded': True}),
        ann(7, 4, [2, 2, 8, 8], segmentation=[[2, 2, 10, 2, 10, 10]]),
        ann(8, 5, [2, 2, 4, 4]),
        ann(9, 6, [4, 4, 8, 8], category_id=2),
        ann(10, 8, [2, 2, 4, 4], category_id=9),
        ann(11, 8, [3, 3, 4, 4]),
    ]
    categories = [{'id': 1, 'name': 'car'}, {'id': 2, 'name': 'person'}]
    return {'images': images, 'annotations': annotations, 'categories': categories}


def convert_both(source: Path, source_format: str, tmp_path: Path, monkeypatch, **options: object) -> tuple:
    """Convert with the fast path, then with it switched off; return both reports, trees and fast-path hits."""
    fast_hits: list[str] = []
    batched = YoloWriter._plain_boxes

    def counting(self, item, size):
        result = batched(self, item, size)
        if result is not None:
            fast_hits.append(item.name)
        return result

    monkeypatch.setattr(YoloWriter, '_plain_boxes', counting)
    fast = get_converter(source_format, 'yolo', layout='flat', **options).convert(source, tmp_path / 'fast')
    monkeypatch.setattr(YoloWriter, '_plain_boxes', lambda self, item, size: None)
    general = get_converter(source_format, 'yolo', layout='flat', **options).convert(source, tmp_path / 'general')
    fast_files, general_files = tree(tmp_path / 'fast'), tree(tmp_path / 'general')
    assert fast_files.pop('dataset.yaml').replace(b'/fast\n', b'/general\n') == general_files.pop('dataset.yaml')
    return fast, general, fast_files, general_files, sorted(fast_hits)


@pytest.mark.parametrize('options', [{}, {'class_names': ['car']}], ids=['declared', 'class_names'])
def test_batched_boxes_equal_the_general_path_on_mixed_coco(tmp_path, monkeypatch, options):
    document = coco_mixed()
    sizes = {i['file_name']: (i['width'], i['height']) for i in document['images'] if i['id'] != 5}
    source = write_coco(tmp_path / 'coco', document, sizes)
    fast, general, fast_files, general_files, hits = convert_both(source, 'coco', tmp_path, monkeypatch, **options)
    assert fast.model_dump(exclude={'output'}) == general.model_dump(exclude={'output'})
    assert fast_files == general_files
    assert fast.clamped == 2  # box 4: centre x and width
    assert [s.model_dump() for s in fast.items_skipped] == [
        {'item': 'missing', 'reason': 'image_missing', 'detail': 'no image missing.png'}
    ]
    if options:  # 'person' is not in class_names: every item with a person box leaves the batched path
        assert hits == ['badclass', 'empty']
        assert fast_files['labels/plain.txt'] == b'0 0.078125 0.083333 0.156250 0.166667\n'
    else:
        assert hits == ['badclass', 'empty', 'plain', 'sub/nested']
        assert fast_files['labels/plain.txt'] == (
            b'0 0.078125 0.083333 0.156250 0.166667\n'
            b'1 0.102539 0.119792 0.158203 0.145833\n'
            b'1 0.921875 0.916667 0.156250 0.166667\n'
        )
        assert fast_files['labels/sub__nested.txt'] == b'1 0.250000 0.250000 0.250000 0.250000\n'
        assert fast.annotations_skipped == {'class_out_of_range': 1, 'image_missing': 1}
    assert fast_files['labels/empty.txt'] == b''


def test_batched_boxes_equal_the_general_path_when_sizes_come_from_headers(tmp_path, monkeypatch):
    source = tmp_path / 'dm'
    write_dm_item(source, 'a', {'bounding_box': [box('b1', 'car', [10, 10, 20, 30]), box('b2', 'bus', [0, 0, 5, 5])]})
    write_dm_item(source, 'b', {'bounding_box': [box('b3', 'car', [190, 90, 30, 30])]})  # clamped
    write_dm_item(source, 'c', {'bounding_box': [box('b4', 'bus', [1, 1, 2, 2])]})
    (source / 'original_files' / 'c.png').write_bytes(b'not an image')  # no size: skipped
    fast, general, fast_files, general_files, hits = convert_both(source, 'dm_v2', tmp_path, monkeypatch)
    assert fast.model_dump(exclude={'output'}) == general.model_dump(exclude={'output'})
    assert fast_files == general_files
    assert hits == ['a']
    assert fast.clamped == 2
    assert (
        fast_files['labels/a.txt'] == b'1 0.100000 0.250000 0.100000 0.300000\n0 0.012500 0.025000 0.025000 0.050000\n'
    )
    assert [s.model_dump() for s in fast.items_skipped] == [
        {'item': 'c', 'reason': 'image_missing', 'detail': 'cannot read the image size'}
    ]


def test_coco_reader_box_only_path_equals_the_validated_path(tmp_path, monkeypatch):
    def ann(aid: int, image_id: int, **fields: object) -> dict:
        return {'id': aid, 'image_id': image_id, 'category_id': 1, 'iscrowd': 0, **fields}

    document = {
        'images': [
            {'id': 1, 'file_name': 'a.png', 'width': 64, 'height': 48},
            {'id': 2, 'file_name': 'b.png', 'width': 64, 'height': 48},
        ],
        'annotations': [
            ann(1, 1, bbox=[2, 2, 8, 8], segmentation=[[2, 2, 10, 2, 10, 10]]),  # polygon first: entry key order
            ann(2, 1, bbox=[1.0, 2.5, 10.0, 4.0], area=40),  # whole floats become ints
            ann(3, 1, bbox=[1, 2, 0, 4]),  # zero width: no box (reported: empty_box)
            ann(4, 1, bbox=[1, 2, 3, True]),  # not a number
            ann(5, 1, bbox=[1, 2, 3, 4], category_id=7),  # unknown category
            ann(6, 1, bbox=[1, 2, 3, 4], attributes={'occluded': True}),
            ann(7, 2, bbox=[3, 4, 5, 6], category_id=2),
            ann(8, 2, bbox=[3, 4, 5, 6], category_id='2'),
            ann(9, 1, bbox=[5, 5, 5, 5]),  # a second run of image 1
        ],
        'categories': [{'id': 1, 'name': 'car'}, {'id': 2, 'name': 'person'}],
    }
    source = write_coco(tmp_path / 'coco', document)
    fast = get_converter('coco', 'dm_v2').convert(source, tmp_path / 'fast')

    def validated_only(elements, names, entry, other):
        for element in elements:
            other(element)

    monkeypatch.setattr(coco_reader, 'plain_annotations', validated_only)
    general = get_converter('coco', 'dm_v2').convert(source, tmp_path / 'general')
    assert fast.model_dump(exclude={'output'}) == general.model_dump(exclude={'output'})
    assert tree(tmp_path / 'fast') == tree(tmp_path / 'general')
    assert fast.annotations_skipped == {'class_out_of_range': 1, 'empty_box': 1}
    entry = json.loads((tmp_path / 'fast' / 'json' / 'a.json').read_text())['images'][0]
    assert list(entry) == ['bounding_box', 'polygon', 'group']
    assert [(b['id'], b['data']) for b in entry['bounding_box']] == [
        ('a1', [2, 2, 8, 8]),
        ('a2', [1, 2.5, 10, 4]),
        ('a4', [1, 2, 3, 1]),  # the validated path reads true as 1
        ('a6', [1, 2, 3, 4]),
        ('a9', [5, 5, 5, 5]),
    ]


def _validated_only(elements, names, entry, other):
    for element in elements:
        other(element)


def _plain_and_validated(root: Path, document: dict, monkeypatch) -> tuple[dict, dict, int]:
    """The DM output and report of ``document`` read with the plain path, then with every annotation validated;
    and how many annotations the plain reading sent to the validated path."""
    source = write_coco(root / 'coco', document)
    validated_calls = []
    with monkeypatch.context() as patch:
        original = coco_reader.COCOReader._annotation

        def counted(self, item, element, *args, **kwargs):
            validated_calls.append(element.get('id') if isinstance(element, dict) else element)
            return original(self, item, element, *args, **kwargs)

        patch.setattr(coco_reader.COCOReader, '_annotation', counted)
        plain = get_converter('coco', 'dm_v2').convert(source, root / 'plain')
    with monkeypatch.context() as patch:
        patch.setattr(coco_reader, 'plain_annotations', _validated_only)
        validated = get_converter('coco', 'dm_v2').convert(source, root / 'validated')
    assert plain.model_dump(exclude={'output'}) == validated.model_dump(exclude={'output'})
    assert tree(root / 'plain') == tree(root / 'validated')  # JSON text: 10 and 10.0 differ here
    entry = json.loads((root / 'plain' / 'json' / 'a.json').read_text())['images'][0]
    return entry, plain.model_dump(), len(validated_calls)


POLYGONS = {
    'one polygon': [[2, 2, 10, 2, 10, 10]],
    'two, whole floats': [[1.0, 2.0, 5.5, 2, 5, 6.0], [0, 0, 1, 0, 1, 1, 0, 1]],
    'too short': [[1, 2, 3, 4]],
    'odd count': [[1, 2, 3, 4, 5, 6, 7]],
    'a bool': [[1, 2, 3, 4, 5, True]],
    'a numeric string': [[1, 2, 3, 4, 5, '6']],
    'nested too deep': [[[1, 2], [3, 4], [5, 6]]],
    'not a list': [7],
    'an RLE mask': {'counts': [0, 4, 12], 'size': [4, 4]},
    'empty': [],
}


@pytest.mark.parametrize('segmentation', POLYGONS.values(), ids=POLYGONS.keys())
@pytest.mark.parametrize('bbox', [[2, 2, 8, 8], [2, 2, 0, 8], None], ids=['box', 'zero-width', 'no-bbox'])
def test_coco_polygons_take_the_plain_path_with_the_validated_result(tmp_path, monkeypatch, segmentation, bbox):
    fields = {'segmentation': segmentation} | ({'bbox': bbox} if bbox is not None else {})
    annotations = [{'id': 1, 'image_id': 1, 'category_id': 1, 'iscrowd': 0, **fields}]
    annotations.append({'id': 2, 'image_id': 1, 'category_id': 1, 'bbox': [1, 1, 3, 3]})  # and a box after it
    document = {
        'images': [{'id': 1, 'file_name': 'a.png', 'width': 64, 'height': 48}],
        'annotations': annotations,
        'categories': [{'id': 1, 'name': 'car'}],
    }
    entry, _, validated = _plain_and_validated(tmp_path, document, monkeypatch)
    plain = bbox == [2, 2, 8, 8] and segmentation in ([[2, 2, 10, 2, 10, 10]], POLYGONS['two, whole floats'], [])
    assert validated == (0 if plain else 1)  # the plain path took what it can, and only that
    if bbox == [2, 2, 8, 8] and segmentation == [[2, 2, 10, 2, 10, 10]]:
        assert entry == {
            'bounding_box': [
                {'id': 'a1', 'classification': 'car', 'attrs': [], 'data': [2, 2, 8, 8]},
                {'id': 'a2', 'classification': 'car', 'attrs': [], 'data': [1, 1, 3, 3]},
            ],
            'polygon': [{'id': 'a1_p0', 'classification': 'car', 'attrs': [], 'data': [[2, 2], [10, 2], [10, 10]]}],
            'group': [{'id': 'a1_g', 'classification': 'car', 'attrs': [], 'data': ['a1', 'a1_p0']}],
        }


def test_many_polygon_annotations_per_image_keep_their_order(tmp_path, monkeypatch):
    """Box-only and polygon annotations interleaved over two images and three runs."""
    annotations = []
    for k in range(60):
        fields: dict = {'bbox': [k % 7, 1, 2 + k % 5, 3]}
        if k % 3:
            fields['segmentation'] = [[k % 7, 1, k % 7 + 2, 1, k % 7 + 2, 4.0]] * (1 + k % 2)
        annotations.append({'id': k, 'image_id': 1 + (k // 25) % 2, 'category_id': 1 + k % 2, **fields})
    document = {
        'images': [
            {'id': 1, 'file_name': 'a.png', 'width': 64, 'height': 48},
            {'id': 2, 'file_name': 'b.png', 'width': 64, 'height': 48},
        ],
        'annotations': annotations,
        'categories': [{'id': 1, 'name': 'car'}, {'id': 2, 'name': 'person'}],
    }
    entry, report, validated = _plain_and_validated(tmp_path, document, monkeypatch)
    assert list(entry) == ['bounding_box', 'polygon', 'group']
    assert (report['annotations_written'], validated) == (60, 0)
