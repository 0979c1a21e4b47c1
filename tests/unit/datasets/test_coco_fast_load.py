"""The batched COCO load (one ``orjson.loads`` per ~16 KiB, boxes kept as machine numbers) equals the general one.

Pinned on fixed documents and on generated ones: the batches hold exactly the elements the one-by-one stream
yields, and :class:`COCOReader` gives the same items, DM entries, report and errors with ``fast=True`` and
``fast=False``. Each case also pins which path ran, so a fast path that silently never engages fails here.
"""

from __future__ import annotations

import json
import os
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError as PydanticValidationError
from tests.support.dataset_builders import write_png_header

from synapse_sdk.exceptions import ValidationError
from synapse_sdk.plugins.datasets import _jsonstream as jsonstream
from synapse_sdk.plugins.datasets._jsonstream import LineCounter, iter_top_level_arrays, iter_top_level_batches
from synapse_sdk.plugins.datasets.models.coco import COCOImage
from synapse_sdk.plugins.datasets.options import ConvertOptions
from synapse_sdk.plugins.datasets.readers import coco_index
from synapse_sdk.plugins.datasets.readers.coco import COCOReader
from synapse_sdk.plugins.datasets.report import ReportBuilder

WANTED = frozenset({'images', 'annotations', 'categories'})

TRICKY = {
    'strings with brackets, escapes and unicode': (
        '{"info": {"a": "}, {", "b": [{"x": "]"}]}, "annotations": [{"id": 1, "note": "}, {\\"id\\": 2}"}, '
        '{"id": 2, "note": "back\\\\slash}, {"}, {"id": 3, "name": "caf\u00e9 \\u00e9 \\ud83d\\ude00 }, {"},'
        '{"id": 4, "q": "\\"}\\", {"}], "images": [], "categories": [{"id": 1, "name": "}, {"}, {"id": 2}]}'
    ),
    'nested values with false cuts': (
        '{"annotations": [{"id": 1, "segmentation": [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]]}, '
        '{"id": 2, "attributes": {"a": {"b": {}}, "c": [{}, {"d": 1}, {}]}}, {"id": 3, "segmentation": '
        '{"counts": "a}, {b", "size": [2, 2]}}, {"id": 4, "list": [{"e": [{}, {}]}, {}]}]}'
    ),
    'empty arrays, keys in any order, annotations first': (
        '{"categories": [], "annotations": [{"image_id": 1, "id": 1, "bbox": []}, {"bbox": [1, 2, 3, 4], "id": 2}],'
        ' "other": {"images": [{"id": 9}]}, "images": [{"id": 1}], "annotations": []}'
    ),
    'indented, elements of every kind': json.dumps(
        {'annotations': [{'id': 1}, 1, 'x}, {', None, [{'a': 1}, {'b': 2}], {'id': 2}, {}, {}], 'images': [{}]},
        indent=2,
    ),
    'compact separators, array end followed by objects': json.dumps(
        {'annotations': [{'id': k, 'bbox': [k, k, 1, 1]} for k in range(40)], 'categories': [{'id': 1}, {'id': 2}]},
        separators=(',', ':'),
    ),
}


def elements_one_by_one(path: Path) -> list[tuple[str, Any]]:
    return [(key, element) for key, _, _, element in iter_top_level_arrays(path, WANTED)]


def elements_batched(path: Path, batch_bytes: int) -> tuple[list[tuple[str, Any]], int]:
    flat, biggest = [], 0
    for key, elements, text in iter_top_level_batches(path, WANTED, batch_bytes):
        if text is not None:  # the text a batch was parsed from
            assert orjson.loads(text) == elements
        flat += [(key, element) for element in elements]
        biggest = max(biggest, len(elements))
    return flat, biggest


