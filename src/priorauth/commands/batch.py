"""`priorauth batch evaluate` and `priorauth impact`: request histories decided column-wise.

Everything heavy (Polars, pyarrow, Spark) is imported inside the commands, so the rest of
the command line starts without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ERRORS_SHOWN = 10

RequestsArgument = Annotated[
    Path,
    typer.Argument(metavar="REQUESTS", help="Requests: JSON Lines of contract requests (each with an optional "
                   "`id`), or Parquet with `id`, `policy` and one column per fact."),
]
PolicyPath = Annotated[
    list[Path] | None,
    typer.Option("--policy-path", help="A folder of policy folders to decide under besides the bundled ones."),
]


def register(app: typer.Typer) -> None:
    batch_app = typer.Typer(help="Decide request histories in bulk.", no_args_is_help=True)
    app.add_typer(batch_app, name="batch")

    @batch_app.command("evaluate")
    def evaluate(
        requests: RequestsArgument,
        out: Annotated[Path, typer.Option("--out", help="Decisions, .parquet: one row per request decided.")],
        version: Annotated[
            str | None,
            typer.Option("--version", help="Decide every row under this version (its effective date, or a version "
                         "file) instead of the one in force on its date."),
        ] = None,
        policy: Annotated[
            str | None, typer.Option("--policy", help="The policy --version names (when several are loaded).")
        ] = None,
        engine: Annotated[str, typer.Option("--engine", help="polars (default) or spark.")] = "polars",
        master: Annotated[str, typer.Option("--master", help="Spark master URL.")] = "local[*]",
        errors_out: Annotated[
            Path | None, typer.Option("--errors", help="Where to list refused rows (default: OUT.errors.csv).")
        ] = None,
        policy_path: PolicyPath = None,
    ) -> None:
        """Decide every request of a history; write one row per request (id, policy, version, digest,
        decision, reasons, missing facts, authorization end) and list refused rows by row and field."""
        from priorauth.cli import add_policy_path, fail, user_errors
        from priorauth.core import policy_registry

        add_policy_path(policy_path)
        if engine not in ("polars", "spark"):
            fail(f"--engine: unknown engine {engine!r} (polars or spark)")
        with user_errors():
            from priorauth.batch.run import decide_file, resolve_version

            policies = policy_registry()
            forced = resolve_version(policies, policy, version) if version is not None else None
            if engine == "spark":
                from priorauth.batch.spark import decide_file_spark

                summary, errors = decide_file_spark(requests, out, policies, forced, master=master)
            else:
                summary, errors = decide_file(requests, out, policies, forced)
        _report(summary, errors, out, errors_out)

    @app.command("impact")
    def impact(
        requests: RequestsArgument,
        policy: Annotated[str, typer.Option("--policy", help="The policy whose versions are compared.")],
        from_version: Annotated[
            str, typer.Option("--from", help="The version now (effective date, or a version file).")
        ],
        to_version: Annotated[
            str, typer.Option("--to", help="The version proposed: an effective date, or a version file (a draft).")
        ],
        out: Annotated[Path, typer.Option("--out", help="The report, .html.")],
        as_json: Annotated[bool, typer.Option("--json", help="Also print the report as JSON on standard output.")]
        = False,
        examples: Annotated[int, typer.Option("--examples", help="Example requests shown per move.")] = 5,
        policy_path: PolicyPath = None,
    ) -> None:
        """Re-decide every request of a history under two versions of a policy and report what moves and why."""
        import json
        import sys

        from priorauth.cli import add_policy_path, fail, user_errors
        from priorauth.core import policy_registry

        add_policy_path(policy_path)
        if out.suffix.lower() not in (".html", ".htm"):
            fail("--out: expected an .html file")
        if examples < 0:
            fail("--examples: must be at least 0")
        with user_errors():
            from priorauth.batch.impact import analyse
            from priorauth.batch.report import render_html
            from priorauth.batch.run import resolve_version

            policies = policy_registry()
            before = resolve_version(policies, policy, from_version)
            after = resolve_version(policies, policy, to_version)
            report = analyse(requests, before, after, policies, examples=examples)
        try:
            out.write_text(render_html(report), encoding="utf-8")
        except OSError as exc:
            fail(f"--out: cannot write ({exc.strerror})")
        if as_json:
            sys.stdout.write(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
        moved = report.moved
        typer.echo(
            f"{report.requests} requests of policy {report.policy}: {moved} change decision from {report.before} to "
            f"{report.after}; {report.refused} refused; report: {out}",
            err=as_json,
        )


def _report(summary, errors, out: Path, errors_out: Path | None) -> None:
    from rich.console import Console

    from priorauth.batch.run import write_errors
    from priorauth.cli import fail

    console = Console(stderr=True, highlight=False, soft_wrap=True)
    counts = ", ".join(f"{n} {d}" for d, n in sorted(summary.decisions.items()))
    rate = summary.decided / summary.seconds if summary.seconds else 0.0
    console.print(
        f"[bold]{summary.decided}[/] of {summary.rows} requests decided ({counts or 'none'}) in "
        f"{summary.seconds:.1f} s ({rate:,.0f}/s, {summary.engine}); {summary.refused} refused; "
        f"{summary.per_request} decided one by one; output: {out}"
    )
    for what, why in summary.notes.items():
        console.print(f"[yellow]note[/]: {what}: {why}")
    if errors:
        path = errors_out or out.with_name(out.name + ".errors.csv")
        write_errors(errors, path)
        console.print(f"[yellow]{len(errors)} refused row(s), listed in {path}:[/]")
        for e in errors[:ERRORS_SHOWN]:
            console.print(f"  row {e.row}{f' (id {e.id})' if e.id else ''}: {e.field}: {e.problem}")
        if len(errors) > ERRORS_SHOWN:
            console.print(f"  ... and {len(errors) - ERRORS_SHOWN} more")
    if summary.decided == 0 and summary.rows > 0:
        fail("no request could be decided (every row was refused)")
