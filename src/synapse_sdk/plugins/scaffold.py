"""``synapse plugin create``: a new plugin folder rendered from the Jinja2 templates.

Every category gets ``config.yaml``, ``pyproject.toml``, ``requirements.txt``, ``README.md``,
``.gitignore``, ``.synapseignore`` and a ``plugin/`` package whose actions run out of the box
with their default params, except pre-annotation's ``ToTaskAction`` subclass: it annotates a
project's tasks on a backend, so it runs with params naming the project.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from synapse_sdk.enums import PluginCategory, RunMethod

__all__ = [
    'CATEGORY_ACTIONS',
    'ActionTemplate',
    'PluginSpec',
    'code_problem',
    'create_plugin',
    'slugify',
    'text_problem',
]

_TEMPLATES = Path(__file__).parent / 'templates'
_SLUG = re.compile(r'^[a-z0-9]+(?:[-_][a-z0-9]+)*$')


@dataclass(frozen=True)
class ActionTemplate:
    """One action a scaffold starts with."""

    key: str
    module: str
    attr: str
    method: RunMethod
    description: str
    input_type: str | None = None
    output_type: str | None = None

    @property
    def entrypoint(self) -> str:
        """``plugin.<module>:<attr>``."""
        return f'plugin.{self.module}:{self.attr}'


CATEGORY_ACTIONS: dict[PluginCategory, tuple[ActionTemplate, ...]] = {
    PluginCategory.NEURAL_NET: (
        ActionTemplate(
            'train', 'train', 'TrainAction', RunMethod.JOB, 'Train a model', 'yolo_dataset', 'model_weights'
        ),
        ActionTemplate(
            'inference',
            'inference',
            'InferenceAction',
            RunMethod.SERVE,
            'Predict on images',
            'model_weights',
            'inference_results',
        ),
    ),
    PluginCategory.EXPORT: (
        ActionTemplate('export', 'export', 'ExportAction', RunMethod.JOB, 'Export annotated data'),
    ),
    PluginCategory.UPLOAD: (ActionTemplate('upload', 'upload', 'UploadAction', RunMethod.JOB, 'Upload files'),),
    PluginCategory.SMART_TOOL: (
        ActionTemplate('auto_label', 'auto_label', 'auto_label', RunMethod.TASK, 'Suggest a box around clicks'),
    ),
    PluginCategory.PRE_ANNOTATION: (
        ActionTemplate(
            'to_task', 'to_task', 'ToTask', RunMethod.JOB, 'Fill tasks with annotations from files or a model'
        ),
    ),
    PluginCategory.POST_ANNOTATION: (
        ActionTemplate('post_process', 'post_process', 'PostProcessAction', RunMethod.TASK, 'Clean up annotations'),
    ),
    PluginCategory.DATA_VALIDATION: (
        ActionTemplate('validate', 'validate', 'ValidateAction', RunMethod.TASK, 'Check annotations against rules'),
    ),
    PluginCategory.CUSTOM: (ActionTemplate('hello', 'hello', 'hello', RunMethod.TASK, 'Greet someone'),),
}

_CATEGORY_FIELDS: dict[PluginCategory, dict[str, Any]] = {
    PluginCategory.NEURAL_NET: {'data_type': 'image', 'tasks': ['image.object_detection']},
    PluginCategory.EXPORT: {'supported_data_types': ['image']},
    PluginCategory.UPLOAD: {'supported_data_types': ['image']},
    PluginCategory.SMART_TOOL: {'annotation_category': 'image', 'annotation_type': 'bbox', 'smart_tool': 'interactive'},
    PluginCategory.PRE_ANNOTATION: {'data_type': 'image', 'tasks': ['image.object_detection']},
}

_FILES = {
    'config.yaml.j2': 'config.yaml',
    'pyproject.toml.j2': 'pyproject.toml',
    'requirements.txt.j2': 'requirements.txt',
    'README.md.j2': 'README.md',
    'gitignore.j2': '.gitignore',
    'synapseignore.j2': '.synapseignore',
    'plugin/__init__.py.j2': 'plugin/__init__.py',
}


def slugify(text: str) -> str:
    """A plugin code from a name: ``'My YOLO Plugin'`` → ``'my-yolo-plugin'``."""
    return re.sub(r'[^a-z0-9]+', '-', text.lower()).strip('-')


def text_problem(value: str, required: bool = True) -> str | None:
    """Why ``value`` cannot be a plugin's name or description (None when it can): one line of printable text."""
    if required and not value.strip():
        return 'must not be empty'
    bad = next((ch for ch in value if not ch.isprintable()), None)
    if bad is not None:
        return f'must be one line of printable text; it contains {bad!r}'
    return None


def code_problem(value: str) -> str | None:
    """Why ``value`` cannot be a plugin code (None when it can)."""
    if _SLUG.match(value):
        return None
    return f"code must be a slug (lowercase letters, digits, '-' or '_'), e.g. 'my-plugin'; got {value!r}"


def _py_text(value: str) -> str:
    """``value`` safe inside a triple-quoted Python string: backslashes and quotes escaped."""
    return value.replace('\\', '\\\\').replace('"', '\\"')


class PluginSpec(BaseModel):
    """What ``synapse plugin create`` asks for."""

    name: str = Field(min_length=1, max_length=200)
    code: str
    category: PluginCategory = PluginCategory.CUSTOM
    description: str = Field(default='', max_length=1000)
    version: str = '0.1.0'

    @field_validator('name', 'description')
    @classmethod
    def _one_printable_line(cls, value: str, info: ValidationInfo) -> str:
        problem = text_problem(value, info.field_name == 'name')
        if problem is not None:
            raise ValueError(problem)
        return value.strip()

    @field_validator('code')
    @classmethod
    def _code_is_slug(cls, value: str) -> str:
        problem = code_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @property
    def folder_name(self) -> str:
        """``synapse-<code>-plugin``."""
        return f'synapse-{self.code}-plugin'


def create_plugin(spec: PluginSpec, parent: str | Path = '.') -> Path:
    """Render the plugin into ``<parent>/synapse-<code>-plugin`` and return that folder.

    The folder is rendered next to its destination and renamed into place, so a failure leaves
    nothing half-written.

    Raises:
        FileExistsError: the destination exists.
    """
    target = Path(parent) / spec.folder_name
    if target.exists():
        raise FileExistsError(f'{target} already exists; choose another code or remove it first')
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f'.{spec.folder_name}.', dir=target.parent))
    try:
        _render_into(staging, spec)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _render_into(folder: Path, spec: PluginSpec) -> None:
    import jinja2

    from synapse_sdk import __version__

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # renders YAML, TOML, Markdown and Python, never HTML
    )
    env.filters['py_text'] = _py_text  # text inside Python docstrings; YAML and TOML values use tojson
    actions = CATEGORY_ACTIONS[spec.category]
    context = {
        **spec.model_dump(mode='json'),
        'actions': actions,
        'extra_fields': _CATEGORY_FIELDS.get(spec.category, {}),
        'sdk_version': __version__,
    }
    outputs = dict(_FILES)
    outputs.update({f'actions/{a.module}.py.j2': f'plugin/{a.module}.py' for a in actions})
    for template, relative in outputs.items():
        destination = folder / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(env.get_template(template).render(context), encoding='utf-8')
    (folder / 'plugin' / '__init__.py').chmod(0o644)
    folder.chmod(0o755)
