"""`priorauth dose`: the dose plan of one cycle (Sections V, VI and II)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

import typer

# Request field -> the option that sets it, so errors name what the user typed.
OPTIONS = {
    "height_cm": "--height-cm",
    "weight_kg": "--weight-kg",
    "bsa_m2": "--bsa",
    "bsa_cap_m2": "--bsa-cap",
    "bsa_method": "--method",
    "cycle": "--cycle",
    "response": "--response",
    "request_date": "--date",
    "policy": "--policy",
}
RESPONSES = {"cr": "CR", "cri": "CRi", "none": "none"}


def _number(option: str, text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{option}: expected a number") from None


def _whole(option: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{option}: expected a whole number") from None


def _n(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _render(plan) -> None:
    from rich.table import Table

    from priorauth.cli import out
    from priorauth.core._logic import Truth

    marks = {Truth.MET: "[green]✔[/]", Truth.NOT_MET: "[red]✘[/]", Truth.UNKNOWN: "[yellow]?[/]"}
    bsa = plan.bsa
    how = "given" if bsa.method == "given" else f"{bsa.method}, {bsa.unrounded:.4f} rounded"
    cap = f"; capped at {bsa.cap_m2} m2" if bsa.capped else ""
    out.print(f"[bold]{plan.policy}[/] (version {plan.policy_version})  cycle {plan.cycle}  "
              f"BSA {bsa.m2} m2 ({how}{cap})")
    s = plan.schedule
    length = f"{s.length_days} days"
    if s.extended_length_days:
        length += f", may extend to {s.extended_length_days} days: {s.extension_when}"
    out.print(f"§{s.section} {s.basis}: {length}")
    verdict = {Truth.MET: "[green]yes[/]", Truth.NOT_MET: "[red]no[/]", Truth.UNKNOWN: "[yellow]unknown[/]"}
    out.print(f"May this cycle be given: {verdict[plan.eligibility.status]}"
              + (f"  (needs: {', '.join(plan.eligibility.missing)})" if plan.eligibility.missing else ""))
    for rule in plan.eligibility.rules:
        out.print(f"  {marks[rule.status]} §{rule.section} {rule.text} [dim]({rule.why})[/]")
    table = Table(title=f"{plan.hcpcs}: 1 unit = {_n(plan.mg_per_unit)} mg; "
                  f"NDC {plan.ndc_pattern}, {_n(plan.vial_mg)} mg single-dose vials")
    for col in ("day", "mg/m2", "mg", "units", "vials", "discarded mg", "discarded units", "modifier", "billed units"):
        table.add_column(col, justify="right" if col != "modifier" else "center")
    for d in plan.days:
        b = d.billing
        table.add_row(str(d.day), _n(d.mg_per_m2), _n(b.mg), str(b.units), str(b.vials), _n(b.discarded_mg),
                      str(b.discarded_units), b.modifier, str(b.billed_units))
    table.add_section()
    table.add_row("cycle", "", _n(plan.total_mg), str(plan.total_units), str(plan.total_vials), "",
                  str(plan.total_discarded_units), "", str(plan.total_units + plan.total_discarded_units))
    out.print(table)
    w, limit = plan.window, plan.limit
    counted = "administered + discarded" if limit.waste_counts else "administered"
    state = "[green]within the limit[/]" if w.within_limit else "[red]OVER the limit[/]"
    out.print(f"§{limit.section} unit limit: busiest {limit.window_days}-day window (days {w.first_day}-{w.last_day}): "
              f"{w.units} of {limit.max_units} units ({counted}): {state}")


def register(app: typer.Typer) -> None:
    @app.command()
    def dose(
        height_cm: Annotated[str | None, typer.Option("--height-cm", help="Height in cm.")] = None,
        weight_kg: Annotated[str | None, typer.Option("--weight-kg", help="Weight in kg.")] = None,
        bsa: Annotated[str | None, typer.Option("--bsa", help="BSA in m2, instead of height and weight.")] = None,
        method: Annotated[
            str | None, typer.Option("--method", help="BSA formula: mosteller (default), dubois, haycock.")
        ] = None,
        bsa_cap: Annotated[str | None, typer.Option("--bsa-cap", help="Cap the BSA (m2); no cap by default.")] = None,
        cycle: Annotated[str, typer.Option("--cycle", help="Cycle number (1 = first).")] = "1",
        response: Annotated[
            str | None, typer.Option("--response", help="Best response so far: CR, CRi or none.")
        ] = None,
        hsct: Annotated[
            bool | None, typer.Option("--hsct/--no-hsct", help="Proceeds to HSCT (unknown when omitted).")
        ] = None,
        mrd_negative: Annotated[
            bool | None, typer.Option("--mrd-negative/--mrd-positive", help="MRD status after treatment.")
        ] = None,
        date: Annotated[
            str | None, typer.Option("--date", help="Use the policy version in force on YYYY-MM-DD.")
        ] = None,
        policy: Annotated[str, typer.Option("--policy", help="Policy id.")] = "besponsa",
        as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    ) -> None:
        """Dose plan of one cycle: mg per dose day, units, vials, waste, and the unit limit."""
        from priorauth.cli import fail, print_json
        from priorauth.core._dosing.plan import plan_doses
        from priorauth.core._errors import PriorAuthError, RequestError
        from priorauth.core._policy.schema import parse_iso_date

        try:
            on = parse_iso_date(date) if date is not None else None
        except ValueError as exc:
            fail(f"--date: {exc}")
            return
        chosen = None
        if response is not None:
            chosen = RESPONSES.get(response.strip().lower())
            if chosen is None:
                fail("--response: not one of CR, CRi, none")
                return
        try:
            plan = plan_doses(
                policy,
                height_cm=_number("--height-cm", height_cm),
                weight_kg=_number("--weight-kg", weight_kg),
                bsa_m2=_number("--bsa", bsa),
                bsa_method=method.strip().lower() if method is not None else None,
                bsa_cap_m2=_number("--bsa-cap", bsa_cap),
                cycle=_whole("--cycle", cycle),
                response=chosen,
                proceeding_to_hsct=hsct,
                mrd_negative=mrd_negative,
                on=on if isinstance(on, dt.date) else None,
            )
        except ValueError as exc:
            fail(str(exc))
            return
        except RequestError as exc:
            fail(f"{OPTIONS.get(exc.field, exc.field)}: {exc.problem}")
            return
        except PriorAuthError as exc:
            fail(str(exc))
            return
        if as_json:
            print_json(plan.to_dict())
        else:
            _render(plan)
