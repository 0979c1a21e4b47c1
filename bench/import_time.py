"""Import cost of the plugin core, beside pydantic's, each in fresh interpreters.

Run: .venv/bin/python bench/import_time.py [--runs 15]
Prints the median in-process import time (ms) of each statement; target: synapse_sdk.plugins < 150 ms.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

STATEMENTS = {
    'import pydantic (+ BaseModel)': 'import pydantic; from pydantic import BaseModel',
    'import pydantic, yaml': 'import pydantic, yaml; from pydantic import BaseModel',
    'pydantic + one model class': 'from pydantic import BaseModel\nclass M(BaseModel):\n    x: int = 0',
    'import synapse_sdk.plugins': 'import synapse_sdk.plugins',
    'from synapse_sdk.plugins import BaseAction, action, RuntimeContext': (
        'from synapse_sdk.plugins import BaseAction, action, RuntimeContext'
    ),
}

TEMPLATE = 'import time\nt = time.perf_counter()\n{stmt}\nprint(time.perf_counter() - t)'


def measure(stmt: str, runs: int) -> list[float]:
    """Seconds each fresh interpreter spent importing ``stmt``."""
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, '-c', TEMPLATE.format(stmt=stmt)], capture_output=True, text=True, check=True
        )
        times.append(float(out.stdout.strip()))
    return times


def main() -> None:
    """Print one row per statement."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--runs', type=int, default=15)
    args = parser.parse_args()
    print(f'{"statement":<70} {"median ms":>10} {"min ms":>8} {"max ms":>8}')
    for label, stmt in STATEMENTS.items():
        measure(stmt, 1)  # warm the file cache
        times = measure(stmt, args.runs)
        print(
            f'{label:<70} {statistics.median(times) * 1000:>10.1f} {min(times) * 1000:>8.1f} {max(times) * 1000:>8.1f}'
        )


if __name__ == '__main__':
    main()
