"""The DTR pre-population Library of a policy version: CQL text and its ELM (JSON), generated together
from the version's questions and the FHIR data each question is read from.

No CQL-to-ELM translator is used: each definition is built once as a small expression tree that
renders both as CQL and as ELM, so the two cannot disagree. The FHIR readings are those the
service's own pre-fill applies (`priorauth.fhir.prefill`), written in CQL over FHIR R4 without
helper libraries (primitive values through `.value`):

- the decision date (`decided_on`): the day the form is filled, `Today()`;
- `birth_date`: Patient.birthDate;
- `member_state`, `member_county`: the current home address (state as a USPS code);
- `icd10_codes`: ICD-10-CM codes of the Conditions that are not inactive, resolved or refuted;
- `line_of_business`: the Source of Payment Typology code of the Coverage (1 Medicare, 2 Medicaid,
  5 and 6 commercial), among the question's values;
- a question with a `default` falls back to it.

Choice answers are CQL Codes in the answer system of the question, so a DTR client can match them
to the Questionnaire's answer options.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from priorauth.core import US_STATES_AND_TERRITORIES, PolicyVersion, Question
from priorauth.fhir import systems

FHIR_VERSION = "4.0.1"
ELM_TYPES = "urn:hl7-org:elm-types:r1"
RESERVED = {"end", "start", "div", "display", "contains", "in", "properly", "from", "where", "return", "all", "sort"}


# --- a small expression tree rendering CQL and ELM ------------------------------------------------


class Expr:
    def cql(self) -> str:
        raise NotImplementedError

    def elm(self) -> dict[str, Any]:
        raise NotImplementedError


def _cql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True)
class Lit(Expr):
    value: str | int | bool | None

    def cql(self) -> str:
        if self.value is None:
            return "null"
        if isinstance(self.value, bool):
            return "true" if self.value else "false"
        if isinstance(self.value, int):
            return str(self.value)
        return _cql_string(self.value)

    def elm(self) -> dict[str, Any]:
        if self.value is None:
            return {"type": "Null"}
        kind = "Boolean" if isinstance(self.value, bool) else "Integer" if isinstance(self.value, int) else "String"
        text = str(self.value).lower() if isinstance(self.value, bool) else str(self.value)
        return {"type": "Literal", "valueType": f"{{{ELM_TYPES}}}{kind}", "value": text}


@dataclass(frozen=True)
class Ref(Expr):
    """A definition of this library (ExpressionRef)."""

    name: str

    def cql(self) -> str:
        return self.name if self.name == "Patient" else f'"{self.name}"'

    def elm(self) -> dict[str, Any]:
        return {"type": "ExpressionRef", "name": self.name}


@dataclass(frozen=True)
class Alias(Expr):
    name: str

    def cql(self) -> str:
        return self.name

    def elm(self) -> dict[str, Any]:
        return {"type": "AliasRef", "name": self.name}


@dataclass(frozen=True)
class Prop(Expr):
    source: Expr
    path: str

    def cql(self) -> str:
        path = f'"{self.path}"' if self.path in RESERVED else self.path
        return f"{self.source.cql()}.{path}"

    def elm(self) -> dict[str, Any]:
        if isinstance(self.source, Alias):
            return {"type": "Property", "path": self.path, "scope": self.source.name}
        return {"type": "Property", "path": self.path, "source": self.source.elm()}


@dataclass(frozen=True)
class Retrieve(Expr):
    resource: str

    def cql(self) -> str:
        return f"[{self.resource}]"

    def elm(self) -> dict[str, Any]:
        return {
            "type": "Retrieve",
            "dataType": f"{{http://hl7.org/fhir}}{self.resource}",
            "templateId": f"http://hl7.org/fhir/StructureDefinition/{self.resource}",
        }


# (ELM type, CQL infix operator) of the binary operators used
_BINARY = {"Equal": "=", "And": "and", "Or": "or", "In": "in", "Concatenate": "+", "Less": "<", "Greater": ">"}
# (ELM type, CQL function) of the unary operators used, and whether ELM names the operand `source`
_UNARY = {
    "Not": ("not", "operand"),
    "Exists": ("exists", "operand"),
    "IsNull": ("is null", "operand"),
    "First": ("First", "source"),
    "Flatten": ("Flatten", "operand"),
    "Upper": ("Upper", "operand"),
    "Length": ("Length", "operand"),
    "SingletonFrom": ("singleton from", "operand"),
}


@dataclass(frozen=True)
class Binary(Expr):
    op: str
    left: Expr
    right: Expr

    def cql(self) -> str:
        return f"({self.left.cql()} {_BINARY[self.op]} {self.right.cql()})"

    def elm(self) -> dict[str, Any]:
        return {"type": self.op, "operand": [self.left.elm(), self.right.elm()]}


@dataclass(frozen=True)
class Unary(Expr):
    op: str
    operand: Expr

    def cql(self) -> str:
        word, _ = _UNARY[self.op]
        if self.op == "IsNull":
            return f"({self.operand.cql()} is null)"
        if word[0].isupper():
            return f"{word}({self.operand.cql()})"
        return f"({word} {self.operand.cql()})"

    def elm(self) -> dict[str, Any]:
        _, key = _UNARY[self.op]
        return {"type": self.op, key: self.operand.elm()}


@dataclass(frozen=True)
class ListOf(Expr):
    elements: tuple[Expr, ...]

    def cql(self) -> str:
        return "{" + ", ".join(e.cql() for e in self.elements) + "}"

    def elm(self) -> dict[str, Any]:
        return {"type": "List", "element": [e.elm() for e in self.elements]}


@dataclass(frozen=True)
class Coalesce(Expr):
    operands: tuple[Expr, ...]

    def cql(self) -> str:
        return f"Coalesce({', '.join(o.cql() for o in self.operands)})"

    def elm(self) -> dict[str, Any]:
        return {"type": "Coalesce", "operand": [o.elm() for o in self.operands]}


@dataclass(frozen=True)
class If(Expr):
    condition: Expr
    then: Expr
    otherwise: Expr

    def cql(self) -> str:
        return f"(if {self.condition.cql()} then {self.then.cql()} else {self.otherwise.cql()})"

    def elm(self) -> dict[str, Any]:
        return {"type": "If", "condition": self.condition.elm(), "then": self.then.elm(), "else": self.otherwise.elm()}


@dataclass(frozen=True)
class Case(Expr):
    comparand: Expr
    items: tuple[tuple[Expr, Expr], ...]
    otherwise: Expr

    def cql(self) -> str:
        whens = " ".join(f"when {w.cql()} then {t.cql()}" for w, t in self.items)
        return f"(case {self.comparand.cql()} {whens} else {self.otherwise.cql()} end)"

    def elm(self) -> dict[str, Any]:
        return {
            "type": "Case",
            "comparand": self.comparand.elm(),
            "caseItem": [{"when": w.elm(), "then": t.elm()} for w, t in self.items],
            "else": self.otherwise.elm(),
        }


@dataclass(frozen=True)
class Substring(Expr):
    string: Expr
    start: int
    length: int | None = None

    def cql(self) -> str:
        tail = f", {self.length}" if self.length is not None else ""
        return f"Substring({self.string.cql()}, {self.start}{tail})"

    def elm(self) -> dict[str, Any]:
        out = {"type": "Substring", "stringToSub": self.string.elm(), "startIndex": Lit(self.start).elm()}
        if self.length is not None:
            out["length"] = Lit(self.length).elm()
        return out


@dataclass(frozen=True)
class PositionOf(Expr):
    pattern: Expr
    string: Expr

    def cql(self) -> str:
        return f"PositionOf({self.pattern.cql()}, {self.string.cql()})"

    def elm(self) -> dict[str, Any]:
        return {"type": "PositionOf", "pattern": self.pattern.elm(), "string": self.string.elm()}


@dataclass(frozen=True)
class CodeOf(Expr):
    """A System.Code in `system`."""

    code: Expr
    system: str

    def cql(self) -> str:
        return f"Code {{ code: {self.code.cql()}, system: {_cql_string(self.system)} }}"

    def elm(self) -> dict[str, Any]:
        return {
            "type": "Instance",
            "classType": f"{{{ELM_TYPES}}}Code",
            "element": [
                {"name": "code", "value": self.code.elm()},
                {"name": "system", "value": Lit(self.system).elm()},
            ],
        }


@dataclass(frozen=True)
class Today(Expr):
    def cql(self) -> str:
        return "Today()"

    def elm(self) -> dict[str, Any]:
        return {"type": "Today"}


@dataclass(frozen=True)
class Query(Expr):
    """`(source) alias [where ...] [return [all] ...]`."""

    source: Expr
    alias: str
    where: Expr | None = None
    returns: Expr | None = None
    distinct: bool = True

    def cql(self) -> str:
        text = f"({self.source.cql()}) {self.alias}"
        if self.where is not None:
            text += f" where {self.where.cql()}"
        if self.returns is not None:
            text += f" return {'' if self.distinct else 'all '}{self.returns.cql()}"
        return f"({text})"

    def elm(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "Query",
            "source": [{"alias": self.alias, "expression": self.source.elm()}],
            "relationship": [],
        }
        if self.where is not None:
            out["where"] = self.where.elm()
        if self.returns is not None:
            out["return"] = {"distinct": self.distinct, "expression": self.returns.elm()}
        return out


def value(expr: Expr) -> Expr:
    """The CQL value of a FHIR primitive."""
    return Prop(expr, "value")


def in_strings(expr: Expr, values: list[str]) -> Expr:
    return Binary("In", expr, ListOf(tuple(Lit(v) for v in values)))


# --- the definitions of a version -----------------------------------------------------------


@dataclass(frozen=True)
class Definition:
    name: str
    expression: Expr
    fact: str | None = None  # the question it pre-fills


def _home_address() -> Definition:
    current = Query(
        Prop(Ref("Patient"), "address"), "A", Unary("IsNull", value(Prop(Prop(Alias("A"), "period"), "end")))
    )
    home = Query(
        current,
        "H",
        Binary(
            "Or", Binary("Equal", value(Prop(Alias("H"), "use")), Lit("home")), Unary("IsNull", Prop(Alias("H"), "use"))
        ),
    )
    return Definition("Home Address", Coalesce((Unary("First", home), Unary("First", current))))


def _current_conditions() -> Definition:
    def none_of(alias: str, element: str, codes: list[str]) -> Expr:
        coding = Query(
            Prop(Prop(Alias("C"), element), "coding"), alias, in_strings(value(Prop(Alias(alias), "code")), codes)
        )
        return Unary("Not", Unary("Exists", coding))

    where = Binary(
        "And",
        none_of("S", "clinicalStatus", ["inactive", "resolved"]),
        none_of("V", "verificationStatus", ["refuted", "entered-in-error"]),
    )
    return Definition("Current Conditions", Query(Retrieve("Condition"), "C", where))


def _icd10_codes(fact: str) -> list[Definition]:
    codings = Query(
        Unary("Flatten", Query(Ref("Current Conditions"), "C", None, Prop(Prop(Alias("C"), "code"), "coding"), False)),
        "X",
        Binary(
            "And",
            Binary("Equal", value(Prop(Alias("X"), "system")), Lit(systems.ICD10CM)),
            Unary("Not", Unary("IsNull", value(Prop(Alias("X"), "code")))),
        ),
        Unary("Upper", value(Prop(Alias("X"), "code"))),
    )
    # C9102 -> C91.02: the dot after the category, as the service normalises codes.
    dotted = If(
        Binary(
            "And",
            Binary("Less", PositionOf(Lit("."), Alias("U")), Lit(0)),
            Binary("Greater", Unary("Length", Alias("U")), Lit(3)),
        ),
        Binary("Concatenate", Binary("Concatenate", Substring(Alias("U"), 0, 3), Lit(".")), Substring(Alias("U"), 3)),
        Alias("U"),
    )
    return [
        Definition("ICD-10-CM Codes", codings),
        Definition(fact, Query(Ref("ICD-10-CM Codes"), "U", None, CodeOf(dotted, systems.ICD10CM)), fact),
    ]


def _state(fact: str) -> Definition:
    state = Unary("Upper", value(Prop(Ref("Home Address"), "state")))
    return Definition(
        fact,
        If(in_strings(state, sorted(US_STATES_AND_TERRITORIES)), CodeOf(state, systems.USPS_STATE), Lit(None)),
        fact,
    )


def _county(fact: str) -> Definition:
    address = Ref("Home Address")
    return Definition(
        fact,
        If(Unary("Not", Unary("IsNull", value(Prop(address, "state")))), value(Prop(address, "district")), Lit(None)),
        fact,
    )


# Source of Payment Typology: first digit -> line of business (as in priorauth.fhir.prefill).
PAYER_TYPOLOGY = {"1": "medicare", "2": "medicaid", "5": "commercial", "6": "commercial"}


def _line_of_business(version: PolicyVersion, q: Question) -> list[Definition]:
    codes = Query(
        Unary("Flatten", Query(Retrieve("Coverage"), "V", None, Prop(Prop(Alias("V"), "type"), "coding"), False)),
        "T",
        Binary("Equal", value(Prop(Alias("T"), "system")), Lit(systems.SOURCE_OF_PAYMENT)),
        value(Prop(Alias("T"), "code")),
        False,
    )
    values = q.values or []
    mapped = tuple((Lit(digit), Lit(v)) for digit, v in PAYER_TYPOLOGY.items() if v in values)
    kinds = Query(Ref("Payer Typology Codes"), "P", None, Case(Substring(Alias("P"), 0, 1), mapped, Lit(None)), False)
    first = Unary("First", Query(kinds, "L", Unary("Not", Unary("IsNull", Alias("L")))))
    chosen = Ref("Payer Typology Value")
    code = If(Unary("IsNull", chosen), Lit(None), CodeOf(chosen, systems.answer_system(version.id, q.id)))
    return [
        Definition("Payer Typology Codes", codes),
        Definition("Payer Typology Value", first),
        Definition(q.id, code, q.id),
    ]


def _mappings(version: PolicyVersion) -> dict[str, Callable[[Question], list[Definition]]]:
    return {
        version.decided_on: lambda q: [Definition(q.id, Today(), q.id)],
        "birth_date": lambda q: [Definition(q.id, value(Prop(Ref("Patient"), "birthDate")), q.id)],
        "member_state": lambda q: [_state(q.id)],
        "member_county": lambda q: [_county(q.id)],
        "icd10_codes": lambda q: _icd10_codes(q.id),
        "line_of_business": lambda q: _line_of_business(version, q),
    }


def _default(version: PolicyVersion, q: Question) -> Expr:
    if q.type == "choice":
        return CodeOf(Lit(str(q.default)), systems.answer_system(version.id, q.id))
    if isinstance(q.default, bool | int | str):
        return Lit(q.default)
    raise ValueError(f"no CQL literal for the default of {q.id}")


def definitions(version: PolicyVersion) -> list[Definition]:
    """The library's definitions, helpers first, in question order."""
    mappings = _mappings(version)
    out: list[Definition] = []
    declared = {q.id for q in version.questions}
    if declared & {"member_state", "member_county"}:
        out.append(_home_address())
    if "icd10_codes" in declared:
        out.append(_current_conditions())
    for q in version.questions:
        found = mappings[q.id](q) if q.id in mappings else []
        if q.default is not None:
            fallback = _default(version, q)
            if found:
                last = found[-1]
                found[-1] = Definition(last.name, Coalesce((last.expression, fallback)), q.id)
            else:
                found = [Definition(q.id, fallback, q.id)]
        out.extend(found)
    return out


