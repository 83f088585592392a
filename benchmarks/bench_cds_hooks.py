"""CDS Hooks (Da Vinci CRD) response time of `priorauth serve` on loopback: POST order-sign.

    .venv/bin/python benchmarks/bench_cds_hooks.py [--seconds 10] [--connections 1,4] [--auth bearer,jwt]
                                                   [--clients wrk,python]

Starts the server as a separate process (SQLite in a temporary folder) and sends the example
order-sign hook (tests/fhir/examples/crd-order-sign.json: patient, coverage and conditions
prefetched) over keep-alive connections, with two load generators in turn:

- `wrk` (Debian's package; an established HTTP benchmarking tool): its latency distribution is
  corrected for coordinated omission, so a stall of the server counts for every request that an
  open-loop client would have sent meanwhile;
- the project's own asyncio client (benchmarks/loopback.py style): plain closed-loop latencies.

Authentication is either the service's bearer token (cached check) or, as a real EHR calls, a
CDS Hooks JWT (ES384, a new `jti` per call: each token is signed before the run, so signing is not
timed; the server verifies the signature, `aud`, `exp` and the replay cache on every call). Every
response is checked to carry the coverage-information systemAction (wrk: non-2xx are counted).
Prints p50/p90/p99/max per run and the floor: p99 <= 20 ms at 1 connection, <= 50 ms at 4.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loopback import percentile, running_server  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HOOK = ROOT / "tests" / "fhir" / "examples" / "crd-order-sign.json"
PATH = "/cds-services/priorauth-crd-order-sign"
ISSUER = "https://bench-ehr.example.org"
FLOOR_P99_MS = {1: 20.0, 4: 50.0}


def carries_coverage_information(status: int, body: bytes) -> str | None:
    if status != 200:
        return str(status)
    return None if b"ext-coverage-information" in body else "no coverage-information extension"


class Signer:
    """The benchmark's EHR: an EC P-384 key, its JWK Set, and CDS Hooks JWTs for the hook's URL."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec
        from jwt.algorithms import ECAlgorithm

        self.key = ec.generate_private_key(ec.SECP384R1())
        jwk = json.loads(ECAlgorithm.to_jwk(self.key.public_key()))
        jwk.update(kid="bench-1", use="sig", alg="ES384")
        self.jwks = {"keys": [jwk]}

    def tokens(self, audience: str, count: int) -> list[str]:
        import jwt

        now = int(time.time())
        claims = {"iss": ISSUER, "sub": "bench", "aud": audience, "iat": now, "exp": now + 280}
        header = {"typ": "JWT", "kid": "bench-1"}
        return [
            jwt.encode({**claims, "jti": uuid.uuid4().hex}, self.key, algorithm="ES384", headers=header)
            for _ in range(count)
        ]


def request_bytes(body: bytes, authorization: str, port: int) -> bytes:
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {authorization}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _connection(
    port: int, payloads: Iterator[bytes], stop_at: float, latencies: list[float], errors: list[str]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop_at:
            payload = next(payloads)
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
            problem = carries_coverage_information(int(status_line.split()[1]), body)
            if problem is not None:
                errors.append(problem)
    finally:
        writer.close()


async def python_client(port: int, payloads: Iterator[bytes], seconds: float, connections: int) -> dict[str, float]:
    latencies: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    await asyncio.gather(
        *(_connection(port, payloads, started + seconds, latencies, errors) for _ in range(connections))
    )
    elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "rate": len(latencies) / elapsed,
        "p50": statistics.median(latencies),
        "p90": percentile(latencies, 90),
        "p99": percentile(latencies, 99),
        "max": max(latencies),
        "errors": len(errors),
    }


