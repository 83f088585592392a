"""The Jinja2 environment of the pages: templates from the package, autoescaped."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from priorauth.web.forms import fact_label
from priorauth.web.letters import OUTCOME_TEXT, long_date

DECISION_TEXT = {
    **OUTCOME_TEXT, "pended": "Pended: information needed", "not_applicable": "Not governed by this policy",
}


def cite(section: str) -> str:
    section = str(section)
    return section if section.lower().startswith("appendix") else f"§{section}"


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
    env.globals.update(cite=cite, decision_text=decision_text, long_date=long_date, fact_label=fact_label)
    return env


def render(template: str, context: dict[str, Any]) -> str:
    return environment().get_template(template).render(context)
