"""The residual (missing facts) by bit sets against its reference enumeration, in process.

Decides a synthetic history (`requests synth N --seed S`) with the batch path, keeping the
request the batch hands the core for each new decision pattern (what the worker processes
decide), then decides those requests with the core twice, the residual cache off: with
`_enumerate` (bit sets) and with `_enumerate_by_evaluation` (the subtree evaluated per
combination), alternating rounds; checks the two give the same determinations.

    .venv/bin/python benchmarks/bench_residual.py [--rows 1000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from priorauth.batch.outcomes import determine_or_none, outcome
from priorauth.batch.synth import synth_requests
from priorauth.core import PolicyVersion, policy_registry
from priorauth.core import _residual as engine  # noqa: PLC2701 - the enumeration under measure


def batch_patterns(policy: str, rows: int, seed: int) -> list[tuple[PolicyVersion, dict]]:
    """The (version, facts) the batch path asks the core to decide, one per new pattern, for a history."""
    from priorauth.batch import engine as batch_engine
    from priorauth.batch.run import decide_file

    asked: list[tuple[PolicyVersion, dict]] = []

    def keep(self, version, rows_: list[dict]):
        asked.extend((version, facts) for facts in rows_)
        return [outcome(determine_or_none(version, facts)) for facts in rows_]

    with tempfile.TemporaryDirectory() as folder:
        history = Path(folder) / "history.parquet"
        synth_requests(policy, rows, seed=seed).write_parquet(history)
        decide_patterns = batch_engine.BatchDecider._decide_patterns
        batch_engine.BatchDecider._decide_patterns = keep  # type: ignore[method-assign]
        try:
            decide_file(history, Path(folder) / "decisions.parquet", policy_registry())
        finally:
            batch_engine.BatchDecider._decide_patterns = decide_patterns  # type: ignore[method-assign]
    return asked


def decide_all(asked: list[tuple[PolicyVersion, dict]]) -> tuple[float, list]:
    start = time.perf_counter()
    out = [determine_or_none(version, facts) for version, facts in asked]
    return time.perf_counter() - start, [d.to_dict() if d is not None else None for d in out]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policy", default="besponsa")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    requests = batch_patterns(args.policy, args.rows, args.seed)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}; {len(requests):,} new patterns the batch path asks the core "
          f"for in {args.rows:,} rows of `requests synth --policy {args.policy} --seed {args.seed}`")
    engine.RESIDUAL_CACHE_SIZE = 0
    bits, reference = engine._enumerate, engine._enumerate_by_evaluation
    times: dict[str, list[float]] = {"bit sets": [], "reference": []}
    answers: dict[str, list[dict]] = {}
    for _ in range(args.rounds):
        for name, enumerate_ in (("bit sets", bits), ("reference", reference)):
            engine._enumerate = enumerate_
            seconds, answers[name] = decide_all(requests)
            times[name].append(seconds)
    engine._enumerate = bits
    if answers["bit sets"] != answers["reference"]:
        sys.exit("the two enumerations decided differently")
    for name, runs in times.items():
        print(f"{name:>10}: median {statistics.median(runs):.2f} s  runs {[round(t, 2) for t in runs]}")
    print(f"same determinations; reference / bit sets = "
          f"{statistics.median(times['reference']) / statistics.median(times['bit sets']):.1f}x")


if __name__ == "__main__":
    main()
