"""Convert ``{"boxes": [{"label", "x", "y", "w", "h"}]}`` files into task data (seed 000's pattern)."""

from __future__ import annotations

from typing import Any

from synapse_sdk.plugins.actions.to_task import ToTaskAction


class ToTask(ToTaskAction):
    """Pre-annotate image tasks with boxes from a JSON file."""

    action_name = 'to_task'

    def convert_data_from_file(
        self,
        primary_file_url: str,
        primary_file_name: str | None,
        data_file_url: str,
        data_file_name: str | None,
        task_data: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Read the box file and turn each box into a DataMaker-style bounding box annotation."""
        source = self.download_json(data_file_url)
        boxes = source.get('boxes')
        if not isinstance(boxes, list):
            raise ValueError(f"{data_file_name}: expected a 'boxes' list")
        annotations = []
        for index, box in enumerate(boxes):
            try:
                x, y, w, h = (float(box[k]) for k in ('x', 'y', 'w', 'h'))
                label = str(box['label'])
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f'{data_file_name}: box {index} needs label, x, y, w, h ({exc})') from None
            annotations.append(
                {
                    'id': f'box-{index}',
                    'tool': 'bounding_box',
                    'classification': {'class': label},
                    'data': {'x': x, 'y': y, 'width': w, 'height': h},
                }
            )
        return {'annotations': {'image_1': annotations}, 'annotationsData': {'image_1': []}}
