"""What the loopback load benchmarks share: a `priorauth serve` process and a minimal
asyncio HTTP/1.1 client over keep-alive connections (no client library in the timing)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

# (status, body) -> a description of what is wrong with the response, or None
ResponseCheck = Callable[[int, bytes], "str | None"]


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


def status_below_300(status: int, body: bytes) -> str | None:
    return None if status < 300 else str(status)


async def connection(
    port: int, payload: bytes, stop_at: float, latencies: list[float], errors: list[str], check: ResponseCheck
) -> None:
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
            problem = check(int(status_line.split()[1]), body)
            if problem is not None:
                errors.append(problem)
    finally:
        writer.close()


async def drive(
    port: int, payload: bytes, seconds: float, connections: int, check: ResponseCheck = status_below_300
) -> tuple[list[float], list[str], float]:
    """Send `payload` on `connections` connections for `seconds`: latencies (ms), errors, elapsed s."""
    latencies: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    stop_at = started + seconds
    await asyncio.gather(
        *(connection(port, payload, stop_at, latencies, errors, check) for _ in range(connections))
    )
    return latencies, errors, time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 10) - 1] if len(values) > 1 else values[0]


@contextmanager
def running_server(database_url: str, log_path: Path) -> Iterator[int]:
    """`priorauth serve` on a free loopback port (its output to `log_path`); yields the port."""
    port = free_port()
    priorauth = str(Path(sys.executable).with_name("priorauth"))
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [priorauth, "serve", "--port", str(port), "--database-url", database_url, "--no-access-log",
             "--log-level", "warning"],
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
            yield port
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
