"""`priorauth policy diff` and `priorauth policy draft`: a policy document against its version file.

`diff` exits 0 when every machine-checkable item agrees, 1 on any disagreement, 2 when the
document cannot be read (empty, binary, not the plan's template, a part it cannot read).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from priorauth.documents import Comparison, PolicyDocument


def _read(path: Path) -> bytes:
    from priorauth.cli import fail
    from priorauth.documents import MAX_DOCUMENT_BYTES

    try:
        with open(path, "rb") as file:
            data = file.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as exc:
        fail(f"{path}: cannot read ({exc.strerror})")
    if len(data) > MAX_DOCUMENT_BYTES:
        fail(f"{path}: larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB; not a policy document")
    return data


def _document(path: Path) -> PolicyDocument:
    from priorauth.documents import DocumentError, parse_document

    try:
        return parse_document(_read(path), path.name)
    except DocumentError as exc:
        for problem in exc.problems:
            sys.stderr.write(f"error: {problem}\n")
        raise typer.Exit(2) from None


def _policy_group(app: typer.Typer) -> typer.Typer:
    """The `policy` group cli.py made (found on the app given, whichever module runs the command line)."""
    for group in app.registered_groups:
        if group.name == "policy" and group.typer_instance is not None:
            return group.typer_instance
    raise RuntimeError("the `policy` command group is not registered before the command modules")


def register(app: typer.Typer) -> None:
    from priorauth.cli import fail, print_json, user_errors

    policy_app = _policy_group(app)

    @policy_app.command("diff")
    def diff(
        document: Annotated[Path, typer.Argument(metavar="DOCUMENT", help="The plan's document: text, PDF or HTML.")],
        policy: Annotated[str, typer.Option("--policy", help="The policy id to compare it with.")],
        version: Annotated[str | None, typer.Option(
            "--version", help="The version in force on this date (YYYY-MM-DD); default: on the document's "
                              "approval date.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    ) -> None:
        """Compare every machine-checkable item of a document with a policy version; exit 1 on any disagreement."""
        from priorauth.core import load_policy, parse_iso_date
        from priorauth.documents import compare, version_for_document

        read = _document(document)
        with user_errors():
            chosen = load_policy(policy)
            if version is None:
                target = version_for_document(chosen, read)
            else:
                try:
                    day = parse_iso_date(version)
                except ValueError as exc:
                    fail(f"--version: {exc}")
                target = chosen.in_force(day)
        result = compare(read, target)
        if as_json:
            print_json(result.to_dict())
        else:
            _print(result)
        raise typer.Exit(0 if result.in_agreement else 1)

    @policy_app.command("draft")
    def draft(
        document: Annotated[Path, typer.Argument(metavar="DOCUMENT", help="The plan's document: text, PDF or HTML.")],
        policy_id: Annotated[str, typer.Option("--id", help="The id of the new policy (a-z, 0-9, _).")],
        out: Annotated[Path, typer.Option("--out", help="A policy-path folder; the draft goes to OUT/ID/DATE.yaml.")],
    ) -> None:
        """Write a draft version file from a document: its sections filled in, its criteria TODOs."""
        import re

        from priorauth.core import parse_policy_version
        from priorauth.documents import compare, draft_policy

        if not re.fullmatch(r"[a-z0-9_]+", policy_id):
            fail("--id: a policy id is lower case a-z, 0-9 and _")
        read = _document(document)
        text = draft_policy(read, policy_id)
        target = out / policy_id / f"{read.header.date_approved.isoformat()}.yaml"
        with user_errors():
            version = parse_policy_version(text, str(target))
        if target.exists():
            fail(f"{target}: exists already; a draft never replaces a version file")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        except OSError as exc:
            fail(f"{target}: cannot write ({exc.strerror})")
        todos = len(compare(read, version).todos())
        typer.echo(f"wrote {target}: policy {policy_id} version {version.version}, {todos} TODOs to resolve")
        typer.echo(f"  list them: priorauth --policy-path {out} policy diff {document} --policy {policy_id}")


def _print(result: Comparison) -> None:
    document = result.document
    typer.echo(f"policy {result.policy} version {result.version} (digest {result.digest[:12]}) · document "
               f"{document.name} ({document.header.document_number}, approved "
               f"{document.header.date_approved.isoformat()})")
    typer.echo(f"note: {result.source.note(result.version, document)}")
    if result.disagreements:
        typer.echo("section · item · document says · file says")
        for d in result.disagreements:
            typer.echo(d.line() + (f"  ({d.where})" if d.where else ""))
        count = len(result.disagreements)
        typer.echo(f"{count} disagreement{'s' if count != 1 else ''} ({result.checked} items checked)")
    else:
        typer.echo(f"in agreement ({result.checked} items checked)")