def prefilled_facts(version: PolicyVersion) -> list[str]:
    """The questions the library pre-fills (each has an initialExpression in the Questionnaire)."""
    return [d.fact for d in definitions(version) if d.fact]


# --- the Library ---------------------------------------------------------------------------


def library_name(version: PolicyVersion) -> str:
    return "".join(p.capitalize() for p in re.split(r"[^A-Za-z0-9]+", version.id) if p) + "Prepopulation"


def library_url(version: PolicyVersion) -> str:
    return f"{systems.CANONICAL_BASE}/Library/{version.id}-prepopulation"


def library_canonical(version: PolicyVersion) -> str:
    return f"{library_url(version)}|{version.version}"


def expression(version: PolicyVersion, definition: str) -> str:
    """An SDC expression naming a definition of the library (`"Library"."definition"`)."""
    return f'"{library_name(version)}"."{definition}"'


def cql_text(version: PolicyVersion) -> str:
    lines = [
        f"library {library_name(version)} version '{version.version}'",
        "",
        f"// Pre-population for the questionnaire of policy {version.id}, version {version.version}.",
        "// Generated by priorauth with its ELM from the policy's questions; do not edit.",
        f"using FHIR version '{FHIR_VERSION}'",
        "",
        "context Patient",
    ]
    for d in definitions(version):
        lines += ["", f'define "{d.name}":', f"  {d.expression.cql()}"]
    return "\n".join(lines) + "\n"


