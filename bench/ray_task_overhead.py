"""Task mode: a warm ``RayActorExecutor.execute`` call vs a bare Ray actor method call, same cluster, same run.

Run: .venv/bin/python bench/ray_task_overhead.py [--calls 300]
Starts a throwaway Ray head on 127.0.0.1 (2 CPUs), prints the median per-call latency of both and
their ratio; target: <= 2x the bare actor call.
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


class Adder:
    def add(self, params: dict) -> dict:
        return {'sum': params['a'] + params['b']}


def median_ms(fn, calls: int) -> float:
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--calls', type=int, default=300)
    args = parser.parse_args()
    cluster = start_cluster(num_cpus=2)
    try:
        import ray

        from synapse_sdk.plugins._loading import load_entrypoint
        from synapse_sdk.plugins.executors.ray import RayActorExecutor

        ray.init(address=cluster.gcs_address, log_to_driver=False, logging_level='WARNING')
        bare = ray.remote(Adder).remote()
        params = {'a': 1, 'b': 2}
        assert ray.get(bare.add.remote(params)) == {'sum': 3}
        add = load_entrypoint('plugin.actions:add', PLUGIN)
        with RayActorExecutor(cluster.gcs_address, PLUGIN) as executor:
            assert executor.execute(add, params) == {'sum': 3}  # warm: actor started, plugin imported
            rounds = []
            for _ in range(3):  # interleave to share any drift
                rounds.append(
                    (
                        median_ms(lambda: ray.get(bare.add.remote(params)), args.calls),
                        median_ms(lambda: executor.execute(add, params), args.calls),
                    )
                )
        bare_ms = statistics.median(r[0] for r in rounds)
        ours_ms = statistics.median(r[1] for r in rounds)
        print(f'bare Ray actor method call (baseline): {bare_ms:.3f} ms/call')
        print(f'RayActorExecutor.execute, warm:        {ours_ms:.3f} ms/call')
        print(f'ratio: {ours_ms / bare_ms:.2f}x (target <= 2x)')
    finally:
        import ray

        ray.shutdown()
        cluster.stop()


if __name__ == '__main__':
    main()
