"""CDS Hooks (Da Vinci CRD) response time of `priorauth serve` on loopback: POST order-sign.

    .venv/bin/python benchmarks/bench_cds_hooks.py [--seconds 10] [--connections 1,8]

Starts the server as a separate process (SQLite in a temporary folder), sends the
example order-sign hook (tests/fhir/examples/crd-order-sign.json: patient, coverage and
conditions prefetched) over keep-alive connections and prints latency percentiles
against the floor: p99 <= 50 ms (Da Vinci CRD asks for <= 5 s at the 90th percentile).
Every response is checked to carry the coverage-information systemAction.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loopback import drive, percentile, request_bytes, running_server  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HOOK = ROOT / "tests" / "fhir" / "examples" / "crd-order-sign.json"
PATH = "/cds-services/priorauth-crd-order-sign"
FLOOR_P99_MS = 50.0


def carries_coverage_information(status: int, body: bytes) -> str | None:
    if status != 200:
        return str(status)
    return None if b"ext-coverage-information" in body else "no coverage-information extension"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", default="1,8", help="comma-separated connection counts to run")
    args = parser.parse_args()

    from priorauth.service import Settings, create_token
    from priorauth.store.db import Database

    folder = tempfile.mkdtemp(prefix="priorauth-bench-cds-")
    url = f"sqlite:///{folder}/bench.db"
    db = Database.open(url, Settings(database_url=url))
    with db.session() as s:
        token = create_token(s, "submitter", "bench-clinic").secret
    db.dispose()

    with running_server(url, Path(folder) / "server.log") as port:
        payload = request_bytes(PATH, json.dumps(json.loads(HOOK.read_text())).encode(), token)
        print(f"priorauth serve on 127.0.0.1:{port}; POST {PATH} ({len(payload)} bytes), "
              f"{args.seconds:g} s per run")
        failed = False
        for connections in (int(c) for c in args.connections.split(",")):
            asyncio.run(drive(port, payload, 1.0, connections, carries_coverage_information))  # warm-up
            latencies, errors, elapsed = asyncio.run(
                drive(port, payload, args.seconds, connections, carries_coverage_information)
            )
            p50, p90, p99 = statistics.median(latencies), percentile(latencies, 90), percentile(latencies, 99)
            ok = p99 <= FLOOR_P99_MS and not errors
            failed |= not ok
            print(f"{connections:3d} connection(s) {len(latencies):7d} hooks  {len(latencies) / elapsed:7.0f} hooks/s  "
                  f"p50 {p50:6.2f} ms  p90 {p90:6.2f} ms  p99 {p99:6.2f} ms  max {max(latencies):6.2f} ms  "
                  f"errors {len(errors)}  floor p99 <= {FLOOR_P99_MS:g} ms: {'met' if ok else 'MISSED'}")
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
