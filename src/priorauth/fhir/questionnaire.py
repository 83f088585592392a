"""The DTR Questionnaire generated from a policy's fact vocabulary, and a completed
QuestionnaireResponse read back into contract facts.

The Questionnaire of a policy is generated from the version a new request is asked
(`Policy.current()`); its canonical version is that version's effective date.

One item per question: linkId = fact id, type and answer options from the policy
file, enableWhen from the version's relevance (`version.runtime.relevance`). Where the
relevance of a question is not a flat AND or a flat OR of answers, enableWhen shows it
in a superset of the cases and the exact rule is given as an SDC enableWhenExpression
(FHIRPath).
"""

from __future__ import annotations

import copy
import datetime as dt
import html
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from priorauth.core import (
    US_STATES_AND_TERRITORIES,
    Condition,
    Policy,
    PolicyVersion,
    Question,
    Relevance,
    RequestError,
    load_policy,
    validate_facts,
    version_for,
    walk,
)
from priorauth.fhir import cql, systems
from priorauth.fhir.resources import FhirInputError, Issue, invalid, parse

DTR_STD_QUESTIONNAIRE = f"{systems.DTR}/StructureDefinition/dtr-std-questionnaire"
SDC = "http://hl7.org/fhir/uv/sdc/StructureDefinition"
SDC_CODES = "http://hl7.org/fhir/uv/sdc/CodeSystem"
CQF_LIBRARY = "http://hl7.org/fhir/StructureDefinition/cqf-library"
LAUNCH_CONTEXT = f"{SDC}/sdc-questionnaire-launchContext"
INITIAL_EXPRESSION = f"{SDC}/sdc-questionnaire-initialExpression"

# Measurements for dose planning (Section V doses per m2): asked with the facts, not facts.
MEASUREMENTS = {
    "body_height": ("Body height", "8302-2", "cm"),
    "body_weight": ("Body weight", "29463-7", "kg"),
}
MEASUREMENT_GROUP = "dosing_measurements"

_ITEM_TYPE = {
    "boolean": "boolean",
    "choice": "choice",
    "date": "date",
    "string": "string",
    "integer": "integer",
    "number": "decimal",
    "code_list": "open-choice",
    "state": "choice",
}


def asked_version(policy: Policy | PolicyVersion, today: dt.date | None = None) -> PolicyVersion:
    """The version whose questions a new request is asked: the one in force today."""
    return policy.current(today) if isinstance(policy, Policy) else policy


def canonical(version: PolicyVersion) -> str:
    """The versioned canonical URL of the version's Questionnaire (`url|effective date`)."""
    return f"{systems.questionnaire_url(version.id)}|{version.version}"


def _display(value: str) -> str:
    return value.replace("_", " ")


def _code_list_for(version: PolicyVersion, fact: str) -> dict[str, str]:
    """Codes a `codes_in` criterion checks this fact against (the answer suggestions)."""
    for _, node in walk(version.criteria):
        if node.leaf is not None and node.leaf.operator == "codes_in" and node.leaf.argument[0] == fact:
            return version.code_lists[node.leaf.argument[1]].codes
    return {}


def answer_value(policy: PolicyVersion, q: Question, value: Any) -> dict[str, Any]:
    """A fact value as a FHIR answer (value[x]) of the question's item."""
    if q.type == "boolean":
        return {"valueBoolean": value}
    if q.type == "choice":
        return {
            "valueCoding": {"system": systems.answer_system(policy.id, q.id), "code": value, "display": _display(value)}
        }
    if q.type == "state":
        return {"valueCoding": {"system": systems.USPS_STATE, "code": value}}
    if q.type == "date":
        return {"valueDate": value.isoformat() if isinstance(value, dt.date) else value}
    if q.type == "integer":
        return {"valueInteger": value}
    if q.type == "number":
        return {"valueDecimal": value}
    if q.type == "code_list":
        return {"valueCoding": {"system": systems.ICD10CM, "code": value}}
    return {"valueString": value}


def _enable_when_atom(policy: PolicyVersion, c: Condition, value: Any) -> dict[str, Any]:
    q = policy.question(c.fact)
    answer = answer_value(policy, q, value)
    ((key, val),) = answer.items()
    key = "answer" + key.removeprefix("value")
    if isinstance(val, dict):
        val = {k: v for k, v in val.items() if k != "display"}
    return {"question": c.fact, "operator": "!=" if c.negated else "=", key: val}


def _atoms(c: Condition) -> tuple[bool, list[Any]]:
    """(joined by AND?, values): `x != a and x != b`, or `x = a or x = b`."""
    return c.negated, list(c.values)


