"""Run in the reference SDK's venv (Python 3.12): its ``BackendClient`` calls and its ``ToTaskAction``.

``python reference_client_script.py <params.json> <out.json>``: params name the backend (``url``,
``token``) and the ids the test made; out.json gets what each call answered and ToTask's result.
Only the reference SDK's public API is used, as a plugin author would use it. The plugin reads
its annotation file with plain ``urllib`` (no token header), as seed 000's template invites.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

from synapse_sdk.clients.backend import BackendClient
from synapse_sdk.loggers import ConsoleLogger
from synapse_sdk.plugins.actions.to_task import ToTaskAction, ToTaskParams
from synapse_sdk.plugins.context import PluginEnvironment, RuntimeContext


class UrllibToTask(ToTaskAction):
    """A file-method pre-annotation plugin that downloads with the standard library only."""

    def convert_data_from_file(
        self,
        primary_file_url: str,
        primary_file_name: str | None,
        data_file_url: str,
        data_file_name: str | None,
        task_data: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        with urllib.request.urlopen(data_file_url, timeout=30) as response:
            annotation = json.load(response)
        with urllib.request.urlopen(primary_file_url, timeout=30) as response:
            image_size = len(response.read())
        return {'label': annotation['label'], 'image': primary_file_name, 'image_size': image_size}


def downloaded(files: dict[str, Any]) -> dict[str, str]:
    """The reference client replaced each file's ``url`` with a local ``path`` it downloaded (no token)."""
    return {spec: Path(info['path']).read_text(errors='replace') for spec, info in files.items()}


def fetched(files: dict[str, Any]) -> dict[str, str]:
    """Each file's ``url`` (left as it is by the reference client here) fetched with plain urllib, no token."""
    out = {}
    for spec, info in files.items():
        with urllib.request.urlopen(info['url'], timeout=30) as response:
            out[spec] = response.read().decode(errors='replace')
    return out


def main(params_file: str, out_file: str) -> None:
    p = json.loads(Path(params_file).read_text())
    client = BackendClient(p['url'], access_token=p['token'])
    out: dict[str, Any] = {}
    out['project'] = client.get_project(p['project'])
    tasks, count = client.list_tasks(params={'project': p['project']}, list_all=True)
    out['tasks'] = {'count': count, 'ids': [task['id'] for task in tasks]}
    out['task'] = client.get_task(out['tasks']['ids'][0], params={'fields': 'id,data,data_unit', 'expand': 'data_unit'})
    out['data_collection'] = client.get_data_collection(p['data_collection'])
    units, _ = client.list_data_units(params={'data_collection': p['data_collection']}, list_all=True)
    out['unit_files'] = [downloaded(unit['files']) for unit in units]
    out['releases'] = client.list_plugin_releases(p['plugin_code'])
    out['release'] = client.get_plugin_release_by_lookup(f'{p["plugin_code"]}@{p["plugin_version"]}')
    out['task_tags'] = client.list_task_tags({'project': p['project']})
    out['task_tag'] = client.get_task_tag(p['task_tag'])
    out['versions'] = client.list_ground_truth_versions(params={'ground_truth_dataset': p['ground_truth_dataset']})
    out['version'] = client.get_ground_truth_version(p['ground_truth_dataset_version'])
    truths, _ = client.list_ground_truths(
        params={'ground_truth_dataset_versions': p['ground_truth_dataset_version']}, list_all=True
    )
    out['ground_truths'] = [{'data': gt['data'], 'files': downloaded(gt['files'])} for gt in truths]
    tagged_ids = out['tasks']['ids'][:2]
    out['set_tags'] = client.set_tags_tasks({'ids': tagged_ids, 'tags': [p['task_tag']], 'action': 'add'})
    tagged, _ = client.list_tasks(params={'project': p['project'], 'tags': p['task_tag']}, list_all=True)
    out['tagged'] = {'asked': tagged_ids, 'listed': [task['id'] for task in tagged]}
    rows, _ = client.list_tasks_data(params={'project': p['project']}, list_all=True)
    out['tasks_data'] = [sorted(row) for row in rows]
    rows, _ = client.list_tasks_files(params={'project': p['project']}, list_all=True)
    out['tasks_files'] = [fetched(row['files']) for row in rows]

    ctx = RuntimeContext(logger=ConsoleLogger(), env=PluginEnvironment({}), client=client)
    params = ToTaskParams(
        name='reference compat',
        project=p['project'],
        agent=p['agent'],
        method='file',
        target_specification_name='annotation_data',
    )
    out['to_task'] = UrllibToTask(params, ctx).run().model_dump(mode='json')
    Path(out_file).write_text(json.dumps(out, default=str))


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
