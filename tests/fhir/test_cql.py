"""The DTR Library's ELM, run by the reference CQL engine (npm cql-execution with cql-exec-fhir) over a
patient's record, pre-fills what the service's own pre-fill says: the same answers from the same data.

The engine is installed with `npm ci` into tests/fhir/cql (package-lock.json pins it); the test is
skipped, saying why, when Node.js is missing or the npm registry cannot be reached.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json

import pytest
from cql_engine import run_elm

from priorauth.core import load_policy
from priorauth.fhir import cql

PACKAGE = "/fhir/Questionnaire/$questionnaire-package"
VERSION = load_policy("besponsa").current()


def as_answers(results: dict) -> dict:
    """The engine's values of the pre-filling definitions, as QuestionnaireResponse answer values."""
    out = {}
    for fact in cql.prefilled_facts(VERSION):
        value = results.get(fact)
        if value is None or value == []:
            continue
        values = value if isinstance(value, list) else [value]
        out[fact] = [v["code"] if isinstance(v, dict) else v for v in values]
    return out


def service_answers(client, headers, coverage: dict, record: list[dict]) -> tuple[dict, dict]:
    """The service's pre-filled answers for the same record, and the Library of the package."""
    parameters = {
        "resourceType": "Parameters",
        "parameter": [{"name": "coverage", "resource": coverage}, {"name": "questionnaire", "valueCanonical": cql_q()}]
        + [{"name": "referenced", "resource": r} for r in record if r["resourceType"] != "Coverage"],
    }
    r = client.post(PACKAGE, json=parameters, headers=headers)
    assert r.status_code == 200, r.text
    (package,) = [p["resource"] for p in r.json()["parameter"] if p["name"] == "PackageBundle"]
    questionnaire, library, response = (e["resource"] for e in package["entry"])
    answers = {}
    for item in response.get("item", []):
        for a in item.get("answer", []):
            value = next(v for k, v in a.items() if k.startswith("value"))
            answers.setdefault(item["linkId"], []).append(value["code"] if isinstance(value, dict) else value)
    return {k: v for k, v in answers.items() if k in cql.prefilled_facts(VERSION)}, library


def cql_q() -> str:
    return f"http://priorauth.example.org/fhir/Questionnaire/{VERSION.id}|{VERSION.version}"


def record_of(fhir_example) -> tuple[dict, list[dict]]:
    parameters = fhir_example("dtr-package-parameters")
    coverage = next(p["resource"] for p in parameters["parameter"] if p["name"] == "coverage")
    record = [p["resource"] for p in parameters["parameter"] if p["name"] in ("patient", "condition", "observation")]
    return coverage, [coverage, *record]


def the_library_elm(library: dict) -> dict:
    (content,) = [c for c in library["content"] if c["contentType"] == "application/elm+json"]
    return json.loads(base64.b64decode(content["data"]))


def test_the_elm_prefills_what_the_service_prefills(engine, client, auth, fhir_example, tmp_path):
    coverage, record = record_of(fhir_example)
    expected, library = service_answers(client, auth("submitter"), coverage, record)
    results = run_elm(engine, the_library_elm(library), record, tmp_path)
    assert as_answers(results) == expected
    assert expected == {
        "request_date": [dt.date.today().isoformat()],
        "birth_date": ["1970-05-14"],
        "icd10_codes": ["C91.02"],
        "line_of_business": ["commercial"],
        "member_state": ["OR"],
    }


def _set_state(record, state):
    record[1]["address"][0]["state"] = state


def _undotted_and_resolved(record):
    condition = next(r for r in record if r["resourceType"] == "Condition")
    extra = copy.deepcopy(condition)
    condition["code"]["coding"][0]["code"] = "c9100"
    extra["clinicalStatus"] = {"coding": [{"code": "resolved"}]}
    extra["code"]["coding"][0]["code"] = "C83.50"
    record.append(extra)


def _medicare(record):
    record[0]["type"]["coding"][0]["code"] = "121"


def _moved(record):
    home = record[1]["address"][0]
    record[1]["address"] = [
        {**home, "period": {"end": "2020-01-01"}},
        {"use": "home", "state": "WA", "district": "King County"},
    ]


def _no_record(record):
    del record[1]["birthDate"]
    record[1]["address"] = []
    record[0]["type"] = {"text": "unknown plan"}
    for r in [r for r in record if r["resourceType"] == "Condition"]:
        r["verificationStatus"] = {"coding": [{"code": "refuted"}]}


@pytest.mark.parametrize(
    "change",
    [
        lambda r: _set_state(r, "or"),
        lambda r: _set_state(r, "Oregon"),
        _undotted_and_resolved,
        _medicare,
        _moved,
        _no_record,
    ],
    ids=["lower-case state", "state name", "undotted code and resolved condition", "medicare", "moved", "no record"],
)
def test_the_elm_and_the_service_agree_on_variants_of_the_record(engine, client, auth, fhir_example, tmp_path, change):
    coverage, record = record_of(fhir_example)
    change(record)
    expected, library = service_answers(client, auth("submitter"), record[0], record)
    assert as_answers(run_elm(engine, the_library_elm(library), record, tmp_path)) == expected


def test_the_questionnaire_names_the_library_and_its_definitions(client):
    questionnaire = client.get(f"/fhir/Questionnaire/{VERSION.id}").json()
    assert {
        "url": "http://hl7.org/fhir/StructureDefinition/cqf-library",
        "valueCanonical": cql.library_canonical(VERSION),
    } in questionnaire["extension"]
    text = cql.cql_text(VERSION)
    initial = {}
    for item in questionnaire["item"]:
        for ext in item.get("extension", []):
            if ext["url"].endswith("sdc-questionnaire-initialExpression"):
                initial[item["linkId"]] = ext["valueExpression"]
    assert set(initial) == set(cql.prefilled_facts(VERSION))
    for fact, expression in initial.items():
        assert expression["language"] == "text/cql"
        assert expression["expression"] == f'"{cql.library_name(VERSION)}"."{fact}"'
        assert f'define "{fact}":' in text
    elm_names = [s["name"] for s in cql.elm(VERSION)["library"]["statements"]["def"]]
    assert elm_names == ["Patient", *(d.name for d in cql.definitions(VERSION))]
