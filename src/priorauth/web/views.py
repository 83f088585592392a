"""Small pure helpers the templates use: criteria-tree nodes, time left, status words."""

from __future__ import annotations

import datetime as dt
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
    """A criteria-tree node as the case page shows it."""

    criterion: str
    section: str
    status: str
    text: str
    operator: str
    facts: dict[str, Any]
    reading: str | None
    children: tuple[CriterionView, ...]
    expanded: bool = True

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

def criteria_tree(trace: TraceNode | dict[str, Any] | None, focus: set[str] | None = None) -> CriterionView | None:
    """A trace (object or its stored dict) -> the view tree.

    `focus` names the criteria behind the decision (its reasons): the branches leading to
    them start expanded and the others collapsed, so the page opens on the why. Without
    `focus` everything is expanded.
    """
    if trace is None:
        return None
    node = trace.to_dict() if isinstance(trace, TraceNode) else trace
    children = tuple(criteria_tree(c, focus) for c in node.get("children", ()))
    expanded = focus is None or node["criterion"] in focus or any(c.expanded for c in children)  # type: ignore[union-attr]
    return CriterionView(
        criterion=node["criterion"],
        section=str(node.get("section", "")),
        status=node["status"],
        text=node.get("text", ""),
        operator=node.get("operator", ""),
        facts=dict(node.get("facts") or {}),
        reading=node.get("reading"),
        children=children,  # type: ignore[arg-type]
        expanded=expanded,
    )


def tree_counts(tree: CriterionView | None) -> dict[str, int]:
    """How many leaf criteria are met / not met / unknown."""
    counts = {"met": 0, "not_met": 0, "unknown": 0}
    stack = [tree] if tree else []
    while stack:
        node = stack.pop()
        if node.children:
            stack.extend(node.children)
        else:
            counts[node.status] = counts.get(node.status, 0) + 1
    return counts


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