def _fhirpath(policy: PolicyVersion, rel: Relevance) -> str:
    def cond(c: Condition) -> str:
        q = policy.question(c.fact)
        path = f"%resource.repeat(item).where(linkId='{c.fact}').answer.value"
        if q.type in ("choice", "state"):
            path += ".code"
        parts = []
        for v in c.values:
            literal = ("true" if v else "false") if isinstance(v, bool) else f"'{v}'"
            parts.append(f"{path} {'!=' if c.negated else '='} {literal}")
        return "(" + (" and " if c.negated else " or ").join(parts) + ")"

    assert rel is not None
    return " or ".join("(" + " and ".join(cond(c) for c in conj) + ")" for conj in rel)


def enable_when(policy: PolicyVersion, rel: Relevance) -> dict[str, Any]:
    """enableWhen, enableBehavior and, where they over-approximate, the exact expression."""
    if rel is None:
        return {}
    # Expand to a disjunction of conjunctions of single comparisons.
    disjuncts: list[list[tuple[Condition, Any]]] = [[]]
    for_each = []
    for conj in rel:
        expanded: list[list[tuple[Condition, Any]]] = [[]]
        for c in conj:
            joined_by_and, values = _atoms(c)
            if joined_by_and:
                expanded = [e + [(c, v) for v in values] for e in expanded]
            else:
                expanded = [e + [(c, v)] for e in expanded for v in values]
        for_each.extend(expanded)
    disjuncts = for_each
    out: dict[str, Any] = {}
    if len(disjuncts) == 1:
        atoms = disjuncts[0]
        behavior = "all"
        exact = True
    elif all(len(d) == 1 for d in disjuncts):
        atoms = [d[0] for d in disjuncts]
        behavior = "any"
        exact = True
    else:
        # Show it when the most specific condition of any branch holds: a superset.
        atoms = []
        for d in disjuncts:
            if d[-1] not in atoms:
                atoms.append(d[-1])
        behavior = "any"
        exact = False
    out["enableWhen"] = [_enable_when_atom(policy, c, v) for c, v in atoms]
    if len(atoms) > 1:
        out["enableBehavior"] = behavior
    if not exact:
        out["extension"] = [
            {
                "url": systems.SDC_ENABLE_WHEN_EXPRESSION,
                "valueExpression": {"language": "text/fhirpath", "expression": _fhirpath(policy, rel)},
            }
        ]
    return out


def _bounds(q: Question) -> list[dict[str, Any]]:
    """minValue / maxValue extensions of a numeric question."""
    key = "valueInteger" if q.type == "integer" else "valueDecimal"
    out = []
    for url, bound in ((systems.MIN_VALUE, q.minimum), (systems.MAX_VALUE, q.maximum)):
        if bound is not None:
            out.append({"url": url, key: int(bound) if q.type == "integer" else bound})
    return out


def _item(policy: PolicyVersion, q: Question, rel: Relevance, prefilled: set[str]) -> dict[str, Any]:
    item: dict[str, Any] = {"linkId": q.id, "text": q.text, "type": _ITEM_TYPE[q.type]}
    if q.id == policy.decided_on:
        item["readOnly"] = True  # the day the payer receives the request; not the form's to change
    if q.type == "choice":
        item["answerOption"] = [
            {
                "valueCoding": answer_value(policy, q, v)["valueCoding"],
                **({"initialSelected": True} if v == q.default else {}),
            }
            for v in q.values or []
        ]
    elif q.type == "state":
        item["answerOption"] = [
            {"valueCoding": {"system": systems.USPS_STATE, "code": s}} for s in sorted(US_STATES_AND_TERRITORIES)
        ]
    elif q.type == "code_list":
        item["repeats"] = True
        item["answerOption"] = [
            {"valueCoding": {"system": systems.ICD10CM, "code": code, "display": display}}
            for code, display in _code_list_for(policy, q.id).items()
        ]
    elif q.type in ("integer", "number") and _bounds(q):
        item["extension"] = _bounds(q)
    conditional = enable_when(policy, rel)
    if "extension" in conditional:
        item["extension"] = item.get("extension", []) + conditional.pop("extension")
    if q.id in prefilled:
        initial = {"language": "text/cql", "expression": cql.expression(policy, q.id)}
        item["extension"] = item.get("extension", []) + [{"url": INITIAL_EXPRESSION, "valueExpression": initial}]
    item.update(conditional)
    return item


