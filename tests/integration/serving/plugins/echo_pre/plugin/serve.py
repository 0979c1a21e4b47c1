"""A model server whose 'model' is a JSON file: it labels every task with the model's label."""

import json
import time

from synapse_sdk.plugins.actions.inference import BaseServeDeployment


class Echo(BaseServeDeployment):
    async def _get_model(self, model_info):
        spec = json.loads((model_info['path'] / 'model.json').read_text())
        if spec.get('broken'):
            raise ValueError('model.json is marked broken')
        if spec.get('sleep'):
            time.sleep(spec['sleep'])  # a model that takes long to load: the app stays DEPLOYING
        return spec

    async def infer(self, inputs):
        model = await self.get_model()
        out = []
        for item in inputs:
            name = item.get('primary_file_name') or ''
            if name.startswith('fail'):
                raise RuntimeError(f'cannot read {name}')
            if name.startswith('empty'):
                out.append({})
                continue
            box = {'id': 'e0', 'tool': 'bounding_box', 'classification': {'class': model['label']}, 'file': name}
            out.append({'annotations': {'image_1': [box]}})
        return out
