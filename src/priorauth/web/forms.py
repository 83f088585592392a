"""The request form, generated from a policy version's questions.

Form values arrive as strings; each is converted to the contract's type and
validated on its own, so one bad answer is reported next to its question while
the other answers still drive the preview. A question is shown when it has an
answer or when the decision names it among the facts that can still change it:
questions that cannot matter stay out of the way.

The new-request form does not ask the request date: a stored submission is decided
on the day the service receives it, so the form asks the questions of the version in
force today and previews the decision as of `received` (today). The add-information
form asks those of the stored request's version. The preview is the service's decision
(`service.evaluate_request`), which picks the version in force on that date itself.
This module decides nothing.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from priorauth import service
from priorauth.core import (
    Determination,
    Facts,
    Policy,
    PolicyVersion,
    Question,
    RequestError,
    validate_facts,
    version_for,
)

# Words kept upper-case when a choice value is shown to a person.
_ACRONYMS = {"all": "ALL", "cvd": "CVD", "tki": "TKI", "cd22": "CD22", "hsct": "HSCT", "ecg": "ECG", "mrd": "MRD"}
_CODE_SPLIT = re.compile(r"[\s,;]+")


def humanize(value: str) -> str:
    """`b_cell_precursor_all` -> `B cell precursor ALL` (for labels only)."""
    words = [_ACRONYMS.get(w, w) for w in value.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


_DOSE_FIELD = re.compile(r"doses\[(\d+)\]\.(\w+)")
# A dosing field's unit suffix, in words: `weight_kg` -> `weight (kg)`.
_UNITS = {"kg": "kg", "cm": "cm", "m2": "m²", "mg": "mg", "mcg": "mcg"}
_DOSING_NAMES = {"bsa": "body surface area", "cycle": "cycle number", "ndc": "NDC", "hcpcs": "HCPCS code",
                 "units": "HCPCS units", "bsa_method": "BSA formula"}


def _dosing_name(name: str) -> str:
    """A dosing block's field name in words: `weight_kg` -> `weight (kg)`, `bsa_m2` -> `body surface area (m²)`."""
    if name in _DOSING_NAMES:
        return _DOSING_NAMES[name]
    stem, _, unit = name.rpartition("_")
    if stem and unit in _UNITS:
        return f"{_dosing_name(stem)} ({_UNITS[unit]})"
    if name in _UNITS:
        return f"amount ({_UNITS[name]})"
    text = humanize(name)
    return text if text[1:2].isupper() else text[:1].lower() + text[1:]


def fact_label(fact: str, questions: Mapping[str, str]) -> str:
    """A fact in words: its question, or for a field of the dosing block a phrase such as
    `the day of dose 2` (`dosing.doses[1].day`) or `the weight (kg)` (`dosing.weight_kg`)."""
    if fact in questions:
        return questions[fact]
    if fact.startswith("dosing."):
        field = fact.removeprefix("dosing.")
        dose = _DOSE_FIELD.fullmatch(field)
        if dose:
            return f"the {_dosing_name(dose[2])} of dose {int(dose[1]) + 1}"
        return f"the {_dosing_name(field)}"
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
    minimum: float | None = None
    maximum: float | None = None

    @property
    def control(self) -> str:
        """The template macro that draws it: radio, select, date, number or text."""
        return {"boolean": "radio", "choice": "select", "date": "date", "integer": "number",
                "number": "number"}.get(self.type, "text")

    @property
    def step(self) -> str:
        """The number control's step: whole numbers for an integer question, any number otherwise."""
        return "1" if self.type == "integer" else "any"

    @property
    def hint(self) -> str | None:
        if self.type == "code_list":
            return "One or more codes, separated by commas or spaces (e.g. C91.02)."
        if self.type == "state":
            return "Two-letter code, e.g. OR."
        return None


