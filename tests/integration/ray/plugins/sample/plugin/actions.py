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
    time.sleep(float(params.get('seconds', 30)))
    return {'slept': params.get('seconds', 30)}


@action(name='credentials')
def credentials(params: dict, ctx: RuntimeContext) -> dict:
    token = os.environ.get('SYNAPSE_ACCESS_TOKEN', '')
    return {
        'token_sha256': hashlib.sha256(token.encode()).hexdigest(),
        'host': os.environ.get('SYNAPSE_HOST'),
        'params_in_env': 'SYNAPSE_ACTION_PARAMS' in os.environ,
    }


@action(name='blob')
def blob(params: dict, ctx: RuntimeContext) -> dict:
    return {'length': len(params['blob']), 'params_file': os.environ.get('SYNAPSE_ACTION_PARAMS_FILE')}


@action(name='files')
def files(params: dict, ctx: RuntimeContext) -> dict:
    root = Path.cwd()
    return {'files': sorted(p.relative_to(root).as_posix() for p in root.rglob('*') if p.is_file())}
