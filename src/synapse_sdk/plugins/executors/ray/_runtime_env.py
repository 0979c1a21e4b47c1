"""What a plugin asks of its Ray workers: packages, environment, and the credentials that go with a run.

Nothing here imports Ray: this module turns a plugin's ``config.yaml`` and ``requirements.txt``
plus the submitter's environment into plain data (a Ray ``runtime_env`` dict, env vars, secrets).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synapse_sdk.enums import PackageManager
from synapse_sdk.exceptions import ConfigError
from synapse_sdk.plugins._backend import resolved_credentials

__all__ = [
    'WORKING_DIR_VAR',
    'PluginRuntime',
    'forwarded_environ',
    'is_secret_name',
    'read_requirements',
    'split_secrets',
    'worker_environ',
]

#: Ray substitutes the unpacked working directory for this in ``pip``/``uv`` package lists.
WORKING_DIR_VAR = '${RAY_RUNTIME_ENV_CREATE_WORKING_DIR}'

_SECRET_NAME = re.compile(r'(?i)(TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|(^|_)API_?KEY$|_KEY$)')
#: Set by Ray for each process; forwarding the submitter's values would break the worker.
_RAY_OWN = ('RAY_ADDRESS', 'RAY_JOB_ID', 'RAY_RAYLET_PID', 'RAY_NODE_ID', 'RAY_JOB_CONFIG_JSON_ENV_VAR')
_ALLOWED_OPTIONS = ('--index-url', '--extra-index-url', '--find-links', '--no-index', '--pre', '--trusted-host')
_ALLOWED_SHORT = ('-i', '-f')


def is_secret_name(name: str) -> bool:
    """Whether an environment variable holds a credential (its value must never be printed)."""
    return bool(_SECRET_NAME.search(name))


def split_secrets(env: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """``(public, secret)`` by variable name."""
    public = {k: v for k, v in env.items() if not is_secret_name(k)}
    secret = {k: v for k, v in env.items() if is_secret_name(k)}
    return public, secret


def forwarded_environ(environ: Mapping[str, str] | None = None, *, resolve: bool = True) -> dict[str, str]:
    """The submitter's ``SYNAPSE_*`` and ``RAY_*`` variables, plus resolved backend credentials.

    ``SYNAPSE_HOST``/``SYNAPSE_ACCESS_TOKEN``/``SYNAPSE_TENANT`` come from the environment or, when
    unset there, from ``~/.synapse/config.json`` (the worker may not have that file).
    """
    source = os.environ if environ is None else environ
    out = {
        k: v
        for k, v in source.items()
        if (k.startswith('SYNAPSE_') or (k.startswith('RAY_') and k not in _RAY_OWN)) and v
    }
    resolved = resolved_credentials() if resolve else {}
    names = {'host': 'SYNAPSE_HOST', 'access_token': 'SYNAPSE_ACCESS_TOKEN', 'tenant': 'SYNAPSE_TENANT'}
    for key, name in names.items():
        if resolved.get(key) and name not in out:
            out[name] = str(resolved[key])
    return out


def _check_option(number: int, text: str) -> str:
    flag = text.split('=', 1)[0].split()[0]
    if flag in _ALLOWED_OPTIONS or flag in _ALLOWED_SHORT:
        return text
    raise ConfigError(
        f"requirements.txt line {number}: option '{flag}' is not supported on Ray; "
        f'list packages one per line (allowed options: {", ".join(_ALLOWED_OPTIONS)})',
        {'line': number, 'text': text},
    )


def _check_line(number: int, text: str) -> str:
    if text.startswith('-'):
        return _check_option(number, text)
    if text.endswith(('.whl', '.tar.gz', '.zip')) and '@' not in text and '://' not in text:
        return f'{WORKING_DIR_VAR}/{text.removeprefix("./")}'
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        Requirement(text)
    except InvalidRequirement as exc:
        reason = str(exc).splitlines()[0]
        raise ConfigError(
            f'requirements.txt line {number}: {text!r} is not a valid requirement ({reason}). '
            "Fix it (e.g. 'numpy>=1.26') or remove the line",
            {'line': number, 'text': text},
        ) from None
    return text


def read_requirements(path: str | os.PathLike[str]) -> list[str]:
    """The packages of a ``requirements.txt``, each line checked; [] when the file does not exist.

    Raises:
        ConfigError: a line is not a requirement (the message names the line number and text).
    """
    file = Path(path)
    try:
        lines = file.read_text(encoding='utf-8').splitlines()
    except FileNotFoundError:
        return []
    out: list[str] = []
    for number, raw in enumerate(lines, start=1):
        text = raw.split(' #', 1)[0].strip() if not raw.lstrip().startswith('#') else ''
        text = re.sub(r'\s+--hash=\S+', '', text).strip()
        if text:
            out.append(_check_line(number, text))
    return out


@dataclass
class PluginRuntime:
    """What a plugin asks of the worker: code folder, packages, settings and extra ``runtime_env``."""

    plugin_dir: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    runtime_env: dict[str, Any] = field(default_factory=dict)
    package_manager: PackageManager = PackageManager.PIP
    package_manager_options: list[str] = field(default_factory=list)
    wheels_dir: str = 'wheels'
    config: Any = None
    #: an unpacked bundle's wheel folder (relative): install from it alone, ``--no-index``
    offline_wheels: str | None = None

    @classmethod
    def from_dir(cls, plugin_dir: str | os.PathLike[str] | None, config: Any = None) -> PluginRuntime:
        """From a plugin folder or bundle (its ``config.yaml`` is read when present and ``config`` is not given).

        A bundle (``synapse plugin package``) is unpacked once into the state dir; its wheels then
        install with ``--no-index --find-links`` (see :mod:`synapse_sdk.plugins.bundle`).
        """
        if plugin_dir is None:
            return cls(config=config)
        from synapse_sdk.plugins.bundle import offline_wheels, unpacked_bundle

        root = Path(plugin_dir).resolve()
        if root.suffix == '.zip' and root.is_file():  # a bundle; any other zip is refused, naming it
            root = unpacked_bundle(root)
        if not root.is_dir():
            raise FileNotFoundError(f'Working directory not found: {root}')
        offline = offline_wheels(root)
        if config is None and (root / 'config.yaml').is_file():
            from synapse_sdk.plugins.config import load_config

            config = load_config(root)
        if config is None:
            return cls(plugin_dir=root, offline_wheels=offline)
        return cls(
            plugin_dir=root,
            offline_wheels=offline,
            env={str(k): str(v) for k, v in (config.env or {}).items()},
            runtime_env=dict(config.runtime_env or {}),
            package_manager=PackageManager(config.package_manager),
            package_manager_options=list(config.effective_package_manager_options()),
            wheels_dir=config.wheels_dir or 'wheels',
            config=config,
        )

    def packages(self) -> list[str]:
        """``requirements.txt`` lines (checked) plus the wheels in ``wheels_dir``."""
        if self.plugin_dir is None:
            return []
        packages = read_requirements(self.plugin_dir / 'requirements.txt')
        wheels = self.plugin_dir / self.wheels_dir
        if wheels.is_dir():
            rel = wheels.relative_to(self.plugin_dir).as_posix()
            packages += [f'{WORKING_DIR_VAR}/{rel}/{w.name}' for w in sorted(wheels.glob('*.whl'))]
        return packages

    def ray_runtime_env(
        self, working_dir: str | None, env_vars: Mapping[str, str], py_modules: list[str] | None = None
    ) -> dict[str, Any]:
        """The Ray ``runtime_env``: config ``runtime_env`` first, then our keys (``env_vars`` merged)."""
        out: dict[str, Any] = dict(self.runtime_env)
        merged_env = {**{str(k): str(v) for k, v in (out.get('env_vars') or {}).items()}, **env_vars}
        if merged_env:
            out['env_vars'] = merged_env
        if working_dir is not None:
            out['working_dir'] = working_dir
        if py_modules:
            out['py_modules'] = [*out.get('py_modules', []), *py_modules]
        packages = self.packages()
        options = list(self.package_manager_options)
        if packages and self.offline_wheels:
            # only requirements lines get the working dir substituted (by pip itself, and by Ray for uv)
            packages = [f'--find-links {WORKING_DIR_VAR}/{self.offline_wheels}', *packages]
            options += [] if '--no-index' in options else ['--no-index']
        if packages:
            if self.package_manager is PackageManager.UV:
                out['uv'] = {'packages': packages, 'uv_pip_install_options': options}
            else:
                out['pip'] = {'packages': packages, 'pip_install_options': options}
        return out

    def entrypoint_for(self, action: str) -> str:
        """The entrypoint of action ``action`` in this plugin's ``config.yaml``."""
        from synapse_sdk.exceptions import ActionNotFoundError

        actions = getattr(self.config, 'actions', None) or {}
        if action not in actions:
            where = f' in {self.plugin_dir / "config.yaml"}' if self.plugin_dir else ''
            raise ActionNotFoundError(f"Action '{action}' not found{where}", {'available': list(actions)})
        entrypoint = actions[action].entrypoint
        if not entrypoint:
            raise ActionNotFoundError(f"Action '{action}' has no entrypoint defined")
        return str(entrypoint)


