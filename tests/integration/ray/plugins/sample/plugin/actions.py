"""Actions the Ray tests run (class and function actions, failures, crashes, slow runs)."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from pydantic import BaseModel

from synapse_sdk.plugins import BaseAction, RuntimeContext, action


class EchoParams(BaseModel):
    text: str
    repeat: int = 1


class EchoResult(BaseModel):
    text: str
    greeting: str | None
    pid: int


class EchoAction(BaseAction[EchoParams]):
    result_model = EchoResult

    def execute(self) -> EchoResult:
        for i in range(self.params.repeat):
            self.ctx.set_progress(i + 1, self.params.repeat, 'echo')
        self.ctx.set_metrics({'chars': len(self.params.text)}, 'echo')
        self.ctx.log_message(f'echoing {self.params.text}')
        return EchoResult(
            text=self.params.text * self.params.repeat, greeting=self.ctx.env.get('GREETING'), pid=os.getpid()
        )


class AddParams(BaseModel):
    a: int
    b: int


@action(name='add', params=AddParams)
def add(params: AddParams, ctx: RuntimeContext) -> dict:
    ctx.log_message(f'adding {params.a} and {params.b}')
    return {'sum': params.a + params.b}


@action(name='fail')
def fail(params: dict, ctx: RuntimeContext) -> dict:
    raise ValueError(f'kaboom: {params.get("why", "no reason")}')


@action(name='crash')
def crash(params: dict, ctx: RuntimeContext) -> dict:
    os._exit(3)


@action(name='sleep')
def sleep(params: dict, ctx: RuntimeContext) -> dict:
    print(f'sleeping {params.get("seconds", 30)} s', flush=True)
    time.sleep(float(params.get('seconds', 30)))
    return {'slept': params.get('seconds', 30)}


@action(name='credentials')
def credentials(params: dict, ctx: RuntimeContext) -> dict:
    """What the worker knows of its credentials; ``token`` is returned as is (the SDK must mask it)."""
    import sys

    token = os.environ.get('SYNAPSE_ACCESS_TOKEN', '')
    on_disk = [
        str(found)
        for entry in sys.path
        if entry and Path(entry).is_dir()
        for found in Path(entry).glob('_synapse_run_*/*')
    ]
    child = None
    if params.get('child'):  # a Ray task of this job: it must not receive the credentials package
        import ray

        ray.init()

        @ray.remote(num_cpus=0)
        def look() -> dict:
            found = [str(f) for e in sys.path if e and Path(e).is_dir() for f in Path(e).glob('_synapse_run_*/*')]
            # what a task on any other node would unpack: the runtime env Ray gave this task
            return {'on_path': found, 'py_modules': list(ray.get_runtime_context().runtime_env.get('py_modules', []))}

        child = ray.get(look.remote())
    return {
        'child_secrets_on_path': child,
        'token_sha256': hashlib.sha256(token.encode()).hexdigest(),
        'host': os.environ.get('SYNAPSE_HOST'),
        'params_in_env': 'SYNAPSE_ACTION_PARAMS' in os.environ,
        'token': token,
        'secrets_on_path': on_disk,
        'echo': params.get('echo'),
    }


@action(name='blob')
def blob(params: dict, ctx: RuntimeContext) -> dict:
    return {'length': len(params['blob']), 'params_file': os.environ.get('SYNAPSE_ACTION_PARAMS_FILE')}


@action(name='files')
def files(params: dict, ctx: RuntimeContext) -> dict:
    root = Path.cwd()
    return {'files': sorted(p.relative_to(root).as_posix() for p in root.rglob('*') if p.is_file())}


@action(name='environment')
def environment(params: dict, ctx: RuntimeContext) -> dict:
    """Where the worker runs: its SDK, working dir, optional probe package and (in an actor) resources."""
    import importlib.util

    import synapse_sdk

    probe = None
    if importlib.util.find_spec('synapse_probe') is not None:
        import synapse_probe

        probe = synapse_probe.VERSION
    resources = None
    if params.get('resources'):
        import ray

        resources = ray.get_runtime_context().get_assigned_resources()
    return {'sdk_file': synapse_sdk.__file__, 'cwd': os.getcwd(), 'probe': probe, 'resources': resources}