@dataclass(slots=True)
class FormState:
    """The form after reading the submitted values: fields to show, the preview, errors.

    `version` is the policy version whose questions the form asks; the preview
    (`determination`) names the version it was decided under.
    """

    version: PolicyVersion
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
    if q.type == "number":
        try:
            number = float(text)
        except ValueError:
            raise ValueError("expected a number") from None
        if not math.isfinite(number):
            raise ValueError("expected a number")
        return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number
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


def asked_version(policy: Policy, form: Mapping[str, Any]) -> PolicyVersion:
    """The version whose questions the form asks: the one in force on the form's request date.

    Today's version (`policy.current()`) while the date is blank, unreadable or before the
    first version: the date's own problem is reported next to it by the decision.
    """
    day = _first(form.get(policy.decided_on))
    if not day:
        return policy.current()
    try:
        return version_for(policy, {policy.decided_on: day})
    except RequestError:
        return policy.current()


def _field_of(exc: RequestError, known: Mapping[str, Any]) -> str:
    fact = exc.field.removeprefix("facts.").split("[")[0].split(".")[0]
    return fact if fact in known else "__all__"


def read_form(
    policy: Policy | PolicyVersion,
    form: Mapping[str, Any],
    only: set[str] | None = None,
    principal: service.Principal | None = None,
    received: dt.date | None = None,
) -> FormState:
    """Convert and validate each answer; preview the decision on the valid ones; pick the questions to show.

    `policy` is a Policy (the questions of the version in force on the form's request
    date: a new request) or one PolicyVersion (a stored request's: adding information).
    With `principal`, the preview is `service.evaluate_request` on the valid answers (it
    decides under the version in force on their request date); without, there is none.
    `only` limits the answers read to those fact ids (the add-information form). With `received`
    (a new request), the decision date is not asked: it is the day received, which the preview
    assumes and the service sets when the request is stored (`raw` leaves it out).
    """
    if isinstance(policy, PolicyVersion):
        version = policy
    else:  # a new request: the version in force on the day received, else on the form's date
        version = asked_version(policy, {policy.decided_on: received.isoformat()} if received else form)
    dated = {version.decided_on: received.isoformat()} if received is not None else {}
    questions = [q for q in version.questions if (only is None or q.id in only) and q.id not in dated]
    raw: dict[str, Any] = {}
    errors: dict[str, str] = {}
    texts: dict[str, str] = {}
    for q in questions:
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
            validate_facts(version, {q.id: value})
        except RequestError as exc:
            errors[q.id] = exc.problem
            continue
        raw[q.id] = value
    facts: Facts = {}
    determination = None
    try:
        facts = validate_facts(version, {**raw, **dated})
        if principal is not None:
            determination = service.evaluate_request(principal, version.id, {**raw, **dated})
    except RequestError as exc:
        errors[_field_of(exc, texts)] = exc.problem
    fields = [
        FormField(
            id=q.id,
            type=q.type,
            label=q.text,
            options=_options(q),
            value=texts.get(q.id, "") or (q.default or ""),
            error=errors.get(q.id),
            phi=q.phi,
            minimum=(int(q.minimum) if q.type == "integer" else q.minimum) if q.minimum is not None else None,
            maximum=(int(q.maximum) if q.type == "integer" else q.maximum) if q.maximum is not None else None,
        )
        for q in questions
    ]
    matter = set(determination.missing_facts) if determination is not None else {q.id for q in questions}
    answered = {q.id for q in questions if texts.get(q.id) or q.id in facts}
    visible = [f for f in fields if f.id in matter or f.id in answered or f.id in errors]
    return FormState(version, fields, visible, facts, raw, determination, errors)


def facts_form_values(version: PolicyVersion, facts: Mapping[str, Any]) -> dict[str, str]:
    """Stored facts -> form strings (to prefill a form)."""
    out = {}
    for q in version.questions:
        if q.id in facts and facts[q.id] is not None:
            out[q.id] = display(q, facts[q.id])
    return out
