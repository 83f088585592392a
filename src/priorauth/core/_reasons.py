"""Reasons: one criterion behind a decision, and the reasons grouped by indication branch with
the policy's `any` groups as "One of:".

The one structure every door renders (REST `reasons_text`, letters, FHIR processNote, CLI,
case page), so none of them derives the grouping again. Reasons come from the engine (they
carry their groups) or from a stored determination's JSON (the version that decided gives
the groups; without it, the groups are read flat from `any_of` and `alternative`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

from priorauth.core._logic import Truth

if TYPE_CHECKING:
    from priorauth.core._policy.version import PolicyVersion


@dataclass(frozen=True, slots=True)
class OneOfStep:
    """One `any` group on the way from a reason's branch down to it: the group and the alternative."""

    group: str
    group_text: str
    alternative: str
    alternative_text: str


@dataclass(frozen=True, slots=True)
class Reason:
    """One criterion behind a decision, with the policy section it comes from.

    `branch` is the indication branch the criterion belongs to (for a criterion every
    indication shares, the kind of request: initial or renewal); `any_of` the innermost `any`
    group inside that branch in which the criterion is (part of) one alternative, and
    `alternative` that alternative: the policy needs only one alternative of a group. `steps`
    holds every group from the branch down (not in the JSON form; `group_reasons` uses it).
    """

    criterion: str
    section: str
    status: Truth
    text: str
    branch: str | None = None
    branch_text: str | None = None
    any_of: str | None = None
    alternative: str | None = None
    steps: tuple[OneOfStep, ...] = field(default=(), compare=False)
    # The JSON form, built once: reasons are shared between decisions, to_dict copies it.
    _json: dict[str, str | None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        json_form = {
            "criterion": self.criterion, "section": self.section, "status": self.status.value, "text": self.text,
            "branch": self.branch, "branch_text": self.branch_text, "any_of": self.any_of,
            "alternative": self.alternative,
        }
        object.__setattr__(self, "_json", json_form)

    def to_dict(self) -> dict[str, str | None]:
        return self._json.copy()

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Reason:
        """A reason from its JSON form (as stored); keys added later default to null."""
        return cls(
            str(raw["criterion"]), str(raw.get("section", "")), Truth(raw.get("status", "not_met")),
            str(raw.get("text", "")), raw.get("branch"), raw.get("branch_text"), raw.get("any_of"),
            raw.get("alternative"),
        )


@dataclass(frozen=True, slots=True)
class Alternative:
    """One alternative of a group: `text` is None when the alternative is the one reason it holds."""

    id: str
    text: str | None
    items: tuple[ReasonItem, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"alternative": self.id, "text": self.text, "items": [_item_dict(i) for i in self.items]}


@dataclass(frozen=True, slots=True)
class OneOf:
    """An `any` group: the policy needs one of its alternatives, not all of them."""

    group: str
    text: str
    alternatives: tuple[Alternative, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"one_of": self.group, "text": self.text, "alternatives": [a.to_dict() for a in self.alternatives]}


ReasonItem = Union[Reason, OneOf]  # noqa: UP007 - a runtime alias, used before `X | Y` of classes


@dataclass(frozen=True, slots=True)
class ReasonBranch:
    """The reasons of one branch (None: reasons outside the criteria tree, e.g. doses, scope)."""

    branch: str | None
    text: str | None
    items: tuple[ReasonItem, ...]

    @property
    def heading(self) -> str | None:
        """What to head the branch's reasons with: None outside the tree, and when the branch is the
        one criterion it lists (a heading would repeat the reason)."""
        if self.branch is None:
            return None
        if len(self.items) == 1 and isinstance(self.items[0], Reason) and self.items[0].criterion == self.branch:
            return None
        return self.text or self.branch

    def to_dict(self) -> dict[str, Any]:
        return {"branch": self.branch, "text": self.text, "heading": self.heading,
                "items": [_item_dict(i) for i in self.items]}


def _item_dict(item: ReasonItem) -> dict[str, Any]:
    return item.to_dict()


def group_reasons(
    reasons: Iterable[Reason | Mapping[str, Any]], version: PolicyVersion | None = None
) -> tuple[ReasonBranch, ...]:
    """Reasons grouped by branch, in the order of their first reason, with nested "one of" groups.

    `reasons` are Reason objects or their JSON form; `version` (the one that decided) places
    JSON reasons, including those stored before reasons carried their branch.
    """
    criteria = version.runtime.criteria if version is not None else None
    branches: dict[str | None, tuple[str | None, list[Any]]] = {}
    for raw in reasons:
        reason = raw if isinstance(raw, Reason) else Reason.from_dict(raw)
        branch, branch_text, steps = reason.branch, reason.branch_text, reason.steps
        node = criteria.by_id.get(reason.criterion) if criteria is not None else None
        if not steps and node is not None:
            place = criteria.placement[node.index]  # type: ignore[union-attr]
            branch, branch_text, steps = place.branch, place.branch_text, place.steps
        elif not steps and reason.any_of is not None and reason.alternative is not None:
            steps = (OneOfStep(reason.any_of, "", reason.alternative, ""),)
        _, items = branches.setdefault(branch, (branch_text, []))
        _insert(items, steps, reason)
    return tuple(ReasonBranch(b, text, _freeze(items)) for b, (text, items) in branches.items())


def _insert(items: list[Any], steps: tuple[OneOfStep, ...], reason: Reason) -> None:
    if not steps:
        items.append(reason)
        return
    step, rest = steps[0], steps[1:]
    group = next((i for i in items if isinstance(i, list) and i[0] == step.group), None)
    if group is None:
        group = [step.group, step.group_text, {}]
        items.append(group)
    alternatives: dict[str, Any] = group[2]
    single = not rest and step.alternative == reason.criterion
    alternative = alternatives.setdefault(step.alternative, [None if single else (step.alternative_text or None), []])
    _insert(alternative[1], rest, reason)


def _freeze(items: list[Any]) -> tuple[ReasonItem, ...]:
    out: list[ReasonItem] = []
    for item in items:
        if isinstance(item, Reason):
            out.append(item)
            continue
        group, text, alternatives = item
        choices = tuple(Alternative(a, t, _freeze(inner)) for a, (t, inner) in alternatives.items())
        out.append(OneOf(group, text, choices))
    return tuple(out)


def citation(section: str) -> str:
    """`III` -> `Section III`; an appendix is named as it is."""
    return section if section.lower().startswith("appendix") else f"Section {section}"


def reason_lines(
    groups: Iterable[ReasonBranch],
    *,
    sections: bool = True,
    ids: bool = False,
    marks: Mapping[Truth, str] | None = None,
) -> list[str]:
    """The grouped reasons as indented plain-text lines: a heading per branch, "- One of:" per group.

        Adult B-cell precursor ALL:
          - The patient is 18 years of age or older. (Section III)
        Pediatric B-cell precursor ALL:
          - One of:
            - ...

    `ids` adds each criterion's id in brackets; `marks` puts a status mark before each reason.
    """
    say = _Sentences(sections, ids, marks)
    lines: list[str] = []
    for branch in groups:
        depth = 0
        if branch.heading is not None:
            lines.append(f"{heading(branch.heading)}:")
            depth = 1
        _lines(branch.items, depth, say, lines)
    return lines


def heading(text: str) -> str:
    """A criterion's text as a heading: without its final period."""
    return text.strip().rstrip(".")


def reason_sentence(reason: Reason, sections: bool = True) -> str:
    """A reason's text with its citation: `The disease expresses CD22. (Section III)`."""
    return f"{reason.text} ({citation(reason.section)})" if sections and reason.section else reason.text


@dataclass(frozen=True, slots=True)
class _Sentences:
    sections: bool
    ids: bool
    marks: Mapping[Truth, str] | None

    def __call__(self, reason: Reason) -> str:
        text = reason_sentence(reason, self.sections)
        if self.ids:
            text += f" [{reason.criterion}]"
        return f"{self.marks[reason.status]} {text}" if self.marks else text


def _lines(items: tuple[ReasonItem, ...], depth: int, say: _Sentences, lines: list[str]) -> None:
    pad = "  " * depth
    for item in items:
        if isinstance(item, Reason):
            lines.append(f"{pad}- {say(item)}")
            continue
        lines.append(f"{pad}- One of:")
        for alternative in item.alternatives:
            inner = alternative.items
            if alternative.text is None and len(inner) == 1 and isinstance(inner[0], Reason):
                lines.append(f"{pad}  - {say(inner[0])}")
            elif alternative.text is None:
                _lines(inner, depth + 1, say, lines)
            else:
                lines.append(f"{pad}  - {heading(alternative.text)}:")
                _lines(inner, depth + 2, say, lines)


# By the identity of a reasons tuple (the engine shares one tuple between decisions), with the tuple.
_REASONS_TEXT: dict[int, tuple[tuple[Reason, ...], str]] = {}


def reasons_text(reasons: tuple[Reason, ...]) -> str:
    """The reasons as the plain text every door shows: grouped by branch, `any` groups as "One of:"."""
    cached = _REASONS_TEXT.get(id(reasons))
    if cached is not None and cached[0] is reasons:
        return cached[1]
    text = "\n".join(reason_lines(group_reasons(reasons)))
    if len(_REASONS_TEXT) >= 4096:
        _REASONS_TEXT.clear()
    _REASONS_TEXT[id(reasons)] = (reasons, text)
    return text
