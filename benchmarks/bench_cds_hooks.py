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
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_api import free_port, percentile, request_bytes  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HOOK = ROOT / "tests" / "fhir" / "examples" / "crd-order-sign.json"
PATH = "/cds-services/priorauth-crd-order-sign"
FLOOR_P99_MS = 50.0


async def connection(port: int, payload: bytes, stop_at: float, latencies: list[float], errors: list[str]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop_at:
            start = time.perf_counter()
            writer.write(payload)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            body = await reader.readexactly(length)
            latencies.append((time.perf_counter() - start) * 1000)
            if int(status_line.split()[1]) != 200 or b"ext-coverage-information" not in body:
                errors.append(status_line.decode().strip())
    finally:
        writer.close()


async def drive(port: int, payload: bytes, seconds: float, connections: int) -> tuple[list[float], list[str], float]:
    latencies: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    stop_at = started + seconds
    await asyncio.gather(*(connection(port, payload, stop_at, latencies, errors) for _ in range(connections)))
    return latencies, errors, time.perf_counter() - started


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

    port = free_port()
    priorauth = str(Path(sys.executable).with_name("priorauth"))
    log = open(Path(folder) / "server.log", "wb")
    server = subprocess.Popen(
        [priorauth, "serve", "--port", str(port), "--database-url", url, "--no-access-log", "--log-level", "warning"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        payload = request_bytes(PATH, json.dumps(json.loads(HOOK.read_text())).encode(), token)
        print(f"priorauth serve on 127.0.0.1:{port}; POST {PATH} ({len(payload)} bytes), "
              f"{args.seconds:g} s per run")
        failed = False
        for connections in (int(c) for c in args.connections.split(",")):
            asyncio.run(drive(port, payload, 1.0, connections))  # warm-up
            latencies, errors, elapsed = asyncio.run(drive(port, payload, args.seconds, connections))
            p50, p90, p99 = statistics.median(latencies), percentile(latencies, 90), percentile(latencies, 99)
            ok = p99 <= FLOOR_P99_MS and not errors
            failed |= not ok
            print(f"{connections:3d} connection(s) {len(latencies):7d} hooks  {len(latencies) / elapsed:7.0f} hooks/s  "
                  f"p50 {p50:6.2f} ms  p90 {p90:6.2f} ms  p99 {p99:6.2f} ms  max {max(latencies):6.2f} ms  "
                  f"errors {len(errors)}  floor p99 <= {FLOOR_P99_MS:g} ms: {'met' if ok else 'MISSED'}")
        return 1 if failed else 0
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.close()


if __name__ == "__main__":
    sys.exit(main())
