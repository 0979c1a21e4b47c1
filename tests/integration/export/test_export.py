"""BaseExportAction over HTTP against the real local backend: the seed's example, COCO/YOLO/VOC/DM, report, resume."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from tests.integration.export.conftest import CLASSES, build_project, make_client
from tests.integration.fault_proxy import Fault

from synapse_sdk.loggers import MemoryLogger
from synapse_sdk.plugins.actions.export import BaseExportAction, ExportParams
from synapse_sdk.plugins.actions.export.exporter import ExportInterrupted
from synapse_sdk.plugins.context import RuntimeContext

pytestmark = pytest.mark.integration


class Export(BaseExportAction[ExportParams]):
    action_name = 'export'


def run_export(client: Any, **params: Any) -> tuple[dict[str, Any], MemoryLogger]:
    logger = MemoryLogger()
    result = Export(ExportParams(**params), RuntimeContext(logger=logger, client=client)).run()
    return result, logger


def report_of(path: Path) -> tuple[dict[str, Any], list[dict[str, str]]]:
    body = json.loads((path / 'export_report.json').read_text())
    with (path / 'export_report.csv').open(newline='') as handle:
        rows = list(csv.DictReader(handle))
    return body, rows


def test_the_seed_export_example_runs_as_written(client, tmp_path):
    project = build_project(client, 3)

    # --- seed 002, ACTION_DEV_GUIDE "BaseExportAction", as written (plus its imports) ---
    class ExportParams(BaseModel):
        filter: dict
        output_format: str

    class MyExportAction(BaseExportAction[ExportParams]):
        action_name = 'export'

        def get_filtered_results(self, filters: dict) -> tuple[Any, int]:
            # Override for your target type
            return self.client.get_assignments(filters)

        def execute(self) -> dict:
            results, count = self.get_filtered_results(self.params.filter)

            self.set_progress(0, count, self.progress.DATASET_CONVERSION)

            for i, item in enumerate(results, 1):  # noqa: B007 (the seed's code as written)
                # Process and export item
                self.set_progress(i, count)

            return {'exported': count}

    # --- end of the seed's code ---
    logger = MemoryLogger()
    params = ExportParams(filter={'project': project.id}, output_format='coco')
    result = MyExportAction(params, RuntimeContext(logger=logger, client=client)).run()
    assert result == {'exported': 3}
    assert logger.get_progress('dataset_conversion').current == 0
    assert logger.get_progress().percent == 100.0
    items, count = client.get_assignments({'project': project.id})
    listed = list(items)
    assert count == 3 and sorted(a['id'] for a in listed) == project.assignment_ids
    assert all(a['file']['image']['url'] and a['data']['annotations']['image_1'] for a in listed)


def _coco_boxes(coco: Any) -> dict[str, list[tuple[str, list[float]]]]:
    names = {c['id']: c['name'] for c in coco.loadCats(coco.getCatIds())}
    out = {}
    for image in coco.loadImgs(coco.getImgIds()):
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[image['id']]))
        stem = re.sub(r'^\d+_', '', Path(image['file_name']).stem)
        out[stem] = sorted((names[a['category_id']], [float(v) for v in a['bbox']]) for a in anns)
    return out


@pytest.mark.parametrize('target', ['task', 'assignment'])
def test_a_pre_annotated_project_exports_to_coco_that_pycocotools_loads(client, tmp_path, target):
    from pycocotools.coco import COCO

    project = build_project(client, 4)
    out = tmp_path / 'coco'
    result, logger = run_export(client, target=target, filter={'project': project.id}, path=str(out))
    assert result['exported'] == 4 and result['count'] == 4
    coco = COCO(str(out / 'annotations.json'))
    assert sorted(c['name'] for c in coco.loadCats(coco.getCatIds())) == sorted(CLASSES)
    expected = {
        stem: sorted(
            (b['classification']['class'], [float(b['data'][k]) for k in ('x', 'y', 'width', 'height')]) for b in boxes
        )
        for stem, boxes in project.boxes.items()
    }
    assert _coco_boxes(coco) == expected
    for image in coco.loadImgs(coco.getImgIds()):
        assert (image['width'], image['height']) == (64, 48)
        assert (out / image['file_name']).is_file()
    body, rows = report_of(out)
    assert body['counts'] == {'exported': 4} and body['target'] == target
    assert [row['outcome'] for row in rows] == ['exported'] * 4
    assert all(row['file'] and row['reason'] == '' for row in rows)
    assert logger.get_progress('export').percent == 100.0
    assert logger.get_metrics('export') == {'exported': 4}


@pytest.mark.parametrize(
    ('output_format', 'expect'),
    [('yolo', 'labels'), ('voc', 'Annotations'), ('dm', 'json')],
)
def test_other_formats_are_written_through_the_converters(client, tmp_path, output_format, expect):
    project = build_project(client, 2)
    out = tmp_path / output_format
    result, _ = run_export(client, filter={'project': project.id}, output_format=output_format, path=str(out))
    assert result['exported'] == 2
    written = sorted(p.name for p in (out / expect).iterdir())
    assert len(written) == 2, written
    if output_format == 'yolo':
        rows = [line.split() for p in sorted((out / 'labels').iterdir()) for line in p.read_text().splitlines()]
        assert len(rows) == 3 and all(len(row) == 5 for row in rows)
    if output_format == 'dm':
        doc = json.loads(next((out / 'json').iterdir()).read_text())
        assert doc['images'][0]['bounding_box'][0]['classification'] in CLASSES


def test_items_without_media_or_annotations_are_reported_with_the_reason(client, tmp_path):
    project = build_project(client, 2, with_media=False)
    task = client.tasks.create(project.id, data={'note': 'no annotations here'})
    client.assignments.create(task['id'], data={'note': 'no annotations here'})
    out = tmp_path / 'out'
    result, _ = run_export(client, filter={'project': project.id}, path=str(out))
    assert result['exported'] == 0
    body, rows = report_of(out)
    assert body['counts'] == {'skipped': 3}
    reasons = sorted(row['reason'] for row in rows)
    assert reasons[0].startswith('data: no annotations found')
    assert reasons[1:] == ['files: the item has no media file with a URL to export'] * 2


@pytest.mark.parametrize('concurrency', [1, 8])
def test_a_stopped_export_resumes_without_downloading_what_it_had(local_backend, proxy, tmp_path, concurrency):
    fault_proxy, url = proxy
    client = make_client(url, local_backend.token)
    project = build_project(client, 5)
    third = project.file_ids[2]
    fault_proxy.faults.append(Fault('GET', rf'/files/{third}/', 503))
    out = tmp_path / 'out'
    params = {'target': 'task', 'filter': {'project': project.id}, 'path': str(out), 'concurrency': concurrency}
    with pytest.raises(ExportInterrupted, match=r'at item \d+ \(#3\): .* (\d) items are staged; run the same') as info:
        run_export(client, **params)
    assert not out.exists()
    fault_proxy.faults.clear()
    downloads = {f: fault_proxy.requests[('GET', f'/files/{f}/')] for f in project.file_ids}
    others = [f for f in project.file_ids if f != third]
    # the first two before the failure; the others started (in flight, or with 8 at once) are finished and kept
    assert all(downloads[f] == 1 for f in others[:2]) and all(downloads[f] <= 1 for f in others)
    staged = sum(downloads[f] for f in others)
    assert f'{staged} items are staged' in str(info.value)
    if concurrency == 8:
        assert staged == 4  # all five were in flight at once: only the failed one is left

    result, _ = run_export(client, **params)
    assert result['exported'] == 5
    again = {f: fault_proxy.requests[('GET', f'/files/{f}/')] - downloads[f] for f in project.file_ids}
    assert again == {f: 1 if f == third or downloads[f] == 0 else 0 for f in project.file_ids}  # nothing twice
    body, _ = report_of(out)
    assert body['counts'] == {'resumed': staged, 'exported': 5 - staged}
    from pycocotools.coco import COCO

    assert len(COCO(str(out / 'annotations.json')).getImgIds()) == 5
    assert not list((tmp_path / 'state' / 'export').glob('*.jsonl'))  # a finished export leaves no cursor


@pytest.mark.parametrize('concurrency', [1, 4])
def test_media_are_downloaded_concurrency_at_a_time(local_backend, proxy, tmp_path, concurrency):
    fault_proxy, url = proxy
    client = make_client(url, local_backend.token)
    project = build_project(client, 6)
    fault_proxy.file_latency = 0.5  # long enough for every download allowed to be in flight together
    out = tmp_path / 'out'
    params = {'target': 'task', 'filter': {'project': project.id}, 'path': str(out), 'concurrency': concurrency}
    result, _ = run_export(client, **params)
    assert result['counts'] == {'exported': 6}
    assert fault_proxy.most_files_in_flight == concurrency
    _, rows = report_of(out)
    assert [int(row['item']) for row in rows] == sorted(int(row['item']) for row in rows)  # listing order kept


def test_ground_truths_export_from_a_dataset_version(client, tmp_path):
    project = build_project(client, 2)
    units = [client.get_task(t)['data_unit'] for t in project.task_ids]
    version = client.datasets.create('gt', data_collection=None)
    client.datasets.add_items(
        version['id'],
        [
            {'data_unit': unit, 'category': 'train', 'data': {'annotations': {'image_1': project.boxes[f'photo{i}']}}}
            for i, unit in enumerate(units)
        ],
    )
    out = tmp_path / 'gt'
    result, _ = run_export(
        client, target='ground_truth', filter={'ground_truth_dataset_version': version['id']}, path=str(out)
    )
    assert result['exported'] == 2
    with pytest.raises(ValueError, match=r"needs 'ground_truth_dataset_version'"):
        run_export(client, target='ground_truth', filter={}, path=str(tmp_path / 'x'))


def test_an_unknown_format_names_the_accepted_ones(client, tmp_path):
    with pytest.raises(ValueError, match=r"^output_format: unknown format 'tiff'; use one of coco, dm, dm_v1"):
        run_export(client, filter={'project': 1}, output_format='tiff', path=str(tmp_path / 'o'))


def test_a_listing_cut_off_mid_way_is_resumed_too(local_backend, proxy, tmp_path):
    fault_proxy, url = proxy
    client = make_client(url, local_backend.token)
    project = build_project(client, 4)
    armed = [True]

    class CutOff(BaseExportAction[ExportParams]):
        def get_filtered_results(self, filters: dict[str, Any]) -> tuple[Any, int]:
            items, count = super().get_filtered_results(filters)

            def listing() -> Any:
                for n, item in enumerate(items, 1):
                    yield item
                    if n == 2 and armed.pop():  # the first run's backend fails from the second page on
                        fault_proxy.faults.append(Fault('GET', r'/sdk/assignments/', 503))

            return listing(), count

    params = ExportParams(filter={'project': project.id, 'page_size': 2}, path=str(tmp_path / 'out'))
    with pytest.raises(ExportInterrupted, match=r'^Export stopped while listing items: 503: .* 2 items are staged'):
        CutOff(params, RuntimeContext(logger=MemoryLogger(), client=client)).run()
    fault_proxy.faults.clear()
    armed.append(False)
    result = CutOff(params, RuntimeContext(logger=MemoryLogger(), client=client)).run()
    assert result['counts'] == {'resumed': 2, 'exported': 2}


def _v1(boxes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        'annotations': {
            'image_1': [{'id': b['id'], 'tool': 'boundingBox', 'classification': b['classification']} for b in boxes]
        },
        'annotationsData': {'image_1': [{'id': b['id'], 'coordinate': b['data']} for b in boxes]},
    }


def _v2(boxes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        'classification': {'bounding_box': sorted({b['classification']['class'] for b in boxes})},
        'images': [
            {
                'bounding_box': [
                    {
                        'id': b['id'],
                        'classification': b['classification']['class'],
                        'attrs': [],
                        'data': [b['data'][k] for k in ('x', 'y', 'width', 'height')],
                    }
                    for b in boxes
                ]
            }
        ],
    }


@pytest.mark.parametrize('form', [_v1, _v2])
def test_dm_v1_and_dm_v2_assignment_data_export_the_same_boxes(client, tmp_path, form):
    from pycocotools.coco import COCO

    project = build_project(client, 3)
    for i, task in enumerate(project.task_ids):
        client.assignments.create(task, data=form(project.boxes[f'photo{i}']))
    out = tmp_path / 'out'
    filters = {'project': project.id, 'id__gt': project.assignment_ids[-1]}  # only the new assignments
    result, _ = run_export(client, filter=filters, path=str(out))
    assert result['exported'] == 3
    expected = {
        stem: sorted(
            (b['classification']['class'], [float(b['data'][k]) for k in ('x', 'y', 'width', 'height')]) for b in boxes
        )
        for stem, boxes in project.boxes.items()
    }
    assert _coco_boxes(COCO(str(out / 'annotations.json'))) == expected
