"""Where a resumed run starts, and how results are kept in checkpoints."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from pydantic import BaseModel

from synapse_sdk.exceptions import ValidationError
from synapse_sdk.plugins.pipelines.checkpoint import jsonable, resume_point
from synapse_sdk.plugins.pipelines.models import Checkpoint, PipelineProgress, PipelineStatus

NAMES = ['download', 'convert', 'train']


def cp(index: int, name: str, **params: object) -> Checkpoint:
    return Checkpoint(action_index=index, action_name=name, params=dict(params), result={'i': index})


def test_no_checkpoint_starts_at_the_first_action_with_the_new_params():
    point = resume_point(NAMES, [], {'a': 1})
    assert (point.start, point.params, point.last_result) == (0, {'a': 1}, None)


def test_resume_starts_after_the_last_consecutive_checkpoint_and_overlays_the_new_params():
    checkpoints = [cp(1, 'convert', a=1, b=2, fix=False), cp(0, 'download', a=1)]
    point = resume_point(NAMES, checkpoints, {'fix': True})
    assert point.start == 2
    assert point.params == {'a': 1, 'b': 2, 'fix': True}
    assert point.last_result == {'i': 1}


def test_a_gap_in_the_checkpoints_resumes_at_the_gap():
    point = resume_point(NAMES, [cp(0, 'download', a=1), cp(2, 'train', a=3)], {})
    assert (point.start, point.params) == (1, {'a': 1})


def test_a_checkpoint_of_another_pipeline_is_refused_naming_both_actions():
    with pytest.raises(
        ValidationError, match=r"checkpoint 0 is of action 'fetch' but this pipeline's action 0 is 'download'"
    ):
        resume_point(NAMES, [cp(0, 'fetch')], {})


def test_a_finished_run_resumes_past_its_last_action():
    point = resume_point(NAMES, [cp(0, 'download'), cp(1, 'convert'), cp(2, 'train', done=True)], {})
    assert (point.start, point.params) == (3, {'done': True})


class Result(BaseModel):
    path: Path
    day: date


def test_results_are_kept_in_json_form():
    assert jsonable(Result(path=Path('/x/y'), day=date(2026, 1, 2))) == {'path': '/x/y', 'day': '2026-01-02'}
    assert jsonable({'n': (1, 2), 'p': Path('a')}) == {'n': [1, 2], 'p': 'a'}


def test_overall_progress_is_the_mean_of_the_actions():
    progress = PipelineProgress(
        run_id='r', actions=[{'name': 'a', 'status': 'completed'}, {'name': 'b', 'progress': 50}]
    )
    progress.recompute()
    assert progress.overall == 75.0
    assert progress.current_name is None
    assert PipelineStatus.CANCELLED.finished and not PipelineStatus.RUNNING.finished
