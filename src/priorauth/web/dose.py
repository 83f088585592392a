"""The dose table of the case page (the numbers come from the core; this module only lays them out).

When the stored determination carries a `dose_check` (the request asked for doses), the
table is that check: requested against label and allowed amounts per day. Otherwise, when
the request carries a `dosing` block without doses, it is the label plan from
`priorauth.core.plan_doses` under the version that decided the request.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from priorauth.core import Policy, PolicyVersion, RequestError, plan_doses

RATE_HEADER = {"per_m2": "{u}/m²", "per_kg": "{u}/kg", "flat": "{u}/day"}
OUTCOME_TEXT = {"approved": "approved as requested", "approved_with_modification": "approved with modification",
                "denied": "denied", "pended": "pended"}


def columns(unit: str, rate: str) -> tuple[str, ...]:
    return ("Day", rate, f"Dose ({unit})", "Units", "Vials", "Discarded (units)", "Modifier", "Billed units")


def check_columns(unit: str) -> tuple[str, ...]:
    return ("Day", f"Requested ({unit})", "Requested units", f"Label dose ({unit})", f"Most allowed ({unit})",
            f"Allowed ({unit})", "Allowed units", "Vials", "Discarded units", "Modifier", "Status")


def dosing_block(stored: Any) -> dict[str, Any] | None:
    """The request's dosing block, wherever the service keeps it (None when there is none)."""
    block = getattr(stored, "dosing", None)
    if block is None and isinstance(getattr(stored, "facts", None), dict):
        block = stored.facts.get("dosing")
    return block if isinstance(block, dict) and block else None


def _number(value: Any) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
    return text


def dose_check_table(check: dict[str, Any]) -> dict[str, Any]:
    """The engine's `dose_check` as {columns, rows, summary, notes}."""
    u = check.get("unit") or "mg"

    def amount(value: Any) -> str:
        return "" if value is None else _number(float(value))

    rows = [
        (d["day"], amount(d.get(f"requested_{u}")), d.get("requested_units", ""), amount(d.get(f"label_{u}")),
         amount(d.get(f"max_{u}")), amount(d.get(f"allowed_{u}")), d.get("allowed_units", ""),
         d.get("allowed_vials", ""), d.get("discarded_units", ""), d.get("modifier", ""),
         str(d.get("status", "")).replace("_", " "))
        for d in check.get("days", [])
    ]
    totals = check.get("totals") or {}
    if rows:
        rows.append(("Cycle total", "", totals.get("requested_units", ""), "", "", "", totals.get("allowed_units", ""),
                     "", "", "", ""))
    outcome = check.get("outcome")
    parts = [f"Dose check: {OUTCOME_TEXT.get(outcome, outcome) if isinstance(outcome, str) else outcome}"
             + (f" (X12 {check['x12_action']})" if check.get("x12_action") else "")]
    if check.get("cycle"):
        parts.append(f"cycle {check['cycle']}")
    if check.get("bsa"):
        parts.append(f"BSA {_number(float(check['bsa']['m2']))} m² ({check['bsa']['method']})")
    if check.get("weight_kg") is not None:
        parts.append(f"weight {_number(float(check['weight_kg']))} kg")
    notes = [f"{r['text']} (§{r['section']})" for r in check.get("reasons", [])]
    limit = check.get("unit_limit")
    if limit and limit.get("busiest_window"):
        window = limit["busiest_window"]
        verdict = "within" if window["within_limit"] else "over"
        notes.append(f"Busiest {limit['window_days']}-day window: {window['units']} of {limit['max_units']} units, "
                     f"{verdict} the limit (§{limit['section']}).")
    may = check.get("may_be_given") or {}
    for rule in may.get("rules", []):
        if rule.get("status") != "met":
            notes.append(f"{rule['text']} (§{rule['section']}: {rule['status'].replace('_', ' ')})")
    if check.get("missing"):
        notes.append("Needed for the dose check: " + ", ".join(check["missing"]) + ".")
    return {"columns": check_columns(u), "rows": rows, "summary": "; ".join(parts) + ".", "notes": tuple(notes)}


def _version(policy: Policy | PolicyVersion, facts: dict[str, Any]) -> PolicyVersion:
    """The version to plan under: the one given, else the one in force on the request's decision date."""
    if isinstance(policy, PolicyVersion):
        return policy
    day = facts.get(policy.decided_on)
    return policy.in_force(dt.date.fromisoformat(day) if isinstance(day, str) and day else None)


def dose_plan_table(stored: Any, policy: Policy | PolicyVersion) -> dict[str, Any] | None:
    """{columns, rows, summary, notes} for the template, or None when the request carries no doses.

    `policy` is the version that decided the request (or the policy, whose version in force
    on the request's date is used).
    """
    determination = getattr(stored, "determination", None) or {}
    if determination.get("dose_check"):
        return dose_check_table(determination["dose_check"])
    block = dosing_block(stored)
    if block is None:
        return None
    facts = getattr(stored, "facts", {}) or {}
    arguments = {k: v for k, v in block.items() if k not in ("doses", "ndc", "hcpcs") and v is not None}
    try:
        version = _version(policy, facts)
        plan = plan_doses(version, facts=facts, **arguments).to_dict()
    except (RequestError, TypeError, ValueError) as exc:
        problem = exc.problem if isinstance(exc, RequestError) else "the dosing details are incomplete"
        return {"columns": (), "rows": (), "summary": None, "notes": (f"No dose plan: {problem}.",)}
    u = plan["unit"]
    bases = {d["basis"] for d in plan["days"]}
    rate = RATE_HEADER[next(iter(bases))].format(u=u) if len(bases) == 1 else "Dose rule"
    rows = [
        (d["day"], _number(d["rate"]) if len(bases) == 1 else f"{_number(d['rate'])} {RATE_HEADER[d['basis']]}"
         .format(u=u), _number(d[u]), d["units"], d["vials"], d["discarded_units"], d["modifier"], d["billed_units"])
        for d in plan["days"]
    ]
    t = plan["totals"]
    rows.append(("Cycle total", "", _number(t[u]), t["units"], t["vials"], t["discarded_units"], "",
                 t["billed_units"]))
    limit = plan["unit_limit"]
    window = limit["busiest_window"]
    verdict = "within" if window["within_limit"] else "over"
    body = []
    if plan["bsa"]:
        body.append(f"BSA {_number(plan['bsa']['m2'])} m² ({plan['bsa']['method']})")
    if plan["weight_kg"] is not None:
        body.append(f"weight {_number(plan['weight_kg'])} kg")
    summary = (
        f"Cycle {plan['cycle']} ({plan['schedule']['length_days']} days)"
        + (f", {', '.join(body)}" if body else "")
        + f"; {plan['hcpcs']}, vials of {_number(plan[f'vial_{u}'])} {u}."
    )
    notes = [
        f"Busiest {limit['window_days']}-day window: {window['units']} of {limit['max_units']} units, "
        f"{verdict} the limit (§{limit['section']})."
    ]
    may = plan["may_be_given"]
    if may["status"] != "met":
        for rule in may["rules"]:
            if rule["status"] != "met":
                notes.append(f"{rule['text']} (§{rule['section']}: {rule['status'].replace('_', ' ')})")
    return {"columns": columns(u, rate), "rows": rows, "summary": summary, "notes": tuple(notes)}
