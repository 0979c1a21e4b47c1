"""pydantic_to_ui_schema: widgets per field type, bounds kept exact."""

from enum import Enum, IntEnum
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field, SecretStr

from synapse_sdk.plugins.ui_schema import pydantic_to_ui_schema


class Optimizer(Enum):
    ADAM = 'adam'
    SGD = 'sgd'


class Level(IntEnum):
    LOW = 1
    HIGH = 2


class Augmentation(BaseModel):
    flip: bool = True
    rotate: float = Field(default=0.0, ge=0, le=360)


class Params(BaseModel):
    dataset: int
    epochs: int = Field(default=100, ge=1, le=1000, description='Training epochs')
    learning_rate: float = Field(default=0.001, gt=0, lt=1, title='LR')
    momentum: Annotated[float, Field(ge=0, multiple_of=0.05)] = 0.9
    mode: Literal['fast', 'exact'] = 'fast'
    optimizer: Optimizer = Optimizer.ADAM
    level: Level = Level.LOW
    tags: list[str] = Field(default_factory=list, max_length=5)
    classes: list[Literal['cat', 'dog']] = ['cat']
    sizes: list[Annotated[int, Field(gt=0)]] = [640]
    augmentation: Augmentation | None = None
    nested: Augmentation = Augmentation()
    name: str = Field(default='run', min_length=1, max_length=20, pattern=r'^[a-z]+$')
    token: SecretStr | None = None
    options: dict[str, int] = {}
    note: str | None = Field(default=None, json_schema_extra={'ui': {'widget': 'textarea'}})


def by_name():
    return {field['name']: field for field in pydantic_to_ui_schema(Params)}


def test_fields_in_declaration_order():
    assert list(by_name()) == list(Params.model_fields)


@pytest.mark.parametrize(
    ('name', 'expected'),
    [
        (
            'dataset',
            {'name': 'dataset', 'label': 'Dataset', 'widget': 'number', 'type': 'integer', 'step': 1, 'required': True},
        ),
        (
            'epochs',
            {
                'name': 'epochs',
                'label': 'Epochs',
                'widget': 'number',
                'type': 'integer',
                'min': 1,
                'max': 1000,
                'step': 1,
                'required': False,
                'default': 100,
                'help': 'Training epochs',
            },
        ),
        (
            'learning_rate',
            {
                'name': 'learning_rate',
                'label': 'LR',
                'widget': 'number',
                'type': 'number',
                'exclusive_min': 0,
                'exclusive_max': 1,
                'required': False,
                'default': 0.001,
            },
        ),
        (
            'momentum',
            {
                'name': 'momentum',
                'label': 'Momentum',
                'widget': 'number',
                'type': 'number',
                'min': 0,
                'step': 0.05,
                'required': False,
                'default': 0.9,
            },
        ),
        (
            'mode',
            {
                'name': 'mode',
                'label': 'Mode',
                'widget': 'select',
                'type': 'string',
                'options': [{'value': 'fast', 'label': 'fast'}, {'value': 'exact', 'label': 'exact'}],
                'required': False,
                'default': 'fast',
            },
        ),
        (
            'optimizer',
            {
                'name': 'optimizer',
                'label': 'Optimizer',
                'widget': 'select',
                'type': 'string',
                'options': [{'value': 'adam', 'label': 'adam'}, {'value': 'sgd', 'label': 'sgd'}],
                'required': False,
                'default': 'adam',
            },
        ),
        (
            'level',
            {
                'name': 'level',
                'label': 'Level',
                'widget': 'select',
                'type': 'integer',
                'options': [{'value': 1, 'label': 'Low'}, {'value': 2, 'label': 'High'}],
                'required': False,
                'default': 1,
            },
        ),
        (
            'tags',
            {
                'name': 'tags',
                'label': 'Tags',
                'widget': 'list',
                'type': 'array',
                'items': {'widget': 'text', 'type': 'string'},
                'max_items': 5,
                'required': False,
                'default': [],
            },
        ),
        (
            'classes',
            {
                'name': 'classes',
                'label': 'Classes',
                'widget': 'multiselect',
                'type': 'array',
                'options': [{'value': 'cat', 'label': 'cat'}, {'value': 'dog', 'label': 'dog'}],
                'required': False,
                'default': ['cat'],
            },
        ),
        (
            'sizes',
            {
                'name': 'sizes',
                'label': 'Sizes',
                'widget': 'list',
                'type': 'array',
                'items': {'widget': 'number', 'type': 'integer', 'exclusive_min': 0, 'step': 1},
                'required': False,
                'default': [640],
            },
        ),
        (
            'name',
            {
                'name': 'name',
                'label': 'Name',
                'widget': 'text',
                'type': 'string',
                'min_length': 1,
                'max_length': 20,
                'pattern': '^[a-z]+$',
                'required': False,
                'default': 'run',
            },
        ),
        (
            'token',
            {
                'name': 'token',
                'label': 'Token',
                'widget': 'password',
                'type': 'string',
                'required': False,
                'nullable': True,
                'default': None,
            },
        ),
        (
            'options',
            {
                'name': 'options',
                'label': 'Options',
                'widget': 'json',
                'type': 'object',
                'required': False,
                'default': {},
            },
        ),
        (
            'note',
            {
                'name': 'note',
                'label': 'Note',
                'widget': 'textarea',
                'type': 'string',
                'required': False,
                'nullable': True,
                'default': None,
            },
        ),
    ],
)
def test_widget_of_each_field(name, expected):
    assert by_name()[name] == expected


def test_nested_models_become_groups():
    inner = [
        {'name': 'flip', 'label': 'Flip', 'widget': 'checkbox', 'type': 'boolean', 'required': False, 'default': True},
        {
            'name': 'rotate',
            'label': 'Rotate',
            'widget': 'number',
            'type': 'number',
            'min': 0,
            'max': 360,
            'required': False,
            'default': 0.0,
        },
    ]
    fields = by_name()
    assert fields['augmentation'] == {
        'name': 'augmentation',
        'label': 'Augmentation',
        'widget': 'group',
        'type': 'object',
        'fields': inner,
        'required': False,
        'nullable': True,
        'default': None,
    }
    assert fields['nested'] == {
        'name': 'nested',
        'label': 'Nested',
        'widget': 'group',
        'type': 'object',
        'fields': inner,
        'required': False,
        'default': {'flip': True, 'rotate': 0.0},
    }


def test_secret_defaults_are_never_shown():
    class WithSecret(BaseModel):
        key: SecretStr = SecretStr('hunter2-secret')

    assert pydantic_to_ui_schema(WithSecret)[0]['default'] is None


def test_not_a_model():
    with pytest.raises(TypeError, match=r'^pydantic_to_ui_schema needs a pydantic BaseModel subclass, got 42$'):
        pydantic_to_ui_schema(42)
