"""The request form, generated from a policy's questions.

Form values arrive as strings; each is converted to the contract's type and
validated on its own, so one bad answer is reported next to its question while
the other answers still drive the preview. A question is shown when it has an
answer or when the engine names it among the facts that can still change the
decision: questions that cannot matter stay out of the way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from priorauth.determination import Determination
from priorauth.engine import determine
from priorauth.errors import RequestError
from priorauth.facts import Facts, validate_facts
from priorauth.policy.schema import Policy, Question

# Words kept upper-case when a choice value is shown to a person.
_ACRONYMS = {"all": "ALL", "cvd": "CVD", "tki": "TKI", "cd22": "CD22", "hsct": "HSCT", "ecg": "ECG", "mrd": "MRD"}
_CODE_SPLIT = re.compile(r"[\s,;]+")


def humanize(value: str) -> str:
    """`b_cell_precursor_all` -> `B cell precursor ALL` (for labels only)."""
    words = [_ACRONYMS.get(w, w) for w in value.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def fact_label(fact: str, questions: Mapping[str, str]) -> str:
    """A fact in words: its question, or `Dosing: weight kg` for a field of the dosing block."""
    if fact in questions:
        return questions[fact]
    if fact.startswith("dosing."):
        return "Dosing: " + humanize(fact.removeprefix("dosing.")).lower()
    return fact


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: str


@dataclass(slots=True)
class FormField:
    """One question as a form control: what to draw and what the user entered."""

    id: str
    type: str
    label: str
    options: tuple[Option, ...] = ()
    value: str = ""
    error: str | None = None
    phi: bool = False
    minimum: int | None = None

    @property
    def control(self) -> str:
        """The template macro that draws it: radio, select, date, number or text."""
        return {"boolean": "radio", "choice": "select", "date": "date", "integer": "number"}.get(self.type, "text")

    @property
    def hint(self) -> str | None:
        if self.type == "code_list":
            return "One or more codes, separated by commas or spaces (e.g. C91.02)."
        if self.type == "state":
            return "Two-letter code, e.g. OR."
        return None


@dataclass(slots=True)
class FormState:
    """The form after reading the submitted values: fields to show, the preview, errors."""

    policy: Policy
    fields: list[FormField]
    visible: list[FormField]
    facts: Facts
    raw: dict[str, Any]
    determination: Determination | None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.errors and self.determination is not None

    @property
    def hidden_count(self) -> int:
        return len(self.fields) - len(self.visible)


def _options(q: Question) -> tuple[Option, ...]:
    if q.type == "boolean":
        return (Option("true", "Yes"), Option("false", "No"), Option("", "Not known"))
    if q.type == "choice":
        return tuple(Option(v, humanize(v)) for v in q.values or [])
    return ()


def _first(value: Any) -> str:
    if isinstance(value, list | tuple):
        value = value[-1] if value else ""
    return "" if value is None else str(value).strip()


def convert(q: Question, text: str) -> Any:
    """A form string -> the contract value (None when blank); ValueError when unreadable."""
    if text == "":
        return None
    if q.type == "boolean":
        if text not in ("true", "false"):
            raise ValueError("choose Yes, No or Not known")
        return text == "true"
    if q.type == "integer":
        try:
            return int(text)
        except ValueError:
            raise ValueError("expected a whole number") from None
    if q.type == "code_list":
        codes = [c for c in _CODE_SPLIT.split(text) if c]
        return codes or None
    return text


def display(q: Question, value: Any) -> str:
    """A contract value -> the string a form control holds."""
    if value is None:
        return ""
    if q.type == "boolean":
        return "true" if value else "false"
    if q.type == "code_list":
        return ", ".join(str(v) for v in value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def answer_text(q: Question, value: Any) -> str:
    """A fact as a person reads it on the case page and in the letter."""
    if value is None:
        return "not known"
    if q.type == "boolean":
        return "Yes" if value else "No"
    if q.type == "choice":
        return humanize(str(value))
    return display(q, value)


def _problem(exc: RequestError) -> str:
    return exc.problem


def read_form(policy: Policy, form: Mapping[str, Any], only: set[str] | None = None) -> FormState:
    """Convert and validate each answer; decide on the valid ones; pick the questions to show.

    `only` limits the answers read to those fact ids (the add-information form).
    """
    raw: dict[str, Any] = {}
    errors: dict[str, str] = {}
    texts: dict[str, str] = {}
    for q in policy.questions:
        if only is not None and q.id not in only:
            continue
        text = _first(form.get(q.id))
        texts[q.id] = text
        try:
            value = convert(q, text)
        except ValueError as exc:
            errors[q.id] = str(exc)
            continue
        if value is None:
            continue
        try:
            validate_facts(policy, {q.id: value})
        except RequestError as exc:
            errors[q.id] = _problem(exc)
            continue
        raw[q.id] = value
    facts: Facts = {}
    determination = None
    try:
        facts = validate_facts(policy, raw)
        determination = determine(policy, facts)
    except RequestError as exc:
        fact = exc.field.removeprefix("facts.").split("[")[0].split(".")[0]
        errors[fact if fact in texts else "__all__"] = exc.problem
    fields = [
        FormField(
            id=q.id,
            type=q.type,
            label=q.text,
            options=_options(q),
            value=texts.get(q.id, ""),
            error=errors.get(q.id),
            phi=q.phi,
            minimum=q.minimum,
        )
        for q in policy.questions
        if only is None or q.id in only
    ]
    matter = set(determination.missing_facts) if determination is not None else {q.id for q in policy.questions}
    answered = {q.id for q in policy.questions if texts.get(q.id) or q.id in facts}
    for f in fields:
        if q_default := policy.question(f.id).default:
            if not f.value:
                f.value = q_default
    visible = [f for f in fields if f.id in matter or f.id in answered or f.id in errors]
    return FormState(policy, fields, visible, facts, raw, determination, errors)


def facts_form_values(policy: Policy, facts: Mapping[str, Any]) -> dict[str, str]:
    """Stored facts -> form strings (to prefill a form)."""
    out = {}
    for q in policy.questions:
        if q.id in facts and facts[q.id] is not None:
            out[q.id] = display(q, facts[q.id])
    return out