@pytest.mark.parametrize('batch_bytes', [1, 48, 1 << 14])
@pytest.mark.parametrize('text', TRICKY.values(), ids=TRICKY.keys())
def test_batches_hold_exactly_the_elements_of_the_stream(tmp_path, text, batch_bytes):
    path = tmp_path / 'doc.json'
    path.write_text(text, encoding='utf-8')
    assert json.loads(text)  # the cases are valid JSON
    batched, biggest = elements_batched(path, batch_bytes)
    assert batched == elements_one_by_one(path)
    longest = max(len(value) for key, value in json.loads(text).items() if key in WANTED)
    if batch_bytes > 1000 and longest > 2:  # the last element of an array always comes alone (no cut after it)
        assert biggest > 1  # several elements per orjson.loads: the batched path ran


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    annotations=st.lists(
        st.one_of(
            st.fixed_dictionaries(
                {'id': st.integers(), 'note': st.text(alphabet='{}[]",: \\ab\u00e9\U0001f600', max_size=12)}
            ),
            st.dictionaries(st.text(alphabet='{}"\\x', max_size=3), st.lists(st.dictionaries(st.just('k'), st.none()))),
            st.integers(),
        ),
        max_size=12,
    ),
    indent=st.sampled_from([None, 0, 2]),
    ascii_only=st.booleans(),
    batch_bytes=st.sampled_from([1, 24, 80, 1 << 14]),
)
def test_generated_documents_batch_like_the_stream(tmp_path, annotations, indent, ascii_only, batch_bytes):
    document = {'categories': [{'id': 1, 'name': '}, {'}], 'annotations': annotations, 'images': [{'id': 1}]}
    path = tmp_path / 'doc.json'
    path.write_text(json.dumps(document, indent=indent, ensure_ascii=ascii_only), encoding='utf-8')
    assert elements_batched(path, batch_bytes)[0] == elements_one_by_one(path)


# --- the reader: fast == general ---------------------------------------------------------------------------------


def ann(aid: int, image_id: int, bbox: list[Any], category_id: int = 1, **extra: Any) -> dict[str, Any]:
    return {'id': aid, 'image_id': image_id, 'category_id': category_id, 'bbox': bbox, **extra}


def dataset(root: Path, document: dict[str, Any], **dumps: Any) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for image in document.get('images', []):
        if isinstance(image.get('file_name'), str) and image['file_name'] not in ('', 'missing.png'):
            write_png_header(root / image['file_name'], 64, 48)
    (root / 'annotations.json').write_text(json.dumps(document, **dumps), encoding='utf-8')
    return root


def load(root: Path, fast: bool) -> tuple[list[tuple[Any, ...]], dict[str, Any], list[bool]]:
    report = ReportBuilder('coco')
    reader = COCOReader(root, report, ConvertOptions(), fast=fast)
    items = [(i.name, i.stem, i.split, i.image, i.entry, i.width, i.height) for i in reader]
    classes = reader.class_map()
    items.append(('classes', classes.names, classes.coco_ids, reader.kpt_shape))
    return items, report.build().model_dump(), [index.boxes is not None for _, index in reader.indexes]


def assert_same(root: Path, *, fast_path: bool | list[bool]) -> list[tuple[Any, ...]]:
    fast_items, fast_report, used = load(root, fast=True)
    general_items, general_report, general_used = load(root, fast=False)
    assert general_used == [False] * len(used)
    assert used == (fast_path if isinstance(fast_path, list) else [fast_path])
    # JSON text, not ==: 10 == 10.0 in Python, but a whole float must come out as an int on both paths
    assert typed(fast_items) == typed(general_items)
    assert typed(fast_report) == typed(general_report)
    return fast_items


def typed(value: object) -> str:
    return json.dumps(value, default=str)


