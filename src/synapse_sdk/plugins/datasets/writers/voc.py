"""Pascal VOC output: ``Annotations/``, ``JPEGImages/``, ``ImageSets/Main/{train,val[,test]}.txt``."""

from __future__ import annotations

from xml.sax.saxutils import escape

from synapse_sdk.plugins.datasets._hub import HubItem
from synapse_sdk.plugins.datasets._paths import split_for
from synapse_sdk.plugins.datasets.formats import DatasetFormat
from synapse_sdk.plugins.datasets.report import SkipReason
from synapse_sdk.plugins.datasets.writers.base import Writer
from synapse_sdk.plugins.datasets.writers.coco_objects import clip_box

__all__ = ['VOCWriter', 'voc_xml']

_LIST_OF_SPLIT = {'train': 'train', 'valid': 'val', 'test': 'test'}
_KEPT_ATTRS = ('pose', 'truncated', 'difficult')


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def voc_xml(file_name: str, size: tuple[int, int], objects: list[tuple[str, list[float], dict[str, object]]]) -> str:
    """The XML of one image: ``objects`` are ``(name, [x, y, w, h], attrs)``."""
    parts = [
        '<annotation>',
        '  <folder>JPEGImages</folder>',
        f'  <filename>{escape(file_name)}</filename>',
        f'  <size><width>{size[0]}</width><height>{size[1]}</height><depth>3</depth></size>',
        '  <segmented>0</segmented>',
    ]
    for name, (x, y, w, h), attrs in objects:
        parts += [
            '  <object>',
            f'    <name>{escape(name)}</name>',
            f'    <pose>{escape(str(attrs.get("pose", "Unspecified")))}</pose>',
            f'    <truncated>{1 if attrs.get("truncated") else 0}</truncated>',
            f'    <difficult>{1 if attrs.get("difficult") else 0}</difficult>',
            f'    <bndbox><xmin>{_num(x)}</xmin><ymin>{_num(y)}</ymin>'
            f'<xmax>{_num(x + w)}</xmax><ymax>{_num(y + h)}</ymax></bndbox>',
            '  </object>',
        ]
    parts.append('</annotation>\n')
    return '\n'.join(parts)


class VOCWriter(Writer):
    """Boxes only; other tools and attrs other than pose / truncated / difficult are lossy (counted)."""

    format = DatasetFormat.PASCAL

    def __init__(self, setup: object) -> None:
        super().__init__(setup)  # type: ignore[arg-type]
        self.lists: dict[str, list[str]] = {'train': [], 'val': []}
        for sub in ('Annotations', 'JPEGImages', 'ImageSets/Main'):
            (self.out / sub).mkdir(parents=True, exist_ok=True)

    def write(self, item: HubItem) -> None:
        """Write the XML, place the image and list the stem in its split."""
        size = item.size()
        if size is None:
            self.report.skip_item(
                item.name, SkipReason.IMAGE_MISSING, 'cannot read the image size', file=item.source_file
            )
            self.report.annotations_skipped[SkipReason.IMAGE_MISSING.value] += item.count()
            return
        objects = []
        for box in item.entry.get('bounding_box', ()):
            name = box.get('classification')
            if not name or (self.classes.frozen and self.classes.id_for(name) is None):
                self.class_id(box, item.source_file)  # records unknown_class
                continue
            self.classes.id_for(name)
            data = clip_box(box['data'], size, self.report)
            if data is None:
                self.report.skip_annotation(SkipReason.OUT_OF_IMAGE, file=item.source_file, message='box outside image')
                continue
            self.lose_attrs(box, _KEPT_ATTRS)
            objects.append((name, data, {a['name']: a.get('value') for a in box.get('attrs') or ()}))
        for tool, anns in item.entry.items():
            if tool != 'bounding_box' and anns:
                self.report.lose(tool, len(anns))
        stem = self.file_stem(item)
        file_name = self.place_image(item, self.out / 'JPEGImages') or f'{stem}.jpg'
        self.placer.write(self.out / 'Annotations' / f'{stem}.xml', voc_xml(file_name, size, objects).encode())
        split = item.split or split_for(item.stem)
        self.lists.setdefault(_LIST_OF_SPLIT.get(split, 'train'), []).append(stem)
        self.report.items_written += 1
        self.report.annotations_written += len(objects)

    def close(self) -> None:
        """Write the split lists."""
        main = self.out / 'ImageSets' / 'Main'
        for list_name, stems in self.lists.items():
            (main / f'{list_name}.txt').write_text(''.join(f'{s}\n' for s in stems), encoding='utf-8')
        super().close()
