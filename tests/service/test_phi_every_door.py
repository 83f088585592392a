"""Issue 14 (Deliver 3): PHI sent through every free-text field of every door never reaches the server log,
an error body or the audit trail's detail.

One real `priorauth serve` per backend (SQLite, PostgreSQL) at debug log level. Every row of PROBES sends
a patient name, birth date, member id and note text, each marked with the row's own code, through one
field of one door: as a valid value, as an invalid one, or as an unknown key. Afterwards the whole log,
every 4xx/5xx body and every audit event's detail are searched for every row's markers; a hit names the
row. To cover a new field, add a row.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from tests.web.live import sign_in

from priorauth.service import Settings, create_token
from priorauth.store.db import Database
from priorauth.store.models import AuditEvent

PRIORAUTH = str(Path(sys.executable).with_name("priorauth"))
FHIR_EXAMPLES = Path(__file__).parent.parent / "fhir" / "examples"


@dataclass(frozen=True)
class Phi:
    """One row's patient details, each carrying the row's code so a leak names the row."""

    code: str
    birth_date: str

    @property
    def name(self) -> str:
        return f"Ysolde Brannigan{self.code}"

    @property
    def member_id(self) -> str:
        return f"MBR{self.code}4471"

    @property
    def note(self) -> str:
        return f"Spoke with {self.name}'s daughter about nausea {self.code}"

    def markers(self) -> list[str]:
        return [f"Brannigan{self.code}", f"MBR{self.code}4471", f"nausea {self.code}", self.birth_date]


@dataclass
class Ctx:
    """What a row needs: an API client, bearer headers, signed-in page clients and a pended request."""

    api: httpx.Client
    headers: dict[str, dict[str, str]]
    web: dict[str, httpx.Client]
    example: Callable[[str], dict]
    pended: dict[str, Any] = field(default_factory=dict)

    def pended_request(self) -> dict[str, Any]:
        """A fresh pended request (id, version) of clinic-a, to add information to or review."""
        body = self.example("pended-comorbidities-unknown")
        body["facts"].pop("request_date", None)
        r = self.api.post("/v1/requests", json=body, headers=self.headers["submitter"])
        assert r.status_code == 201, r.text
        return r.json()

    def csrf(self, role: str) -> str:
        """The session's form token (one per session, on every page)."""
        page = self.web[role].get("/web/requests")
        match = re.search(r'name="csrf" value="([0-9a-f]{32})"', page.text)
        assert match, page.status_code
        return match.group(1)


def _request(ctx: Ctx, phi: Phi, **changes: Any) -> dict:
    body = ctx.example("pended-comorbidities-unknown")
    body["facts"].pop("request_date", None)
    body["facts"]["birth_date"] = phi.birth_date
    body.update(changes)
    return body


def _fhir(name: str) -> dict:
    return json.loads((FHIR_EXAMPLES / f"{name}.json").read_text())


def _pas_bundle(phi: Phi, how: str, example: str = "pas-submit-complete") -> dict:
    bundle = _fhir(example)
    for entry in bundle["entry"]:
        res = entry["resource"]
        if res["resourceType"] == "Patient":
            res["name"] = [{"family": f"Brannigan{phi.code}", "given": ["Ysolde"], "text": phi.name}]
            res["birthDate"] = phi.birth_date if how != "invalid" else phi.name
            if how == "unknown":
                res[phi.name] = phi.note
        elif res["resourceType"] == "Coverage":
            res["subscriberId"] = phi.member_id
        elif res["resourceType"] == "Claim":
            res["identifier"] = [{**res["identifier"][0], "value": f"claim-{phi.code}"}]  # PAS's idempotency key
            res.setdefault("supportingInfo", []).append(
                {"sequence": 99, "category": {"text": "note"}, "valueString": phi.note}
            )
        elif res["resourceType"] == "QuestionnaireResponse":
            for item in res["item"]:
                if item["linkId"] == "birth_date":
                    item["answer"] = [{"valueDate": phi.birth_date if how != "invalid" else phi.note}]
            res["subject"] = {**res.get("subject", {}), "display": phi.name}
            if how == "unknown":  # an answer to no question of the policy
                res["item"].append({"linkId": f"note-{phi.code}", "text": phi.name,
                                    "answer": [{"valueString": phi.note}]})
    return bundle


