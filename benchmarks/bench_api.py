"""Load test of `priorauth serve` on loopback: POST /v1/evaluate and POST /v1/requests.

    .venv/bin/python benchmarks/bench_api.py [--seconds 10] [--connections 16] [--database-url URL]

Starts the server as a separate process (SQLite file in a temporary folder unless
--database-url), drives it from this process with a minimal asyncio HTTP/1.1 client
over keep-alive connections, and prints throughput and latency percentiles against
the floors of issue 5. Bounded in time; talks only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loopback import drive, percentile, request_bytes, running_server  # noqa: E402

FLOORS = {"evaluate": (1000, 20.0), "submit": (300, 50.0)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    from priorauth.service import Settings, create_token
    from priorauth.store.db import Database

    folder = tempfile.mkdtemp(prefix="priorauth-bench-")
    url = args.database_url or f"sqlite:///{folder}/bench.db"
    db = Database.open(url, Settings(database_url=url))
    with db.session() as s:
        token = create_token(s, "submitter", "bench-clinic").secret
    db.dispose()

    with running_server(url, Path(folder) / "server.log") as port:
        examples = resources.files("priorauth") / "examples"
        approved = (examples / "approved-adult-relapsed.json").read_bytes()
        pended = json.loads((examples / "pended-comorbidities-unknown.json").read_text())
        pended["urgency"] = "standard"
        del pended["facts"]["request_date"]  # a stored submission is dated the day the service receives it
        scenarios = {
            "evaluate": request_bytes("/v1/evaluate", json.dumps(json.loads(approved)).encode(), token),
            "submit": request_bytes("/v1/requests", json.dumps(pended).encode(), token),
        }
        backend = url.split(":", 1)[0]
        print(
            f"priorauth serve on 127.0.0.1:{port}, {backend}; {args.connections} keep-alive connections, "
            f"{args.seconds:g} s per scenario"
        )
        failed = False
        for name, payload in scenarios.items():
            asyncio.run(drive(port, payload, 1.0, args.connections))  # warm-up
            latencies, errors, elapsed = asyncio.run(drive(port, payload, args.seconds, args.connections))
            rate = len(latencies) / elapsed
            p50, p99 = statistics.median(latencies), percentile(latencies, 99)
            floor_rate, floor_p99 = FLOORS[name]
            ok = rate >= floor_rate and p99 <= floor_p99 and not errors
            failed |= not ok
            print(
                f"{name:9s} {len(latencies):7d} requests  {rate:8.0f} req/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  "
                f"errors {len(errors)}  floor >= {floor_rate} req/s, p99 <= {floor_p99:g} ms: "
                + ("met" if ok else "MISSED")
            )
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
