"""Command-line start: `priorauth evaluate` on one request, cold, whole process (hyperfine).

Compares, each a fresh process deciding the bundled approved example and printing its JSON:

- `priorauth evaluate FILE`: the console entry (priorauth.console), the way a script calls it;
- the same with the policy cache off (`PRIORAUTH_CACHE_DIR=off`: the YAML parsed and
  validated at every start);
- `python -m priorauth.cli evaluate FILE`: the full Typer command line;
- `python -c "import priorauth"` and `python -c pass`, for scale.

hyperfine is Debian's package (`apt-get install hyperfine`). `--realtime` runs every command
under `chrt -f 50` (root only), which keeps other processes on a busy machine from
preempting it. Besides times, `--instructions` counts each command's instructions with
valgrind (callgrind), a measure other processes cannot disturb.

    .venv/bin/python benchmarks/bench_cli_start.py [--runs 30] [--realtime] [--instructions]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "src" / "priorauth" / "examples" / "approved-adult-relapsed.json"


def instructions(cmd: list[str], env: dict[str, str]) -> float:
    """Millions of instructions the command executes (callgrind), children included."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "cg.%p"
        run = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--trace-children=yes",
                              *cmd], capture_output=True, text=True, env={**os.environ, **env})
        total = 0
        for line in run.stderr.splitlines():
            if "Collected :" in line:
                total += int(line.rsplit(":", 1)[1].strip())
        return total / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--realtime", action="store_true")
    parser.add_argument("--instructions", action="store_true")
    args = parser.parse_args()
    if shutil.which("hyperfine") is None:
        raise SystemExit("hyperfine is not installed (apt-get install hyperfine)")
    bin_dir = Path(sys.executable).parent
    priorauth = str(bin_dir / "priorauth")
    python = sys.executable
    commands = {
        "priorauth evaluate": ([priorauth, "evaluate", str(EXAMPLE)], {}),
        "priorauth evaluate, policy cache off": ([priorauth, "evaluate", str(EXAMPLE)], {"PRIORAUTH_CACHE_DIR": "off"}),
        "python -m priorauth.cli evaluate": ([python, "-m", "priorauth.cli", "evaluate", str(EXAMPLE)], {}),
        "import priorauth": ([python, "-c", "import priorauth"], {}),
        "python -c pass": ([python, "-c", "pass"], {}),
    }
    prefix = ["chrt", "-f", "50"] if args.realtime else []
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}{', realtime priority' if args.realtime else ''}")
    with tempfile.TemporaryDirectory() as scratch:
        export = Path(scratch) / "hyperfine.json"
        hyperfine = ["hyperfine", "-N", "--warmup", str(args.warmup), "--runs", str(args.runs),
                     "--export-json", str(export)]
        for name, (cmd, env) in commands.items():
            words = ["env", *(f"{k}={v}" for k, v in env.items())] if env else []
            hyperfine += ["-n", name, shlex.join([*words, *prefix, *cmd])]
        done = subprocess.run(hyperfine, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(done.stderr)
        results = json.loads(export.read_text())["results"]
    print(f"{'command':>40} {'mean ms':>8} {'median':>7} {'min':>6} {'user ms':>8}"
          + (f" {'M instr':>8}" if args.instructions else ""))
    for r, (name, (cmd, env)) in zip(results, commands.items(), strict=True):
        extra = f" {instructions(cmd, env):8.0f}" if args.instructions else ""
        print(f"{name:>40} {r['mean'] * 1000:8.0f} {r['median'] * 1000:7.0f} {r['min'] * 1000:6.0f} "
              f"{r['user'] * 1000:8.0f}{extra}")
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
