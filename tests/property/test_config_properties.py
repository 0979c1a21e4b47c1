"""Property tests: the entrypoint parser and the config.yaml round trip (to_yaml → load)."""

import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synapse_sdk.enums import PackageManager, PluginCategory, RunMethod
from synapse_sdk.plugins.config import ActionConfig, PluginConfig, load_config, normalize_entrypoint, parse_entrypoint

identifiers = st.from_regex(r'[A-Za-z_][A-Za-z0-9_]{0,8}', fullmatch=True)
modules = st.lists(identifiers, min_size=1, max_size=4).map('.'.join)
slugs = st.from_regex(r'[a-z0-9]{1,6}(-[a-z0-9]{1,6}){0,2}', fullmatch=True)
texts = st.text(st.characters(codec='utf-8', exclude_categories=('Cs', 'Cc')), max_size=30)


@given(modules, identifiers)
def test_both_entrypoint_syntaxes_parse_to_the_same_target(module, attr):
    assert parse_entrypoint(f'{module}:{attr}') == (module, attr)
    assert parse_entrypoint(f'{module}.{attr}') == (module, attr)
    dotted = normalize_entrypoint(f'{module}:{attr}')
    assert dotted == f'{module}.{attr}'
    assert normalize_entrypoint(dotted) == dotted


@given(modules, identifiers, st.sampled_from(['-', ' ', '/', '..', '::', '1']))
def test_entrypoints_with_a_bad_part_are_rejected(module, attr, junk):
    text = f'{module}{junk}:{attr}' if junk != '1' else f'{module}.{junk}x:{attr}'
    with pytest.raises(ValueError, match=r'^entrypoint '):
        parse_entrypoint(text)


actions = st.dictionaries(
    identifiers,
    st.builds(
        ActionConfig,
        entrypoint=st.builds(lambda m, a: f'{m}:{a}', modules, identifiers),
        method=st.sampled_from(list(RunMethod)),
        description=texts,
        input_type=st.none() | st.sampled_from(['yolo_dataset', 'image_file']),
        required_resources=st.dictionaries(st.sampled_from(['num_cpus', 'num_gpus']), st.integers(0, 8)),
    ),
    max_size=4,
)

configs = st.builds(
    PluginConfig,
    name=texts.filter(lambda t: t.strip() == t and t != ''),
    code=slugs,
    version=st.from_regex(r'[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}', fullmatch=True),
    category=st.sampled_from([c for c in PluginCategory if c is not PluginCategory.NEURAL_NET]),
    description=texts,
    package_manager=st.sampled_from(list(PackageManager)),
    env=st.dictionaries(identifiers, texts, max_size=3),
    tags=st.lists(texts, max_size=3),
    actions=actions,
)


@settings(max_examples=25, deadline=None)
@given(configs)
def test_to_yaml_then_load_gives_the_same_config(config):
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / 'config.yaml'
        file.write_text(config.to_yaml(), encoding='utf-8')
        with warnings.catch_warnings():
            warnings.simplefilter('error')
            loaded = load_config(file)
    assert loaded == config
    assert loaded.to_dict() == config.to_dict()
