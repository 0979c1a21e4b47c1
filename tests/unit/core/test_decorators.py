import pytest
from pydantic import BaseModel

from synapse_sdk.exceptions import ActionDefinitionError
from synapse_sdk.plugins import RuntimeContext, action
from synapse_sdk.plugins.decorators import get_action_spec
from synapse_sdk.plugins.enums import PluginCategory


class In(BaseModel):
    x: int


class Out(BaseModel):
    y: int


def test_decorator_sets_documented_attributes_and_returns_the_function():
    def double(params: In, ctx: RuntimeContext) -> Out:
        return Out(y=params.x * 2)

    decorated = action(name='dbl', description='Double x', params=In, result=Out, category='export')(double)
    assert decorated is double
    assert double._is_action is True
    assert double._action_name == 'dbl'
    assert double._action_description == 'Double x'
    assert double._action_params is In
    assert double._action_result is Out
    assert double._action_category is PluginCategory.EXPORT
    assert double(In(x=2), None) == Out(y=4)  # still callable as before
    spec = get_action_spec(double)
    assert spec is not None and spec.name == 'dbl' and spec.func is double


def test_defaults_name_from_function_and_allows_bare_decorator():
    @action
    def hello(params: dict, ctx: RuntimeContext) -> dict:
        """Say hello."""
        return params

    assert hello._action_name == 'hello'
    assert hello._action_description == 'Say hello.'
    assert hello._action_params is None
    assert hello._action_category is None


@pytest.mark.parametrize(
    'func',
    [
        lambda params: None,
        lambda: None,
        lambda params, ctx, extra: None,
        lambda params, ctx, *, flag: None,
    ],
)
def test_wrong_signature_is_a_definition_error(func):
    with pytest.raises(ActionDefinitionError, match=r'must take exactly \(params, ctx\)'):
        action()(func)


def test_signature_with_optional_extras_is_accepted():
    @action()
    def fine(params: dict, ctx: RuntimeContext, verbose: bool = False, **kwargs: object) -> None:
        return None

    assert fine._is_action


@pytest.mark.parametrize('kwarg', ['params', 'result'])
def test_non_model_params_or_result_is_a_definition_error(kwarg: str):
    with pytest.raises(
        ActionDefinitionError, match=rf'^@action\({kwarg}=\.\.\.\) must be a pydantic BaseModel subclass'
    ):
        action(**{kwarg: dict})


def test_unknown_category_lists_valid_ones():
    with pytest.raises(
        ActionDefinitionError, match=r"category='nope'\) is not a plugin category; use one of: neural_net"
    ):
        action(category='nope')


def test_decorating_a_class_is_refused():
    with pytest.raises(ActionDefinitionError, match='subclass BaseAction'):
        action()(In)