def _measurement_group() -> dict[str, Any]:
    items = []
    for link_id, (text, loinc, unit) in MEASUREMENTS.items():
        items.append(
            {
                "linkId": link_id,
                "text": f"{text} ({unit})",
                "type": "decimal",
                "code": [{"system": systems.LOINC, "code": loinc, "display": text}],
                "extension": [
                    {"url": systems.QUESTIONNAIRE_UNIT, "valueCoding": {"system": systems.UCUM, "code": unit}}
                ],
            }
        )
    return {
        "linkId": MEASUREMENT_GROUP,
        "text": "Measurements for dose planning (doses are per m2 of body surface area)",
        "type": "group",
        "item": items,
    }


# Questionnaires built, by (policy id, version digest): a version's content never changes.
_BUILT: dict[tuple[str, str], dict[str, Any]] = {}
_BUILT_LOCK = threading.Lock()
_BUILT_MAX = 256


def _questionnaire(policy: PolicyVersion) -> dict[str, Any]:
    key = (policy.id, policy.digest)
    built = _BUILT.get(key) if policy.digest else None
    if built is not None:
        return built
    rel = policy.runtime.relevance
    version = policy.version
    prefilled = set(cql.prefilled_facts(policy))
    items = [_item(policy, q, rel[q.id], prefilled) for q in policy.questions]
    items.append(_measurement_group())
    title = f"{policy.title}: prior authorization questions"
    built = {
        "resourceType": "Questionnaire",
        "id": policy.id,
        "meta": {"profile": [f"{DTR_STD_QUESTIONNAIRE}|{systems.DTR_VERSION}"]},
        "text": {
            "status": "generated",
            "div": (
                f'<div xmlns="http://www.w3.org/1999/xhtml"><p>{html.escape(title)}</p><p>{len(policy.questions)} '
                f"questions of policy {html.escape(policy.metadata.document_number)}, version {version}; answers "
                "the record states are pre-filled by the CQL library.</p></div>"
            ),
        },
        "extension": [
            {"url": CQF_LIBRARY, "valueCanonical": cql.library_canonical(policy)},
            {
                "url": LAUNCH_CONTEXT,
                "extension": [
                    {
                        "url": "name",
                        "valueCoding": {"system": f"{SDC_CODES}/launchContext", "code": "patient"},
                    },
                    {"url": "type", "valueCode": "Patient"},
                    {"url": "description", "valueString": "The patient the request is for"},
                ],
            },
        ],
        "url": systems.questionnaire_url(policy.id),
        "version": version,
        "name": "".join(p.capitalize() for p in policy.id.split("_")) + "PriorAuthorization",
        "title": title,
        "status": "active",
        "subjectType": ["Patient"],
        "date": version,
        "publisher": "priorauth",
        "description": (
            f"The questions of policy {policy.metadata.document_number} (approved "
            f"{policy.metadata.date_approved.isoformat()}); each answer is a fact of the request contract."
        ),
        "item": items,
    }
    if policy.digest:
        with _BUILT_LOCK:
            if len(_BUILT) >= _BUILT_MAX:
                _BUILT.clear()
            _BUILT[key] = built
    return built


def build_questionnaire(policy: str | Policy | PolicyVersion, today: dt.date | None = None) -> dict[str, Any]:
    """The Questionnaire as FHIR JSON (a fresh copy): of the version given, or of the version
    a new request of the policy (given by id or as a Policy) is asked today."""
    source = load_policy(policy) if isinstance(policy, str) else policy
    return copy.deepcopy(_questionnaire(asked_version(source, today)))


# --- QuestionnaireResponse -> facts ------------------------------------------------


