"""`priorauth dose`: the dose plan of one cycle (Sections V, VI and II) under any policy with dosing rules.

The measurements have their own options; every other dose input the policy declares (and
each fact its schedules are chosen by) is given as `--name value`, its name with dashes:
`--response CR`, `--proceeding-to-hsct` / `--no-proceeding-to-hsct`, `--disease-setting
relapsed_refractory`. `--list-inputs` shows them.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any

import typer

# Request field -> the option that sets it, so errors name what the user typed.
OPTIONS = {
    "height_cm": "--height-cm",
    "weight_kg": "--weight-kg",
    "bsa_m2": "--bsa",
    "bsa_cap_m2": "--bsa-cap",
    "bsa_method": "--method",
    "cycle": "--cycle",
    "request_date": "--date",
    "policy": "--policy",
}


def option_for(field: str) -> str:
    name = field.removeprefix("facts.")
    return OPTIONS.get(name, "--" + name.replace("_", "-"))


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


def day_list(days: list[int]) -> str:
    """Day numbers, runs of three or more as `1-28`."""
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = [f"{r[0]}-{r[-1]}" if len(r) >= 3 else ", ".join(map(str, r)) for r in runs]
    return ", ".join(parts)


def _n(value: Decimal) -> str:
    return f"{value.normalize():f}"


def choose_policy(policy: str | None) -> str:
    """The policy asked for, or the only one loaded; ValueError naming --policy otherwise."""
    from priorauth.core import policy_ids

    if policy is not None:
        return policy
    ids = policy_ids()
    if len(ids) != 1:
        raise ValueError(f"--policy: required when more than one policy is loaded ({', '.join(ids)})")
    return ids[0]


def _typed(option: str, spec: Any, text: str | None) -> Any:
    """A command-line value as the input's type (`spec` is a dose input or a question)."""
    kind = spec.type
    if kind == "boolean":
        lowered = (text or "true").strip().lower()
        if lowered not in ("true", "false", "yes", "no"):
            raise ValueError(f"{option}: expected true or false")
        return lowered in ("true", "yes")
    if text is None:
        raise ValueError(f"{option}: needs a value")
    if kind == "choice":
        match = [v for v in (spec.values or []) if v.lower() == text.strip().lower()]
        if not match:
            raise ValueError(f"{option}: not one of {', '.join(spec.values or [])}")
        return match[0]
    if kind == "integer":
        return _whole(option, text)
    if kind == "number":
        return _number(option, text)
    if kind == "object":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise ValueError(f"{option}: expected a JSON object") from None
    return text


