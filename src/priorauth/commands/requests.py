"""`priorauth requests export|synth`: request histories in the batch input form."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from priorauth.commands.db import URL_OPTION


def register(app: typer.Typer) -> None:
    requests_app = typer.Typer(help="Request histories for batch decisions and impact analysis.",
                               no_args_is_help=True)
    app.add_typer(requests_app, name="requests")

    @requests_app.command("export")
    def export(
        out: Annotated[Path, typer.Option("--out", help="Output: .jsonl (requests with their dosing blocks) or "
                                          ".parquet (one column per fact).")],
        policy: Annotated[str | None, typer.Option("--policy", help="Only this policy's requests.")] = None,
        database_url: Annotated[str | None, URL_OPTION] = None,
    ) -> None:
        """Write the stored requests as `priorauth batch evaluate` reads them (an audited export)."""
        import json

        from priorauth.cli import fail
        from priorauth.commands.db import open_existing
        from priorauth.service import SYSTEM
        from priorauth.service.export import export_requests

        suffix = out.suffix.lower()
        if suffix not in (".jsonl", ".ndjson", ".parquet"):
            fail("--out: expected a .jsonl or .parquet file")
        db = open_existing(database_url)
        count = 0
        try:
            with db.session() as session:
                if suffix == ".parquet":
                    count = _write_parquet(export_requests(session, SYSTEM, policy), out)
                else:
                    with out.open("w", encoding="utf-8") as handle:
                        for request in export_requests(session, SYSTEM, policy):
                            handle.write(json.dumps(request, ensure_ascii=False, separators=(",", ":")) + "\n")
                            count += 1
        except OSError as exc:
            fail(f"--out: cannot write ({exc.strerror})")
        finally:
            db.dispose()
        typer.echo(f"exported {count} requests to {out}")

    @requests_app.command("synth")
    def synth(
        n: Annotated[int, typer.Argument(metavar="N", help="Number of requests.")],
        policy: Annotated[str, typer.Option("--policy", help="The policy the requests are for.")],
        out: Annotated[Path, typer.Option("--out", help="Output: .parquet (one column per fact) or .jsonl.")],
        seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed, the same file.")] = 0,
    ) -> None:
        """Write a synthetic request history: every branch, unknown facts, members not governed."""
        from priorauth.cli import fail, user_errors

        if n < 0:
            fail("N: must be at least 0")
        if out.suffix.lower() not in (".parquet", ".jsonl", ".ndjson"):
            fail("--out: expected a .parquet or .jsonl file")
        with user_errors():
            from priorauth.batch.synth import synth_requests, write_requests

            frame = synth_requests(policy, n, seed)
        try:
            write_requests(frame, out)
        except OSError as exc:
            fail(f"--out: cannot write ({exc.strerror})")
        typer.echo(f"wrote {frame.height} synthetic requests for {policy} to {out}")


def _write_parquet(requests, out: Path) -> int:
    """One column per fact; dates stay text (the batch reads them as a request would). No dosing blocks."""
    import polars as pl

    rows = [{"id": r["id"], "policy": r["policy"], **r["facts"]} for r in requests]
    frame = pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame(
        schema={"id": pl.String, "policy": pl.String}
    )
    frame.write_parquet(out)
    return frame.height
