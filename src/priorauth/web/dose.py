"""The dose table of the case page (issue 3's numbers; this module only lays them out).

When the stored determination carries a `dose_check` (the request asked for doses), the
table is that check: requested against label and allowed amounts per day. Otherwise, when
the request carries a `dosing` block without doses, it is the label plan from
`priorauth.core._dosing.plan.plan_doses`.
"""

from __future__ import annotations

from typing import Any

from priorauth.core._errors import RequestError
from priorauth.core._policy.schema import Policy

COLUMNS = ("Day", "mg/m²", "Dose (mg)", "Units", "Vials", "Discarded (units)", "Modifier", "Billed units")
CHECK_COLUMNS = ("Day", "Requested (mg)", "Requested units", "Label dose (mg)", "Most allowed (mg)", "Allowed (mg)",
                 "Allowed units", "Vials", "Discarded units", "Modifier", "Status")
OUTCOME_TEXT = {"approved": "approved as requested", "approved_with_modification": "approved with modification",
                "denied": "denied", "pended": "pended"}
PLAN_ARGUMENTS = (
    "height_cm", "weight_kg", "bsa_m2", "bsa_method", "bsa_cap_m2", "cycle", "response", "proceeding_to_hsct",
    "mrd_negative",
)


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
    def mg(value: Any) -> str:
        return "" if value is None else _number(float(value))

    rows = [
        (d["day"], mg(d.get("requested_mg")), d.get("requested_units", ""), mg(d.get("label_mg")), mg(d.get("max_mg")),
         mg(d.get("allowed_mg")), d.get("allowed_units", ""), d.get("allowed_vials", ""), d.get("discarded_units", ""),
         d.get("modifier", ""), str(d.get("status", "")).replace("_", " "))
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
    return {"columns": CHECK_COLUMNS, "rows": rows, "summary": "; ".join(parts) + ".", "notes": tuple(notes)}


def dose_plan_table(stored: Any, policy: Policy) -> dict[str, Any] | None:
    """{columns, rows, summary, notes} for the template, or None when the request carries no doses."""
    determination = getattr(stored, "determination", None) or {}
    if determination.get("dose_check"):
        return dose_check_table(determination["dose_check"])
    block = dosing_block(stored)
    if block is None:
        return None
    try:
        from priorauth.core._dosing.plan import plan_doses
    except ImportError:  # the calculator is not installed in this build
        return None
    arguments = {k: block[k] for k in PLAN_ARGUMENTS if block.get(k) is not None}
    if isinstance(arguments.get("response"), dict):
        arguments.pop("response")
    facts = getattr(stored, "facts", {}) or {}
    try:
        import datetime as dt

        on = dt.date.fromisoformat(facts["request_date"]) if facts.get("request_date") else None
        plan = plan_doses(policy, on=on, **arguments).to_dict()
    except (RequestError, TypeError, ValueError) as exc:
        problem = exc.problem if isinstance(exc, RequestError) else "the dosing details are incomplete"
        return {"columns": (), "rows": (), "summary": None, "notes": (f"No dose plan: {problem}.",)}
    rows = [
        (d["day"], _number(d["mg_per_m2"]), _number(d["mg"]), d["units"], d["vials"], d["discarded_units"],
         d["modifier"], d["billed_units"])
        for d in plan["days"]
    ]
    t = plan["totals"]
    rows.append(("Cycle total", "", _number(t["mg"]), t["units"], t["vials"], t["discarded_units"], "",
                 t["billed_units"]))
    bsa = plan["bsa"]
    limit = plan["unit_limit"]
    window = limit["busiest_window"]
    verdict = "within" if window["within_limit"] else "over"
    summary = (
        f"Cycle {plan['cycle']} ({plan['schedule']['length_days']} days), BSA {_number(bsa['m2'])} m² "
        f"({bsa['method']}); {plan['hcpcs']}, vials of {_number(plan['vial_mg'])} mg."
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
    return {"columns": COLUMNS, "rows": rows, "summary": summary, "notes": tuple(notes)}
