"""Screenshots of the pages for docs/screenshots/: the queue, a case, a letter, the awaiting-review page, the form.

Starts `priorauth serve` on a temporary SQLite database, submits demo requests through the
service layer, and photographs the pages in Debian's Chromium (Playwright):

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.web.live import LiveServer, chromium_missing, fill_people, launch_chromium  # noqa: E402

NAMES = ["Avery Demo", "Jordan Sample", "Riley Example", "Casey Placeholder", "Morgan Test", "Quinn Fixture"]
# Made-up prescribers with NPIs whose check digit is valid, and each organisation's PA desk.
PRESCRIBERS = [{"name": "Dr. Grace Hopper", "npi": "1234567893"}, {"name": "Dr. Alan Turing", "npi": "1987654328"},
               {"name": "Dr. Ada Lovelace", "npi": "1456789019"}]
CONTACTS = {"st-olaf-oncology": {"name": "Jamie Intake", "phone": "503-555-0100", "email": "pa@st-olaf.example"},
            "riverside-infusion": {"name": "Robin Desk", "phone": "503-555-0142"}}


def example(name: str) -> dict:
    return json.loads((resources.files("priorauth") / "examples" / f"{name}.json").read_text())["facts"]


def seed(server: LiveServer) -> dict[str, str]:
    """Demo requests in every state; returns ids of the ones photographed."""
    from priorauth import service
    from priorauth.store.db import Database
    from priorauth.store.models import CoverageRequest

    db = Database.open(server.url_db)
    with db.session() as session:  # named tokens: the pages show people by name and role
        tokens = {org: service.create_token(session, "submitter", org, label=name).secret
                  for org, name in (("st-olaf-oncology", "Jamie Intake"), ("riverside-infusion", "Robin Desk"))}
        reviewer_token = service.create_token(session, "reviewer", "health-plan", label="Dr Ada Reviewer").secret
    ids: dict[str, str] = {}
    # Stored requests are decided on the day the service receives them: no request date is sent.
    pended, approved, denied = (
        {k: v for k, v in example(name).items() if k != "request_date"}
        for name in ("pended-comorbidities-unknown", "approved-adult-relapsed", "denied-pediatric-combination"))
    plan = [
        ("pended", pended, "expedited"), ("approved", approved, "standard"), ("denied", denied, "expedited"),
        ("comorbid", {**pended, "substantial_comorbidities": True}, "standard"),
        ("medicare", {k: v for k, v in example("medicare-virginia").items() if k != "request_date"}, "standard"),
        ("renewal", {k: v for k, v in example("renewal-within-period").items() if k != "request_date"}, "standard"),
    ]
    with db.session() as session:
        reviewer = service.authenticate(session, reviewer_token)
        for i in range(24):
            key, facts, urgency = plan[i % len(plan)]
            org = "st-olaf-oncology" if i % 3 else "riverside-infusion"
            who = service.authenticate(session, tokens[org])
            stored = service.submit_request(session, who, "besponsa", facts, urgency,
                                            patient={"name": NAMES[i % len(NAMES)], "member_id": f"M{100200 + i}"},
                                            prescriber=PRESCRIBERS[i % len(PRESCRIBERS)], contact=CONTACTS[org])
            ids.setdefault(key, stored.id)
            ids.setdefault(f"{key}-org", org)
            if key == "denied" and i > 6:
                service.review_request(session, reviewer, stored.id, "deny",
                                       "Pediatric use is covered as a single agent only.", stored.version)
                ids["letter"] = stored.id
        # Some requests have waited too long: show what overdue looks like.
        now = dt.datetime.now(dt.UTC)
        for n, row in enumerate(session.query(CoverageRequest).filter(
                CoverageRequest.status.in_(service.OPEN_STATUSES)).order_by(CoverageRequest.created_at).limit(4)):
            row.due_at = now - dt.timedelta(hours=5 + 7 * n)
        session.commit()
    db.dispose()
    return {"ids": ids, "reviewer": reviewer_token, "submitter": tokens["st-olaf-oncology"],
            "comorbid_submitter": tokens[ids["comorbid-org"]]}


def sign_in(browser, server, token):
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(server.base + "/web/signin")
    page.get_by_label("Access token").fill(token)
    page.keyboard.press("Enter")
    page.wait_for_url("**/web/requests")
    return page


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    reason = chromium_missing()
    if reason:
        print(f"cannot take screenshots: {reason}", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        server = LiveServer(Path(folder)).start()
        try:
            demo = seed(server)
            ids = demo["ids"]
            with sync_playwright() as p:
                browser = launch_chromium(p)
                reviewer = sign_in(browser, server, demo["reviewer"])
                reviewer.screenshot(path=out / "queue.png", full_page=True)
                reviewer.goto(f"{server.base}/web/requests/{ids['comorbid']}")
                reviewer.screenshot(path=out / "case.png", full_page=True)
                reviewer.goto(f"{server.base}/web/requests/{ids['letter']}/letter")
                reviewer.screenshot(path=out / "letter.png", full_page=True)
                waiting = sign_in(browser, server, demo["comorbid_submitter"])
                waiting.goto(f"{server.base}/web/requests/{ids['comorbid']}")
                waiting.screenshot(path=out / "case-awaiting-review.png", full_page=True)
                submitter = sign_in(browser, server, demo["submitter"])
                submitter.goto(f"{server.base}/web/requests/new")
                fill_people(submitter, "Avery Demo")
                submitter.get_by_label("What is the patient's date of birth?").fill("1966-11-02")
                submitter.get_by_label("In which disease setting is the drug used?").select_option(
                    "frontline_consolidation")
                submitter.locator("#preview").get_by_text("Needed to decide").wait_for()
                submitter.evaluate("document.activeElement && document.activeElement.blur()")
                submitter.screenshot(path=out / "new-request.png", full_page=True)
                browser.close()
        finally:
            server.stop()
    for name in ("queue", "case", "letter", "case-awaiting-review", "new-request"):
        print(out / f"{name}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
