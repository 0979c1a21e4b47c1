"""Big conversions create files in helper processes; the output must equal the inline one byte for byte."""

from pathlib import Path

import pytest
from tests.support.dataset_builders import write_coco

from synapse_sdk.plugins.datasets import get_converter
from synapse_sdk.plugins.datasets.writers import base as writers_base

pytestmark = pytest.mark.slow


def coco_document(count: int) -> dict:
    images = [{'id': i, 'file_name': f'img{i}.png', 'width': 64, 'height': 48} for i in range(1, count + 1)]
    annotations = [
        {
            'id': i,
            'image_id': i,
            'category_id': 1 + i % 2,
            'bbox': [1.0, 2.0, 10.0 + i % 7, 8.0],
            'area': 80,
            'iscrowd': 0,
        }
        for i in range(1, count + 1)
    ]
    categories = [{'id': 1, 'name': 'car'}, {'id': 2, 'name': 'person'}]
    return {'images': images, 'annotations': annotations, 'categories': categories}


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob('*')) if p.is_file()}


def test_helper_processes_write_the_same_output_as_inline(tmp_path, monkeypatch):
    count = writers_base.HELPER_MIN_ITEMS  # at the threshold: the helper path runs
    source = write_coco(tmp_path / 'coco', coco_document(count))
    helped = get_converter('coco', 'yolo').convert(source, tmp_path / 'helped')
    monkeypatch.setattr(writers_base, 'HELPER_MIN_ITEMS', count + 1)  # now inline
    inline = get_converter('coco', 'yolo').convert(source, tmp_path / 'inline')
    assert helped.model_dump(exclude={'output'}) == inline.model_dump(exclude={'output'})
    helped_files, inline_files = tree(tmp_path / 'helped'), tree(tmp_path / 'inline')
    # dataset.yaml names its own folder; everything else is identical
    assert helped_files.pop('dataset.yaml').replace(b'/helped\n', b'/inline\n') == inline_files.pop('dataset.yaml')
    assert helped_files == inline_files
    assert len(list((tmp_path / 'helped').rglob('*.txt'))) >= count
