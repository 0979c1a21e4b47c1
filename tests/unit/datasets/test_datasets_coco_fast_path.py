"""YOLO → COCO box-only fast paths (YOLO rows, COCO records) must equal the general paths exactly."""

import json
from pathlib import Path

import pytest
from tests.support.dataset_builders import write_yolo

from synapse_sdk.plugins.datasets import get_converter
from synapse_sdk.plugins.datasets.readers import yolo_rows
from synapse_sdk.plugins.datasets.writers.coco import COCOWriter

LABELS = {
    'plain': '0 0.5 0.5 0.25 0.5\n2 0.123456 0.234567 0.1 0.2\n',
    'edge': '1 0.875 0.75 0.25 0.5\n',  # touches the right and bottom edges exactly
    'clipped': '0 0.95 0.5 0.2 0.2\n0 0.5 0.5 0.1 0.1\n',  # leaves the image: clipped by the general path
    'mixed': '1 0.5 0.5 0.2 0.2 0.7\n0 0.1 0.1 0.3 0.1 0.3 0.3\n1 0.2 0.2 0.1 0.1\n',  # bad count, polygon, box
    'bad': '7 0.5 0.5 0.2 0.2\nx 0.5 0.5 0.2 0.2\n\u00b2 0.5 0.5 0.2 0.2\n0 0.5 nan 0.2 0.2\n0 1.5 0.5 0.2 0.2\n',
    'empty': '',
}


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob('*')) if p.is_file()}


@pytest.mark.parametrize('names', [['car', 'person', 'bike'], None], ids=['declared', 'undeclared'])
def test_box_only_paths_equal_the_general_paths(tmp_path, monkeypatch, names):
    source = write_yolo(tmp_path / 'yolo', LABELS, size=(64, 48), names=names)
    fast = get_converter('yolo', 'coco').convert(source, tmp_path / 'fast')

    real_parse = yolo_rows.parse_label

    def general_rows(text, size, classes, kpt_shape, report, file):
        entry = {}
        for line, raw in enumerate(text.splitlines(), 1):
            tokens = raw.split()
            if not tokens:
                continue
            report.annotations_seen += 1
            try:
                row = yolo_rows._row(tokens, line, size, (classes, kpt_shape, report))
            except yolo_rows._Bad as bad:
                report.skip_annotation(bad.reason, file=file, line=line, message=str(bad))
                continue
            for tool, anns in row.items():
                entry.setdefault(tool, []).extend(anns)
        return entry

    from synapse_sdk.plugins.datasets.readers import yolo as yolo_reader

    assert yolo_reader.parse_label is real_parse
    monkeypatch.setattr(yolo_reader, 'parse_label', general_rows)
    monkeypatch.setattr(COCOWriter, '_plain_records', lambda self, item, size: None)
    general = get_converter('yolo', 'coco').convert(source, tmp_path / 'general')

    assert fast.model_dump(exclude={'output'}) == general.model_dump(exclude={'output'})
    assert tree(tmp_path / 'fast') == tree(tmp_path / 'general')
    document = json.loads((tmp_path / 'fast' / 'annotations.json').read_bytes())
    names_of = {i['id']: i['file_name'] for i in document['images']}
    boxes = [(names_of[a['image_id']], a['category_id'], a['bbox']) for a in document['annotations']]
    undeclared = [] if names else [('bad.png', 8, [25.6, 19.2, 12.8, 9.6])]  # class 7 → class_7, category 8
    assert [b for b in boxes if b[0] != 'mixed.png'] == [
        *undeclared,
        ('bad.png', 1, [57.6, 19.2, 6.4, 9.6]),  # cx 1.5 clamped to 1 on read
        ('clipped.png', 1, [54.4, 19.2, 9.6, 9.6]),  # clipped at the right edge
        ('clipped.png', 1, [28.8, 21.6, 6.4, 4.8]),
        ('edge.png', 2, [48, 24, 16, 24]),
        ('plain.png', 1, [24, 12, 16, 24]),
        ('plain.png', 3, [4.7, 6.46, 6.4, 9.6]),
    ]
    assert fast.clamped == 3
    out_of_range = 3 if names else 2  # declared: 7, 'x' and '²'; undeclared: 'x' and '²'
    assert fast.annotations_skipped == {'bad_token_count': 1, 'class_out_of_range': out_of_range, 'invalid_value': 1}