def _walk_items(items: list[dict[str, Any]], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for i, item in enumerate(items or []):
        here = f"{path}.item[{i}]"
        yield here, item
        yield from _walk_items(item.get("item") or [], here)
        for j, answer in enumerate(item.get("answer") or []):
            yield from _walk_items(answer.get("item") or [], f"{here}.answer[{j}]")


def _answer_to_value(policy: PolicyVersion, q: Question, answer: dict[str, Any], where: str) -> Any:
    if q.type == "boolean":
        if "valueBoolean" in answer:
            return answer["valueBoolean"]
    elif q.type in ("choice", "state", "code_list"):
        if "valueCoding" in answer:
            coding = answer["valueCoding"]
            expected = {
                "choice": systems.answer_system(policy.id, q.id),
                "state": systems.USPS_STATE,
                "code_list": systems.ICD10CM,
            }[q.type]
            if coding.get("system") not in (None, expected):
                raise invalid(f"{where}.valueCoding.system", f"expected {expected}")
            if "code" in coding:
                return coding["code"]
        if "valueString" in answer:
            return answer["valueString"]
    elif q.type == "date":
        if "valueDate" in answer:
            return answer["valueDate"]
    elif q.type == "integer":
        if "valueInteger" in answer:
            return answer["valueInteger"]
    elif q.type == "number":
        for key in ("valueDecimal", "valueInteger"):
            if key in answer:
                return answer[key]
    elif "valueString" in answer:
        return answer["valueString"]
    expected_type = {
        "boolean": "valueBoolean",
        "date": "valueDate",
        "integer": "valueInteger",
        "number": "valueDecimal",
    }.get(q.type, "valueCoding or valueString" if q.type != "string" else "valueString")
    raise invalid(where, f"expected an answer of type {expected_type} for question {q.id}")


@dataclass
class Answers:
    """What a QuestionnaireResponse says: raw facts, measurements, and where each fact was answered."""

    facts: dict[str, Any] = field(default_factory=dict)
    measurements: dict[str, float] = field(default_factory=dict)
    where: dict[str, str] = field(default_factory=dict)


def response_answers(policy: PolicyVersion, response: dict[str, Any], root: str = "QuestionnaireResponse") -> Answers:
    """The answers of a QuestionnaireResponse that already parsed as FHIR."""
    wanted = systems.questionnaire_url(policy.id)
    given = response.get("questionnaire")
    if given is not None and given.split("|")[0] != wanted:
        raise invalid(f"{root}.questionnaire", f"expected {wanted} (the questionnaire of policy {policy.id})")
    declared = {q.id: q for q in policy.questions}
    raw: dict[str, Any] = {}
    measurements: dict[str, float] = {}
    where_of: dict[str, str] = {}
    for where, item in _walk_items(response.get("item") or [], root):
        link_id = str(item.get("linkId") or "")
        answers = item.get("answer") or []
        if link_id == MEASUREMENT_GROUP:
            continue
        if link_id in MEASUREMENTS:
            if answers and "valueDecimal" in answers[0]:
                measurements[link_id] = float(answers[0]["valueDecimal"])
            continue
        q = declared.get(link_id)
        if q is None:
            raise invalid(f"{where}.linkId", f"not a question of the {policy.id} questionnaire")
        if link_id in raw:
            raise invalid(f"{where}.linkId", "question answered twice")
        if not answers:
            continue
        where_of[link_id] = where
        values = [_answer_to_value(policy, q, a, f"{where}.answer[{k}]") for k, a in enumerate(answers)]
        if q.type == "code_list":
            raw[link_id] = values
        elif len(values) > 1:
            raise invalid(f"{where}.answer", f"question {q.id} takes one answer")
        else:
            raw[link_id] = values[0]
    return Answers(raw, measurements, where_of)


def answered_version(policy: Policy, response: dict[str, Any]) -> PolicyVersion:
    """The version whose Questionnaire a response answers: the one its canonical names
    (`url|version`), else the one a new request is asked."""
    _, _, named = str(response.get("questionnaire") or "").partition("|")
    for version in policy.versions:
        if version.version == named:
            return version
    return policy.current()


def facts_from_response(policy: Policy | PolicyVersion, response: Any) -> dict[str, Any]:
    """Validated contract facts from a completed QuestionnaireResponse (FHIR JSON).

    Given a Policy, the answers are read with the questions of the version the response
    answers and validated under the version in force on their decision date (the version
    that would decide them); given a version, under that version.
    """
    parse(response, "QuestionnaireResponse")
    if isinstance(policy, PolicyVersion):
        answers = response_answers(policy, response)
        return validate_answers(policy, answers.facts, answers.where)
    answers = response_answers(answered_version(policy, response), response)
    deciding = deciding_version(policy, answers.facts, answers.where)
    return validate_answers(deciding, answers.facts, answers.where)


def _answer_error(exc: RequestError, where_of: dict[str, str], root: str) -> FhirInputError:
    fact = exc.field.removeprefix("facts.").split(".")[0].split("[")[0]
    where = where_of.get(fact, f"{root}.item.where(linkId='{fact}')")
    return FhirInputError([Issue(f"{where}.answer", f"{fact}: {exc.problem}")])


def deciding_version(
    policy: Policy, raw: dict[str, Any], where_of: dict[str, str], root: str = "QuestionnaireResponse"
) -> PolicyVersion:
    """The version in force on the answers' decision date; a bad or too early date names its item."""
    try:
        return version_for(policy, raw)
    except RequestError as exc:
        raise _answer_error(exc, where_of, root) from None


def validate_answers(
    policy: PolicyVersion, raw: dict[str, Any], where_of: dict[str, str], root: str = "QuestionnaireResponse"
) -> dict[str, Any]:
    """validate_facts, with problems reported against the answering item."""
    try:
        return validate_facts(policy, raw)
    except RequestError as exc:
        raise _answer_error(exc, where_of, root) from None
