"""The Blincyto pages and FHIR round trip shown in docs/blincyto.md.

Starts `priorauth serve` on a temporary SQLite database, submits Blincyto requests through the
service layer, photographs the pages in Debian's Chromium (Playwright) into docs/screenshots/
(blincyto-*.png), then runs a J9039 order through CRD order-sign, DTR $questionnaire-package and
PAS Claim/$submit over HTTP and prints what each step answered:

    .venv/bin/python scripts/blincyto_docs.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.received import dated_today  # noqa: E402
from tests.web.live import LiveServer, chromium_missing, fill_people, launch_chromium  # noqa: E402

EXAMPLES = ROOT / "tests" / "fhir" / "examples"
MRD_CHILD = {
    "request_type": "initial", "request_date": "2026-03-02", "birth_date": "2019-11-30",
    "diagnosis": "b_cell_precursor_all", "icd10_codes": ["C91.01"], "cd19_positive": True,
    "regimen": "single_agent", "prior_blinatumomab": False, "disease_setting": "mrd_positive",
    "complete_remission": "first",
}
RENEWAL = {
    "request_type": "renewal", "request_date": "2026-06-15", "disease_setting": "relapsed_refractory",
    "first_authorization_date": "2025-10-01", "cycles_received": 7, "complete_remission": "second",
    "unacceptable_toxicity": False,
}

# Made-up people; the NPI's check digit is valid.
PEOPLE = {
    "patient": {"name": "Avery Demo", "member_id": "M100200"},
    "prescriber": {"name": "Dr. Grace Hopper", "npi": "1234567893"},
    "contact": {"name": "Jamie Intake", "phone": "503-555-0100", "email": "pa@st-olaf.example"},
}


def seed(server: LiveServer) -> dict[str, str]:
    from priorauth import service
    from priorauth.store.db import Database

    submitter = server.token("submitter", "st-olaf-oncology")
    reviewer = server.token("reviewer", "health-plan")
    db = Database.open(server.url_db)
    ids: dict[str, str] = {}
    with db.session() as session:
        who = service.authenticate(session, submitter)
        plan = [
            ("pended", MRD_CHILD, {"weight_kg": 20, "height_cm": 110, "cycle": 1}),
            ("approved", {**MRD_CHILD, "mrd_percent": 0.4}, None),
            ("renewal", RENEWAL, {"weight_kg": 70, "cycle": 8}),
            ("denied", {**MRD_CHILD, "mrd_percent": 0.05}, None),
        ]
        for key, facts, dosing in plan:
            # Stored requests are dated the day received: the example's dates move with its request date.
            stored = service.submit_request(session, who, "blincyto", dated_today(facts), "standard", dosing=dosing,
                                            **PEOPLE)
            ids[key] = stored.id
        service.submit_request(session, who, "besponsa", {"request_type": "initial"}, "standard",
                               **{**PEOPLE, "patient": {"name": "Jordan Sample", "member_id": "M100201"}})
        decider = service.authenticate(session, reviewer)
        denied = service.get_request(session, decider, ids["denied"])
        service.review_request(session, decider, ids["denied"], "deny", "MRD below 0.1% on the latest marrow.",
                               denied.version)
    db.dispose()
    return {**ids, "reviewer": reviewer, "submitter": submitter}


def sign_in(browser, server, token):
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(server.base + "/web/signin")
    page.get_by_label("Access token").fill(token)
    page.keyboard.press("Enter")
    page.wait_for_url("**/web/requests")
    return page


def screenshots(server: LiveServer, demo: dict[str, str], out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    shots = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        reviewer = sign_in(browser, server, demo["reviewer"])
        for name, address in [
            ("blincyto-queue", "/web/requests?policy=blincyto"),
            ("blincyto-case", f"/web/requests/{demo['pended']}"),
            ("blincyto-renewal-letter", f"/web/requests/{demo['renewal']}/letter"),
            ("blincyto-denial-letter", f"/web/requests/{demo['denied']}/letter"),
        ]:
            reviewer.goto(server.base + address)
            reviewer.screenshot(path=out / f"{name}.png", full_page=True)
            shots.append(out / f"{name}.png")
        submitter = sign_in(browser, server, demo["submitter"])
        submitter.goto(server.base + "/web/requests/new?policy=blincyto")
        fill_people(submitter, "Avery Demo")
        submitter.get_by_label("What is the patient's date of birth?").fill("2019-11-30")
        submitter.get_by_label(
            "For which setting is blinatumomab requested (relapsed or refractory disease, including consolidation "
            "after re-induction for a relapse; MRD-positive disease in complete remission; consolidation of newly "
            "diagnosed disease; first-line induction; other)?").select_option("mrd_positive")
        submitter.locator("#preview").get_by_text("Needed to decide").wait_for()
        submitter.evaluate("document.activeElement && document.activeElement.blur()")
        submitter.screenshot(path=out / "blincyto-new-request.png", full_page=True)
        shots.append(out / "blincyto-new-request.png")
        browser.close()
    return shots


def fhir_round_trip(server: LiveServer) -> None:
    """CRD order-sign -> DTR package -> PAS $submit for a J9039 order, over HTTP; prints each answer."""
    import httpx

    from priorauth.core import load_policy
    from priorauth.fhir import systems
    from priorauth.fhir.questionnaire import answer_value

    headers = {"Authorization": f"Bearer {server.token('submitter', 'st-olaf-oncology')}"}
    client = httpx.Client(base_url=server.base, headers=headers, timeout=30)
    hook = json.loads((EXAMPLES / "crd-order-sign.json").read_text())
    order = hook["context"]["draftOrders"]["entry"][0]["resource"]
    order["medicationCodeableConcept"] = {"text": "Blincyto", "coding": [
        {"system": systems.HCPCS, "code": "J9039", "display": "Injection, blinatumomab, 1 microgram"}]}
    crd = client.post("/cds-services/priorauth-crd-order-sign", json=hook)
    print("CRD order-sign:", crd.status_code)
    resource = crd.json()["systemActions"][0]["resource"]
    (info,) = [e for e in resource["extension"] if e["url"] == systems.COVERAGE_INFORMATION]
    print(json.dumps(info, indent=2))
    subs = {s["url"]: s for s in info["extension"]}
    questionnaire = subs["questionnaire"]["valueCanonical"]
    parameters = {"resourceType": "Parameters", "parameter": [
        {"name": "coverage", "resource": hook["prefetch"]["coverage"]["entry"][0]["resource"]},
        {"name": "questionnaire", "valueCanonical": questionnaire},
        {"name": "context", "valueString": subs["coverage-assertion-id"]["valueString"]},
    ]}
    dtr = client.post("/fhir/Questionnaire/$questionnaire-package", json=parameters)
    print("DTR $questionnaire-package:", dtr.status_code)
    (package,) = [p for p in dtr.json()["parameter"] if p["name"] == "PackageBundle"]
    entries = package["resource"]["entry"]
    form, prefilled = entries[0]["resource"], entries[2]["resource"]
    print("Questionnaire", form["url"], form["version"], "items:", [i["linkId"] for i in form["item"]])
    print("pre-filled:", json.dumps([(i["linkId"], i["answer"]) for i in prefilled.get("item", [])]))
    policy = load_policy("blincyto").current()
    answers = {"request_type": "initial", "diagnosis": "b_cell_precursor_all", "cd19_positive": True,
               "regimen": "single_agent", "prior_blinatumomab": False, "disease_setting": "relapsed_refractory"}
    done = copy.deepcopy(prefilled)
    done["item"] = [i for i in done.get("item", []) if i["linkId"] not in answers]
    for fact, value in answers.items():
        done["item"].insert(0, {"linkId": fact, "answer": [answer_value(policy, policy.question(fact), value)]})
    done["status"] = "completed"
    bundle = json.loads((EXAMPLES / "pas-submit-complete.json").read_text())
    item = bundle["entry"][0]["resource"]["item"][0]
    item["productOrService"]["coding"] = [{"system": systems.HCPCS, "code": "J9039"}]
    item["quantity"] = {"value": 980}
    bundle["entry"][1]["resource"] = done
    pas = client.post("/fhir/Claim/$submit", json=bundle)
    print("PAS Claim/$submit:", pas.status_code)
    response = pas.json()["entry"][0]["resource"]
    print(json.dumps({k: response.get(k) for k in ("outcome", "preAuthRef", "preAuthPeriod", "processNote")},
                     indent=2))
    adjudication = response["item"][0]["adjudication"][0]
    print(json.dumps(adjudication, indent=2))
    stored = client.get(f"/v1/requests/{response['preAuthRef']}").json()
    print("stored:", stored["status"], json.dumps(stored["determination"]["authorization"]))
    print("on", dt.date.today().isoformat())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    reason = chromium_missing()
    if reason:
        print(f"cannot take screenshots: {reason}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        server = LiveServer(Path(folder)).start()
        try:
            for path in screenshots(server, seed(server), out):
                print(path)
            fhir_round_trip(server)
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
