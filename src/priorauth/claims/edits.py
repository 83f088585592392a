"""The claim edits, declared once: both engines and the reference read this list.

An edit is a stable code, the policy section it enforces, a message and (where it
has them) the policy parameters that set its limit and say what counts toward it, each
dated by the versions of the policy. `ClaimRules` resolves everything an engine needs
from a loaded policy, so no limit lives in code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from priorauth.core import (
    Policy,
    PolicyVersion,
    branch_terms,
    load_policy,
    policy_ids,
    strictest_terms,
    walk,
)


@dataclass(frozen=True)
class ClaimEdit:
    """One claim edit: a stable code an integrator can match on, and where it comes from."""

    code: str
    section: str
    message: str
    limit_parameter: str | None = None
    # A yes/no parameter: while false in the version in force on a line's service date, units on lines
    # billed with the JW modifier (discarded drug) are left out of that line's sum.
    waste_parameter: str | None = None
    needs_authorizations: bool = False


EDITS: tuple[ClaimEdit, ...] = (
    ClaimEdit(
        "ICD10_NOT_COVERED",
        "Appendix 1",
        "No diagnosis on the line is a covered diagnosis code (Appendix 1).",
    ),
    ClaimEdit(
        "NDC_MISMATCH",
        "VI",
        "The NDC, normalised to 11 digits, is not the policy's product (Section VI); "
        "ambiguous or malformed NDCs are flagged too.",
    ),
    ClaimEdit(
        "UNITS_OVER_LIMIT",
        "II",
        "The member's units over the unit window ending on the service date exceed the limit (Section II); "
        "units billed with JW (discarded drug) count only while the policy counts waste toward the limit.",
        limit_parameter="max_units",
        waste_parameter="waste_counts_toward_limit",
    ),
    ClaimEdit(
        "CYCLE_LIMIT",
        "I",
        "The line falls in a treatment cycle beyond the maximum number of cycles (Sections I and II).",
        limit_parameter="max_cycles",
    ),
    ClaimEdit(
        "NO_AUTHORIZATION",
        "I",
        "The member has no authorization on file (Section I).",
        needs_authorizations=True,
    ),
    ClaimEdit(
        "OUTSIDE_AUTHORIZATION",
        "I",
        "The service date is outside every authorization period of the member (Section I).",
        needs_authorizations=True,
    ),
    ClaimEdit(
        "WASTE_MODIFIER",
        "II",
        "JW (drug discarded) and JZ (no drug discarded) were both billed for the member on the "
        "same day (Section II; CMS JW/JZ modifier policy).",
    ),
    ClaimEdit(
        "WASTE_MODIFIER_MISSING",
        "VI",
        "The line reports neither JW nor JZ and no line of the member's same day reports JW "
        "(Section VI `billing.modifiers.claim_edit`: CMS JW/JZ policy for single-dose vials).",
    ),
)

EDIT_CODES: tuple[str, ...] = tuple(e.code for e in EDITS)
EDITS_BY_CODE: dict[str, ClaimEdit] = {e.code: e for e in EDITS}
WASTE_MODIFIERS = ("JW", "JZ")
UNITS_EDIT = EDITS_BY_CODE["UNITS_OVER_LIMIT"]
CYCLE_EDIT = EDITS_BY_CODE["CYCLE_LIMIT"]


@dataclass(frozen=True)
class DatedLimit:
    """A parameter over the versions, as sorted (effective day number, value) pairs (yes/no as 1/0).

    Lines dated before the first effective date take the first value: earlier
    versions of the document are not encoded, and the earliest encoded one is the
    closest reading available (documented in docs/claims.md).
    """

    name: str
    effective_days: tuple[int, ...]
    values: tuple[int, ...]

    def at_day(self, day: int) -> int:
        chosen = self.values[0]
        for effective, value in zip(self.effective_days, self.values, strict=True):
            if effective <= day:
                chosen = value
        return chosen


EPOCH = dt.date(1970, 1, 1)


def day_number(day: dt.date) -> int:
    """Days since 1970-01-01: the integer day every engine works with."""
    return (day - EPOCH).days


def covered_diagnoses(version: PolicyVersion) -> frozenset[str]:
    """ICD-10-CM codes of the code lists the criteria test diagnosis codes against (`codes_in`)."""
    names = [
        node.leaf.argument[1]
        for _, node in walk(version.criteria)
        if node.leaf is not None and node.leaf.operator == "codes_in"
    ]
    lists = [version.code_lists[n] for n in dict.fromkeys(names) if n in version.code_lists]
    return frozenset(code for c in lists if c.system == "icd-10-cm" for code in c.codes)


def cycle_lengths(version: PolicyVersion) -> tuple[int, ...]:
    """Per cycle number 1..n (n for every later cycle), the days from a cycle's start before the next
    cycle may start, from the Section V schedules: the shortest `length_days` of the schedules for
    that cycle (whatever their `when`), and never before the label window of its last scheduled dose
    has passed (`dosing.day_window.days_late`). Empty for a policy without dosing rules."""
    dosing = version.dosing
    if dosing is None:
        return ()
    window = getattr(dosing, "day_window", None)
    late = int(getattr(window, "days_late", 0) or 0)
    last = max(max(s.cycles.first, s.cycles.last or 0) for s in dosing.schedules)
    out = []
    for cycle in range(1, last + 1):
        covering = [s for s in dosing.schedules if s.cycles.contains(cycle)] or [dosing.schedules[-1]]
        out.append(min(max(s.length_days, s.dose_days[-1] + (late if s.dose_days[-1] > 1 else 0)) for s in covering))
    return tuple(out)


def modifier_required(versions: tuple[PolicyVersion, ...]) -> DatedLimit:
    """1 on the dates a policy line must report JW or JZ: the version in force (before the first: the
    first) has `billing.modifiers.claim_edit.required` and the date is on or after its `since`."""

    def on(day: int) -> int:
        version = versions[0]
        for v in versions:
            if day_number(v.effective) <= day:
                version = v
        rule = version.billing.modifiers.claim_edit
        return int(rule is not None and rule.required and day >= day_number(rule.since))

    breaks = {day_number(v.effective) for v in versions}
    breaks |= {day_number(r.since) for v in versions if (r := v.billing.modifiers.claim_edit) is not None}
    days = (-(10**7), *sorted(breaks))  # before every date: as on the earliest
    return DatedLimit("modifier_required", days, tuple(on(d) for d in days))


@dataclass(frozen=True)
class BranchLimits:
    """The limits of one authorization branch of a policy (its `authorizations` entry): a line under
    an authorization of that branch is held to them."""

    branch: str
    max_units: int
    window_days: int
    last_cycle: int  # the last cycle of the course it covers (its `cycles` range, else its max_cycles)


@dataclass(frozen=True)
class ClaimRules:
    """What the edits need from a policy: codes, NDC patterns, covered diagnoses, dated limits.

    A policy whose limits differ by authorization branch (`authorizations:`) has `branches`; a
    line under an authorization naming its branch is held to that branch's limits, any other
    line to the Section II limit of its cycle number: per cycle (`cycle_windows`,
    `cycle_units`, the last value for later cycles), the strictest unit limit of the branches
    covering it, and no cycle after `last_cycle`. Such a policy's limits are not dated: they
    must be the same in every version.
    """

    policy_id: str
    hcpcs: str
    ndc_patterns: tuple[str, ...]
    covered_icd10: frozenset[str]
    max_units: DatedLimit
    max_cycles: DatedLimit
    window_days: int
    waste_counts: DatedLimit  # 1 while JW units count toward max_units, 0 while they do not
    # 1 on dates a line must report JW or JZ (WASTE_MODIFIER_MISSING), 0 where the rule is off
    modifier_required: DatedLimit = DatedLimit("modifier_required", (0,), (0,))
    # Per cycle number (the last for every later cycle): the days from a cycle's start before the
    # next cycle may start (its shortest schedule length); empty: `window_days` for every cycle.
    cycle_lengths: tuple[int, ...] = ()
    branches: tuple[BranchLimits, ...] = ()
    cycle_windows: tuple[int, ...] = ()
    cycle_units: tuple[int, ...] = ()
    last_cycle: int = 0

    @property
    def waste_always_counts(self) -> bool:
        """True when JW units count on every date: the engines then skip the JW-only sums."""
        return all(self.waste_counts.values)

    @property
    def by_branch(self) -> bool:
        """Limits differ by authorization branch (and by cycle number without one)."""
        return bool(self.branches)

    @property
    def longest_window(self) -> int:
        branch_windows = (b.window_days for b in self.branches)
        return max((self.window_days, *self.cycle_windows, *self.cycle_lengths, *branch_windows))

    def branch_index(self, branch: str | None) -> int:
        """Position of a branch id in `branches`; -1 for none or another policy's."""
        for i, b in enumerate(self.branches):
            if b.branch == branch:
                return i
        return -1

    def cycle_length(self, cycle: int) -> int:
        """Days after the start of `cycle` (a policy without branches) before the next cycle may start."""
        if not self.cycle_lengths:
            return self.window_days
        return self.cycle_lengths[min(max(cycle, 1), len(self.cycle_lengths)) - 1]

    def fallback(self, cycle: int) -> tuple[int, int]:
        """(window, max units) of a line of `cycle` held to the Section II limit of its cycle number."""
        k = min(max(cycle, 1), len(self.cycle_windows)) - 1
        return self.cycle_windows[k], self.cycle_units[k]

    @classmethod
    def from_policy(cls, policy: Policy | PolicyVersion | str) -> ClaimRules:
        """The rules of a policy (every version, each from its effective date), a version, or a policy id.

        A line takes the limits of the version in force on its service date (before the
        first version: the first). Codes and the window length must be the same in every
        version: the engines hold one of each.
        """
        if isinstance(policy, str):
            policy = load_policy(policy)
        versions = (policy,) if isinstance(policy, PolicyVersion) else policy.versions
        if any(v.authorizations for v in versions):
            return cls._by_branch(versions)

        def values(name: str) -> list[tuple[dt.date, Any]]:
            out = []
            for v in versions:
                if name not in v.parameters:
                    raise ValueError(f"{v.id} {v.version}: parameter {name} is needed by the claim edits")
                out.append((v.effective, v.parameter(name)))
            return out

        def dated(name: str, kind: type = int) -> DatedLimit:
            pairs = values(name)
            for day, value in pairs:
                if isinstance(value, bool) != (kind is bool) or not isinstance(value, int):
                    what = "true or false" if kind is bool else "a whole number"
                    raise ValueError(f"{name} must be {what} on every date (version {day.isoformat()})")
            return DatedLimit(name, tuple(day_number(d) for d, _ in pairs), tuple(int(v) for _, v in pairs))

        assert UNITS_EDIT.limit_parameter and UNITS_EDIT.waste_parameter and CYCLE_EDIT.limit_parameter

        windows = {int(v) for _, v in values("unit_window_days")}
        if len(windows) != 1:
            # A window length that changes over time would need a per-line frame; refuse loudly.
            raise ValueError("unit_window_days changes over time; the claims audit supports one window length")
        latest = versions[-1]
        same = {
            "the HCPCS code": lambda v: v.billing.hcpcs.code,
            "the NDC products": lambda v: tuple(p.pattern for p in v.billing.ndc),
            "the covered diagnosis codes": covered_diagnoses,
            "the cycle lengths": lambda v: cycle_lengths(v),
        }
        for what, get in same.items():
            if any(get(v) != get(latest) for v in versions):
                raise ValueError(f"{what} change between versions; the claims audit supports one set")
        waste = (
            dated(UNITS_EDIT.waste_parameter, bool)
            if all(UNITS_EDIT.waste_parameter in v.parameters for v in versions)
            else DatedLimit(UNITS_EDIT.waste_parameter, (day_number(versions[0].effective),), (1,))
        )
        return cls(
            policy_id=latest.id,
            hcpcs=latest.billing.hcpcs.code.strip().upper(),
            ndc_patterns=tuple(p.pattern for p in latest.billing.ndc),
            covered_icd10=covered_diagnoses(latest),
            max_units=dated(UNITS_EDIT.limit_parameter),
            max_cycles=dated(CYCLE_EDIT.limit_parameter),
            window_days=windows.pop(),
            waste_counts=waste,
            modifier_required=modifier_required(versions),
            cycle_lengths=cycle_lengths(latest),
        )

    @classmethod
    def _by_branch(cls, versions: tuple[PolicyVersion, ...]) -> ClaimRules:
        """The rules of a policy whose limits differ by authorization branch (see the class)."""
        latest = versions[-1]
        terms = branch_terms(latest)
        for v in versions:
            if branch_terms(v) != terms or v.billing.hcpcs.code != latest.billing.hcpcs.code:
                raise ValueError(f"{v.id}: the authorization branches or codes change between versions; "
                                 "the claims audit supports one set")
        branches = tuple(BranchLimits(t.id, t.max_units, t.unit_window_days, t.last_cycle or t.max_cycles)
                         for t in terms)
        last = max(b.last_cycle for b in branches)
        windows, units = [], []
        for cycle in range(1, last + 1):
            covering = [t for t in terms if t.covers(cycle)] or list(terms)
            strict = strictest_terms(covering)
            windows.append(strict.unit_window_days)
            units.append(strict.max_units)
        waste = latest.parameters.get(UNITS_EDIT.waste_parameter or "")
        counts = 1 if waste is None else int(bool(waste.value))
        first = day_number(versions[0].effective)
        strict = strictest_terms(list(terms))
        return cls(
            policy_id=latest.id,
            hcpcs=latest.billing.hcpcs.code.strip().upper(),
            ndc_patterns=tuple(p.pattern for p in latest.billing.ndc),
            covered_icd10=covered_diagnoses(latest),
            max_units=DatedLimit("max_units", (first,), (strict.max_units,)),
            max_cycles=DatedLimit("max_cycles", (first,), (last,)),
            window_days=strict.unit_window_days,
            waste_counts=DatedLimit(UNITS_EDIT.waste_parameter or "", (first,), (counts,)),
            modifier_required=modifier_required(versions),
            branches=branches,
            cycle_windows=tuple(windows),
            cycle_units=tuple(units),
            last_cycle=last,
        )

    def edits(self, with_authorizations: bool) -> tuple[ClaimEdit, ...]:
        return tuple(e for e in EDITS if with_authorizations or not e.needs_authorizations)


def claim_rules(policy: str | Policy | PolicyVersion | list | tuple | None = None) -> tuple[ClaimRules, ...]:
    """The rules of each policy a claims audit runs: the one given, the ones listed, or (None)
    every loaded policy. A line is audited under the policy of its HCPCS code, so no two may share one."""
    if policy is None:
        chosen: list = list(policy_ids())
    elif isinstance(policy, list | tuple):
        chosen = list(policy)
    else:
        chosen = [policy]
    rules = tuple(ClaimRules.from_policy(p) for p in chosen)
    codes: dict[str, str] = {}
    for r in rules:
        if r.hcpcs in codes:
            raise ValueError(f"policies {codes[r.hcpcs]} and {r.policy_id} both bill {r.hcpcs}; "
                             "audit them one at a time (--policy)")
        codes[r.hcpcs] = r.policy_id
    return rules