def elm(version: PolicyVersion) -> dict[str, Any]:
    patient = {
        "name": "Patient",
        "context": "Patient",
        "expression": {"type": "SingletonFrom", "operand": Retrieve("Patient").elm()},
    }
    statements = [patient] + [
        {"name": d.name, "context": "Patient", "accessLevel": "Public", "expression": d.expression.elm()}
        for d in definitions(version)
    ]
    return {
        "library": {
            "identifier": {"id": library_name(version), "version": version.version},
            "schemaIdentifier": {"id": "urn:hl7-org:elm", "version": "r1"},
            "usings": {
                "def": [
                    {"localIdentifier": "System", "uri": ELM_TYPES},
                    {"localIdentifier": "FHIR", "uri": "http://hl7.org/fhir", "version": FHIR_VERSION},
                ]
            },
            "contexts": {"def": [{"name": "Patient"}]},
            "statements": {"def": statements},
        }
    }


def library_resource(version: PolicyVersion) -> dict[str, Any]:
    """The FHIR Library (CQL and ELM, base64) a DTR client runs to pre-populate the questionnaire."""

    def data(text: str) -> str:
        return base64.b64encode(text.encode("utf-8")).decode("ascii")

    return {
        "resourceType": "Library",
        "id": f"{version.id}-prepopulation",
        "meta": {"profile": ["http://hl7.org/fhir/uv/cql/StructureDefinition/cql-library"]},
        "url": library_url(version),
        "version": version.version,
        "name": library_name(version),
        "title": f"{version.title}: pre-population",
        "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/library-type", "code": "logic-library"}]},
        "description": "Reads from the patient's record what the questionnaire asks, where the record says it.",
        "dataRequirement": [{"type": t} for t in ("Patient", "Condition", "Coverage")],
        "content": [
            {"contentType": "text/cql", "data": data(cql_text(version))},
            {"contentType": "application/elm+json", "data": data(json.dumps(elm(version), separators=(",", ":")))},
        ],
    }
