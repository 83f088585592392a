"""The end of an approval's authorization period, column-wise, from the version's own data.

An approval's period is the contract's month rule applied to the version's terms (the core
computes it one request at a time with `authorization_for`):

- a version with one set of terms (its parameters): from the decision date, or for a
  renewal (`request_type: renewal`) from `first_authorization_date`, `authorization_months`
  months, ending the day before;
- a version with per-branch terms (`authorizations:`): the first entry whose `when` holds
  (no earlier entry unknown), `months` from the decision date, and no later than its
  course's end when it has a course.

The end is the one value of an approval that depends on fact values rather than on the
criteria's statuses, and distinct values are about as many as approvals, so it is computed
here for the whole column. Every chunk checks sampled rows against the core
(`authorization_for`); a version whose terms this module does not read, or a sample that
disagrees, is computed by the core instead, once per distinct value of the facts it reads.
A row whose terms cannot be chosen (an unknown fact a condition needs) gets no end here
and goes to the per-request path, which refuses it as the core does.
"""

from __future__ import annotations

from typing import Any

from priorauth.batch.plan import Dialect, comparable
from priorauth.core import PolicyVersion


class NotColumnar(Exception):
    """The version's authorization has a form this module does not compute."""


def _value(raw: Any, params: dict[str, Any]) -> Any:
    return params[raw] if isinstance(raw, str) else raw


def _condition(condition: Any, kinds: dict[str, str], d: Dialect) -> Any:
    """A Section V style condition on facts, three-valued (null: unknown), as the core's `holds`."""
    if getattr(condition, "match", None) is not None:
        parts = []
        for name, allowed in condition.match.items():
            kind = kinds.get(name)
            if kind is None:
                raise NotColumnar(f"condition on {name!r}, which is not a fact")
            same_kind = [a for a in allowed if isinstance(a, bool) == (kind == "bool")]
            literals = [lit for ok, lit in (comparable(kind, a) for a in same_kind) if ok]
            column = d.col(name)
            parts.append(d.isin(column, literals) if literals else d.known(column, d.const(False)))
        return d.all_of(parts)
    if getattr(condition, "not_of", None) is not None:
        return d.not_(_condition(condition.not_of, kinds, d))
    if getattr(condition, "all_of", None) is not None:
        return d.all_of([_condition(c, kinds, d) for c in condition.all_of])
    if getattr(condition, "any_of", None) is not None:
        return d.any_of([_condition(c, kinds, d) for c in condition.any_of])
    raise NotColumnar("a condition of an unknown form")


def authorization_end(version: PolicyVersion, kinds: dict[str, str], d: Dialect) -> Any:
    """The period's end for approved rows (null where the core would refuse to choose terms)."""
    params = version.runtime.params
    day = d.col(version.decided_on)
    terms = getattr(version, "authorizations", None)
    if not terms:
        if "authorization_months" not in params:
            raise NotColumnar("no authorization_months")
        months = params["authorization_months"]
        renewal = d.fill_false(d.eq(d.col("request_type"), "renewal")) if "request_type" in kinds else d.lit(False)
        first = d.col("first_authorization_date") if "first_authorization_date" in kinds else d.unknown()
        start = d.when([(renewal, first)], day)
        return d.day_before(d.months_after(start, months))
    cases = []
    earlier_failed = d.lit(True)
    for t in terms:
        holds = d.lit(True) if t.when is None else _condition(t.when, kinds, d)
        end = d.day_before(d.months_after(day, _value(t.months, params)))
        course = t.course
        if course is not None:
            if course.start not in kinds or course.given not in kinds:
                raise NotColumnar(f"course facts {course.start!r}, {course.given!r} are not facts")
            course_end = d.day_before(d.months_after(d.col(course.start), _value(course.months, params)))
            known = ~d.is_null(d.col(course.start)) & ~d.is_null(d.col(course.given))
            end = d.when([(known, d.earliest(end, course_end))])
        cases.append((earlier_failed & d.fill_false(holds), end))
        earlier_failed = earlier_failed & d.fill_false(d.not_(holds))
    return d.when(cases)
