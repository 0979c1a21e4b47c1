"""dataset.yaml's split folders must lie inside the dataset: an untrusted archive cannot read images from elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from tests.support.dataset_builders import write_png
from typer.testing import CliRunner

from synapse_sdk.cli import app
from synapse_sdk.exceptions import ValidationError
from synapse_sdk.plugins.datasets import get_converter

FIX = 'name a folder inside the dataset (relative to dataset.yaml, and make `path` the dataset folder or omit it)'


def _split(base: Path, images: str, stem: str) -> None:
    """One image and its label, the label folder found as Ultralytics does (``images`` → ``labels``)."""
    write_png(base / images / f'{stem}.png', 100, 100)
    labels = base / images.replace('images', 'labels')
    labels.mkdir(parents=True, exist_ok=True)
    (labels / f'{stem}.txt').write_text('0 .5 .5 .2 .2\n')


def _yaml(root: Path, **config: object) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / 'dataset.yaml').write_text(yaml.safe_dump({**config, 'names': ['car']}))
    return root


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """Someone else's images, beside the dataset folder."""
    folder = tmp_path / 'private'
    _split(folder, 'images/train', 'secret-a')
    _split(folder, 'images/val', 'secret-b')
    return folder


def test_an_absolute_path_outside_the_dataset_is_refused(tmp_path: Path, outside: Path):
    root = _yaml(tmp_path / 'ds', path=str(outside), train='images/train', val='images/val')
    with pytest.raises(ValidationError) as info:
        get_converter('yolo', 'dm_v2').convert(root, tmp_path / 'out')
    assert str(info.value) == (
        f"dataset.yaml: train: 'images/train' is the folder {outside / 'images' / 'train'}, outside the dataset "
        f'folder {root}; {FIX}'
    )
    assert info.value.details == {'file': str(root / 'dataset.yaml'), 'key': 'train'}
    assert sorted(os.listdir(tmp_path)) == ['ds', 'private']  # nothing written


def test_dot_dot_out_of_the_dataset_is_refused_and_the_cli_says_why(tmp_path: Path, outside: Path):
    root = _yaml(tmp_path / 'ds', train='../private/images/train', val='../private/images/val')
    _split(root, 'images/other', 'mine')  # an images/ folder of its own: the flat layout is not used instead
    result = CliRunner().invoke(
        app, ['dataset', 'convert', str(root), str(tmp_path / 'out'), '--from', 'yolo', '--to', 'coco']
    )
    message = (
        f"dataset.yaml: train: '../private/images/train' is the folder {outside / 'images' / 'train'}, outside the "
        f'dataset folder {root}; {FIX}'
    )
    assert (result.exit_code, ' '.join(result.stderr.split())) == (1, f'Error: {message}')


def test_a_symlinked_split_folder_leading_outside_is_refused(tmp_path: Path, outside: Path):
    root = _yaml(tmp_path / 'ds', path='.', train='images/train', val='images/val')
    (root / 'images').mkdir()
    (root / 'images' / 'train').symlink_to(outside / 'images' / 'train')
    _split(root, 'images/val', 'mine')
    with pytest.raises(ValidationError, match=r"^dataset.yaml: train: 'images/train' is the folder .*/private/"):
        get_converter('yolo', 'dm_v2').convert(root, tmp_path / 'out')


def test_ultralytics_relative_layouts_still_read(tmp_path: Path, outside: Path):
    # `../x` is also read as `x` (Ultralytics does so for Roboflow's data.yaml): the folder inside wins,
    # even when a folder of that name exists beside the dataset
    _split(tmp_path, 'train_set/images', 'decoy')
    root = _yaml(tmp_path / 'ds', train='../train_set/images', val='../val_set/images')
    _split(root, 'train_set/images', 'a')
    _split(root, 'val_set/images', 'b')
    report = get_converter('yolo', 'dm_v2').convert(root, tmp_path / 'dm')
    assert (report.items_written, report.items_skipped) == (2, [])
    assert sorted(p.relative_to(tmp_path / 'dm').as_posix() for p in (tmp_path / 'dm').rglob('*.json')) == [
        'train/json/a.json',
        'valid/json/b.json',
    ]
    # `path` naming the dataset folder itself (absolute, as our writer and Ultralytics' docs write it)
    nested = _yaml(tmp_path / 'nested', path=str(tmp_path / 'nested' / 'data'), train='images/tr', val='images/va')
    _split(nested / 'data', 'images/tr', 'c')
    _split(nested / 'data', 'images/va', 'd')
    report = get_converter('yolo', 'dm_v2').convert(nested, tmp_path / 'dm2')
    assert (report.items_written, report.items_skipped) == (2, [])
