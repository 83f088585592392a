"""A fast command-line start: `import priorauth` and `priorauth evaluate` load no heavy library and only the
policy asked for; the validated form of a policy file is cached on disk by its content."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from priorauth.core import load_policy

EXAMPLE = Path(__file__).resolve().parents[2] / "src" / "priorauth" / "examples" / "approved-adult-relapsed.json"
HEAVY = ("polars", "pyarrow", "pyspark", "fastapi", "starlette", "sqlalchemy", "typer", "rich", "uvicorn")


def _python(code: str, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})}, input=stdin)


def test_import_priorauth_loads_no_heavy_library():
    run = _python("import sys, priorauth; print(sorted(m for m in sys.modules if m.split('.')[0] in "
                  f"{HEAVY!r}))")
    assert run.stdout.strip() == "[]", run.stdout + run.stderr


def _evaluate(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    code = (
        "import sys, json\n"
        f"sys.argv = ['priorauth', *{list(args)!r}]\n"
        "from priorauth.console import main\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        "    from priorauth.core._policy import registry\n"
        f"    heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "    loaded = sorted(registry._active._policies) if registry._active is not None else []\n"
        "    sys.stderr.write('STATE ' + json.dumps({'heavy': heavy, 'loaded': loaded}) + '\\n')\n"
    )
    return _python(code, env, stdin)


def _state(run: subprocess.CompletedProcess) -> dict:
    line = next(x for x in run.stderr.splitlines() if x.startswith("STATE "))
    return json.loads(line.removeprefix("STATE "))


def test_evaluate_loads_only_its_policy_and_no_heavy_library():
    run = _evaluate("evaluate", str(EXAMPLE))
    assert run.returncode == 0, run.stderr
    assert _state(run) == {"heavy": [], "loaded": ["besponsa"]}
    full = subprocess.run([sys.executable, "-m", "priorauth.cli", "evaluate", str(EXAMPLE)], capture_output=True,
                          text=True, timeout=120)
    assert json.loads(run.stdout) == json.loads(full.stdout)  # the quick path answers as the full command line


def test_evaluate_refuses_bad_input_with_one_line():
    for args, stdin, text in ((("evaluate", "-"), "{nope", "not valid JSON"),
                              (("evaluate", "/no/such/file.json"), None, "cannot read"),
                              (("--policy-path", "/no/such/folder", "evaluate", "-"), "{}", "does not exist")):
        run = _evaluate(*args, stdin=stdin)
        errors = [x for x in run.stderr.splitlines() if not x.startswith("STATE ")]
        assert run.returncode == 2 and len(errors) == 1 and text in errors[0], run.stderr
        assert run.stdout == ""


@pytest.fixture
def broken_path(tmp_path) -> Path:
    """A policy path whose `blincyto` folder holds a malformed file: it replaces the bundled one."""
    folder = tmp_path / "path" / "blincyto"
    folder.mkdir(parents=True)
    source = load_policy("blincyto").first.source
    (folder / Path(source).name).write_text(Path(source).read_text().replace("title:", "titel:", 1))
    return tmp_path / "path"


def test_a_malformed_policy_fails_loudly_when_used_and_at_list_and_serve(broken_path, tmp_path):
    env = {"PRIORAUTH_POLICY_PATH": str(broken_path), "PRIORAUTH_CACHE_DIR": "off"}
    ok = _evaluate("evaluate", str(EXAMPLE), env=env)
    assert ok.returncode == 0 and json.loads(ok.stdout)["decision"] == "approved", ok.stderr
    blincyto = tmp_path / "b.json"
    blincyto.write_text(json.dumps({"policy": "blincyto", "facts": {}}))
    bad = _evaluate("evaluate", str(blincyto), env=env)
    assert bad.returncode == 2 and "title" in bad.stderr and str(broken_path) in bad.stderr
    for args in (["policy", "list"], ["serve", "--port", "0", "--database-url", f"sqlite:///{tmp_path}/s.db"]):
        run = subprocess.run([sys.executable, "-m", "priorauth.cli", *args], capture_output=True, text=True,
                             timeout=120, env={**os.environ, **env})
        assert run.returncode == 2 and "title" in run.stderr and "Traceback" not in run.stderr, (args, run.stderr)


def test_the_validated_form_is_cached_by_content(tmp_path, monkeypatch):
    from priorauth.core._policy import loader

    monkeypatch.setenv("PRIORAUTH_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "besponsa"
    shutil.copytree(Path(load_policy("besponsa").first.source).parent, folder)
    first = loader.load_policy_folder(folder)
    entries = list((tmp_path / "cache").glob("*.pickle"))
    assert len(entries) == len(first.versions)

    def no_parsing(*args, **kwargs):
        raise AssertionError("read from the cache, not parsed")

    monkeypatch.setattr(loader, "parse_policy_version", no_parsing)
    again = loader.load_policy_folder(folder)
    assert [v.digest for v in again.versions] == [v.digest for v in first.versions]
    assert again.latest.canonical == first.latest.canonical and again.latest.source == first.latest.source
    assert again.latest.runtime.criteria.root.criterion.id == first.latest.criteria.id
    monkeypatch.undo()

    monkeypatch.setenv("PRIORAUTH_CACHE_DIR", str(tmp_path / "cache"))
    for entry in entries:  # a damaged entry is a miss: the file is read again
        entry.write_bytes(b"not a pickle")
    assert [v.digest for v in loader.load_policy_folder(folder).versions] == [v.digest for v in first.versions]
    edited = folder / Path(first.latest.source).name
    edited.write_text(edited.read_text().replace("title:", "titel:", 1))  # new content: validated afresh
    with pytest.raises(Exception, match="title"):
        loader.load_policy_folder(folder)
    monkeypatch.setenv("PRIORAUTH_CACHE_DIR", "off")
    assert loader.cache_folder() is None