def worker_environ(
    runtime: PluginRuntime,
    env: Mapping[str, Any] | None = None,
    *,
    job_id: str | None = None,
    language: str | None = None,
    environ: Mapping[str, str] | None = None,
    resolve: bool = True,
) -> tuple[dict[str, str], dict[str, str]]:
    """``(public, secret)`` variables of a worker: forwarded ``SYNAPSE_*``/``RAY_*`` and credentials,
    the plugin's settings (config ``env`` then ``env``, listed in ``SYNAPSE_PLUGIN_ENV_KEYS``), the
    backend job id and the language. Secret-looking names go to ``secret``, which never becomes a Ray
    env var.
    """
    variables = forwarded_environ(environ, resolve=resolve)
    for name in (
        'SYNAPSE_ACTION_PARAMS',
        'SYNAPSE_ACTION_PARAMS_FILE',
        'SYNAPSE_SECRETS_FILE',
        'SYNAPSE_SECRETS_MODULE',
        'SYNAPSE_JOB_ID',
    ):
        variables.pop(name, None)
    plugin_env = {**runtime.env, **{str(k): str(v) for k, v in dict(env or {}).items()}}
    variables.update(plugin_env)
    variables['SYNAPSE_PLUGIN_ENV_KEYS'] = json.dumps(sorted(plugin_env))
    if job_id is not None:
        variables['SYNAPSE_JOB_ID'] = str(job_id)
    if language:
        variables['SYNAPSE_LANGUAGE'] = language
    return split_secrets(variables)
