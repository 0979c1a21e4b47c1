"""One local Ray head on 127.0.0.1 for the whole session (starting Ray costs seconds), stopped at the end."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ray_harness import SAMPLE, LocalCluster, start_cluster

__all__ = ['SAMPLE']


@pytest.fixture(scope='session')
def ray_cluster() -> Iterator[LocalCluster]:
    cluster = start_cluster(num_cpus=2)
    try:
        yield cluster
    finally:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        cluster.stop()


@pytest.fixture
def sample_plugin(tmp_path: Path) -> Path:
    """A private copy of the sample plugin (tests may add files to it)."""
    target = tmp_path / 'sample'
    shutil.copytree(SAMPLE, target, ignore=shutil.ignore_patterns('__pycache__'))
    return target