IMAGES = [
    {'id': 1, 'file_name': 'a.png', 'width': 64, 'height': 48},
    {'id': 2, 'file_name': 'caf\u00e9 \U0001f600.png', 'width': 64, 'height': 48},
    {'id': 70000, 'file_name': 'missing.png', 'width': 64, 'height': 48},
    {'id': 4, 'file_name': 'sub/b.png', 'width': 32, 'height': 32},
    {'id': 5, 'file_name': 'no_annotations.png', 'width': 64, 'height': 48},
]
CATEGORIES = [{'id': 1, 'name': 'car'}, {'id': 2, 'name': 'pi\u00e9ton "}, {"'}, {'id': 40000, 'name': 'far'}]
BOX_ONLY = [
    ann(1, 1, [0, 0, 10, 8], area=80, iscrowd=0, segmentation=[]),
    ann(2, 2, [1.5, 2.25, 10.0, 7.0], category_id=2),  # floats, one whole
    ann(3, 1, [54, 40, 10, 8], category_id=40000),  # a second run of image 1, a category id above int16
    ann(2**40, 70000, [-3, -4, 70000, 2**40]),  # above int32: wider arrays; its image is missing
    ann(5, 4, [1, 1, 2, 2], segmentation={}),
    ann(6, 99, [1, 1, 2, 2]),  # names no image
    ann(7, 2, [2**53, 0, 1e-9, 0.5]),
]


@pytest.mark.parametrize(
    ('order', 'dumps'),
    [
        (('images', 'annotations', 'categories'), {}),
        (('annotations', 'categories', 'images'), {'indent': 2}),
        (('categories', 'annotations', 'images'), {'separators': (',', ':'), 'ensure_ascii': False}),
    ],
    ids=['images-first', 'annotations-first-indented', 'categories-first-compact'],
)
def test_box_only_files_take_the_fast_path_with_the_same_result(tmp_path, order, dumps):
    parts = {'images': IMAGES, 'annotations': BOX_ONLY, 'categories': CATEGORIES}
    items = assert_same(dataset(tmp_path / 'coco', {key: parts[key] for key in order}, **dumps), fast_path=True)
    boxes = {name: entry.get('bounding_box') for name, _, _, _, entry, *_ in items[:-1]}
    assert boxes['a'] == [
        {'id': 'a1', 'classification': 'car', 'attrs': [], 'data': [0, 0, 10, 8]},
        {'id': 'a3', 'classification': 'far', 'attrs': [], 'data': [54, 40, 10, 8]},
    ]
    assert typed([b['data'] for b in boxes['caf\u00e9 \U0001f600']]) == typed(
        [[1.5, 2.25, 10, 7], [2**53, 0, 1e-9, 0.5]]
    )
    assert boxes['no_annotations'] is None


POLYGONS = [
    ann(20, 1, [2, 2, 8, 8], segmentation=[[2, 2, 10, 2, 10, 10]]),
    ann(21, 2, [1, 1, 9, 9], category_id=2, segmentation=[[1.0, 1.5, 9, 1, 9, 9.25], [1, 1, 2, 1, 2, 2, 1, 2]]),
    ann(22, 1, [3, 3, 4, 4], segmentation=[]),  # box-only between polygons
    ann(23, 4, [1, 1, 2, 2], segmentation=[[1, 1, 3, 1, 3, 3]], area=4.5, iscrowd=0),
]


def test_boxes_with_polygons_take_the_fast_path_with_the_same_result(tmp_path):
    document = {'images': IMAGES, 'annotations': [*BOX_ONLY, *POLYGONS], 'categories': CATEGORIES}
    items = assert_same(dataset(tmp_path / 'coco', document), fast_path=True)
    entries = {name: entry for name, _, _, _, entry, *_ in items[:-1]}
    assert list(entries['a']) == ['bounding_box', 'polygon', 'group']
    assert entries['a']['group'] == [{'id': 'a20_g', 'classification': 'car', 'attrs': [], 'data': ['a20', 'a20_p0']}]
    assert typed(entries['caf\u00e9 \U0001f600']['polygon'][0]['data']) == typed([[1, 1.5], [9, 1], [9, 9.25]])


