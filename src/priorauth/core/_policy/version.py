"""One policy version: the complete policy as in force from its effective date (one file)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any

from pydantic import Field, PrivateAttr, field_validator, model_validator

from priorauth.core._operators import OPERATORS
from priorauth.core._policy.base import Strict, parse_iso_date
from priorauth.core._policy.billing import Billing
from priorauth.core._policy.criteria import Criterion, walk
from priorauth.core._policy.document import (
    AuthorizationTerms,
    CodeList,
    MacJurisdictions,
    Metadata,
    Parameter,
    Reference,
    Scope,
    SourceDocument,
)
from priorauth.core._policy.dosing import Condition, Dosing, dosing_problems
from priorauth.core._policy.questions import Question

if TYPE_CHECKING:
    from priorauth.core._runtime import PolicyRuntime

POLICY_ID = r"^[a-z0-9_]+$"


class PolicyVersion(Strict):
    """A whole version file, validated. `digest`, `source` and `runtime` come with it."""

    id: str = Field(pattern=POLICY_ID)
    effective: dt.date
    title: str
    drug: str
    route: str
    note: str = ""
    # The date fact a request is decided on: it picks the version in force, and ages and
    # periods are computed on it.
    decided_on: str
    metadata: Metadata
    questions: list[Question]
    parameters: dict[str, Parameter]
    # Per-branch authorization terms (Sections I and II); without them, the approval's terms are
    # the parameters authorization_months, max_cycles, max_units, unit_window_days, renewable.
    authorizations: list[AuthorizationTerms] | None = Field(default=None, min_length=1)
    scope: Scope | None = None
    criteria: Criterion
    dosing: Dosing | None = None
    billing: Billing
    references: list[Reference]
    code_lists: dict[str, CodeList]
    mac_jurisdictions: MacJurisdictions | None = None
    # The document this version was made from, and its Sections III and IV as worded (policy diff).
    source_document: SourceDocument | None = None

    _digest: str = PrivateAttr(default="")
    _canonical: str = PrivateAttr(default="")
    _source: str = PrivateAttr(default="")

    @field_validator("effective", mode="before")
    @classmethod
    def _date(cls, raw: Any) -> dt.date:
        return parse_iso_date(raw)

    @model_validator(mode="after")
    def _cross_references(self) -> PolicyVersion:
        problems = list(cross_reference_problems(self))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # Read through cached properties: pydantic's private-attribute lookup is slow on a hot path.
    @cached_property
    def digest(self) -> str:
        """SHA-256 (hex) of the version's canonical content (docs/policy-files.md)."""
        return self._digest

    @cached_property
    def canonical(self) -> str:
        """The canonical content (JSON text) the digest is over: what the store keeps."""
        return self._canonical

    @cached_property
    def source(self) -> str:
        """Where the version was read from (a file path, or `store:<digest>`)."""
        return self._source

    @property
    def version(self) -> str:
        """The effective date as the determination's `policy_version`."""
        return self.effective.isoformat()

    @cached_property
    def questions_by_id(self) -> dict[str, Question]:
        return {q.id: q for q in self.questions}

    def question(self, fact: str) -> Question:
        return self.questions_by_id[fact]

    def parameter(self, name: str) -> Any:
        return self.parameters[name].value

    @cached_property
    def runtime(self) -> PolicyRuntime:
        """Everything derived from this version for deciding (built once, on first use)."""
        from priorauth.core._runtime import PolicyRuntime

        return PolicyRuntime(self)

    def reads(self, node: Criterion) -> tuple[str, ...]:
        """Facts a leaf reads (none for a composite)."""
        if node.leaf is None:
            return ()
        return OPERATORS[node.leaf.operator].reads(node.leaf.argument, self)


