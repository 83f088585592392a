"""Random requests for any policy, read from its own vocabulary and criteria (hypothesis).

Values are drawn near what the criteria test (each `equals` value, each `in` list, ages and
periods on both sides of their boundaries, code-list codes and codes outside them), facts
are left out at random, and now and then a value is wrong (a wrong type, a value outside
its choices or bounds, a fact the policy does not have, a malformed date), so both paths
meet bad input too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from priorauth.core import Policy, walk

OUTSIDE_CODES = ["E11.9", "C92.00", "Z51.11", "C83.50"]
BAD_VALUES = ["yes", 3.5, -7, 10_001, [], ["not a code"], {"a": 1}, "2026-02-30", "03/02/2026", True, ""]


def _near(day: dt.date, months: int) -> list[dt.date]:
    """Dates on both sides of `months` months before `day` (ages and periods turn there)."""
    year, month = divmod(day.month - 1 - months, 12)
    anchor_year, anchor_month = day.year + year, month + 1
    out = []
    for d in (day.day - 1, day.day, day.day + 1, 28, 29, 30, 31, 1):
        try:
            out.append(dt.date(anchor_year, anchor_month, d))
        except ValueError:
            continue
    return out


@st.composite
def requests(draw: st.DrawFn, policy: Policy, bad: bool = True) -> dict[str, Any]:
    """One contract request of `policy` (decision date within its versions, a year past the latest)."""
    versions = policy.versions
    version = draw(st.sampled_from(list(versions)))
    first, last = versions[0].effective, versions[-1].effective + dt.timedelta(days=400)
    day = draw(st.dates(min_value=first, max_value=last))
    literals: dict[str, list[Any]] = {}
    months: dict[str, list[int]] = {}
    for _, node in walk(version.criteria):
        leaf = node.leaf
        if leaf is None:
            continue
        arg = leaf.argument
        if leaf.operator == "equals":
            literals.setdefault(arg[0], []).append(arg[1])
        elif leaf.operator == "in":
            literals.setdefault(arg[0], []).extend(arg[1])
        elif leaf.operator in ("age_at_least", "age_below"):
            months.setdefault(arg.fact, []).append(arg.months)
        elif leaf.operator in ("within_months", "period_not_over"):
            months.setdefault(arg["fact"], []).append(version.parameter(arg["parameter"]))
        elif leaf.operator in ("below_parameter",):
            literals.setdefault(arg["fact"], []).extend([version.parameter(arg["parameter"]) + d for d in (-1, 0, 1)])
        elif leaf.operator == "at_least":
            literals.setdefault(arg["fact"], []).extend([arg["value"], arg["value"] - 1])
        elif leaf.operator == "between":
            for bound in (arg.at_least, arg.at_most):
                if bound is not None:
                    literals.setdefault(arg.fact, []).extend([bound, bound - 1, bound + 1])
    codes = sorted({c for lst in version.code_lists.values() for c in lst.codes})
    facts: dict[str, Any] = {version.decided_on: day.isoformat()}
    for q in version.questions:
        if q.id == version.decided_on or draw(st.integers(0, 9)) < 2:
            continue
        if q.type == "boolean":
            value: Any = draw(st.booleans())
        elif q.type == "choice":
            value = draw(st.sampled_from(q.values or [""]))
        elif q.type == "date":
            near = [d for m in months.get(q.id, [12, 216]) for d in _near(day, m)]
            value = draw(st.sampled_from(near)).isoformat()
        elif q.type in ("integer", "number"):
            pool = [v for v in literals.get(q.id, []) if isinstance(v, int | float)] or [0, 1, 5]
            low, high = q.minimum, q.maximum
            pool = [v for v in pool if (low is None or v >= low) and (high is None or v <= high)] or [low or 0]
            value = draw(st.sampled_from(pool))
            if q.type == "integer":
                value = int(value)
            elif draw(st.booleans()):
                value = float(value)
        elif q.type == "code_list":
            value = draw(st.lists(st.sampled_from(codes + OUTSIDE_CODES + [c.replace(".", "").lower() for c in codes]),
                                  min_size=1, max_size=3))
        elif q.type == "state":
            value = draw(st.sampled_from(["OR", "VA", "TX", "PR", "va ", "CNMI"]))
        else:
            pool = [v for v in literals.get(q.id, []) if isinstance(v, str)] or ["Fairfax", "Richmond city", "x"]
            value = draw(st.sampled_from(pool))
        if q.id in literals and draw(st.integers(0, 2)) == 0:
            candidates = [v for v in literals[q.id] if not isinstance(v, list)]
            if candidates:
                value = draw(st.sampled_from(candidates))
        facts[q.id] = value
    if bad and draw(st.integers(0, 5)) == 0:
        victim = draw(st.sampled_from([q.id for q in version.questions] + ["not_a_fact"]))
        facts[victim] = draw(st.sampled_from(BAD_VALUES))
    if draw(st.integers(0, 9)) == 0:
        facts[draw(st.sampled_from([q.id for q in version.questions]))] = None  # null: unknown
    return {"policy": policy.id, "facts": facts}