def _ms(text: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk_client(
    port: int, body: bytes, tokens: list[str], seconds: float, connections: int, folder: Path
) -> dict[str, float]:
    """Run wrk with a Lua script sending the hook with each token in turn (one per request)."""
    script = folder / "hook.lua"
    lines = [f'local body = "{_lua_string(body)}"', "local tokens = {"]
    lines += [f'"{t}",' for t in tokens] + ["}", "local i = 0"]
    lines += [
        "request = function()",
        "  i = i + 1",
        "  local token = tokens[(i - 1) % #tokens + 1]",
        f'  return wrk.format("POST", "{PATH}", {{["Content-Type"] = "application/json", '
        '["Authorization"] = "Bearer " .. token}, body)',
        "end",
    ]
    script.write_text("\n".join(lines))
    threads = 1
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}{PATH}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    dist = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)$", out, re.M))
    latency = re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", out)
    done = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    assert dist and latency and done, out
    elapsed = float(done.group(2)) * (0.001 if done.group(3) == "ms" else 1.0)
    return {
        "requests": int(done.group(1)),
        "rate": int(done.group(1)) / elapsed,
        "p50": _ms(dist["50"]),
        "p90": _ms(dist["90"]),
        "p99": _ms(dist["99"]),
        "max": _ms(latency.group(1)),
        "errors": int(non_2xx.group(1)) if non_2xx else 0 + (1 if errors else 0),
    }


def _lua_string(body: bytes) -> str:
    return body.decode().replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", default="1,4", help="comma-separated connection counts")
    parser.add_argument("--auth", default="bearer,jwt", help="bearer, jwt or both")
    parser.add_argument("--clients", default="wrk,python", help="wrk, python or both (wrk if installed)")
    args = parser.parse_args()

    from priorauth.fhir.cds_clients import add_client
    from priorauth.service import Settings, create_token
    from priorauth.store.db import Database

    clients = [c for c in args.clients.split(",") if c != "wrk" or shutil.which("wrk")]
    folder = Path(tempfile.mkdtemp(prefix="priorauth-bench-cds-"))
    url = f"sqlite:///{folder}/bench.db"
    signer = Signer()
    db = Database.open(url, Settings(database_url=url))
    with db.session() as s:
        bearer = create_token(s, "submitter", "bench-clinic").secret
        add_client(s, ISSUER, "bench-clinic", jwks=signer.jwks, label="benchmark EHR")
    db.dispose()
    body = json.dumps(json.loads(HOOK.read_text())).encode()
    failed = False
    with running_server(url, folder / "server.log") as port:
        audience = f"http://127.0.0.1:{port}{PATH}"
        version = (
            subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("[")[0].strip()
            if shutil.which("wrk")
            else "not installed"
        )
        print(
            f"priorauth serve on 127.0.0.1:{port}; POST {PATH} ({len(body)} bytes body); {args.seconds:g} s per "
            f"run after {args.warmup:g} s warm-up; {version}"
        )
        for auth in args.auth.split(","):
            for connections in (int(c) for c in args.connections.split(",")):
                for client in clients:
                    # tokens for the warm-up and the run at up to 3,000 hooks/s (each is used once)
                    count = int(3000 * (args.seconds + args.warmup)) if auth == "jwt" else 1
                    tokens = signer.tokens(audience, count) if auth == "jwt" else [bearer]
                    if client == "wrk":
                        wrk_client(
                            port, body, tokens[: int(3000 * args.warmup)] or tokens, args.warmup, connections, folder
                        )
                        rest = tokens[int(3000 * args.warmup) :] or tokens
                        result = wrk_client(port, body, rest, args.seconds, connections, folder)
                    else:
                        if auth == "jwt":
                            stream: Iterator[bytes] = iter([request_bytes(body, t, port) for t in tokens])
                        else:
                            stream = itertools.repeat(request_bytes(body, bearer, port))
                        asyncio.run(python_client(port, stream, args.warmup, connections))
                        result = asyncio.run(python_client(port, stream, args.seconds, connections))
                    floor = FLOOR_P99_MS.get(connections)
                    ok = (floor is None or result["p99"] <= floor) and not result["errors"]
                    failed |= not ok
                    print(
                        f"{client:6s} {auth:6s} {connections:2d} conn  {result['requests']:7.0f} hooks "
                        f"{result['rate']:7.0f}/s  p50 {result['p50']:6.2f}  p90 {result['p90']:6.2f}  "
                        f"p99 {result['p99']:6.2f}  max {result['max']:7.2f} ms  errors {result['errors']:.0f}"
                        + (f"  floor p99 <= {floor:g} ms: {'met' if ok else 'MISSED'}" if floor else "")
                    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
