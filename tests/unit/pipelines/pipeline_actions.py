"""Three small actions for the pipeline tests: each appends its name to ``<work_dir>/ran.log``."""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel

from synapse_sdk.plugins import BaseAction


def ran(work_dir: str) -> list[str]:
    log = Path(work_dir) / 'ran.log'
    return log.read_text().split() if log.exists() else []


def _note(work_dir: str, name: str) -> None:
    with open(Path(work_dir) / 'ran.log', 'a', encoding='utf-8') as log:
        log.write(name + '\n')


class FirstParams(BaseModel):
    work_dir: str
    n: int


class FirstResult(BaseModel):
    work_dir: str
    doubled: int


class First(BaseAction[FirstParams]):
    action_name = 'first'
    result_model = FirstResult

    def execute(self) -> FirstResult:
        for i in range(4):
            self.set_progress(i + 1, 4)
        _note(self.params.work_dir, 'first')
        return FirstResult(work_dir=self.params.work_dir, doubled=self.params.n * 2)


class SecondParams(BaseModel):
    work_dir: str
    doubled: int
    fail: bool = False
    sleep: float = 0.0


class SecondResult(BaseModel):
    work_dir: str
    total: int


class Second(BaseAction[SecondParams]):
    action_name = 'second'
    result_model = SecondResult

    def execute(self) -> SecondResult:
        _note(self.params.work_dir, 'second')
        time.sleep(self.params.sleep)
        if self.params.fail:
            raise RuntimeError('second broke')
        return SecondResult(work_dir=self.params.work_dir, total=self.params.doubled + 1)


class ThirdParams(BaseModel):
    work_dir: str
    total: int


class ThirdResult(BaseModel):
    answer: int


class Third(BaseAction[ThirdParams]):
    action_name = 'third'
    result_model = ThirdResult

    def execute(self) -> ThirdResult:
        _note(self.params.work_dir, 'third')
        return ThirdResult(answer=self.params.total * 10)
