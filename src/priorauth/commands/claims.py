"""`priorauth claims audit|synth`: the claims audit from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ERRORS_SHOWN = 10


def register(app: typer.Typer) -> None:
    claims_app = typer.Typer(help="Audit claim lines against the policy's claim edits.", no_args_is_help=True)
    app.add_typer(claims_app, name="claims")

    @claims_app.command("audit")
    def audit(
        input_file: Annotated[Path, typer.Argument(metavar="INPUT", help="Claim lines, .parquet or .csv.")],
        out: Annotated[
            Path | None,
            typer.Option("--out", help="Output file, .parquet or .csv (default: NAME.audited.parquet beside INPUT)."),
        ] = None,
        auth: Annotated[
            Path | None,
            typer.Option("--auth", help="Authorizations: member_id, start, end [, hcpcs, branch]."),
        ] = None,
        engine: Annotated[str, typer.Option("--engine", help="polars (default) or spark.")] = "polars",
        master: Annotated[str, typer.Option("--master", help="Spark master URL.")] = "local[*]",
        policy: Annotated[
            str | None,
            typer.Option("--policy", help="Audit only this policy's lines (default: every loaded policy, "
                         "each line under the policy of its HCPCS code)."),
        ] = None,
        errors_out: Annotated[
            Path | None, typer.Option("--errors", help="Where to list rejected rows (default: OUT.errors.csv).")
        ] = None,
    ) -> None:
        """Audit claim lines; write per-line edits, list rejected rows, print a summary."""
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from priorauth.claims.audit import Engine, audit_claims_to_file
        from priorauth.claims.io import file_format, write_errors
        from priorauth.claims.schema import ClaimInputError
        from priorauth.cli import fail
        from priorauth.core import PriorAuthError, policy_ids

        if policy is not None and policy not in policy_ids():
            fail(f"--policy: unknown policy {policy!r} (loaded: {', '.join(policy_ids())})")
        if engine not in ("polars", "spark"):
            fail(f"--engine: unknown engine {engine!r} (polars or spark)")
        chosen: Engine = "spark" if engine == "spark" else "polars"
        if out is None:
            out = input_file.with_name(f"{input_file.stem}.audited.parquet")
        try:
            file_format(out)
        except ClaimInputError as exc:
            fail(f"--out: {exc}")
        console = Console(stderr=True)
        stages = ["read", "validated", "edits"] if engine == "polars" else ["spark"]
        with Progress(
            TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console, transient=True
        ) as bar:
            task = bar.add_task(f"auditing ({engine})", total=len(stages) + 1)

            def step(stage: str) -> None:
                bar.update(task, advance=1, description=f"auditing ({engine}): {stage}")

            try:
                result = audit_claims_to_file(
                    input_file, out, auth, policy=policy, engine=chosen, master=master, progress=step
                )
            except PriorAuthError as exc:
                fail(str(exc))
                return
            except ValueError as exc:  # e.g. two loaded policies bill the same HCPCS code
                fail(f"--policy: {exc}")
                return
            step("written")
        _print_summary(result, out, with_authorizations=auth is not None)
        rejected = result.errors + result.auth_errors
        if rejected:
            path = errors_out or out.with_name(out.name + ".errors.csv")
            write_errors(rejected, path)
            console.print(f"[yellow]{len(rejected)} problem(s) in rejected rows, listed in {path}:[/]")
            for error in rejected[:ERRORS_SHOWN]:
                console.print(f"  {error}")
            if len(rejected) > ERRORS_SHOWN:
                console.print(f"  ... and {len(rejected) - ERRORS_SHOWN} more")
        if result.summary.lines_audited == 0 and result.summary.rows_read > 0:
            fail("no row could be audited (every row was rejected)")

    @claims_app.command("synth")
    def synth(
        lines: Annotated[int, typer.Argument(metavar="N", help="Number of claim lines.")],
        out: Annotated[Path, typer.Option("--out", help="Output file, .parquet or .csv.")],
        seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
        policy: Annotated[
            str | None, typer.Option("--policy", help="Policy id (may be left out when only one is loaded).")
        ] = None,
    ) -> None:
        """Write realistic synthetic claims for a policy (about 5% violations of each kind)."""
        from priorauth.claims.schema import ClaimInputError
        from priorauth.claims.synth import write_synth
        from priorauth.cli import fail
        from priorauth.cli import out as console
        from priorauth.commands.dose import choose_policy
        from priorauth.core import PriorAuthError

        if lines < 0:
            fail("N: must be at least 0")
        try:
            written = write_synth(choose_policy(policy), lines, out, seed)
        except ClaimInputError as exc:
            fail(f"--out: {exc}")
        except (ValueError, PriorAuthError) as exc:
            fail(str(exc))
        console.print(f"wrote {written} synthetic claim lines to {out}")


def _print_summary(result, out: Path, with_authorizations: bool) -> None:
    from rich.table import Table

    from priorauth.claims.edits import EDITS_BY_CODE
    from priorauth.cli import out as console

    s = result.summary
    console.print(
        f"[bold]Claims audit[/] ({s.engine}): {s.rows_read} rows read, {s.lines_audited} lines audited, "
        f"{s.rows_rejected} rows rejected; {s.policy_lines} policy lines for {s.members} members"
    )
    if len(s.lines_by_policy) > 1:
        console.print("lines by policy: " + ", ".join(f"{p} {n}" for p, n in s.lines_by_policy.items()))
    table = Table(show_edge=False)
    for column in ("edit", "section", "lines"):
        table.add_column(column, justify="right" if column == "lines" else "left")
    for code, count in s.edit_counts.items():
        if EDITS_BY_CODE[code].needs_authorizations and not with_authorizations:
            continue
        table.add_row(code, EDITS_BY_CODE[code].section, str(count))
    console.print(table)
    console.print(f"lines with at least one edit: {s.lines_with_edits}; units at risk: {s.units_at_risk}")
    console.print(f"output: {out}")