def policy_arguments(version: Any, args: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Dose inputs and facts from `--name value` arguments (`--name` / `--no-name` for yes/no)."""
    rules = version.dosing
    inputs_by_option = {"--" + n.replace("_", "-"): n for n in rules.inputs if n not in OPTIONS}
    facts_by_option = {"--" + n.replace("_", "-"): n for n in rules.fact_names}
    inputs: dict[str, Any] = {}
    facts: dict[str, Any] = {}
    i = 0
    while i < len(args):
        token = args[i]
        i += 1
        option, _, inline = token.partition("=")
        negated = option.startswith("--no-") and ("--" + option[5:]) in {**inputs_by_option, **facts_by_option}
        key = "--" + option[5:] if negated else option
        name = inputs_by_option.get(key) or facts_by_option.get(key)
        if name is None:
            raise ValueError(f"{option}: not an option, nor a dose input of policy {version.id}")
        spec = rules.inputs[name] if name in rules.inputs else version.question(name)
        if negated:
            value: Any = False
        elif spec.type == "boolean":
            if not inline and i < len(args) and args[i].strip().lower() in ("true", "false", "yes", "no"):
                inline = args[i]
                i += 1
            value = _typed(key, spec, inline or None)
        else:
            if not inline:
                if i >= len(args):
                    raise ValueError(f"{option}: needs a value")
                inline = args[i]
                i += 1
            value = _typed(key, spec, inline)
        (inputs if name in rules.inputs else facts)[name] = value
    return inputs, facts


def _list_inputs(version: Any) -> None:
    from rich.table import Table

    from priorauth.cli import out

    rules = version.dosing
    table = Table(title=f"Dose inputs of {version.id} (version {version.version}, §{rules.section})")
    for col in ("option", "type", "values / range", "meaning"):
        table.add_column(col)
    for name, spec in rules.inputs.items():
        shown = ", ".join(spec.values or []) if spec.values else (
            f"{spec.min} to {spec.max} {spec.unit or ''}".strip() if spec.min is not None else "")
        table.add_row(option_for(name), spec.type, shown, spec.text)
    for name in rules.fact_names:
        q = version.question(name)
        table.add_row(option_for(name), f"fact: {q.type}", ", ".join(q.values or []), q.text)
    out.print(table)


def _render(plan: Any) -> None:
    from rich.table import Table

    from priorauth.cli import out
    from priorauth.core import Truth

    marks = {Truth.MET: "[green]✔[/]", Truth.NOT_MET: "[red]✘[/]", Truth.UNKNOWN: "[yellow]?[/]"}
    u = plan.unit
    body = []
    per_m2 = any(d.basis == "per_m2" for d in plan.days)
    if plan.bsa is not None and per_m2:
        bsa = plan.bsa
        how = "given" if bsa.method == "given" else f"{bsa.method}, {bsa.unrounded:.4f} rounded"
        cap = f"; capped at {bsa.cap_m2} m2" if bsa.capped else ""
        body.append(f"BSA {bsa.m2} m2 ({how}{cap})")
    if plan.weight_kg is not None:
        body.append(f"weight {_n(plan.weight_kg)} kg")
    out.print(f"[bold]{plan.policy}[/] (version {plan.policy_version})  cycle {plan.cycle}  " + "  ".join(body))
    bands = list(dict.fromkeys(str(d.label.line.weight_kg) for d in plan.days if d.label.line.weight_kg))
    if bands:
        how = "per m2 of BSA" if per_m2 else "a fixed dose"
        if plan.bsa is not None and not per_m2:
            how += " (the BSA is not used)"
        capped = [d.day for d in plan.days if d.label.capped]
        cap = f"; the daily maximum applies on days {day_list(capped)}" if capped else \
            ("; no daily maximum reached" if per_m2 else "")
        out.print(f"Weight band: {', '.join(bands)}: {how}{cap}")
    s = plan.schedule
    length = f"{s.length_days} days"
    if s.extended_length_days:
        length += f", may extend to {s.extended_length_days} days: {s.extension_when}"
    out.print(f"§{s.section} {s.text}: {length}")
    verdict = {Truth.MET: "[green]yes[/]", Truth.NOT_MET: "[red]no[/]", Truth.UNKNOWN: "[yellow]unknown[/]"}
    out.print(f"May this cycle be given: {verdict[plan.eligibility.status]}"
              + (f"  (needs: {', '.join(plan.eligibility.missing)})" if plan.eligibility.missing else ""))
    for rule in plan.eligibility.rules:
        out.print(f"  {marks[rule.status]} §{rule.section} {rule.text} [dim]({rule.why})[/]")
    table = Table(title=f"{plan.hcpcs}: 1 unit = {_n(plan.amount_per_unit)} {u}; "
                  f"NDC {plan.ndc_pattern}, {_n(plan.vial_amount)} {u} single-dose vials")
    bases = {d.basis for d in plan.days}
    rate = {"per_m2": f"{u}/m2", "per_kg": f"{u}/kg", "flat": f"{u}/day"}[bases.pop()] if len(bases) == 1 else "dose"
    for col in ("day", rate, u, "units", "vials", f"discarded {u}", "discarded units", "modifier", "billed units"):
        table.add_column(col, justify="right" if col != "modifier" else "center")
    for d in plan.days:
        b = d.billing
        shown = _n(d.rate) if len({x.basis for x in plan.days}) == 1 else d.label.explain()
        table.add_row(str(d.day), shown + (" (capped)" if d.label.capped else ""), _n(b.amount), str(b.units),
                      str(b.vials), _n(b.discarded_amount), str(b.discarded_units), b.modifier, str(b.billed_units))
    table.add_section()
    table.add_row("cycle", "", _n(plan.total_amount), str(plan.total_units), str(plan.total_vials), "",
                  str(plan.total_discarded_units), "", str(plan.total_units + plan.total_discarded_units))
    out.print(table)
    w, limit = plan.window, plan.limit
    counted = "administered + discarded" if limit.waste_counts else "administered"
    state = "[green]within the limit[/]" if w.within_limit else "[red]OVER the limit[/]"
    terms = f" ({limit.branch})" if limit.branch else ""
    out.print(f"§{limit.section} unit limit{terms}: busiest {limit.window_days}-day window "
              f"(days {w.first_day}-{w.last_day}): {w.units} of {limit.max_units} units ({counted}): {state}")


def register(app: typer.Typer) -> None:
    @app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
    def dose(
        ctx: typer.Context,
        height_cm: Annotated[str | None, typer.Option("--height-cm", help="Height in cm.")] = None,
        weight_kg: Annotated[str | None, typer.Option("--weight-kg", help="Weight in kg.")] = None,
        bsa: Annotated[str | None, typer.Option("--bsa", help="BSA in m2, instead of height and weight.")] = None,
        method: Annotated[
            str | None, typer.Option("--method", help="BSA formula: mosteller (default), dubois, haycock.")
        ] = None,
        bsa_cap: Annotated[str | None, typer.Option("--bsa-cap", help="Cap the BSA (m2); no cap by default.")] = None,
        cycle: Annotated[str, typer.Option("--cycle", help="Cycle number (1 = first).")] = "1",
        date: Annotated[
            str | None, typer.Option("--date", help="Use the policy version in force on YYYY-MM-DD.")
        ] = None,
        policy: Annotated[
            str | None, typer.Option("--policy", help="Policy id (may be left out when only one is loaded).")
        ] = None,
        list_inputs: Annotated[
            bool, typer.Option("--list-inputs", help="List the policy's dose inputs (--name value) and stop.")
        ] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    ) -> None:
        """Dose plan of one cycle: amount per dose day, units, vials, waste, and the unit limit.

        Any other dose input of the policy is given as --name value (see --list-inputs).
        """
        from priorauth.cli import fail, print_json
        from priorauth.core import PriorAuthError, RequestError, load_policy, parse_iso_date, plan_doses

        try:
            on = parse_iso_date(date) if date is not None else None
        except ValueError as exc:
            fail(f"--date: {exc}")
        try:
            policy_id = choose_policy(policy)
            version = load_policy(policy_id).in_force(on)
            if version.dosing is None:
                fail(f"--policy: policy {policy_id} has no dosing rules")
            if list_inputs:
                _list_inputs(version)
                return
            inputs, facts = policy_arguments(version, list(ctx.args))
            plan = plan_doses(
                version,
                facts=facts,
                height_cm=_number("--height-cm", height_cm),
                weight_kg=_number("--weight-kg", weight_kg),
                bsa_m2=_number("--bsa", bsa),
                bsa_method=method.strip().lower() if method is not None else None,
                bsa_cap_m2=_number("--bsa-cap", bsa_cap),
                cycle=_whole("--cycle", cycle),
                **inputs,
            )
        except ValueError as exc:
            fail(str(exc))
        except RequestError as exc:
            fail(f"{option_for(exc.field)}: {exc.problem}")
        except PriorAuthError as exc:
            fail(str(exc))
        if as_json:
            print_json(plan.to_dict())
        else:
            _render(plan)
