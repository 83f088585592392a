"""The Jinja2 environment of the pages: templates from the package, autoescaped."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from priorauth.core import PolicyVersion, group_reasons
from priorauth.web.forms import fact_label
from priorauth.web.letters import OUTCOME_TEXT, long_date
from priorauth.web.views import sentence

DECISION_TEXT = {
    **OUTCOME_TEXT, "pended": "Pended: information needed", "not_applicable": "Not governed by this policy",
}


def cite(section: str) -> str:
    section = str(section)
    return section if section.lower().startswith("appendix") else f"§{section}"


def reason_groups(reasons: list[dict[str, Any]], version: PolicyVersion | None = None) -> list[dict[str, Any]]:
    """The not-met reasons grouped by branch with their "one of" groups (`priorauth.core.group_reasons`)."""
    return [g.to_dict() for g in group_reasons([r for r in reasons if r.get("status") == "not_met"], version)]


def decision_text(decision: str) -> str:
    return DECISION_TEXT.get(decision, decision)


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("priorauth.web", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.globals.update(cite=cite, decision_text=decision_text, long_date=long_date, fact_label=fact_label,
                       reason_groups=reason_groups)
    env.filters["sentence"] = sentence
    return env


def render(template: str, context: dict[str, Any]) -> str:
    return environment().get_template(template).render(context)