def _hook(phi: Phi, how: str) -> dict:
    hook = _fhir("crd-order-sign")
    patient = hook["prefetch"]["patient"]
    patient["name"] = [{"family": f"Brannigan{phi.code}", "given": ["Ysolde"], "text": phi.name}]
    patient["birthDate"] = phi.birth_date if how != "invalid" else phi.note
    patient["identifier"] = [{"system": "urn:example:member", "value": phi.member_id}]
    if how == "unknown":
        hook["context"][phi.name] = phi.note
    return hook


def _questionnaire_response(phi: Phi, how: str) -> dict:
    qr = _fhir("questionnaire-response-complete")
    for item in qr["item"]:
        if item["linkId"] == "birth_date":
            item["answer"] = [{"valueDate": phi.birth_date if how != "invalid" else phi.name}]
    qr["subject"] = {**qr.get("subject", {}), "display": phi.name}
    if how == "unknown":
        qr[phi.name] = phi.member_id
        qr["item"].append({"linkId": f"free-text-{phi.code}", "text": phi.note, "answer": [{"valueString": phi.name}]})
    return qr


def _web_form(ctx: Ctx, phi: Phi, how: str) -> httpx.Response:
    facts = ctx.example("pended-comorbidities-unknown")["facts"]
    facts.pop("request_date", None)
    values = {k: ("true" if v else "false") if isinstance(v, bool) else ", ".join(v) if isinstance(v, list)
              else str(v) for k, v in facts.items()}
    values.update(birth_date=phi.birth_date if how != "invalid" else phi.name, patient_name=phi.name,
                  member_id=phi.member_id, prescriber_name=f"Dr {phi.name}", prescriber_npi="1234567893",
                  contact_name=phi.name, contact_phone="555 0100",
                  contact_email=f"brannigan{phi.code}@example.org", policy="besponsa", action="submit",
                  csrf=ctx.csrf("submitter"))
    if how == "unknown":
        values[phi.name] = phi.note
    return ctx.web["submitter"].post("/web/requests", data=values, follow_redirects=False)


def _web_review(ctx: Ctx, phi: Phi, how: str) -> httpx.Response:
    stored = ctx.pended_request()
    path = f"/web/requests/{stored['id']}"
    form = {"csrf": ctx.csrf("reviewer"), "note": phi.note, "action": "deny",
            "expected_version": str(stored["version"])}
    if how == "invalid":
        form.update(action=phi.name, mod_start=phi.birth_date, mod_max_units=phi.member_id)
    if how == "unknown":
        form[phi.name] = phi.member_id
    return ctx.web["reviewer"].post(path + "/review", data=form, follow_redirects=False)


def _web_information(ctx: Ctx, phi: Phi, how: str) -> httpx.Response:
    stored = ctx.pended_request()
    path = f"/web/requests/{stored['id']}"
    form = {"csrf": ctx.csrf("submitter"), "expected_version": str(stored["version"]),
            "substantial_comorbidities": "false", "note": phi.note}
    if how == "invalid":
        form["substantial_comorbidities"] = phi.name
    if how == "unknown":
        form[phi.name] = phi.member_id
    return ctx.web["submitter"].post(path + "/information", data=form, follow_redirects=False)


def _rest_review(ctx: Ctx, phi: Phi, how: str) -> httpx.Response:
    stored = ctx.pended_request()
    body: dict[str, Any] = {"action": "deny", "note": phi.note, "expected_version": stored["version"]}
    if how == "invalid":
        body.update(action=phi.name, modification={"start": phi.birth_date, "note": phi.member_id})
    if how == "unknown":
        body[phi.name] = phi.member_id
    return ctx.api.post(f"/v1/requests/{stored['id']}/review", json=body, headers=ctx.headers["reviewer"])


def _earlier_day() -> str:
    return (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=5)).isoformat()