def cross_reference_problems(version: PolicyVersion) -> Iterator[str]:
    declared = version.questions_by_id
    seen_questions: set[str] = set()
    for i, q in enumerate(version.questions):
        if q.id in seen_questions:
            yield f"questions[{i}]: question {q.id!r} declared twice"
        seen_questions.add(q.id)
    decided_on = declared.get(version.decided_on)
    if decided_on is None or decided_on.type != "date":
        yield f"decided_on: {version.decided_on!r} is not a date question of this version"
        return
    reference_ids = {r.id for r in version.references}
    seen_ids: dict[str, str] = {}
    for path, node in walk(version.criteria):
        if node.id in seen_ids:
            yield f"{path}: criterion id {node.id!r} is also used at {seen_ids[node.id]}"
        seen_ids[node.id] = path
        for ref in node.evidence:
            if ref not in reference_ids:
                yield f"{path}.evidence: unknown reference {ref!r}"
        for fact in version.reads(node):
            if fact not in declared:
                yield f"{path}: reads fact {fact!r}, which is not declared under `questions`"
        if node.leaf is not None:
            for problem in OPERATORS[node.leaf.operator].problems(node.leaf.argument, version):
                yield f"{path}: {problem}"
    for i, q in enumerate(version.questions):
        if q.not_after is not None and (q.type != "date" or getattr(declared.get(q.not_after), "type", None) != "date"):
            yield f"questions[{i}].not_after: a date question can only be bounded by another date question"
        for fact, values in (q.asked_when or {}).items():
            if fact not in declared:
                yield f"questions[{i}].asked_when: fact {fact!r} is not declared under `questions`"
            elif declared[fact].type == "choice":
                for v in values:
                    if v not in (declared[fact].values or []):
                        yield f"questions[{i}].asked_when: value {v!r} is not one of the values of {fact!r}"
    if version.mac_jurisdictions is not None:
        for fact in (version.mac_jurisdictions.state_fact, version.mac_jurisdictions.county_fact):
            if fact not in declared:
                yield f"mac_jurisdictions: fact {fact!r} is not declared under `questions`"
    if version.scope is not None and version.scope.fact not in declared:
        yield f"scope.fact: {version.scope.fact!r} is not declared under `questions`"
    yield from dosing_problems(version)
    if version.source_document is not None:
        for i, indication in enumerate(version.source_document.indications):
            yield from _condition_problems(version, indication.when, f"source_document.indications[{i}].when")
    if version.authorizations is not None:
        yield from authorization_problems(version)
        return
    for name in ("authorization_months", "max_cycles", "max_units", "unit_window_days", "renewable"):
        if name not in version.parameters:
            yield f"parameters: {name!r} is needed for an approval's authorization"


def _condition_problems(version: PolicyVersion, condition: Condition, where: str) -> Iterator[str]:
    declared = version.questions_by_id
    for fact, values in condition.leaves():
        q = declared.get(fact)
        if q is None:
            yield f"{where}: fact {fact!r} is not declared under `questions`"
        elif q.type not in ("boolean", "choice"):
            yield f"{where}: fact {fact!r} is not a boolean or choice question"
        else:
            domain: tuple[Any, ...] = (True, False) if q.type == "boolean" else tuple(q.values or ())
            for v in values:
                if v not in domain or isinstance(v, bool) != (q.type == "boolean"):
                    yield f"{where}: value {v!r} is not one of the values of {fact!r}"


def authorization_problems(version: PolicyVersion) -> Iterator[str]:
    """Cross-references of the per-branch authorization terms: facts, parameters, unique ids."""
    declared = version.questions_by_id
    seen: set[str] = set()

    def number(where: str, value: Any, kind: type = int) -> Iterator[str]:
        if not isinstance(value, str):
            return
        parameter = version.parameters.get(value)
        wanted = "true or false" if kind is bool else "a whole number"
        if parameter is None:
            yield f"{where}: unknown parameter {value!r}"
        elif isinstance(parameter.value, bool) != (kind is bool) or not isinstance(parameter.value, int) \
                or (kind is int and parameter.value < 0):
            yield f"{where}: parameter {value!r} is not {wanted}"

    for i, terms in enumerate(version.authorizations or ()):
        where = f"authorizations[{i}]"
        if terms.id in seen:
            yield f"{where}: id {terms.id!r} is used twice"
        seen.add(terms.id)
        if terms.when is not None:
            yield from _condition_problems(version, terms.when, f"{where}.when")
        for name in ("months", "max_cycles", "max_units", "unit_window_days"):
            yield from number(f"{where}.{name}", getattr(terms, name))
        yield from number(f"{where}.renewable", terms.renewable, bool)
        course = terms.course
        if course is not None:
            yield from number(f"{where}.course.months", course.months)
            yield from number(f"{where}.course.cycles", course.cycles)
            if getattr(declared.get(course.start), "type", None) != "date":
                yield f"{where}.course.start: {course.start!r} is not a date question"
            if getattr(declared.get(course.given), "type", None) != "integer":
                yield f"{where}.course.given: {course.given!r} is not an integer question"
