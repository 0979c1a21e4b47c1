"""YOLO folders: ``[split/]{images|img|imgs}/`` with ``[split/]labels/<stem>.txt``, plus ``dataset.yaml``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError as PydanticValidationError

from synapse_sdk.exceptions import ValidationError
from synapse_sdk.plugins.datasets._classes import ClassMap
from synapse_sdk.plugins.datasets._hub import HubItem
from synapse_sdk.plugins.datasets._yaml import load_dataset_yaml
from synapse_sdk.plugins.datasets.formats import IMAGE_EXTENSIONS, DatasetFormat
from synapse_sdk.plugins.datasets.models.yolo import YoloDatasetConfig
from synapse_sdk.plugins.datasets.options import ConvertOptions
from synapse_sdk.plugins.datasets.readers.base import Reader, first_error
from synapse_sdk.plugins.datasets.readers.yolo_rows import parse_label
from synapse_sdk.plugins.datasets.report import ReportBuilder, SkipReason

__all__ = ['YoloReader', 'load_yolo_config']

_IMAGE_DIRS = ('images', 'img', 'imgs')
_SPLIT_DIRS = (('train', 'train'), ('valid', 'valid'), ('val', 'valid'), ('test', 'test'))
_CONFIG_FILES = ('dataset.yaml', 'data.yaml', 'dataset.yml', 'data.yml')


def load_yolo_config(root: Path) -> tuple[YoloDatasetConfig | None, list[str]]:
    """``dataset.yaml`` (or ``data.yaml``) of ``root``, and the class names (from it, else ``classes.txt``)."""
    config = None
    for file_name in _CONFIG_FILES:
        path = root / file_name
        if path.is_file():
            raw = load_dataset_yaml(path, file_name) or {}  # size-capped, anchors and aliases refused
            try:
                config = YoloDatasetConfig.model_validate(raw)
            except PydanticValidationError as exc:
                raise ValidationError(f'{file_name}: {first_error(exc)}', {'file': str(path)}) from exc
            break
    names = list(config.names) if config and config.names else []
    classes_txt = root / 'classes.txt'
    if not names and classes_txt.is_file():
        names = [line.strip() for line in classes_txt.read_text(encoding='utf-8').splitlines() if line.strip()]
    return config, names


def _image_dir(folder: Path) -> Path | None:
    return next((folder / name for name in _IMAGE_DIRS if (folder / name).is_dir()), None)


def labels_for(images: Path) -> Path:
    """The label folder of an image folder, as Ultralytics finds it: the last ``images`` part becomes ``labels``.

    ``images/train`` → ``labels/train``, ``train/images`` → ``train/labels``; ``img``/``imgs`` count as ``images``.
    """
    parts = list(images.parts)
    for index in range(len(parts) - 1, -1, -1):
        if parts[index] in _IMAGE_DIRS:
            parts[index] = 'labels'
            return Path(*parts)
    return images.parent / 'labels'


def _yaml_splits(root: Path, config: YoloDatasetConfig | None) -> list[tuple[str, Path]]:
    """``(split, image folder)`` from ``dataset.yaml``'s ``train``/``val``/``test`` folders (Ultralytics layout).

    Used when ``train`` and ``val`` name two different existing folders; paths are read relative to the
    folder holding ``dataset.yaml`` first, then to its ``path``. Every folder must lie inside the dataset.
    """
    if config is None:
        return []
    bases = [root]
    if config.path:
        bases.append(root / config.path)  # an absolute path replaces root here
    found: list[tuple[str, Path]] = []
    for key, split in (('train', 'train'), ('val', 'valid'), ('test', 'test')):
        value = getattr(config, key)
        if not isinstance(value, str):
            continue
        folder = _split_folder(root, bases, key, value)
        if folder is not None:
            found.append((split, folder))
    folders = {split: folder.resolve() for split, folder in found}
    if 'train' not in folders or 'valid' not in folders or folders['train'] == folders['valid']:
        return []
    return found


def _split_folder(root: Path, bases: list[Path], key: str, value: str) -> Path | None:
    """The existing folder ``value`` names, inside the dataset; one outside it is refused.

    A value starting with ``../`` is also read without it, as Ultralytics does (Roboflow's ``data.yaml``
    says ``train: ../train/images`` beside ``train/``). An untrusted dataset must not read files from
    elsewhere on this machine, so a folder that resolves outside ``root`` (an absolute ``path``, ``..``, a
    symlink) fails the conversion rather than being read.
    """
    top = root.resolve()
    candidates = [base / value for base in bases]
    if value.startswith('../'):
        candidates += [base / value[3:] for base in bases]
    outside: Path | None = None
    for candidate in candidates:
        if candidate.is_dir():
            if candidate.resolve().is_relative_to(top):
                return candidate
            outside = outside or candidate.resolve()
    if outside is None:
        return None
    file_name = next((name for name in _CONFIG_FILES if (root / name).is_file()), _CONFIG_FILES[0])
    raise ValidationError(
        f'{file_name}: {key}: {value!r} is the folder {outside}, outside the dataset folder {top}; '
        f'name a folder inside the dataset (relative to {file_name}, and make `path` the dataset folder or omit it)',
        {'file': str(root / file_name), 'key': key},
    )


def _in_split_labels(label: Path) -> bool:
    """Whether a label file sits in ``labels/<split>/`` (Ultralytics) rather than ``[<split>/]labels/``."""
    return label.parent.name != 'labels' and label.parent.parent.name == 'labels'


def _ultralytics_splits(root: Path) -> list[tuple[str, Path]]:
    """``images/{train,val[,test]}`` without a ``dataset.yaml`` naming them."""
    images = _image_dir(root)
    if images is None:
        return []
    found = [(split, images / folder) for folder, split in _SPLIT_DIRS if (images / folder).is_dir()]
    return found if {'train', 'valid'} <= {split for split, _ in found} else []


def _walk_images(folder: Path) -> list[str]:
    """Relative POSIX paths of the images under ``folder``, sorted."""
    found: list[str] = []
    for directory, subdirs, files in os.walk(folder):
        subdirs.sort()
        base = os.path.relpath(directory, folder)
        for file_name in files:
            if os.path.splitext(file_name)[1].lower() in IMAGE_EXTENSIONS:
                found.append(file_name if base == '.' else f'{base}/{file_name}'.replace(os.sep, '/'))
    return sorted(found)


class YoloReader(Reader):
    """YOLO detect / segment / pose (row type per the spec: ``kpt_shape`` decides pose)."""

    format = DatasetFormat.YOLO

    def __init__(self, root: Path, report: ReportBuilder, options: ConvertOptions, only: Path | None = None) -> None:
        if only is not None:  # [<split>/]labels/<stem>.txt or labels/<split>/<stem>.txt
            root = only.parent.parent.parent if _in_split_labels(only) else only.parent.parent
            config_root = next((p for p in (root, root.parent) if (p / 'dataset.yaml').is_file()), root)
        else:
            config_root = root
        super().__init__(root, report, options, only)
        self.config, names = load_yolo_config(config_root)
        self.kpt_shape = self.config.kpt_shape if self.config else None
        self.flip_idx = self.config.flip_idx if self.config else None
        if not names and self.config is not None and self.config.nc:
            names = [f'class_{i}' for i in range(self.config.nc)]  # nc without names
        self.classes = ClassMap.from_list(names)
        self.classes.declared = len(names) if names else None  # no names: any id reads as class_<i>
        self.sources = self._sources(root, only)
        self._images = [(split, images, labels, _walk_images(images)) for split, images, labels in self.sources]
        if only is not None:
            stem = only.stem
            self._images = [
                (s, i, lab, [n for n in names if os.path.splitext(n)[0] == stem]) for s, i, lab, names in self._images
            ]

    def _sources(self, root: Path, only: Path | None) -> list[tuple[str | None, Path, Path]]:
        """``(split, image folder, label folder)`` of every split (one with split None when flat)."""
        if only is not None:
            images = _image_dir(root)
            if images is not None and _in_split_labels(only):
                images = images / only.parent.name
            if images is None or not images.is_dir():
                raise ValidationError(f'{only}: no images/ (or img/, imgs/) folder beside labels/', {'file': str(only)})
            return [(None, images, only.parent)]
        splits = [(split, root / folder) for folder, split in _SPLIT_DIRS if _image_dir(root / folder)]
        if {'train', 'valid'} <= {split for split, _ in splits}:
            self.has_splits = True
            return [(split, _image_dir(folder), folder / 'labels') for split, folder in splits]  # type: ignore[misc]
        found = _yaml_splits(root, self.config) or _ultralytics_splits(root)
        if found:
            self.has_splits = True
            return [(split, images, labels_for(images)) for split, images in found]
        images = _image_dir(root)
        if images is None:
            raise ValidationError(
                f'{root}: no images/ (or img/, imgs/) folder, and no train/ and valid/ splits', {'root': str(root)}
            )
        return [(None, images, root / 'labels')]

    def class_map(self) -> ClassMap:
        """Names from ``dataset.yaml`` or ``classes.txt`` (ids beyond them are out of range); none: ``class_<i>``."""
        return self.classes

    def total(self) -> int:
        """Number of images."""
        return sum(len(names) for *_, names in self._images)

    def __iter__(self) -> Iterator[HubItem]:
        """One item per image (a missing label file = no objects); labels without an image are skipped."""
        for split, image_dir, label_dir, names in self._images:
            stems = set()
            for image_name in names:
                stem = os.path.splitext(image_name)[0]
                stems.add(stem)
                item = self._read(split, image_dir / image_name, label_dir, stem)
                if item is not None:
                    yield item
            if self.only is None:
                self._orphans(split, label_dir, stems)

    def _read(self, split: str | None, image: Path, label_dir: Path, stem: str) -> HubItem | None:
        report = self.report
        report.items_seen += 1
        name = f'{split}/{stem}' if split else stem
        label = label_dir / f'{stem}.txt'
        file = os.path.relpath(label, self.root).replace(os.sep, '/')
        item = HubItem(name, stem, split, image, file)
        size = item.size()
        if size is None:
            report.skip_item(name, SkipReason.IMAGE_MISSING, f'cannot read the size of {image.name}', file=file)
            return None
        try:
            with open(label, 'rb') as fh:  # bytes, then decode: cheaper than a text stream; splitlines() takes \r\n
                text = fh.read().decode('utf-8')
        except FileNotFoundError:
            return item
        except (OSError, UnicodeDecodeError) as exc:
            report.skip_item(name, SkipReason.INVALID_VALUE, f'cannot read {label.name}: {exc}', file=file)
            return None
        item.entry = parse_label(text, size, self.classes, self.kpt_shape, report, file)
        return item

    def _orphans(self, split: str | None, label_dir: Path, stems: set[str]) -> None:
        if not label_dir.is_dir():
            return
        for directory, _, files in os.walk(label_dir):
            base = os.path.relpath(directory, label_dir)
            for file_name in sorted(files):
                stem = os.path.splitext(file_name)[0] if base == '.' else f'{base}/{os.path.splitext(file_name)[0]}'
                if file_name.endswith('.txt') and stem not in stems:
                    self.report.items_seen += 1
                    name = f'{split}/{stem}' if split else stem
                    file = os.path.relpath(os.path.join(directory, file_name), self.root).replace(os.sep, '/')
                    self.report.skip_item(name, SkipReason.IMAGE_MISSING, 'a label file without an image', file=file)