def _rest_backdate(ctx: Ctx, phi: Phi, how: str) -> httpx.Response:
    stored = ctx.pended_request()
    body: dict[str, Any] = {"request_date": _earlier_day(), "note": phi.note, "expected_version": stored["version"]}
    if how == "invalid":
        body["request_date"] = phi.name
    if how == "unknown":
        body[phi.name] = phi.member_id
    return ctx.api.post(f"/v1/requests/{stored['id']}/request-date", json=body, headers=ctx.headers["reviewer"])


def _web_backdate(ctx: Ctx, phi: Phi, how: str) -> httpx.Response:
    stored = ctx.pended_request()
    form = {"csrf": ctx.csrf("reviewer"), "expected_version": str(stored["version"]),
            "request_date": _earlier_day() if how != "invalid" else phi.name, "backdate_note": phi.note}
    if how == "unknown":
        form[phi.name] = phi.member_id
    return ctx.web["reviewer"].post(f"/web/requests/{stored['id']}/request-date", data=form, follow_redirects=False)


def _rest_information(ctx: Ctx, phi: Phi, how: str) -> httpx.Response:
    stored = ctx.pended_request()
    body: dict[str, Any] = {"facts": {"substantial_comorbidities": False, "birth_date": phi.birth_date},
                            "expected_version": stored["version"]}
    if how == "invalid":
        body["facts"] = {"substantial_comorbidities": phi.name, "birth_date": phi.note}
    if how == "unknown":
        body["facts"][phi.name] = phi.member_id
        body["note"] = phi.note
    return ctx.api.post(f"/v1/requests/{stored['id']}/information", json=body, headers=ctx.headers["submitter"])


def _rest_submit(part: str) -> Callable[[Ctx, Phi, str], httpx.Response]:
    """POST /v1/requests with PHI in `part`: patient, prescriber, contact (helper C's fields), facts or dosing."""

    def send(ctx: Ctx, phi: Phi, how: str) -> httpx.Response:
        people = {
            "patient": {"name": phi.name, "member_id": phi.member_id},
            "prescriber": {"name": phi.name, "npi": "1234567893"},
            "contact": {"name": phi.name, "phone": "555 0100", "email": f"brannigan{phi.code}@example.org"},
        }
        body = _request(ctx, phi)
        if part in people:
            value = people[part]
            if how == "invalid":
                value = {**value, "name": [phi.name], list(value)[1]: {"x": phi.note}}
            if how == "unknown":
                value = {**value, phi.name: phi.note}
            body[part] = value
        elif part == "facts":
            if how == "invalid":
                body["facts"]["birth_date"] = phi.name
                body["facts"]["diagnosis"] = phi.note
            if how == "unknown":
                body["facts"][phi.name] = phi.birth_date
        elif part == "body":
            body[phi.name] = {"member": phi.member_id, "note": phi.note}
        return ctx.api.post("/v1/requests", json=body, headers={**ctx.headers["submitter"],
                                                                  "Idempotency-Key": f"key-{phi.code}"})

    return send


def _rest_evaluate(ctx: Ctx, phi: Phi, how: str) -> httpx.Response:
    body = _request(ctx, phi)
    body.pop("urgency", None)
    if how == "invalid":
        body["facts"]["birth_date"] = phi.name
    if how == "unknown":
        body["facts"][phi.name] = phi.note
        body[phi.member_id] = phi.note
    return ctx.api.post("/v1/evaluate", json=body, headers=ctx.headers["submitter"])


def _rest_filters(ctx: Ctx, phi: Phi, how: str) -> httpx.Response:
    params = {"submitter": phi.name, "policy": phi.member_id}
    if how == "invalid":
        params = {"status": phi.name, "due_before": phi.birth_date + "T" + phi.note}
    return ctx.api.get("/v1/requests", params=params, headers=ctx.headers["reviewer"])


def _web_queue(ctx: Ctx, phi: Phi, how: str) -> httpx.Response:
    params = {"submitter": phi.name} if how == "valid" else {"status": phi.name, "page": phi.member_id}
    return ctx.web["reviewer"].get("/web/requests", params=params)


def _web_signin(ctx: Ctx, phi: Phi, how: str) -> httpx.Response:
    with httpx.Client(base_url=str(ctx.api.base_url), timeout=10) as stranger:
        return sign_in(stranger, f"pa_{phi.name} {phi.member_id} {phi.birth_date}")


