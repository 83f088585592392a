"""The `priorauth` command line. Subcommand groups live in priorauth.commands."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

import priorauth.commands
from priorauth.core import (
    POLICY_PATH_ENV,
    Criterion,
    Determination,
    PolicyVersion,
    PriorAuthError,
    TraceNode,
    Truth,
    determine,
    group_reasons,
    load_policy,
    load_policy_file,
    parse_iso_date,
    parse_request_json,
    policy_registry,
    reason_lines,
)
from priorauth.one_request import (  # noqa: F401 - MAX_REQUEST_BYTES and print_json are used by commands
    MAX_REQUEST_BYTES,
    InputError,
    evaluate_request,
    prepare,
    print_json,
    put_on_policy_path,
    read_request,
)

app = typer.Typer(
    help="Executable, explainable prior authorization for medical drug policies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
policy_app = typer.Typer(help="Inspect and check policy files.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.tree import Tree
else:
    # Rich is imported when something is printed with it, not by commands that print JSON.

    def Table(*args: Any, **kwargs: Any) -> Any:  # noqa: N802 - stands for rich's class
        from rich.table import Table

        return Table(*args, **kwargs)

    def Tree(*args: Any, **kwargs: Any) -> Any:  # noqa: N802 - stands for rich's class
        from rich.tree import Tree

        return Tree(*args, **kwargs)


class _LazyConsole:
    """The command line's rich Console, made on first use."""

    _console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if _LazyConsole._console is None:
            from rich.console import Console

            _LazyConsole._console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
        return getattr(_LazyConsole._console, name)


out: Console = _LazyConsole()  # type: ignore[assignment]
MARKS = {Truth.MET: "[green]✔ met[/]", Truth.NOT_MET: "[red]✘ not met[/]", Truth.UNKNOWN: "[yellow]? unknown[/]"}


