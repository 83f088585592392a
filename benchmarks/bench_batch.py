"""Batch decisions and impact analysis, whole process to whole process.

Each run is a fresh process that starts, reads the request history, decides it and writes
its output:

- `priorauth batch evaluate HISTORY.parquet --out DECISIONS.parquet` (the column-wise path);
- the per-request path on the same file: the same process, reading the same Parquet file,
  deciding each row with `priorauth.evaluate` (the contract request the row stands for) and
  writing the same columns (on the first `--per-request` rows: at its rate, 1e7 rows take
  minutes);
- `priorauth impact HISTORY --policy ID --from V --to DRAFT --out REPORT.html` (two versions).

Runs alternate (batch, per-request, impact; again) and each figure is the median of the
rounds, with the process's peak RSS (wait4). The synthetic history is made once per size
(`priorauth requests synth N --policy ID --seed 7`) and reused.

    .venv/bin/python benchmarks/bench_batch.py --sizes 1000000 10000000 --dir /tmp [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRIORAUTH = [sys.executable, "-m", "priorauth.console"]


def run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """(seconds, peak RSS in MiB, stderr) of one process run to completion."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})},
                            text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    stderr = proc.stderr.read() if proc.stderr else ""
    proc.stdout.close() if proc.stdout else None
    proc.stderr.close() if proc.stderr else None
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{stderr}")
    return seconds, usage.ru_maxrss / 1024, stderr


def per_request(history: str, rows: int, out: str) -> None:
    """The per-request path, as one process: read, decide each row, write."""
    import polars as pl

    import priorauth

    frame = pl.read_parquet(history, n_rows=rows)
    facts = [c for c in frame.columns if c not in ("id", "policy")]
    out_rows = []
    for row in frame.iter_rows(named=True):
        request = {"policy": row["policy"], "facts": {f: row[f] for f in facts if row[f] is not None}}
        try:
            det = priorauth.evaluate(request)
        except priorauth.RequestError:
            continue
        out_rows.append((row["id"], det.policy, det.policy_version, det.policy_digest, det.decision.value,
                         [r.criterion for r in det.reasons], list(det.missing_facts),
                         det.authorization.end if det.authorization else None))
    pl.DataFrame(out_rows, orient="row", schema=["id", "policy", "policy_version", "policy_digest", "decision",
                                                 "reasons", "missing_facts", "authorization_end"]).write_parquet(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--dir", type=Path, default=Path("/tmp"))
    parser.add_argument("--policy", default="besponsa")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-request", type=int, default=200_000, help="rows the per-request path decides")
    parser.add_argument("--impact-size", type=int, default=1_000_000)
    parser.add_argument("--per-request-worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.per_request_worker:
        history, rows, out = args.per_request_worker
        per_request(history, int(rows), out)
        return

    sys.path.insert(0, str(ROOT))
    from tests.policy_fixtures import next_version_text

    draft = args.dir / "bench-draft" / "2026-07-01.yaml"
    draft.parent.mkdir(parents=True, exist_ok=True)
    draft.write_text(next_version_text(), encoding="utf-8")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average at start {os.getloadavg()[0]:.1f}")
    results = []
    for size in sorted(set(args.sizes) | {args.impact_size}):
        history = args.dir / f"bench-history-{args.policy}-{size}.parquet"
        if not history.exists():
            run([*PRIORAUTH, "requests", "synth", str(size), "--policy", args.policy, "--seed", "7",
                 "--out", str(history)])
        timings: dict[str, list[tuple[float, float]]] = {"batch": [], "per-request": [], "impact": []}
        for _ in range(args.rounds):
            if size in args.sizes:
                seconds, rss, err = run([*PRIORAUTH, "batch", "evaluate", str(history), "--out",
                                         str(args.dir / "bench-decisions.parquet")])
                timings["batch"].append((seconds, rss))
                sample = min(size, args.per_request)
                seconds, rss, _ = run([sys.executable, __file__, "--per-request-worker", str(history), str(sample),
                                       str(args.dir / "bench-per-request.parquet")])
                timings["per-request"].append((seconds, rss))
            if size == args.impact_size:
                seconds, rss, _ = run([*PRIORAUTH, "impact", str(history), "--policy", args.policy, "--from",
                                       "2025-06-24", "--to", str(draft), "--out", str(args.dir / "bench-impact.html")])
                timings["impact"].append((seconds, rss))
        for what, values in timings.items():
            if not values:
                continue
            rows = min(size, args.per_request) if what == "per-request" else size
            seconds = statistics.median(v[0] for v in values)
            rss = max(v[1] for v in values)
            results.append({"what": what, "requests": rows, "seconds": round(seconds, 2),
                            "per_second": round(rows / seconds), "peak_rss_mib": round(rss),
                            "runs": [round(v[0], 2) for v in values]})
    print(f"load average at end {os.getloadavg()[0]:.1f}")
    print(f"{'run':>12} {'requests':>11} {'median s':>9} {'per second':>11} {'peak RSS':>9}  runs")
    for r in results:
        print(f"{r['what']:>12} {r['requests']:>11,} {r['seconds']:>9} {r['per_second']:>11,} "
              f"{r['peak_rss_mib']:>6} MiB  {r['runs']}")
    for size in args.sizes:
        batch = next((r for r in results if r["what"] == "batch" and r["requests"] == size), None)
        single = next((r for r in results if r["what"] == "per-request" and r["requests"] == min(size,
                                                                                                  args.per_request)),
                      None)
        if batch and single:
            print(f"{size:,}: batch / per-request = {batch['per_second'] / single['per_second']:.1f}x")
    (args.dir / "bench-batch.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
