"""The checks the ONC Inferno Da Vinci test kits make of a server's answers, restated in Python.

Each function names the kit test it follows (inferno-framework/davinci-*-test-kit, at the commits in
tests/fhir/examples/third_party/manifest.json) or the guide's StructureDefinition it reads (IG packages
under those kits' lib/*/igs/). No kit code is copied: these are our own assertions of the same rules.
A failed check raises AssertionError naming what is wrong.
"""

from __future__ import annotations

import re
from typing import Any

from priorauth.fhir.resources import FhirInputError, parse

PAS = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition"
REVIEW_ACTION = f"{PAS}/extension-reviewAction"
REVIEW_ACTION_CODE = f"{PAS}/extension-reviewActionCode"
X12_306 = "https://codesystem.x12.org/005010/306"
COVERAGE_INFORMATION = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
# pas_bundle_validation.rb valid_url_or_urn_uuid?
URN_UUID = re.compile(r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.I)
HTTP_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$")


def _references(node: Any, skip: str | None = None) -> list[str]:
    """Every `reference` string in a resource (the kit's check_presence_of_referenced_resources walk)."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == skip:
                continue
            if key == "reference" and isinstance(value, str) and not value.startswith("#"):
                found.append(value)
            else:
                found.extend(_references(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_references(value))
    return found


def _base(full_url: str | None) -> str:
    if not full_url or not full_url.startswith(("http://", "https://")):
        return ""
    return "/".join(full_url.split("/")[:-2])


def pas_response_bundle(bundle: dict[str, Any], version: str, inquiry: bool = False) -> dict[str, Any]:
    """A PAS (inquiry) response Bundle: pas_bundle_validation.rb validate_pa_response_body_structure and
    validate_bundle_entries_full_url, the response Bundle profiles, and pas_claim_response_decision_test.rb
    (the decision on ClaimResponse.item.adjudication.extension). Returns the ClaimResponse."""
    parse(bundle, "Bundle")  # FHIR R4 structure
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection", "a collection Bundle"
    assert bundle.get("timestamp"), "Bundle.timestamp 1.. (profile-pas-response-bundle)"
    if version == "2.2.1" and not inquiry:
        assert bundle.get("identifier", {}).get("value"), "Bundle.identifier 1.. (2.2.1 profile-pas-response-bundle)"
    entries = bundle["entry"]
    for e in entries:
        assert HTTP_URL.match(e.get("fullUrl", "")) or URN_UUID.match(e.get("fullUrl", "")), e.get("fullUrl")
        assert "request" not in e and "response" not in e and "search" not in e
    response = entries[0]["resource"]
    assert response["resourceType"] == "ClaimResponse", "the first entry must be a ClaimResponse"
    # Every reference (but ClaimResponse.request) resolves to exactly one entry, by the last entry's base.
    base = _base(entries[-1].get("fullUrl"))
    for ref in _references(response, skip="request"):
        absolute = ref if ref.startswith(("urn:uuid:", "http://", "https://")) or not base else f"{base}/{ref}"
        assert sum(e.get("fullUrl") == absolute for e in entries) == 1, f"{ref} must appear exactly once"
    assert response["status"] == "active" and response["use"] == "preauthorization"
    assert response.get("patient") and response.get("insurer") and response.get("created")
    allowed = {"complete", "error", "partial"} if version == "2.2.1" else {"queued", "complete", "error", "partial"}
    assert response["outcome"] in allowed, f"outcome {response['outcome']} (ClaimResponseOutcome)"
    if version == "2.2.1":
        assert response.get("request"), "ClaimResponse.request 1.. (2.2.1)"
    for ident in response.get("identifier", []):
        assert ident.get("system") and ident.get("value"), "profile-identifier: system and value 1.."
    notes = {n["number"] for n in response.get("processNote", [])}
    assert len(notes) == len(response.get("processNote", [])), "processNote.number unique"
    sequences = set()
    for item in response["item"]:
        sequences.add(item["itemSequence"])
        assert all(e["url"] != REVIEW_ACTION for e in item.get("extension", [])), "reviewAction is not on item"
        assert set(item.get("noteNumber", [])) <= notes
        review_action_of(item)
    for added in response.get("addItem", []):
        assert set(added["itemSequence"]) <= sequences, "addItem.itemSequence links a requested item"
        review_action_of(added)
    return response


def review_action_of(item: dict[str, Any]) -> str:
    """The X12 306 code of an item's (or addItem's) decision, read where the PAS profile puts it."""
    codes = []
    for adjudication in item["adjudication"]:
        category = adjudication["category"]["coding"]
        assert {"system": "http://terminology.hl7.org/CodeSystem/adjudication", "code": "submitted"} in [
            {k: c.get(k) for k in ("system", "code")} for c in category
        ]
        for ext in adjudication.get("extension", []):
            if ext["url"] != REVIEW_ACTION:
                continue
            for part in ext["extension"]:
                if part["url"] == REVIEW_ACTION_CODE:
                    codes += [c["code"] for c in part["valueCodeableConcept"]["coding"] if c["system"] == X12_306]
    assert len(codes) == 1, f"one X12 306 review action per item, found {codes}"
    return codes[0]


def pas_inquiry_answer(answer: dict[str, Any], version: str) -> list[dict[str, Any]]:
    """$inquire: 2.2.1 answers Parameters of `return` Bundles (server_response_bundle_validation_test.rb);
    2.0.1 a Bundle. Returns the ClaimResponses."""
    if version == "2.2.1":
        assert answer["resourceType"] == "Parameters", "Expected Parameters resource for v2.2.1 inquire response"
        bundles = [p["resource"] for p in answer.get("parameter", [])]
        assert all(p["name"] == "return" for p in answer.get("parameter", []))
    else:
        bundles = [answer]
    return [pas_response_bundle(b, version, inquiry=True) for b in bundles]


def operation_outcome_error(status: int, body: dict[str, Any]) -> None:
    """pas_submission_error_test.rb: not 2xx, and an OperationOutcome."""
    assert not 200 <= status < 300, status
    assert status < 500, status
    assert body["resourceType"] == "OperationOutcome" and body["issue"]
    parse(body, "OperationOutcome")


def coverage_information(resource: dict[str, Any]) -> list[dict[str, list[Any]]]:
    """The coverage-information extensions of a resource, each as url -> values, checked against the CRD 2.0.1
    StructureDefinition (cardinalities, bindings, invariants crd-ci-q1..q5)."""
    out = []
    for ext in resource.get("extension", []):
        if ext.get("url") != COVERAGE_INFORMATION:
            continue
        parts: dict[str, list[Any]] = {}
        for sub in ext["extension"]:
            value = sub.get("extension") or next(v for k, v in sub.items() if k.startswith("value"))
            parts.setdefault(sub["url"], []).append(value)
        for one in ("coverage", "covered", "date", "coverage-assertion-id"):
            assert len(parts.get(one, [])) == 1, f"{one} 1..1"
        assert parts["covered"][0] in ("covered", "not-covered", "conditional")
        for key, codes in (
            ("pa-needed", {"no-auth", "auth-needed", "satisfied", "performpa", "conditional"}),
            ("doc-needed", {"clinical", "admin", "both", "conditional"}),
            ("doc-purpose", {"withpa", "withclaim", "withorder", "retain-doc", "OTH"}),
            ("info-needed", {"performer", "location", "timeframe", "contract-window", "OTH"}),
        ):
            assert set(parts.get(key, [])) <= codes, f"{key} outside its value set"
        assert len(parts.get("pa-needed", [])) <= 1 and len(parts.get("doc-needed", [])) <= 1
        # crd-ci-q1 .. q5
        if "questionnaire" in parts or "response" in parts:
            assert parts.get("doc-needed"), "crd-ci-q1"
        if parts["covered"][0] != "not-covered":
            assert parts.get("pa-needed"), "crd-ci-q2"
        else:
            assert not parts.get("pa-needed"), "crd-ci-q2: not-covered has no pa-needed"
        if "info-needed" in parts:
            assert "conditional" in parts["covered"] + parts.get("pa-needed", []) + parts.get("doc-needed", []), "q3"
        assert ("satisfied" in parts.get("pa-needed", [])) == ("satisfied-pa-id" in parts), "crd-ci-q5"
        for detail in parts.get("detail", []):
            names = [d["url"] for d in detail]
            assert names.count("code") == 1 and names.count("value") == 1, "detail: code 1..1 and value 1..1"
        out.append(parts)
    return out


def hook_response(body: dict[str, Any], hook: str) -> list[dict[str, Any]]:
    """service_response_validation_test.rb and coverage_information_system_action_validation_test.rb:
    `cards` an array, `systemActions` an array on order-sign, each action an `update` with a resource of its
    type that parses, coverage-information valid; the same coverage keeps one assertion id per resource."""
    assert isinstance(body.get("cards"), list)
    actions = body.get("systemActions")
    if hook == "order-sign":
        assert isinstance(actions, list)
    for action in actions or []:
        assert action["type"] == "update" and isinstance(action.get("description"), str)
        resource = action["resource"]
        try:
            parse(resource, resource["resourceType"])
        except FhirInputError as exc:
            # An element the client's draft order lacks (NutritionOrder.intent in the kit's fixture) is echoed
            # as the client sent it; anything else wrong would be this service's doing.
            assert all(i.diagnostics.endswith("is required.") for i in exc.issues), str(exc)
        by_coverage: dict[str, set[str]] = {}
        for info in coverage_information(resource):
            key = repr(info["coverage"][0])
            by_coverage.setdefault(key, set()).add(info["coverage-assertion-id"][0])
            if hook != "order-sign":  # CRD hook-19: secondary hooks ask for no documentation
                assert "doc-needed" not in info and "questionnaire" not in info
        assert all(len(ids) == 1 for ids in by_coverage.values())
    return actions or []


def dtr_package(parameters: dict[str, Any]) -> list[dict[str, Any]]:
    """DTR 2.0.1 dtr-qpackage-output-parameters and DTR-QPackageBundle (dtrb-1: the Questionnaire first),
    and cql_test.rb: each Library has CQL and ELM, the cqf-library canonicals resolve, expressions are CQL
    naming a library of the package. Returns the package Bundles."""
    parse(parameters, "Parameters")
    names = [p["name"] for p in parameters.get("parameter", [])]
    assert set(names) <= {"PackageBundle", "operationOutcome"}, names
    bundles = [p["resource"] for p in parameters["parameter"] if p["name"] == "PackageBundle"]
    for bundle in bundles:
        assert bundle["type"] == "collection"
        questionnaire = bundle["entry"][0]["resource"]
        assert questionnaire["resourceType"] == "Questionnaire", "dtrb-1"
        assert questionnaire.get("text", {}).get("div"), "dtr-std-questionnaire: text 1.."
        assert questionnaire["subjectType"] == ["Patient"]
        libraries = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Library"]
        assert libraries, "No Libraries found."
        urls = set()
        for library in libraries:
            kinds = {c["contentType"] for c in library["content"] if c.get("data")}
            assert {"text/cql", "application/elm+json"} <= kinds, "Library with CQL and ELM"
            urls |= {library["url"], f"{library['url']}|{library.get('version')}"}
        assert len({lib["name"] for lib in libraries}) == len(libraries), "library names unique"
        cqf = [e["valueCanonical"] for e in questionnaire["extension"] if e["url"].endswith("/cqf-library")]
        assert cqf and set(cqf) <= urls, "cqf-library references resolve to the package's Libraries"
        names_ = {lib["name"] for lib in libraries}
        stack = list(questionnaire["item"])
        while stack:
            item = stack.pop()
            stack.extend(item.get("item", []))
            for ext in item.get("extension", []):
                expression = ext.get("valueExpression")
                if expression and ext["url"].endswith("initialExpression"):
                    assert expression["language"] == "text/cql"
                    assert any(expression["expression"].startswith(f'"{n}"') for n in names_)
    return bundles