def test_polygons_after_many_box_only_batches_and_boxes_after_polygons(tmp_path):
    """Polygons first seen in a late batch (the earlier annotations get none), then box-only batches again."""
    images = [{'id': k, 'file_name': f'{k}.png', 'width': 64, 'height': 48} for k in range(1, 8)]
    annotations = []
    for k in range(3000):
        extra = {'segmentation': [[1, 1, 5, 1, 5, 4.5]] * (1 + k % 3)} if 1200 <= k < 1800 and k % 2 else {}
        annotations.append(ann(k, 1 + (k // 3) % 7, [k % 50, 1, 1 + k % 9, 2], category_id=1 + k % 2, **extra))
    document = {'images': images, 'annotations': annotations, 'categories': CATEGORIES}
    items = assert_same(dataset(tmp_path / 'coco', document), fast_path=True)
    assert sum(len(entry.get('polygon', ())) for *_, entry, _, _ in items[:-1]) == sum(
        1 + k % 3 for k in range(1200, 1800) if k % 2
    )


def test_many_batches_and_runs_split_across_them(tmp_path):
    """3,000 boxes (many 16 KiB batches), images interleaved so that runs start and end anywhere."""
    images = [{'id': k, 'file_name': f'{k}.png', 'width': 64, 'height': 48} for k in range(1, 8)]
    annotations = [ann(k, 1 + (k // 3) % 7, [k % 50, 1, 1 + k % 9, 2], category_id=1 + k % 2) for k in range(3000)]
    document = {'images': images, 'annotations': annotations, 'categories': CATEGORIES}
    items = assert_same(dataset(tmp_path / 'coco', document), fast_path=True)
    assert sum(len(entry['bounding_box']) for *_, entry, _, _ in items[:-1]) == 3000


@pytest.mark.parametrize(
    'odd',
    [
        ann(10, 1, [2, 2, 8, 8], segmentation=[[2, 2, 10, 2, 10]]),  # a polygon with an odd count
        ann(10, 1, [2, 2, 8, 8], segmentation=[[2, 2, 10, 2]]),  # a polygon of two points
        ann(10, 1, [2, 2, 8, 8], segmentation={'counts': [0, 4, 12], 'size': [4, 4]}),  # an RLE mask
        ann(10, 1, [2, 2, 8, 8], segmentation=[[2, 2, 10, 2, 10, '10']]),  # a value that is no number
        ann(10, 1, [2, 2, 8, 8], segmentation=[[2, 2, 10, 2, 10, True]]),
        ann(10, 1, [2, 2, 8, 8], segmentation=[[2, 2], [3, 3], [4, 4]]),  # points, not a flat polygon
        ann(10, 1, [2, 2, 0, 8], segmentation=[[2, 2, 10, 2, 10, 10]]),  # a polygon without a box
        ann(10, 1, [2, 2, 8, 8], category_id=7),  # no such category: reported with its line
        ann(10, 1, [2, 2, 8, 8], attributes={'occluded': True}),  # a key a box cannot hold
        ann(10, 1, [1, 2, 3, True]),  # a bool is not a number
        ann(10, 1, [1, 2, 0, 4]),  # zero width
        ann(10, 1, [1, 2, 3]),  # three values
        ann(True, 1, [1, 2, 3, 4]),
        ann(10, '1', [1, 2, 3, 4]),
        ann(10, 1, [2**53 + 1, 2, 3, 4]),  # no exact float64
        ann(2**64, 1, [1, 2, 3, 4]),  # no int64
        {'id': 10, 'image_id': 1, 'category_id': 1},  # no bbox
        [1, 2, 3],
        # no 'u' or 'f' in the batch's text (no bool possible): the arrays refuse what is no number
        ann(10, 1, [1, 2, 3, '4']),
        ann(10, 1.0, [1, 2, 3, 4]),
        ann(10.0, 1, [1, 2, 3, 4]),
        ann(10, 1, [1, 2, 3, 4], category_id=1.0),
        ann(10, 1, [[1], [2], [3], [4]]),
        ann(10, 1, {'a': 1, 'b': 2, 'c': 3, 'd': 4}),
        ann(10, 1, 'abcd'),
        ann(10, 1, [1, 2, 3, None]),  # null: has a 'u', checked type by type
        ann(10, 1, [1, 2, 3, False]),
    ],
    ids=[
        'polygon-odd',
        'polygon-short',
        'rle',
        'polygon-str',
        'polygon-bool',
        'polygon-points',
        'polygon-no-box',
        'unknown-category',
        'attributes',
        'bool',
        'zero-width',
        'short-bbox',
        'bool-id',
        'str-image-id',
        'inexact',
        'huge-id',
        'no-bbox',
        'not-an-object',
        'str-value',
        'float-image-id',
        'float-id',
        'float-category-id',
        'nested-lists',
        'dict-bbox',
        'str-bbox',
        'null-value',
        'false-value',
    ],
)
def test_anything_else_takes_the_general_path_with_the_same_result(tmp_path, odd):
    document = {'images': IMAGES, 'annotations': [*BOX_ONLY, odd], 'categories': CATEGORIES}
    assert_same(dataset(tmp_path / 'coco', document), fast_path=False)


@pytest.mark.parametrize('odd', [{'width': 64.0}, {'width': '64'}, {'id': True}, {'file_name': 7}, {'height': -1}])
def test_images_not_plain_are_validated_one_by_one_with_the_same_result(tmp_path, odd):
    images = [*IMAGES, {'id': 8, 'file_name': 'a.png', 'width': 64, 'height': 48, **odd}]
    root = dataset(tmp_path / 'coco', {'images': images, 'annotations': BOX_ONLY, 'categories': CATEGORIES})
    try:  # an entry pydantic takes (64.0, '64') keeps the fast path; one it refuses is reported the general way
        COCOImage.model_validate(images[-1])
        valid = True
    except PydanticValidationError:
        valid = False
    assert_same(root, fast_path=valid)


def test_a_bad_image_entry_takes_the_general_path(tmp_path):
    images = [*IMAGES, {'id': 8, 'file_name': 'zero.png', 'width': 0, 'height': 48}]
    root = dataset(tmp_path / 'coco', {'images': images, 'annotations': BOX_ONLY, 'categories': CATEGORIES})
    assert_same(root, fast_path=False)
    assert load(root, fast=True)[1]['items_skipped'][0]['item'].startswith('image@line')


@pytest.mark.parametrize(
    'damage',
    [
        lambda text: text[: len(text) // 2],  # truncated
        lambda text: text.replace('"bbox": [0, 0, 10, 8]', '"bbox": [0, 0, 10, 8'),  # unbalanced
        lambda text: text.replace(', "iscrowd"', ' "iscrowd"'),  # a missing comma
        lambda text: text.replace('"car"', '"car'),  # an unterminated string in categories
        lambda text: text.replace('{"id": 2', '{"id": 2,, '),
    ],
    ids=['truncated', 'unbalanced', 'missing-comma', 'unterminated-string', 'double-comma'],
)
def test_broken_json_fails_with_the_general_message(tmp_path, damage):
    document = {'images': IMAGES, 'annotations': BOX_ONLY, 'categories': CATEGORIES}
    root = dataset(tmp_path / 'coco', document)
    path = root / 'annotations.json'
    path.write_text(damage(path.read_text(encoding='utf-8')), encoding='utf-8')
    assert_same_refusal(root, r'invalid JSON at line \d+')


def assert_same_refusal(root: Path, pattern: str) -> None:
    """Every path refuses the dataset with the same message and details (those of the element-wise index)."""
    errors = []
    for fast in (True, False):
        with pytest.raises(ValidationError, match=pattern) as caught:
            COCOReader(root, ReportBuilder('coco'), ConvertOptions(), fast=fast)
        errors.append((str(caught.value), caught.value.details))
    assert errors[0] == errors[1]


def test_split_files_each_take_their_own_path_and_share_categories(tmp_path):
    """``valid`` uses a category only ``train`` defines (the reader's class map spans both files): still fast;
    ``test`` holds an RLE mask: general. The items and report equal the all-general ones."""
    root = tmp_path / 'coco'
    dataset(root / 'train', {'images': IMAGES[:2], 'annotations': BOX_ONLY[:2], 'categories': CATEGORIES})
    dataset(root / 'valid', {'images': IMAGES[3:], 'annotations': [ann(20, 4, [1, 1, 3, 3], category_id=2)]})
    mask = ann(30, 1, [2, 2, 8, 8], segmentation={'counts': [0, 4, 12], 'size': [4, 4]})
    dataset(root / 'test', {'images': IMAGES[:1], 'annotations': [mask], 'categories': CATEGORIES[:1]})
    items = assert_same(root, fast_path=[True, True, False])  # sources in order: train, valid, test
    assert {name for name, *_ in items[:-1]} >= {'train/a', 'valid/sub/b', 'test/a'}


@pytest.mark.parametrize('file_name', ['a.png', '.hidden.png', '..png', 'a.b.c.png', 'noext', 'dots.', '.x', 'é.jpeg'])
def test_item_stems_are_what_splitext_gives(tmp_path, file_name):
    images = [{'id': 1, 'file_name': file_name, 'width': 64, 'height': 48}]
    annotations = [ann(1, 1, [1, 1, 5, 5])]
    root = dataset(tmp_path / 'coco', {'images': images, 'annotations': annotations, 'categories': CATEGORIES})
    items = assert_same(root, fast_path=True)
    assert [(name, stem) for name, stem, *_ in items[:-1]] == [(os.path.splitext(file_name)[0],) * 2]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet='ab\n\u00e9', max_size=300), picks=st.lists(st.floats(0, 1), max_size=8))
def test_line_counter_counts_like_a_fresh_count_in_any_order(tmp_path, text, picks):
    data = text.encode()
    path = tmp_path / 'lines.txt'
    path.write_bytes(data)
    counter = LineCounter(path)
    for pick in picks:  # increasing, decreasing, repeated: each answer equals a count from the start
        offset = int(pick * len(data))
        assert counter.line(offset) == data[:offset].count(b'\n') + 1


def test_each_problem_names_the_line_of_its_own_annotation(tmp_path):
    """300 bad annotations in one run: the first 200 are kept as problems, each with its own line."""
    annotations = [ann(k, 1, [1, 1, 2, 2], category_id=9) for k in range(300)]
    document = {'images': IMAGES[:1], 'annotations': annotations, 'categories': CATEGORIES}
    root = dataset(tmp_path / 'coco', document, indent=0)  # a line per key: '{' then '"id": k,'
    report = load(root, fast=True)[1]
    assert report['annotations_skipped'] == {'class_out_of_range': 300}
    lines = (root / 'annotations.json').read_text().splitlines()
    problems = report['problems']
    assert len(problems) == 200
    for k, problem in enumerate(problems):
        assert problem['message'] == f'annotation id {k}: category_id 9 is not in categories'
        assert (lines[problem['line'] - 1], lines[problem['line']]) == ('{', f'"id": {k},')


def test_a_run_read_twice_names_the_same_lines(tmp_path):
    """Two image entries with one id read the same run twice: each reading names the annotations' own lines."""
    annotations = [ann(k, 1, [1, 1, 2, 2], category_id=1 if k % 3 else 9) for k in range(12)]
    document = {'images': [IMAGES[0], IMAGES[0]], 'annotations': annotations, 'categories': CATEGORIES}
    root = dataset(tmp_path / 'coco', document, indent=0)
    report = load(root, fast=False)[1]
    lines = (root / 'annotations.json').read_text().splitlines()
    named = [(p['message'].split(':')[0], lines[p['line']]) for p in report['problems']]
    expected = [(f'annotation id {k}', f'"id": {k},') for k in range(0, 12, 3)]
    assert named == expected * 2


# --- the batched general index (files that are not box-only) == the element-wise one --------------------------


def _spans_used(root: Path) -> list[bool]:
    reader = COCOReader(root, ReportBuilder('coco'), ConvertOptions())
    return [index._spans is not None for _, index in reader.indexes]


@pytest.mark.parametrize('order', ['file order', 'shuffled images'])
def test_files_with_polygons_index_in_batches_with_the_same_result(tmp_path, order):
    """3,000 annotations, two in three with a polygon, a few bad (reported at their lines), images interleaved so
    that runs start and end anywhere in the batches; the images listed in file order or shuffled (batches parsed
    again out of order)."""
    images = [{'id': k, 'file_name': f'{k}.png', 'width': 64, 'height': 48} for k in range(1, 8)]
    images.append({'id': 99, 'file_name': 'bad.png', 'width': 0, 'height': 48})  # reported with its line
    if order == 'shuffled images':
        images = [images[k] for k in (5, 2, 7, 0, 6, 3, 1, 4)]
    annotations = []
    for k in range(3000):
        extra: dict[str, Any] = {}
        if k % 3:
            extra['segmentation'] = [[1, 1, 5.5, 1, 5, 4.0 + k % 2]] * (1 + k % 2)
        annotations.append(ann(k, 1 + (k // 3) % 7, [k % 50, 1, 1 + k % 9, 2], 9 if k % 97 == 0 else 1, **extra))
    document = {'images': images, 'annotations': annotations, 'categories': CATEGORIES}
    root = dataset(tmp_path / 'coco', document, indent=1)
    items = assert_same(root, fast_path=False)
    assert _spans_used(root) == [True]
    assert sum(len(entry['polygon']) for *_, entry, _, _ in items[:-1]) == sum(
        1 + k % 2 for k in range(3000) if k % 3
    ) - sum(1 + k % 2 for k in range(3000) if k % 3 and k % 97 == 0)


def test_a_bad_category_in_a_file_with_polygons_fails_with_the_general_message(tmp_path):
    polygon = ann(1, 1, [2, 2, 8, 8], segmentation=[[2, 2, 10, 2, 10, 10]])
    document = {'images': IMAGES[:1], 'annotations': [polygon], 'categories': [*CATEGORIES, {'id': 'x'}]}
    root = dataset(tmp_path / 'coco', document, indent=2)
    assert_same_refusal(root, r'bad category at line \d+')


def test_huge_image_ids_are_reported_not_crashed_on(tmp_path):
    """An image id past int64 (it once overflowed an int64 array of the index): the entry is refused by its
    model, and its annotations are counted as naming no image, on every path."""
    big = 2**70
    images = [{'id': big, 'file_name': 'a.png', 'width': 64, 'height': 48}]
    annotations = [ann(1, big, [1, 1, 5, 5], segmentation=[[1, 1, 5, 1, 5, 5]]), ann(2, big, [2, 2, 3, 3])]
    root = dataset(tmp_path / 'coco', {'images': images, 'annotations': annotations, 'categories': CATEGORIES})
    assert_same(root, fast_path=False)
    report = load(root, fast=True)[1]
    assert report['items_skipped'][0]['detail'].startswith('id: Unable to parse input string as an integer')
    assert report['annotations_skipped'] == {'image_missing': 2}


def test_an_undefined_category_sends_a_compact_file_to_the_batched_general_index(tmp_path):
    document = {'images': IMAGES, 'annotations': [*BOX_ONLY, ann(30, 1, [1, 1, 2, 2], category_id=7)]}
    root = dataset(tmp_path / 'coco', {**document, 'categories': CATEGORIES})
    assert _spans_used(root) == [True]
    report = load(root, fast=True)[1]
    assert report['annotations_skipped'] == {'class_out_of_range': 1, 'image_missing': 2}
    assert [p['line'] for p in report['problems'] if p['reason'] == 'class_out_of_range'] == [1]


_NUMBER = st.one_of(
    st.integers(-3, 70),
    st.floats(-3, 70, allow_nan=False).map(lambda v: round(v, 2)),
    st.integers(0, 70).map(float),  # whole floats: ints on the way out, on every path
)
_POLYGON = st.lists(_NUMBER, min_size=4, max_size=12)
_SEGMENTATION = st.one_of(
    st.just([]),
    st.none(),
    st.just({}),
    st.lists(_POLYGON, min_size=1, max_size=3),
    st.lists(st.one_of(_POLYGON, st.lists(st.one_of(_NUMBER, st.booleans(), st.just('7')), max_size=8)), max_size=2),
    st.just({'counts': [0, 4, 12], 'size': [4, 4]}),
)


@st.composite
def _annotation(draw: st.DrawFn, aid: int) -> dict[str, Any]:
    bbox = draw(st.one_of(st.lists(_NUMBER, min_size=4, max_size=4), st.lists(_NUMBER, max_size=5)))
    fields: dict[str, Any] = {
        'id': aid,
        'image_id': draw(st.sampled_from([1, 2, 4, 99])),
        'category_id': draw(st.sampled_from([1, 1, 2, 40000, 7])),
        'bbox': bbox,
    }
    if draw(st.booleans()):
        fields['segmentation'] = draw(_SEGMENTATION)
    if draw(st.integers(0, 5)) == 0:
        fields['area'] = draw(_NUMBER)
    return fields


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), count=st.integers(1, 40), indent=st.sampled_from([None, 1]))
def test_generated_annotations_read_the_same_on_every_path(tmp_path, data, count, indent):
    """Boxes with or without polygons, bad ones among them: the fast reader (compact store, or the batched
    general index when it cannot) gives the items and report of the element-wise reader, as JSON text."""
    annotations = [data.draw(_annotation(aid)) for aid in range(count)]
    document = {'images': IMAGES, 'annotations': annotations, 'categories': CATEGORIES}
    root = dataset(tmp_path / f'coco{data.draw(st.integers(0, 10**9))}', document, indent=indent)
    fast_items, fast_report, _ = load(root, fast=True)
    general_items, general_report, _ = load(root, fast=False)
    assert typed(fast_items) == typed(general_items)
    assert typed(fast_report) == typed(general_report)


_SIZE = st.one_of(st.integers(1, 40), st.floats(0.5, 40, allow_nan=False).map(lambda v: round(v, 2)), st.just(8.0))


@st.composite
def _plain_annotation(draw: st.DrawFn, aid: int) -> dict[str, Any]:
    polygons = st.lists(_NUMBER, min_size=3, max_size=6).map(lambda half: half * 2)  # an even count, 6 or more
    fields: dict[str, Any] = {
        'id': aid,
        'image_id': draw(st.sampled_from([1, 2, 4, 99])),
        'category_id': draw(st.sampled_from([1, 2, 40000])),
        'bbox': [draw(_NUMBER), draw(_NUMBER), draw(_SIZE), draw(_SIZE)],
    }
    segmentation = draw(st.one_of(st.just([]), st.none(), st.lists(polygons, min_size=1, max_size=3)))
    if segmentation is not None:
        fields['segmentation'] = segmentation
    return fields


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), count=st.integers(1, 60))
def test_generated_plain_annotations_take_the_compact_store_with_the_same_result(tmp_path, monkeypatch, data, count):
    """Batches of ~600 bytes here (16 KiB in use), so that runs and polygons cross many batch ends."""
    for name in ('iter_top_level_batches', 'iter_top_level_spans'):
        monkeypatch.setattr(coco_index, name, partial(getattr(jsonstream, name), batch_bytes=600))
    annotations = [data.draw(_plain_annotation(aid)) for aid in range(count)]
    if data.draw(st.booleans()):  # images in the order of their annotations, or in runs anywhere
        annotations.sort(key=lambda a: a['image_id'])
    document = {'images': IMAGES, 'annotations': annotations, 'categories': CATEGORIES}
    root = dataset(tmp_path / f'coco{data.draw(st.integers(0, 10**9))}', document)
    assert_same(root, fast_path=True)
