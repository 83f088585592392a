"""Claims audit, whole process to whole process: `priorauth claims audit` vs the shared DuckDB query.

The same Parquet file (the shared generator `gen.py`, plus an `hcpcs` column of J9229) goes to
both: `priorauth claims audit FILE --out OUT.parquet --policy besponsa` and the shared
reference `duckdb_reference.py FILE OUT.parquet` (its own venv, see its README). Each run is
a fresh process (start, read, audit, write Parquet); the two alternate, ROUNDS times each; the
report gives the median seconds, lines/s and the process's peak RSS (wait4), and the load
average around each run (the machine is shared). Then the two outputs are compared line by
line on the four edits the reference computes, with the number of lines where they differ.

    .venv/bin/python benchmarks/bench_claims.py --lines 1e7 --dir /tmp --rounds 3
    .venv/bin/python benchmarks/bench_claims.py --lines 1e7 --dir /tmp --profile   # where the time goes
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REFERENCE = Path(os.environ.get("CLAIMS_REFERENCE", "/work/shared/bench/claims_reference"))
DUCK_PYTHON = os.environ.get("DUCKREF_PYTHON", "/tmp/duckref/bin/python")
PRIORAUTH = str(Path(sys.executable).with_name("priorauth"))
# reference column -> our edit code
EDIT_OF = {
    "flag_units": "UNITS_OVER_LIMIT",
    "flag_icd": "ICD10_NOT_COVERED",
    "flag_ndc": "NDC_MISMATCH",
    "flag_cycle": "CYCLE_LIMIT",
}


def make_file(lines: int, directory: Path, seed: int) -> Path:
    """gen.py's file (reference venv), plus the `hcpcs` column the claims reader requires."""
    path = directory / f"claims_ref_{lines}_s{seed}.parquet"
    if path.exists():
        return path
    raw = directory / f"claims_ref_{lines}_s{seed}.raw.parquet"
    subprocess.run([DUCK_PYTHON, str(REFERENCE / "gen.py"), str(lines), str(raw), "--seed", str(seed)], check=True)
    import polars as pl

    pl.scan_parquet(raw).with_columns(hcpcs=pl.lit("J9229")).sink_parquet(path)
    raw.unlink()
    return path


def timed(command: list[str]) -> dict:
    """Wall seconds and peak RSS (bytes) of one child process, with the 1-minute load average before."""
    load = os.getloadavg()[0]
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    stderr = child.stderr.read().decode() if child.stderr else ""
    if status != 0:
        raise SystemExit(f"{command[0]} failed ({status}): {stderr[-2000:]}")
    return {"seconds": seconds, "peak": usage.ru_maxrss * 1024, "load": load, "cpu": usage.ru_utime + usage.ru_stime}


def compare(claims: Path, ours: Path, theirs: Path) -> None:
    """Lines where the two differ, per edit, and why (the rules the issue changed)."""
    import polars as pl

    a = pl.scan_parquet(ours).select("claim_id", "rolling_units", "cycle", "edits")
    b = pl.scan_parquet(theirs).rename({"rolling_units": "ref_rolling"})
    c = pl.scan_parquet(claims).select("claim_id", pl.col("ndc").str.strip_chars().alias("ndc"))
    joined = a.join(b, on="claim_id").join(c, on="claim_id")
    flags = [(pl.col("edits").list.contains(code) != pl.col(ref)).alias(ref) for ref, code in EDIT_OF.items()]
    ten_digits = pl.col("ndc").str.contains(r"^[0-9]{10}$").fill_null(False)
    diff = joined.select(
        pl.len().alias("lines compared"),
        (pl.col("rolling_units") != pl.col("ref_rolling")).sum().alias("rolling_units"),
        *[f.sum() for f in flags],
        (flags[2] & ten_digits).sum().alias("flag_ndc, 10 bare digits"),
        (flags[2] & ~ten_digits).sum().alias("flag_ndc, other"),
        pl.any_horizontal(flags).sum().alias("any of the four"),
        (pl.col("edits").list.contains("CYCLE_LIMIT") & ~pl.col("flag_cycle")).sum().alias("flag_cycle, ours only"),
        (~pl.col("edits").list.contains("CYCLE_LIMIT") & pl.col("flag_cycle")).sum().alias("flag_cycle, ref only"),
        (pl.col("edits").list.contains("NDC_MISMATCH") & ~pl.col("flag_ndc")).sum().alias("flag_ndc, ours only"),
    ).collect(engine="streaming")
    print("lines where priorauth and the shared reference differ:")
    for column in diff.columns:
        print(f"  {column:>26}: {diff[column][0]:,}")


def profile(path: Path) -> None:
    """One in-process run of what the CLI runs, the time of each stage (cProfile's top calls after)."""
    import cProfile
    import pstats

    from priorauth.claims.audit import audit_claims_to_file

    marks = [("start", time.perf_counter())]
    profiler = cProfile.Profile()
    profiler.enable()
    audit_claims_to_file(
        path,
        "/tmp/claims_profile_out.parquet",
        policy="besponsa",
        progress=lambda s: marks.append((s, time.perf_counter())),
    )
    marks.append(("summary+written", time.perf_counter()))  # as the CLI: ids re-read while writing
    profiler.disable()
    for (_, t0), (name, t1) in zip(marks, marks[1:], strict=False):
        print(f"  {name:>10}: {t1 - t0:6.2f} s")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=float, default=1e7)
    parser.add_argument("--dir", default="/tmp")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="profile one in-process audit instead")
    args = parser.parse_args()
    lines = int(args.lines)
    path = make_file(lines, Path(args.dir), args.seed)
    if args.profile:
        profile(path)
        return
    ours_out, theirs_out = Path(args.dir) / "bench_ours.parquet", Path(args.dir) / "bench_ref.parquet"
    commands = {
        "priorauth": [PRIORAUTH, "claims", "audit", str(path), "--out", str(ours_out), "--policy", "besponsa"],
        "duckdb": [DUCK_PYTHON, str(REFERENCE / "duckdb_reference.py"), str(path), str(theirs_out)],
    }
    runs: dict[str, list[dict]] = {name: [] for name in commands}
    for _ in range(args.rounds):
        for name, command in commands.items():
            run = timed(command)
            runs[name].append(run)
            print(
                f"{name:>10}: {run['seconds']:6.2f} s, peak {run['peak'] / 2**20:6,.0f} MiB, "
                f"cpu {run['cpu']:5.1f} s, load {run['load']:.1f}",
                flush=True,
            )
    print(f"\n{lines:,} lines, median of {args.rounds}, load average now {os.getloadavg()[0]:.1f}")
    medians = {}
    for name, rs in runs.items():
        medians[name] = statistics.median(r["seconds"] for r in rs)
        peak = max(r["peak"] for r in rs)
        each = ", ".join(f"{r['seconds']:.2f}" for r in rs)
        print(
            f"{name:>10}: {medians[name]:6.2f} s  {lines / medians[name]:>12,.0f} lines/s  "
            f"peak {peak / 2**20:,.0f} MiB  runs {each}"
        )
    print(f"ratio (priorauth lines/s / duckdb lines/s): {medians['duckdb'] / medians['priorauth']:.2f}x")
    compare(path, ours_out, theirs_out)


if __name__ == "__main__":
    main()
