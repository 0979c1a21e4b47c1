"""Property tests of the streaming COCO parser and DM v1 <-> v2."""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.support.dataset_builders import write_png

from synapse_sdk.plugins.datasets import _jsonstream as jsonstream
from synapse_sdk.plugins.datasets import dm_v1_to_v2, dm_v2_to_v1, get_converter

_SCRATCH = Path(tempfile.mkdtemp(prefix='synapse-stream-test-'))
atexit.register(shutil.rmtree, _SCRATCH, True)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=st.characters(codec='utf-8', exclude_categories=['Cs']), max_size=8),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)
elements = st.dictionaries(st.text(max_size=6), values, max_size=5)


@settings(max_examples=60, deadline=None)
@given(
    doc=st.fixed_dictionaries(
        {'images': st.lists(elements, max_size=5), 'annotations': st.lists(elements, max_size=5)},
        optional={'info': values, 'categories': st.lists(elements, max_size=3)},
    ),
    indent=st.sampled_from([None, 0, 2]),
    chunk=st.integers(1, 64),
)
def test_stream_yields_exactly_what_json_loads_sees(doc: dict, indent: int | None, chunk: int):
    path = _SCRATCH / 'a.json'
    raw = json.dumps(doc, indent=indent, ensure_ascii=False).encode()
    path.write_bytes(raw)
    original = jsonstream._CHUNK
    jsonstream._CHUNK = chunk
    try:
        found = list(jsonstream.iter_top_level_arrays(path, frozenset({'images', 'annotations'})))
    finally:
        jsonstream._CHUNK = original
    assert [(k, e) for k, _, _, e in found] == [(k, e) for k in doc if k in ('images', 'annotations') for e in doc[k]]
    assert all(json.loads(raw[offset : offset + length]) == e for _, offset, length, e in found)


def test_dm_v1_dataset_round_trips_through_v2_keeping_v1_fields(tmp_path: Path):
    v1 = {
        'assignmentId': 3,
        'extra': {'image_1': {'width': 40}},
        'annotations': {
            'image_1': [
                {
                    'id': 'k1',
                    'tool': 'keypoint',
                    'isLocked': True,
                    'isVisible': False,
                    'classification': {'class': 'nose'},
                },
                {
                    'id': 'p1',
                    'tool': 'polygon',
                    'isLocked': False,
                    'isVisible': True,
                    'classification': {'class': 'person', 'pose': 'standing'},
                },
            ]
        },
        'annotationsData': {
            'image_1': [
                {'id': 'k1', 'coordinate': {'x': 5, 'y': 6}},
                {'id': 'p1', 'coordinate': [{'x': 1, 'y': 1}, {'x': 9, 'y': 1}, {'x': 9, 'y': 9}]},
            ]
        },
        'relations': {'r': []},
        'annotationGroups': {'g': []},
    }
    (tmp_path / 'v1' / 'json').mkdir(parents=True)
    (tmp_path / 'v1' / 'json' / 'a.json').write_text(json.dumps(v1))
    write_png(tmp_path / 'v1' / 'original_files' / 'a.png', 40, 30)
    report = get_converter('dm_v1', 'dm_v1').convert(tmp_path / 'v1', tmp_path / 'again')
    assert (report.items_written, report.annotations_written) == (1, 2)
    again = json.loads((tmp_path / 'again' / 'json' / 'a.json').read_text())
    assert again['annotations']['image_1'][0] == {
        **v1['annotations']['image_1'][0],
        'isValid': True,
        'isDrawCompleted': True,
        'label': ['nose'],
    }
    assert again['annotationsData'] == v1['annotationsData']
    assert (again['relations'], again['annotationGroups'], again['extra']) == ({'r': []}, {'g': []}, v1['extra'])
    converted = dm_v1_to_v2(v1)
    assert dm_v1_to_v2(dm_v2_to_v1(converted['annotation_data'], converted['annotation_meta'])) == {
        'annotation_data': converted['annotation_data'],
        'annotation_meta': {**converted['annotation_meta'], 'annotations': again['annotations']},
    }
