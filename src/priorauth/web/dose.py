"""The dose plan table of the case page, from a request's `dosing` block (issue 3's calculator).

The numbers come from `priorauth.dosing.plan.plan_doses`; this module only lays them out.
"""

from __future__ import annotations

from typing import Any

from priorauth.errors import RequestError
from priorauth.policy.schema import Policy

COLUMNS = ("Day", "mg/m²", "Dose (mg)", "Units", "Vials", "Discarded (units)", "Modifier", "Billed units")
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


def dose_plan_table(stored: Any, policy: Policy) -> dict[str, Any] | None:
    """{columns, rows, summary, notes} for the template, or None when the request carries no doses."""
    block = dosing_block(stored)
    if block is None:
        return None
    try:
        from priorauth.dosing.plan import plan_doses
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