def _pas(ctx: Ctx, phi: Phi, how: str) -> httpx.Response:
    return ctx.api.post("/fhir/Claim/$submit", json=_pas_bundle(phi, how), headers=ctx.headers["submitter"])


def _pas_inquire(ctx: Ctx, phi: Phi, how: str) -> httpx.Response:
    bundle = _pas_bundle(phi, how, "pas-inquire")
    return ctx.api.post("/fhir/Claim/$inquire", json=bundle, headers=ctx.headers["submitter"])


def _cds(ctx: Ctx, phi: Phi, how: str) -> httpx.Response:
    hook = _hook(phi, how)
    return ctx.api.post("/cds-services/priorauth-crd-order-sign", json=hook, headers=ctx.headers["submitter"])


def _dtr_facts(ctx: Ctx, phi: Phi, how: str) -> httpx.Response:
    return ctx.api.post("/fhir/QuestionnaireResponse/$facts", json=_questionnaire_response(phi, how),
                        headers=ctx.headers["submitter"])


def _dtr_package(ctx: Ctx, phi: Phi, how: str) -> httpx.Response:
    params = _fhir("dtr-package-parameters")
    text = json.dumps(params).replace("Example", f"Brannigan{phi.code}").replace("1970-05-14", phi.birth_date)
    params = json.loads(text)
    params.setdefault("parameter", []).append({"name": phi.name, "valueString": phi.note})
    return ctx.api.post("/fhir/Questionnaire/$questionnaire-package", json=params, headers=ctx.headers["submitter"])


@dataclass(frozen=True)
class Probe:
    """One free-text field of one door: `send(ctx, phi, how)` for each way in `hows`.

    "valid" data may be stored and shown to the caller; "invalid" and "unknown" must be refused without
    echoing it, except on a page form re-shown to its own author to correct (`reshows_form`)."""

    door: str
    field: str
    send: Callable[[Ctx, Phi, str], httpx.Response]
    hows: tuple[str, ...] = ("valid", "invalid", "unknown")
    reshows_form: bool = False


HOWS = ("valid", "invalid", "unknown")
PROBES = [Probe(*row[:4]) if len(row) == 4 else Probe(*row) for row in [
    ("rest", "POST /v1/requests patient", _rest_submit("patient"), HOWS),
    # Helper C's prescriber and contact: accepted once the REST body takes them, refused (unechoed) before.
    ("rest", "POST /v1/requests prescriber", _rest_submit("prescriber"), HOWS),
    ("rest", "POST /v1/requests contact", _rest_submit("contact"), HOWS),
    ("rest", "POST /v1/requests facts", _rest_submit("facts"), HOWS),
    ("rest", "POST /v1/requests unknown top-level key", _rest_submit("body"), ("unknown",)),
    ("rest", "POST /v1/evaluate facts", _rest_evaluate, HOWS),
    ("rest", "POST /v1/requests/{id}/review note", _rest_review, HOWS),
    ("rest", "POST /v1/requests/{id}/information", _rest_information, HOWS),
    ("rest", "POST /v1/requests/{id}/request-date note", _rest_backdate, HOWS),
    ("rest", "GET /v1/requests filters", _rest_filters, ("valid", "invalid")),
    ("web", "POST /web/requests form", _web_form, HOWS, True),
    ("web", "POST /web/requests/{id}/review note", _web_review, HOWS, True),
    ("web", "POST /web/requests/{id}/information", _web_information, HOWS, True),
    ("web", "POST /web/requests/{id}/request-date note", _web_backdate, HOWS, True),
    ("web", "GET /web/requests filters", _web_queue, ("valid", "invalid")),
    ("web", "POST /web/signin token and next", _web_signin, ("invalid",)),
    ("fhir", "PAS Claim/$submit names, notes, answers", _pas, HOWS),
    ("fhir", "PAS Claim/$inquire", _pas_inquire, ("valid", "unknown")),
    ("fhir", "CDS Hooks order-sign prefetch", _cds, HOWS),
    ("fhir", "DTR QuestionnaireResponse/$facts answers", _dtr_facts, HOWS),
    ("fhir", "DTR $questionnaire-package", _dtr_package, ("valid",)),
]]


