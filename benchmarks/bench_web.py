"""Render time of the web pages with 10,000 requests in the database (issue 7: at most 300 ms a page).

    .venv/bin/python benchmarks/bench_web.py [--requests 10000] [--repeat 30] [--database PATH]

Fills an SQLite database through the service layer (a mix of pended, awaiting-review,
approved, denied and not-applicable requests from two organisations, some reviewed),
starts `priorauth serve` on it, and times each page over loopback HTTP with a signed-in
session cookie: the time from sending the request to the last byte of the page, so it
includes HTTP, authentication, the service's audited reads and rendering. Prints the
median, p95 and worst per page against the floor. `--database` keeps the filled file
for later runs. A benchmark, not a test: nothing here is asserted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import statistics
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.received import dated_today  # noqa: E402
from tests.web.live import LiveServer  # noqa: E402

FLOOR_MS = 300.0


def example(name: str) -> dict:
    return json.loads((resources.files("priorauth") / "examples" / f"{name}.json").read_text())["facts"]


def fill(url: str, count: int) -> None:
    from priorauth import service
    from priorauth.service.settings import Settings
    from priorauth.store.db import Database

    db = Database.open(url, Settings.from_env(database_url=url, sqlite_synchronous="OFF"))
    pended = example("pended-comorbidities-unknown")
    kinds = [pended, {**pended, "substantial_comorbidities": True}, example("approved-adult-relapsed"),
             example("denied-pediatric-combination"), example("medicare-virginia"), example("renewal-within-period")]
    # Stored submissions are dated the day the service receives them (the examples' dates move with them).
    kinds = [dated_today(k) for k in kinds]
    with db.session() as session:
        orgs = [service.authenticate(session, service.create_token(session, "submitter", org).secret)
                for org in ("clinic-a", "clinic-b")]
        reviewer = service.authenticate(session, service.create_token(session, "reviewer", "plan").secret)
        started = time.perf_counter()
        for i in range(count):
            stored = service.submit_request(session, orgs[i % 2], "besponsa", kinds[i % len(kinds)],
                                            "expedited" if i % 5 == 0 else "standard",
                                            patient={"name": f"Bench Patient {i}"})
            if stored.status == "awaiting_review" and i % 4 == 1:
                service.review_request(session, reviewer, stored.id, "deny", "Criteria not met.", stored.version)
            if (i + 1) % 2000 == 0:
                print(f"  filled {i + 1} requests ({time.perf_counter() - started:.0f} s)", flush=True)
    db.dispose()


def session_cookie(server: LiveServer, token: str) -> tuple[str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    body = f"token={token}&next=/web/requests"
    conn.request("POST", "/web/signin", body, {"Content-Type": "application/x-www-form-urlencoded"})
    response = conn.getresponse()
    response.read()
    cookie = response.getheader("set-cookie").split(";", 1)[0]
    conn.request("GET", "/web/requests", headers={"Cookie": cookie})
    page = conn.getresponse().read().decode()
    csrf = re.search(r'name="csrf" value="([0-9a-f]{32})"', page).group(1)
    return cookie, csrf


def timed(conn: http.client.HTTPConnection, method: str, path: str, headers: dict, body: str | None = None):
    start = time.perf_counter()
    conn.request(method, path, body, headers)
    response = conn.getresponse()
    data = response.read()
    elapsed = (time.perf_counter() - start) * 1000
    if response.status >= 400:
        raise RuntimeError(f"{method} {path}: HTTP {response.status}")
    return elapsed, data


def main() -> int:
    parser = argparse.ArgumentParser(description="Render time of the web pages.")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--database", help="SQLite file to fill (kept) or reuse when it exists")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        server = LiveServer(Path(folder))
        if args.database:
            server.url_db = f"sqlite:///{Path(args.database).resolve()}"
        path = Path(server.url_db.split("///", 1)[1])
        if not path.exists():
            print(f"filling {path} with {args.requests} requests through the service layer ...", flush=True)
            fill(server.url_db, args.requests)
        reviewer, submitter = server.token("reviewer", "plan"), server.token("submitter", "clinic-a")
        server.start()
        try:
            return run(server, reviewer, submitter, args.repeat)
        finally:
            server.stop()


def run(server: LiveServer, reviewer_token: str, submitter_token: str, repeat: int) -> int:
    from priorauth.store.db import Database
    from priorauth.store.models import CoverageRequest

    db = Database.open(server.url_db)
    with db.session() as session:
        total = session.query(CoverageRequest).count()
        awaiting = session.query(CoverageRequest.id).filter_by(status="awaiting_review").first()[0]
        denied = session.query(CoverageRequest.id).filter_by(status="denied").first()[0]
        pended_a = session.query(CoverageRequest.id).filter_by(status="pended", submitter_org="clinic-a").first()[0]
    db.dispose()
    reviewer, reviewer_csrf = session_cookie(server, reviewer_token)
    submitter, submitter_csrf = session_cookie(server, submitter_token)
    last_page = -(-total // 50)
    form = "&".join(f"{k}={v}" for k, v in {
        "policy": "besponsa", "csrf": submitter_csrf, "request_type": "initial", "request_date": "2026-03-02",
        "birth_date": "1966-11-02", "diagnosis": "b_cell_precursor_all", "icd10_codes": "C91.00",
        "cd22_positive": "true", "disease_setting": "frontline_consolidation", "regimen": "mini_hyper_cvd"}.items())
    post = {"Content-Type": "application/x-www-form-urlencoded"}
    pages = [
        ("queue, reviewer, first page", "GET", "/web/requests", reviewer, None),
        ("queue, awaiting review", "GET", "/web/requests?status=awaiting_review", reviewer, None),
        ("queue, overdue filter", "GET", "/web/requests?due=overdue", reviewer, None),
        (f"queue, last page ({last_page})", "GET", f"/web/requests?page={last_page}", reviewer, None),
        ("queue, submitter (own org)", "GET", "/web/requests", submitter, None),
        ("case, awaiting review (reviewer)", "GET", f"/web/requests/{awaiting}", reviewer, None),
        ("case, pended (submitter)", "GET", f"/web/requests/{pended_a}", submitter, None),
        ("new request form", "GET", "/web/requests/new", submitter, None),
        ("live preview (HTMX POST)", "POST", "/web/requests/preview", submitter, form),
        ("letter, HTML", "GET", f"/web/requests/{denied}/letter", reviewer, None),
        ("letter, PDF", "GET", f"/web/requests/{denied}/letter.pdf", reviewer, None),
    ]
    print(f"\n{total} requests in the database; {repeat} timed runs per page after one warm-up; "
          f"floor {FLOOR_MS:.0f} ms")
    print(f"{'page':38} {'median ms':>10} {'p95 ms':>8} {'worst ms':>9}  bytes")
    worst_all = 0.0
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    for label, method, path, cookie, body in pages:
        headers = {"Cookie": cookie, **(post if body else {})}
        timed(conn, method, path, headers, body)
        times = []
        size = 0
        for _ in range(repeat):
            ms, data = timed(conn, method, path, headers, body)
            times.append(ms)
            size = len(data)
        times.sort()
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
        worst_all = max(worst_all, times[-1])
        print(f"{label:38} {statistics.median(times):10.1f} {p95:8.1f} {times[-1]:9.1f}  {size}")
    verdict = "within" if worst_all <= FLOOR_MS else "OVER"
    print(f"\nslowest single render: {worst_all:.1f} ms, {verdict} the {FLOOR_MS:.0f} ms floor")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
