"""Determinations per second, in process, one core: priorauth vs zen-engine in the same run.

priorauth's figure includes input validation, the three-valued evaluation, the
missing-fact reasoning and the contract dict; zen-engine's covers its evaluation only.

    .venv/bin/python benchmarks/bench_determinations.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import zen  # noqa: E402
from tests.core.cases import load_cases  # noqa: E402

import priorauth  # noqa: E402
from priorauth.core import _residual as engine  # noqa: E402 - the residual cache switch
from zen_besponsa import decision_graph  # noqa: E402


def rate(fn, requests, seconds: float) -> tuple[float, int]:
    """Calls per second of fn over the requests, cycling for about `seconds`."""
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for request in requests:
            fn(request)
        n += len(requests)
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - start), n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core

    requests = [c["request"] for c in load_cases() if "error" not in c["expect"] and c["policy"] == "besponsa"]
    decided = [r for r in requests if priorauth.evaluate(r).decision.value != "pended"]
    # The engine's static loader is zen-engine's fast path (several times faster than
    # ZenEngine().create_decision(...).evaluate on this machine): give the peer its best.
    zen_engine = zen.ZenEngine({"loader": {"type": "static", "content": {"besponsa": json.loads(decision_graph())}}})

    class decision:  # noqa: N801 - the peer's evaluate, under one name
        @staticmethod
        def evaluate(facts):
            return zen_engine.evaluate("besponsa", facts)

    agree = sum(
        decision.evaluate(r["facts"])["result"]["decision"] == priorauth.evaluate(r).decision.value for r in decided
    )
    print(f"cases: {len(requests)} ({len(decided)} decided); zen agrees with priorauth on {agree}/{len(decided)}")

    def ours(request):
        return priorauth.evaluate(request)

    def ours_json_ready(request):
        return priorauth.evaluate(request).to_dict()

    def ours_cold(request):
        engine.RESIDUAL_CACHE_SIZE = 0
        try:
            return priorauth.evaluate(request)
        finally:
            engine.RESIDUAL_CACHE_SIZE = residual_cache_size

    def peer(request):
        return decision.evaluate(request["facts"])

    residual_cache_size = engine.RESIDUAL_CACHE_SIZE
    runs = {
        "priorauth": ours,
        "priorauth + to_dict": ours_json_ready,
        "priorauth, no residual cache": ours_cold,
        "zen-engine": peer,
    }
    best = dict.fromkeys(runs, 0.0)
    for _ in range(args.rounds):  # interleaved rounds: all see the same machine state
        for name, fn in runs.items():
            best[name] = max(best[name], rate(fn, requests, args.seconds)[0])
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"machine: {machine}, pinned to 1 core")
    for name, value in best.items():
        print(f"{name:>30}: {value:>10,.0f} determinations/s (best of {args.rounds} x {args.seconds:.0f} s)")
    print(f"{'ratio priorauth / zen-engine':>30}: {best['priorauth'] / best['zen-engine']:.2f}x")


if __name__ == "__main__":
    main()
