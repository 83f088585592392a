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
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

FLOORS = {"evaluate": (1000, 20.0), "submit": (300, 50.0)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request_bytes(path: str, body: bytes, token: str) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def connection(port: int, payload: bytes, stop_at: float, latencies: list[float], errors: list[int]) -> None:
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
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - start) * 1000)
            status = int(status_line.split()[1])
            if status >= 300:
                errors.append(status)
    finally:
        writer.close()


async def drive(port: int, payload: bytes, seconds: float, connections: int) -> tuple[list[float], list[int], float]:
    latencies: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    stop_at = started + seconds
    await asyncio.gather(*(connection(port, payload, stop_at, latencies, errors) for _ in range(connections)))
    return latencies, errors, time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 10) - 1] if len(values) > 1 else values[0]


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

    port = free_port()
    priorauth = str(Path(sys.executable).with_name("priorauth"))
    log = open(Path(folder) / "server.log", "wb")
    server = subprocess.Popen(
        [priorauth, "serve", "--port", str(port), "--database-url", url, "--no-access-log", "--log-level", "warning"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        examples = resources.files("priorauth") / "examples"
        approved = (examples / "approved-adult-relapsed.json").read_bytes()
        pended = json.loads((examples / "pended-comorbidities-unknown.json").read_text())
        pended["urgency"] = "standard"
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
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.close()


if __name__ == "__main__":
    sys.exit(main())
