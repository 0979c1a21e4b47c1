"""Job mode: submit -> SUCCEEDED for a trivial action vs a bare ``JobSubmissionClient`` job, same cluster, same run.

Run: .venv/bin/python bench/ray_job_latency.py [--jobs 5]
Starts a throwaway Ray head on 127.0.0.1 (2 CPUs). The bare job runs ``python -c "print(3)"`` with no
runtime env; ours ships the trivial plugin (content-addressed, uploaded once) and runs the worker
``python -m synapse_sdk.plugins.entrypoint``. Both are polled every 50 ms; medians are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault('RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER', '0')  # before Ray is imported: stay on 127.0.0.1
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'tests' / 'integration' / 'ray'))

from ray_harness import start_cluster  # noqa: E402

PLUGIN = ROOT / 'bench' / 'plugins' / 'trivial'


def until_succeeded(get_status, job_id: str) -> None:
    while True:
        status = str(get_status(job_id))
        if status == 'SUCCEEDED':
            return
        if status in ('FAILED', 'STOPPED'):
            raise RuntimeError(f'{job_id} ended {status}')
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--jobs', type=int, default=5)
    args = parser.parse_args()
    cluster = start_cluster(num_cpus=2)
    try:
        from ray.job_submission import JobSubmissionClient

        from synapse_sdk.plugins.executors.ray import RayJobExecutor

        bare = JobSubmissionClient(cluster.dashboard_url)
        ours = RayJobExecutor(cluster.dashboard_url, PLUGIN)
        python = sys.executable
        # warm both paths once (first upload, first worker start)
        until_succeeded(bare.get_job_status, bare.submit_job(entrypoint=f'{python} -c "print(3)"'))
        ours.wait(ours.submit('add', {'a': 1, 'b': 2}), timeout_seconds=120)
        bare_s, ours_s = [], []
        for _ in range(args.jobs):
            started = time.perf_counter()
            until_succeeded(bare.get_job_status, bare.submit_job(entrypoint=f'{python} -c "print(3)"'))
            bare_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            job_id = ours.submit('add', {'a': 1, 'b': 2})
            until_succeeded(ours.get_status, job_id)
            ours_s.append(time.perf_counter() - started)
            assert ours.get_result(job_id) == {'sum': 3}
        bare_median, ours_median = statistics.median(bare_s), statistics.median(ours_s)
        print(f'bare JobSubmissionClient job, submit -> SUCCEEDED (baseline): {bare_median:.2f} s')
        print(f'RayJobExecutor trivial action, submit -> SUCCEEDED:          {ours_median:.2f} s')
        print(f'ratio: {ours_median / bare_median:.2f}x over {args.jobs} jobs each')
    finally:
        cluster.stop()


if __name__ == '__main__':
    main()
