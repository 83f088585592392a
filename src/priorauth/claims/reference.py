"""The claims audit in plain Python, line by line: the specification the engines must match.

Slow on purpose (no vectorisation, no cleverness). Rows are dicts of raw values as a
reader gives them (str, int, float, date, None); rows are numbered from 1.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from priorauth.claims.edits import BranchLimits, ClaimRules, day_number
from priorauth.claims.schema import (
    CLAIM_COLUMNS,
    DATE_PATTERN,
    END_BEFORE_START,
    MISSING,
    NEGATIVE_UNITS,
    NOT_A_DATE,
    NOT_WHOLE_UNITS,
    REQUIRED_VALUES,
    UNITS_PATTERN,
    UNKNOWN_BRANCH,
    RowError,
    error_order,
)
from priorauth.core import NdcError, match_ndc, normalize_icd10


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = (value if isinstance(value, str) else str(value)).strip()
    return text or None


class _Problem(str):
    """An error message, distinct from any text a cell may hold."""


def _day(value: Any) -> int | _Problem:
    """Day number, or the problem."""
    if isinstance(value, dt.datetime):
        return day_number(value.date())
    if isinstance(value, dt.date):
        return day_number(value)
    text = _text(value)
    if text is None:
        return _Problem(MISSING)
    if not re.match(DATE_PATTERN, text):
        return _Problem(NOT_A_DATE)
    try:
        return day_number(dt.date.fromisoformat(text))
    except ValueError:
        return _Problem(NOT_A_DATE)


def _units(value: Any) -> int | _Problem:
    """Whole units, or the problem."""
    if value is None:
        return _Problem(MISSING)
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float):
        if not math.isfinite(value) or value != math.floor(value) or abs(value) >= 1e15:
            return _Problem(NOT_WHOLE_UNITS)
        number = int(value)
    else:
        text = _text(value)
        if text is None:
            return _Problem(MISSING)
        if not re.match(UNITS_PATTERN, text):
            return _Problem(NOT_WHOLE_UNITS)
        number = int(text)
    return _Problem(NEGATIVE_UNITS) if number < 0 else number


def validate_claims(rows: Iterable[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[RowError]]:
    """Parsed good rows and the errors of the bad ones (every problem of a row is listed)."""
    good, errors = [], []
    for number, raw in enumerate(rows, start=1):
        problems = []
        line: dict[str, Any] = {"row": number}
        for column in CLAIM_COLUMNS:
            value = raw.get(column)
            if column == "service_date":
                parsed: Any = _day(value)
            elif column == "units":
                parsed = _units(value)
            else:
                parsed = _text(value)
                if parsed is None and column in REQUIRED_VALUES:
                    parsed = _Problem(MISSING)
            if isinstance(parsed, _Problem):
                problems.append(RowError(number, column, parsed))
            line[column] = parsed
        if problems:
            errors.extend(problems)
        else:
            good.append(line)
    return good, errors


# A valid authorization row: member, start and end day numbers, the HCPCS code it is for (None:
# every policy's), its branch (None: not named), and its row number.
AuthRow = tuple[str, int, int, str | None, str | None, int]


def validate_authorizations(
    rows: Iterable[Mapping[str, Any]], rules: tuple[ClaimRules, ...] = ()
) -> tuple[list[AuthRow], list[RowError]]:
    """Valid authorization rows and the errors of the others. A `branch` must be one of the
    audited policies' authorization branches (of the policy of the row's HCPCS code, when it is
    one of theirs)."""
    good: list[AuthRow] = []
    errors: list[RowError] = []
    for number, raw in enumerate(rows, start=1):
        problems = []
        member = _text(raw.get("member_id"))
        if member is None:
            problems.append(RowError(number, "member_id", MISSING, "authorizations"))
        start, end = _day(raw.get("start")), _day(raw.get("end"))
        if isinstance(start, _Problem):
            problems.append(RowError(number, "start", start, "authorizations"))
        if isinstance(end, _Problem):
            problems.append(RowError(number, "end", end, "authorizations"))
        elif not isinstance(start, _Problem) and end < start:
            problems.append(RowError(number, "end", END_BEFORE_START, "authorizations"))
        hcpcs = _text(raw.get("hcpcs"))
        hcpcs = hcpcs.upper() if hcpcs is not None else None
        branch = _text(raw.get("branch"))
        if branch is not None and not _known_branch(branch, hcpcs, rules):
            problems.append(RowError(number, "branch", UNKNOWN_BRANCH, "authorizations"))
        if problems:
            errors.extend(problems)
        else:
            assert member is not None and isinstance(start, int) and isinstance(end, int)
            good.append((member, start, end, hcpcs, branch, number))
    return good, errors


def _known_branch(branch: str, hcpcs: str | None, rules: tuple[ClaimRules, ...]) -> bool:
    owners = [r for r in rules if r.hcpcs == hcpcs] or list(rules)
    return any(r.branch_index(branch) >= 0 for r in owners)


def _covered(icd10: str | None, covered: frozenset[str]) -> bool:
    for piece in (icd10 or "").split(";"):
        try:
            if normalize_icd10(piece) in covered:
                return True
        except ValueError:
            continue
    return False


def _ndc_ok(ndc: str | None, patterns: tuple[str, ...]) -> bool:
    """The core's one NDC reading (`match_ndc`), shared with the dose check."""
    if ndc is None:
        return False
    try:
        return match_ndc(ndc, patterns) is not None
    except NdcError:
        return False