def fail(message: str) -> NoReturn:
    """One line on stderr, exit status 2: the CLI's answer to bad input."""
    sys.stderr.write(f"error: {message}\n")
    raise typer.Exit(2)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a PriorAuthError (bad input, unknown policy, malformed file) into `fail`."""
    try:
        yield
    except PriorAuthError as exc:
        fail(str(exc))


PolicyPathOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--policy-path",
        help=f"A folder of policy folders (<id>/<YYYY-MM-DD>.yaml); repeatable; after {POLICY_PATH_ENV}. "
        "A policy there replaces the bundled policy of the same id.",
    ),
]


def add_policy_path(paths: list[Path] | None) -> None:
    """Put folders on the policy path for this process and the processes it starts; fail loudly on a bad one."""
    if not paths:
        return
    with user_errors():
        put_on_policy_path(paths)  # the folders named here are read now, not when first asked for


# Commands that serve or list every policy read every policy file at start, so a malformed one
# stops them there, naming the file; the others read only the policies they are asked for.
READS_EVERY_POLICY = {"serve"}


@app.callback()
def main_options(ctx: typer.Context, policy_path: PolicyPathOption = None) -> None:
    """Executable, explainable prior authorization for medical drug policies."""
    with user_errors():
        prepare(policy_path or ())  # the settings file, then the --policy-path folders
    if ctx.invoked_subcommand in READS_EVERY_POLICY:
        with user_errors():
            policy_registry().load_all()


def read_input(source: str) -> bytes:
    try:
        return read_request(source)
    except InputError as exc:
        fail(str(exc))




def render_trace(node: TraceNode, tree: Tree | None = None) -> Tree:
    label = f"{MARKS[node.status]}  [bold]{node.criterion}[/] [dim]§{node.section}[/]  {node.text}"
    if node.operator == "any":
        label += "  [italic]one of:[/]"
    if node.facts:
        shown = ", ".join(f"{k}={'?' if v is None else v}" for k, v in node.facts.items())
        label += f"  [dim]({shown})[/]"
    branch = Tree(label) if tree is None else tree.add(label)
    for child in node.children:
        render_trace(child, branch)
    return branch


def render_explained(det: Determination) -> None:
    colour = {"approved": "green", "denied": "red", "pended": "yellow", "not_applicable": "cyan"}[det.decision.value]
    out.print(f"[bold {colour}]{det.decision.value.upper()}[/]  policy {det.policy} (version {det.policy_version}, "
              f"digest {det.policy_digest[:12]})")
    from rich.markup import escape

    plain = {Truth.MET: "✔ met", Truth.NOT_MET: "✘ not met", Truth.UNKNOWN: "? unknown"}
    for line in reason_lines(group_reasons(det.reasons), ids=True, marks=plain):  # branches, "One of:" groups
        out.print(f"  {escape(line)}")
    if det.missing_facts:
        out.print("[yellow]Missing facts that could change the decision:[/] " + ", ".join(det.missing_facts))
    if det.authorization:
        a = det.authorization
        out.print(
            f"[green]Authorization[/] {a.start} to {a.end}; up to {a.max_cycles} cycles; "
            f"{a.max_units} units of {a.hcpcs} per {a.unit_window_days} days; "
            f"renewable: {'yes' if a.renewable else 'no'}"
        )
    if det.routing:
        route = det.routing
        out.print(
            f"[cyan]Route to Medicare jurisdiction {route.jurisdiction}[/]: {route.contractor} (§{route.section})"
        )
    if det.trace is not None:
        out.print(render_trace(det.trace))


@app.command()
def evaluate(
    source: Annotated[str, typer.Argument(help="Request JSON file, or - for standard input.")],
    explain: Annotated[bool, typer.Option("--explain", help="Print the criteria tree instead of JSON.")] = False,
) -> None:
    """Decide a coverage request; print the determination as JSON."""
    with user_errors():
        det = evaluate_request(read_input(source))
    if explain:
        render_explained(det)
    else:
        print_json(det.to_dict())


def examples_folder() -> Any:
    from importlib import resources

    return resources.files("priorauth") / "examples"


def example_names() -> list[str]:
    folder = examples_folder()
    return sorted(p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json"))


@app.command()
def demo(
    name: Annotated[str | None, typer.Argument(help="One bundled example; all when omitted.")] = None,
) -> None:
    """Decide the bundled example requests and explain each decision."""
    names = example_names()
    if name is not None:
        if name not in names:
            fail(f"example: unknown example; known: {', '.join(names)}")
        names = [name]
    for item in names:
        text = (examples_folder() / f"{item}.json").read_bytes()
        with user_errors():
            version, facts = parse_request_json(text)
        out.rule(f"[bold]{item}[/]")
        render_explained(determine(version, facts))


def _outline(node: Criterion, tree: Tree) -> None:
    op = node.operator
    label = f"[bold]{node.id}[/] [dim]§{node.section}[/] {node.text}"
    if op in ("all", "any", "not"):
        label += f" [magenta]({op})[/]"
    branch = tree.add(label)
    if node.reading:
        branch.add(f"[italic cyan]reading: {node.reading}[/]")
    for child in node.children:
        _outline(child, branch)


def _condition_text(condition: Any) -> str:
    if condition is None:
        return "always"
    if condition.match is not None:
        return " and ".join(f"{k} {'/'.join(map(str, v))}" for k, v in condition.match.items())
    if condition.not_of is not None:
        return f"not ({_condition_text(condition.not_of)})"
    joiner = " and " if condition.all_of is not None else " or "
    return joiner.join(f"({_condition_text(c)})" for c in (condition.all_of or condition.any_of or ()))


def render_authorizations(policy: PolicyVersion) -> None:
    """The per-branch authorization terms (Sections I and II), one row per branch."""
    table = Table(title="Authorization by branch (Sections I, II)")
    for col in ("branch", "when", "cycles", "months", "max cycles", "units / window", "renewable", "course"):
        table.add_column(col)
    def value(raw: Any) -> str:  # a number, or the parameter holding it
        return f"{policy.parameter(raw)} ({raw})" if isinstance(raw, str) else str(raw)

    for t in policy.authorizations or ():
        course = t.course
        table.add_row(
            t.id,
            _condition_text(t.when),
            str(t.cycles) if t.cycles else "any",
            value(t.months),
            value(t.max_cycles),
            f"{value(t.max_units)} / {value(t.unit_window_days)} days",
            value(t.renewable),
            f"from {course.start}: {value(course.months)} months, {value(course.cycles)} cycles in all "
            f"({course.given} given)" if course else "",
        )
    out.print(table)


def render_policy(policy: PolicyVersion) -> None:
    m = policy.metadata
    out.print(f"[bold]{policy.title}[/]  ({policy.id})")
    out.print(
        f"Document {m.document_number}; approved {m.date_approved}; origin {m.date_of_origin}; "
        f"reviewed {', '.join(m.dates_reviewed)}"
    )
    out.print(f"Version in force from {policy.version} (digest {policy.digest}); decided on `{policy.decided_on}`")
    out.print(f"File: {policy.source}")
    table = Table(title="Parameters (Sections I, II, V)")
    for col in ("parameter", "section", "value", "meaning"):
        table.add_column(col)
    for name, p in policy.parameters.items():
        table.add_row(name, p.section, str(p.value), p.text)
    out.print(table)
    if policy.authorizations:
        render_authorizations(policy)
    tree = Tree("[bold]Criteria (Sections III, IV)[/]")
    _outline(policy.criteria, tree)
    out.print(tree)
    b = policy.billing
    out.print(f"[bold]Billing (§{b.section})[/]: HCPCS {b.hcpcs.code} ({b.hcpcs.description}), "
              f"1 unit = {b.hcpcs.unit_text}")
    for ndc in b.ndc:
        out.print(f"  NDC {ndc.pattern}: {ndc.description}")
    for name, codes in policy.code_lists.items():
        out.print(f"[bold]{name} (§{codes.section})[/]: " + ", ".join(codes.codes))
    if policy.mac_jurisdictions:
        macs = policy.mac_jurisdictions
        out.print(f"[bold]MAC jurisdictions (§{macs.section})[/]")
        for j in macs.jurisdictions:
            extra = "".join(f"; {st} counties: {', '.join(c)}" for st, c in j.counties.items())
            out.print(f"  {j.jurisdiction}: {', '.join(j.states)}{extra} - {j.contractor}")
    out.print(f"[bold]References (§VII, §VIII)[/]: {len(policy.references)} entries")


@policy_app.command("show")
def policy_show(
    policy_id: str,
    version: Annotated[str | None, typer.Option(help="The version in force on this date (YYYY-MM-DD); default today.")]
    = None,
) -> None:
    """Print a policy version as an outline: the one in force today, or on --version."""
    with user_errors():
        policy = load_policy(policy_id)
        try:
            chosen = policy.current() if version is None else policy.in_force(parse_iso_date(version))
        except ValueError as exc:
            fail(f"--version: {exc}")
    others = [v.version for v in policy.versions if v is not chosen]
    render_policy(chosen)
    if others:
        out.print("Other versions: " + ", ".join(others))


@policy_app.command("check")
def policy_check(path: Path) -> None:
    """Validate a version file or a policy folder; exit 2 with the file, path and problem when malformed."""
    with user_errors():
        policy = load_policy_file(path)
    for v in policy.versions:
        out.print(f"{v.source}: policy {v.id} version {v.version} is valid ({len(v.questions)} questions, "
                  f"digest {v.digest})")


@policy_app.command("list")
def policy_list(as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False) -> None:
    """Every loaded policy with its versions, effective dates, digests and files."""
    with user_errors():
        registry = policy_registry()
        policies = list(registry)
    rows: list[dict[str, Any]] = [
        {
            "id": p.id,
            "title": p.current().title,
            "source": "policy path" if p.id in registry.overridden else "bundled",
            "folder": p.folder,
            "versions": [{"effective": v.version, "digest": v.digest, "file": v.source} for v in p.versions],
        }
        for p in policies
    ]
    if as_json:
        print_json(rows)
        return
    table = Table(title="Policies")
    for col in ("policy", "from", "effective", "digest", "file"):
        table.add_column(col)
    for row in rows:
        for i, v in enumerate(row["versions"]):
            table.add_row(row["id"] if i == 0 else "", row["source"] if i == 0 else "", v["effective"],
                          v["digest"][:16], v["file"])
    out.print(table)


@app.command()
def questions(
    policy_id: str,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the fact vocabulary (questions) of a policy: the version in force today."""
    with user_errors():
        policy = load_policy(policy_id).current()
    if as_json:
        print_json([q.model_dump(exclude_none=True) for q in policy.questions])
        return
    table = Table(title=f"Questions of {policy.id}")
    for col in ("fact", "type", "values", "question"):
        table.add_column(col)
    for q in policy.questions:
        values = ", ".join(q.values or [])
        if q.minimum is not None or q.maximum is not None:
            low, high = (f"{v:g}" if v is not None else "" for v in (q.minimum, q.maximum))
            values = f"{low} to {high}" if high else f"{low} or more"
        table.add_row(q.id, q.type, values, q.text)
    out.print(table)


for _module in pkgutil.iter_modules(priorauth.commands.__path__):
    importlib.import_module(f"priorauth.commands.{_module.name}").register(app)


# Optional parts of priorauth and the extra that installs each (pyproject.toml).
EXTRAS = {
    "polars": "claims", "pyarrow": "claims", "pyspark": "spark", "psycopg": "postgres",
    "bs4": "documents", "pdfplumber": "documents", "pdfminer": "documents",
}


def main() -> None:
    """The console entry: a missing optional dependency or a PriorAuthError is one line, never a traceback."""
    try:
        app()
    except PriorAuthError as exc:
        sys.stderr.write(f"error: {exc}\n")
        raise SystemExit(2) from None
    except ModuleNotFoundError as exc:
        extra = EXTRAS.get((exc.name or "").split(".")[0])
        if extra is None:
            raise
        sys.stderr.write(f"error: this needs {exc.name}, which is not installed: pip install 'priorauth[{extra}]'\n")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
