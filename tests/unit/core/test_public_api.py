import pytest

import synapse_sdk.exceptions
import synapse_sdk.loggers
import synapse_sdk.plugins
import synapse_sdk.plugins.steps


def test_plugins_exports_are_pinned_and_resolve():
    assert synapse_sdk.plugins.__all__ == [
        'ActionPipeline',
        'BaseAction',
        'BaseExportAction',
        'BaseInferenceAction',
        'BaseTrainAction',
        'BaseUploadAction',
        'LocalExecutor',
        'NoResult',
        'PluginDiscovery',
        'PluginEnvironment',
        'RuntimeContext',
        'action',
        'run_plugin',
    ]
    for name in synapse_sdk.plugins.__all__:
        assert getattr(synapse_sdk.plugins, name) is not None
    with pytest.raises(AttributeError):
        synapse_sdk.plugins.DoesNotExist  # noqa: B018


@pytest.mark.parametrize('module', [synapse_sdk.plugins.steps, synapse_sdk.loggers, synapse_sdk.exceptions])
def test_all_is_sorted_and_complete(module):
    assert module.__all__ == sorted(module.__all__)
    for name in module.__all__:
        assert hasattr(module, name)


def test_exception_tree_matches_builtins_seeds_catch():
    from synapse_sdk.exceptions import (
        ActionNotFoundError,
        ClientError,
        MissingDependencyError,
        PluginError,
        PreProcessorError,
        SynapseError,
        ValidationError,
        client_error_for_status,
    )

    assert issubclass(ValidationError, ValueError) and issubclass(ValidationError, PluginError)
    assert issubclass(PreProcessorError, RuntimeError)
    assert issubclass(MissingDependencyError, ImportError)
    assert issubclass(ActionNotFoundError, SynapseError)
    err = client_error_for_status(500, {'detail': 'boom'})
    assert isinstance(err, ClientError) and str(err) == '500: boom'
    assert type(client_error_for_status(404, 'nope')).__name__ == 'NotFoundError'
    assert str(client_error_for_status(400, {'name': ['required']})) == '400: {"name":["required"]}'