def _code(n: int) -> str:
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    return "Zq" + letters[n // len(letters)] + letters[n % len(letters)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(url: str, log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with open(log, "ab") as out:
        command = [PRIORAUTH, "serve", "--port", str(port), "--database-url", url, "--log-level", "debug"]
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    for _ in range(300):
        try:
            if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not become ready")


def test_phi_in_every_free_text_field_stays_out_of_logs_errors_and_the_audit_trail(database_url, tmp_path):
    db = Database.open(database_url, Settings(database_url=database_url))
    with db.session() as s:
        secrets = {
            "submitter": create_token(s, "submitter", "clinic-a").secret,
            "reviewer": create_token(s, "reviewer", "plan").secret,
        }
    log = tmp_path / "server.log"
    proc, base = _serve(database_url, log)

    def example(name: str) -> dict:
        return copy.deepcopy(json.loads((resources.files("priorauth") / "examples" / f"{name}.json").read_text()))

    sent: list[tuple[str, Phi, str, int, str, bool]] = []  # (row, phi, how, status, body, reshows_form)
    try:
        with (httpx.Client(base_url=base, timeout=20) as api, httpx.Client(base_url=base, timeout=20) as sub_web,
              httpx.Client(base_url=base, timeout=20) as rev_web):
            assert sign_in(sub_web, secrets["submitter"]).status_code == 303
            assert sign_in(rev_web, secrets["reviewer"]).status_code == 303
            ctx = Ctx(api, {r: {"Authorization": f"Bearer {t}"} for r, t in secrets.items()},
                      {"submitter": sub_web, "reviewer": rev_web}, example)
            n = 0
            for probe in PROBES:
                for how in probe.hows:
                    phi = Phi(_code(n), (dt.date(1921, 2, 3) + dt.timedelta(days=401 * n)).isoformat())
                    n += 1
                    r = probe.send(ctx, phi, how)
                    row = f"{probe.door}: {probe.field} ({how})"
                    sent.append((row, phi, how, r.status_code, r.text, probe.reshows_form))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    output = log.read_text()
    with db.session() as s:
        details = [json.dumps(e.detail) for e in s.execute(select(AuditEvent)).scalars()]
    db.dispose()
    trail = "\n".join(details)

    leaks, server_errors = [], []
    for row, phi, _how, status, body, reshows_form in sent:
        if status >= 500:
            server_errors.append(f"{row}: {status}")
        for marker in phi.markers():
            if marker in output:
                leaks.append(f"{row}: {marker!r} in the server log")
            if marker in trail:
                leaks.append(f"{row}: {marker!r} in the audit trail's detail")
            if status >= 400 and marker in body and not reshows_form:
                leaks.append(f"{row}: {marker!r} echoed in the {status} error body")
    assert not leaks, "\n".join(leaks)
    assert not server_errors, server_errors
    assert "Traceback" not in output
    backdated = [(row, status) for row, _, how, status, _, _ in sent if "request-date" in row and how == "valid"]
    assert len(backdated) == 2 and all(status in (200, 303) for _, status in backdated), backdated
    # The rows did reach the doors: valid submissions were stored, and each door refused bad input.
    statuses = {row: status for row, _, _, status, _, _ in sent}
    assert statuses["rest: POST /v1/requests patient (valid)"] == 201
    assert statuses["rest: POST /v1/requests/{id}/review note (valid)"] == 200
    assert statuses["web: POST /web/requests form (valid)"] == 303
    assert statuses["web: POST /web/requests/{id}/review note (valid)"] in (200, 303)
    assert statuses["fhir: CDS Hooks order-sign prefetch (valid)"] == 200
    assert statuses["fhir: PAS Claim/$submit names, notes, answers (valid)"] == 200
    assert statuses["fhir: DTR QuestionnaireResponse/$facts answers (valid)"] == 200
    assert statuses["rest: POST /v1/requests contact (valid)"] == 201
    assert statuses["rest: POST /v1/requests/{id}/information (valid)"] == 200
    assert all(400 <= statuses[row] < 500 for row in statuses if row.endswith("(unknown)") and row.startswith("rest"))
    assert "Brannigan" in "".join(body for _, _, how, status, body, _ in sent if how == "valid" and status < 300)