def _modifiers(modifier: str | None) -> set[str]:
    return {m.strip().upper() for m in (modifier or "").split(";")}


def audit_reference(
    rows: Iterable[Mapping[str, Any]],
    rules: ClaimRules | tuple[ClaimRules, ...],
    authorizations: Iterable[Mapping[str, Any]] | None = None,
) -> tuple[list[dict[str, Any]], list[RowError]]:
    """Output lines (row, claim_id, rolling_units, cycle, edits) in row order, and row errors.

    Each line is audited under the policy whose HCPCS code it bills (`rules`: one policy's or
    several); lines of other codes pass through.
    """
    every = rules if isinstance(rules, tuple) else (rules,)
    good, errors = validate_claims(rows)
    auth_rows: list[AuthRow] | None = None
    if authorizations is not None:
        auth_rows, auth_errors = validate_authorizations(authorizations, every)
        errors += auth_errors
    results: dict[int, dict[str, Any]] = {}
    for policy in every:
        lines = [line for line in good if line["hcpcs"].upper() == policy.hcpcs]
        auths = None
        if auth_rows is not None:
            auths = [a for a in auth_rows if a[3] is None or a[3] == policy.hcpcs]
        results.update(_audit_policy(lines, policy, auths))
    out = []
    for line in good:
        found = results.get(line["row"], {"rolling_units": None, "cycle": None, "edits": []})
        out.append({"row": line["row"], "claim_id": line["claim_id"], **found})
    return out, sorted(errors, key=error_order)


def _audit_policy(
    policy_lines: list[dict[str, Any]], rules: ClaimRules, auths: list[AuthRow] | None
) -> dict[int, dict[str, Any]]:
    auth_by_member: dict[str, list[AuthRow]] | None = None
    if auths is not None:
        auth_by_member = defaultdict(list)
        for a in auths:
            auth_by_member[a[0]].append(a)
    by_member: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in policy_lines:
        by_member[line["member_id"]].append(line)

    results: dict[int, dict[str, Any]] = {}
    for member, lines in by_member.items():
        periods = (auth_by_member or {}).get(member, [])

        def branch_on(day: int, periods: list[AuthRow] = periods) -> BranchLimits | None:
            """The branch of the authorization a day falls under: the latest start covering it."""
            covering = sorted((a for a in periods if a[1] <= day <= a[2]), key=lambda a: (-a[1], a[5]))
            if not covering or not rules.by_branch:
                return None
            index = rules.branch_index(covering[0][4])
            return rules.branches[index] if index >= 0 else None

        def window_of(day: int, cycle: int) -> int:
            if not rules.by_branch:
                return rules.cycle_length(cycle)
            branch = branch_on(day)
            return branch.window_days if branch else rules.fallback(cycle)[0]

        # Cycle of each distinct service day: a day at least the current cycle's length after the
        # current cycle's start opens the next cycle (the length of its schedule, or by branch: its
        # window). Doses within the label window of the cycle's scheduled days stay in it.
        cycle_of_day: dict[int, int] = {}
        cycle_start: int | None = None
        length = 0
        cycle = 0
        for day in sorted({line["service_date"] for line in lines}):
            if cycle_start is None or day >= cycle_start + length:
                cycle_start, cycle = day, cycle + 1
                length = window_of(day, cycle)
            cycle_of_day[day] = cycle
        modifiers_of_day: dict[int, set[str]] = defaultdict(set)
        for line in lines:
            modifiers_of_day[line["service_date"]] |= _modifiers(line["modifier"])
        for line in lines:
            day = line["service_date"]
            cycle = cycle_of_day[day]
            if rules.by_branch:
                branch = branch_on(day)
                window, max_units = (branch.window_days, branch.max_units) if branch else rules.fallback(cycle)
                max_cycles = branch.last_cycle if branch else rules.last_cycle
            else:
                window, max_units, max_cycles = rules.window_days, rules.max_units.at_day(day), \
                    rules.max_cycles.at_day(day)
            # JW (discarded) units count only while the policy in force on this line's date says so
            waste_counts = bool(rules.waste_counts.at_day(day))
            rolling = sum(
                other["units"]
                for other in lines
                if day - window < other["service_date"] <= day
                and (waste_counts or "JW" not in _modifiers(other["modifier"]))
            )
            edits = []
            if not _covered(line["icd10"], rules.covered_icd10):
                edits.append("ICD10_NOT_COVERED")
            if not _ndc_ok(line["ndc"], rules.ndc_patterns):
                edits.append("NDC_MISMATCH")
            if rolling > max_units:
                edits.append("UNITS_OVER_LIMIT")
            if cycle > max_cycles:
                edits.append("CYCLE_LIMIT")
            if auth_by_member is not None:
                if not periods:
                    edits.append("NO_AUTHORIZATION")
                elif not any(a[1] <= day <= a[2] for a in periods):
                    edits.append("OUTSIDE_AUTHORIZATION")
            if {"JW", "JZ"} <= modifiers_of_day[day]:
                edits.append("WASTE_MODIFIER")
            if (
                rules.modifier_required.at_day(day)
                and not {"JW", "JZ"} & _modifiers(line["modifier"])
                and "JW" not in modifiers_of_day[day]
            ):
                edits.append("WASTE_MODIFIER_MISSING")
            results[line["row"]] = {"rolling_units": rolling, "cycle": cycle, "edits": edits}
    return results
