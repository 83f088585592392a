"""Small pure helpers the templates use: criteria-tree nodes, time left, status words."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from priorauth.core import TraceNode

STATUS_MARK = {"met": ("✔", "met"), "not_met": ("✘", "not met"), "unknown": ("?", "unknown")}
OPERATOR_TEXT = {"all": "all of", "any": "any of", "not": "not"}

STATUS_TEXT = {
    "approved": "Approved",
    "approved_with_modification": "Approved with modification",
    "denied": "Denied",
    "pended": "Pended: information needed",
    "awaiting_review": "Awaiting clinical review",
    "not_applicable": "Not applicable",
}


def status_text(status: str | None) -> str:
    if not status:
        return ""
    return STATUS_TEXT.get(status, status.replace("_", " ").capitalize())


@dataclass(frozen=True, slots=True)
class CriterionView:
    """A criteria-tree node as the case page shows it.

    `on_path`: the node lies on a path that explains a failing or unknown outcome, so it is
    shown while the tree is collapsed; the other nodes appear with "Show all criteria".
    `fact_texts`: (fact, value in words) for a leaf's facts.
    """

    criterion: str
    section: str
    status: str
    text: str
    operator: str
    facts: dict[str, Any]
    reading: str | None
    children: tuple[CriterionView, ...]
    expanded: bool = True
    on_path: bool = True
    fact_texts: tuple[tuple[str, str], ...] = ()

    @property
    def mark(self) -> str:
        return STATUS_MARK.get(self.status, ("?", self.status))[0]

    @property
    def status_label(self) -> str:
        return STATUS_MARK.get(self.status, ("?", self.status))[1]

    @property
    def operator_text(self) -> str | None:
        return OPERATOR_TEXT.get(self.operator)

    @property
    def citation(self) -> str:
        return self.section if self.section.lower().startswith("appendix") else f"§{self.section}"


FactText = Callable[[str, Any], tuple[str, str]]


def _failing(status: str, inverted: bool) -> bool:
    """Whether a node's status explains a not-met or unknown outcome (under a `not`, met does)."""
    return status == "unknown" or status == ("met" if inverted else "not_met")


def criteria_tree(
    trace: TraceNode | dict[str, Any] | None, focus: set[str] | None = None, fact_text: FactText | None = None,
    *, _inverted: bool = False, _on_path: bool = True,
) -> CriterionView | None:
    """A trace (object or its stored dict) -> the view tree.

    `focus` names the criteria behind the decision (its reasons): the branches leading to
    them start expanded and the others collapsed, so the page opens on the why. Without
    `focus` everything is expanded. A node is `on_path` when it and every node above it
    explain a failing or unknown outcome (the root always is); the children of a met root
    are not. `fact_text(fact, value)` gives a leaf's facts in words.
    """
    if trace is None:
        return None
    node = trace.to_dict() if isinstance(trace, TraceNode) else trace
    status = node["status"]
    inverted = _inverted != (node.get("operator") == "not")
    descend = _on_path and _failing(status, _inverted)
    children = tuple(
        criteria_tree(c, focus, fact_text, _inverted=inverted, _on_path=descend and _failing(c["status"], inverted))
        for c in node.get("children", ())
    )
    expanded = focus is None or node["criterion"] in focus or any(
        c.expanded and c.on_path for c in children  # type: ignore[union-attr]
    )
    if not _on_path:
        expanded = True  # shown only with "Show all": then open all the way down
    facts = dict(node.get("facts") or {})
    return CriterionView(
        criterion=node["criterion"],
        section=str(node.get("section", "")),
        status=status,
        text=node.get("text", ""),
        operator=node.get("operator", ""),
        facts=facts,
        reading=node.get("reading"),
        children=children,  # type: ignore[arg-type]
        expanded=expanded,
        on_path=_on_path,
        fact_texts=tuple(fact_text(k, v) if fact_text else (k, plain_value(v)) for k, v in facts.items()),
    )


def plain_value(value: Any) -> str:
    """A fact value in words without its question: Yes/No, not known, a list joined."""
    if value is None:
        return "not known"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list | tuple):
        return ", ".join(plain_value(v) for v in value)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def time_left(due: dt.datetime | None, now: dt.datetime, closed: bool = False) -> tuple[str, bool]:
    """(`3 d 4 h left` | `overdue by 5 h` | `decided`, overdue?) for a due time."""
    if closed:
        return "decided", False
    if due is None:
        return "", False
    delta = due - now
    overdue = delta.total_seconds() < 0
    seconds = abs(int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        text = f"{days} d {hours} h"
    elif hours:
        text = f"{hours} h {minutes} min"
    else:
        text = f"{minutes} min"
    return (f"overdue by {text}", True) if overdue else (f"{text} left", False)


def sentence(text: str) -> str:
    """End `text` with one full stop: a name ending in a period (`Novitas Solutions, Inc.`) gets no second one."""
    text = str(text).rstrip()
    return text if text.endswith((".", "!", "?")) else text + "."
