"""The layout and dependency direction of docs/architecture.md, checked on the source.

core <- claims, service <- doors (api, fhir, web, cli/commands); store <- service; the app is
assembled in priorauth.http.app, the one module that knows every HTTP door. Imports under
`if TYPE_CHECKING:` are not imports at run time and are not counted.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "priorauth"
DOORS = ("api", "fhir", "web")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for child in node.body for n in ast.walk(child))
    found = set()
    package = _module_name(path).rsplit(".", 0 if path.name == "__init__.py" else 1)[0]
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return {name for name in found if name.startswith("priorauth")}


MODULES = {_module_name(p): _imports(p) for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts}


def _in(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_only_the_core_imports_its_private_modules():
    offenders = {m: sorted(i for i in imports if re.match(r"priorauth\.core\._", i))
                 for m, imports in MODULES.items() if not _in(m, "priorauth.core")}
    assert {m: i for m, i in offenders.items() if i} == {}


def test_the_core_depends_on_nothing_outside_it():
    offenders = {m: sorted(i for i in imports if not _in(i, "priorauth.core") and i != "priorauth")
                 for m, imports in MODULES.items() if _in(m, "priorauth.core")}
    assert {m: i for m, i in offenders.items() if i} == {}


def test_doors_never_import_each_other_nor_the_app():
    for door in DOORS:
        others = [f"priorauth.{d}" for d in DOORS if d != door] + ["priorauth.http.app", "priorauth.cli"]
        offenders = {m: sorted(i for i in imports if any(_in(i, o) for o in others))
                     for m, imports in MODULES.items() if _in(m, f"priorauth.{door}")}
        assert {m: i for m, i in offenders.items() if i} == {}, door


def test_service_and_store_know_no_door():
    doors = [f"priorauth.{d}" for d in (*DOORS, "http", "cli", "commands")]
    for layer, forbidden in (("priorauth.service", doors), ("priorauth.store", [*doors, "priorauth.service"])):
        offenders = {m: sorted(i for i in imports if any(_in(i, f) for f in forbidden))
                     for m, imports in MODULES.items() if _in(m, layer)}
        assert {m: i for m, i in offenders.items() if i} == {}, layer


def test_no_import_cycles():
    graph = {m: {i for i in imports if i in MODULES and i != m} for m, imports in MODULES.items()}
    # Importing `a.b.c` runs `a.b` first: a package's __init__ re-exporting its modules is not a cycle.
    graph = {m: {i for i in deps if not _in(m, i)} for m, deps in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    assert cycles == []


def test_no_python_module_names_a_drug():
    drugs = re.compile(r"besponsa|blincyto|inotuzumab|blinatumomab", re.IGNORECASE)
    assert [str(p.relative_to(SRC)) for p in PACKAGE.rglob("*.py") if drugs.search(p.read_text("utf-8"))] == []
