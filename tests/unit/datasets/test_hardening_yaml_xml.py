"""Bombs in a dataset's text files: YAML aliases ("billion laughs") and XML entities are refused unexpanded."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.support.dataset_builders import write_png, write_yolo
from typer.testing import CliRunner

from synapse_sdk.cli import app
from synapse_sdk.exceptions import ValidationError
from synapse_sdk.plugins.datasets import get_converter, validate_dataset
from synapse_sdk.plugins.datasets._yaml import MAX_YAML_BYTES

MiB = 1 << 20
runner = CliRunner()


def yaml_bomb() -> str:
    """The classic: nine levels of nine aliases, 9**9 (387 million) strings once expanded; under 400 bytes."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 9):
        previous, name = chr(ord('a') + level - 1), chr(ord('a') + level)
        lines.append(f'{name}: &{name} [' + ','.join([f'*{previous}'] * 9) + ']')
    lines.append('names: *i')
    return '\n'.join(lines) + '\n'


def xml_bomb() -> str:
    """Billion laughs as a Pascal VOC annotation: ten levels of ten entities, 10**9 'lol's once expanded."""
    entities = ['<!ENTITY lol0 "lol">']
    entities += [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE annotation [\n'
        + '\n'.join(entities)
        + '\n]>\n<annotation><filename>a.png</filename><object><name>&lol9;</name></object></annotation>\n'
    )


def measured(call: Callable[[], Any]) -> tuple[Any, float, int]:
    """``(result or raised exception, seconds, peak bytes allocated meanwhile)``."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result: Any = call()
    except Exception as exc:
        result = exc
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, seconds, peak


def test_the_bomb_is_small_and_really_a_bomb():
    text = yaml_bomb()
    assert len(text.encode()) < 400
    assert text.count('*') == 8 * 9 + 1  # what plain SafeLoader would expand: 9**9 leaves


@pytest.mark.parametrize('file_name', ['dataset.yaml', 'data.yaml'])
def test_a_yaml_alias_bomb_is_refused_fast_and_small(tmp_path: Path, file_name: str):
    root = write_yolo(tmp_path / 'y', {'a': '0 .5 .5 .2 .2\n'}, (8, 8))
    (root / file_name).write_text(yaml_bomb(), encoding='utf-8')
    error, seconds, peak = measured(lambda: get_converter('yolo', 'coco').convert(root, tmp_path / 'out'))
    print(f'yaml alias bomb ({file_name}): refused in {seconds * 1000:.1f} ms, peak {peak / MiB:.2f} MiB')
    assert isinstance(error, ValidationError)
    assert str(error) == (
        f'{file_name}: YAML anchors and aliases (&name, *name) are not allowed in {file_name} '
        '(found at line 1); write each value out in full'
    )
    assert error.details == {'file': str(root / file_name), 'line': 1}
    assert seconds < 1.0
    assert peak < 50 * MiB
    assert sorted(p.name for p in tmp_path.iterdir()) == ['y']  # nothing written


def test_validate_and_the_cli_refuse_it_too(tmp_path: Path):
    root = write_yolo(tmp_path / 'y', {'a': '0 .5 .5 .2 .2\n'}, (8, 8))
    (root / 'dataset.yaml').write_text(yaml_bomb(), encoding='utf-8')
    with pytest.raises(ValidationError, match=r'^dataset.yaml: YAML anchors and aliases'):
        validate_dataset(root, 'yolo')
    result = runner.invoke(
        app, ['dataset', 'convert', str(root), str(tmp_path / 'o'), '--from', 'yolo', '--to', 'coco']
    )
    assert result.exit_code == 1
    assert 'are not allowed in dataset.yaml' in result.stderr


@pytest.mark.parametrize(
    ('text', 'line'),
    [
        ('names: &n [car]\nnc: 1\n', 1),  # an anchor alone
        ('base: &b {nc: 1}\nnames: [car]\n<<: *b\n', 1),  # a merge key needs one
        ('nc: 1\nnames:\n  - &c car\n  - *c\n', 3),
    ],
    ids=['anchor', 'merge-key', 'alias'],
)
def test_every_anchor_or_alias_is_refused_at_its_line(tmp_path: Path, text: str, line: int):
    root = write_yolo(tmp_path / 'y', {'a': '0 .5 .5 .2 .2\n'}, (8, 8))
    (root / 'dataset.yaml').write_text(text, encoding='utf-8')
    with pytest.raises(ValidationError, match=rf'\(found at line {line}\); write each value out in full$'):
        get_converter('yolo', 'dm_v2').convert(root, tmp_path / 'out')


def test_a_yaml_over_one_mib_is_refused_unread(tmp_path: Path):
    root = write_yolo(tmp_path / 'y', {'a': '0 .5 .5 .2 .2\n'}, (8, 8))
    (root / 'dataset.yaml').write_text('names: [car]\n' + '#' * MAX_YAML_BYTES + '\n', encoding='utf-8')
    error, seconds, peak = measured(lambda: get_converter('yolo', 'dm_v2').convert(root, tmp_path / 'out'))
    assert isinstance(error, ValidationError)
    assert str(error).startswith('dataset.yaml: larger than 1048576 bytes (1 MiB)')
    assert seconds < 1.0 and peak < 5 * MiB


def test_a_plain_yaml_still_reads(tmp_path: Path):
    root = write_yolo(tmp_path / 'y', {'a': '1 .5 .5 .2 .2\n'}, (8, 8))
    (root / 'dataset.yaml').write_text('# comment\nnc: 2\nnames: {0: car, 1: "bus & *tram"}\n', encoding='utf-8')
    report = get_converter('yolo', 'dm_v2').convert(root, tmp_path / 'out')
    assert (report.items_written, report.classes) == (1, {'0': 'car', '1': 'bus & *tram'})


def test_a_voc_entity_bomb_is_skipped_unexpanded(tmp_path: Path):
    voc = tmp_path / 'voc'
    (voc / 'Annotations').mkdir(parents=True)
    write_png(voc / 'JPEGImages' / 'a.png', 20, 10)
    write_png(voc / 'JPEGImages' / 'b.png', 20, 10)
    (voc / 'Annotations' / 'a.xml').write_text(xml_bomb(), encoding='utf-8')
    (voc / 'Annotations' / 'b.xml').write_text(
        '<annotation><filename>b.png</filename><size><width>20</width><height>10</height></size>'
        '<object><name>car</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object>'
        '</annotation>',
        encoding='utf-8',
    )
    report, seconds, peak = measured(lambda: get_converter('pascal', 'dm_v2').convert(voc, tmp_path / 'out'))
    print(f'xml entity bomb: skipped in {seconds * 1000:.1f} ms, peak {peak / MiB:.2f} MiB')
    assert not isinstance(report, Exception), report
    assert [(s.item, s.reason.value, s.detail) for s in report.items_skipped] == [
        ('a', 'invalid_xml', 'DTDForbidden: a DTD or entity (<!DOCTYPE>, <!ENTITY>) is not allowed in a VOC annotation')
    ]
    assert (report.items_written, report.annotations_written) == (1, 1)
    assert seconds < 1.0
    assert peak < 50 * MiB


def test_any_doctype_is_refused_in_voc(tmp_path: Path):
    voc = tmp_path / 'voc'
    (voc / 'Annotations').mkdir(parents=True)
    external = (
        '<!DOCTYPE annotation SYSTEM "http://127.0.0.1:9/voc.dtd"><annotation><filename>a.png</filename></annotation>'
    )
    (voc / 'Annotations' / 'a.xml').write_text(external, encoding='utf-8')
    report = validate_dataset(voc, 'pascal')
    assert [(p.file, p.reason.value) for p in report.problems] == [('Annotations/a.xml', 'invalid_xml')]
    assert report.problems[0].message.startswith('DTDForbidden: ')
