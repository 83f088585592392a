"""The `priorauth` console entry: `priorauth evaluate FILE` answered without building the whole command line.

A script that decides requests one at a time calls `priorauth evaluate` once per request,
so its start is most of its cost. Importing Typer and building the tree of every command
group (`priorauth.cli`) is more than a third of that start, so `main` decides
`[--policy-path DIR]... evaluate FILE` itself, with the functions the `evaluate` command
runs (`prepare`, `read_request`, `evaluate_request`), and hands every other command line
(`--explain`, `--help`, any other command) to `priorauth.cli`. Nothing here imports Typer,
Rich, Polars, Spark or FastAPI.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Pydantic looks for plugins among every installed package's entry points the first time it
# builds a validator, a tenth of a command's start; priorauth uses none.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

# A request is a few kilobytes; anything far larger is refused before it is read.
MAX_REQUEST_BYTES = 1024 * 1024


class InputError(Exception):
    """Input the command line refuses before deciding anything (one line, exit status 2)."""


def read_request(source: str) -> bytes:
    """The bytes of a request file, or of standard input for `-`; InputError when unreadable or too large."""
    too_large = f"{source}: larger than {MAX_REQUEST_BYTES // 1024} KiB; a request is a few kilobytes (refused unread)"
    if source == "-":
        data = sys.stdin.buffer.read(MAX_REQUEST_BYTES + 1)
    else:
        try:
            with open(source, "rb") as file:
                data = file.read(MAX_REQUEST_BYTES + 1)
        except OSError as exc:
            raise InputError(f"{source}: cannot read ({exc.strerror})") from None
    if len(data) > MAX_REQUEST_BYTES:
        raise InputError(too_large)
    return data


def put_on_policy_path(paths: Sequence[str | Path]) -> None:
    """Add folders to the policy path for this process and those it starts, and read the policies in them now
    (PolicyError naming a malformed file)."""
    from priorauth.core import POLICY_PATH_ENV, use_policy_path

    if not paths:
        return
    current = [p for p in os.environ.get(POLICY_PATH_ENV, "").split(os.pathsep) if p]
    os.environ[POLICY_PATH_ENV] = os.pathsep.join([*current, *(str(Path(p).resolve()) for p in paths)])
    registry = use_policy_path()
    for policy_id in registry.overridden:
        registry.get(policy_id)


def prepare(policy_paths: Sequence[str | Path] = ()) -> None:
    """What every command does first: the settings file, then `--policy-path` folders."""
    from priorauth.store.settings import apply_settings_file

    apply_settings_file()  # priorauth.toml (or PRIORAUTH_CONFIG) fills what the environment leaves unset
    put_on_policy_path(policy_paths)


def evaluate_request(data: bytes) -> Any:
    """The determination of one request (JSON bytes); PriorAuthError for bad input."""
    from priorauth.core import determine, parse_request_json

    version, facts = parse_request_json(data)
    return determine(version, facts)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _evaluate_only(args: list[str]) -> tuple[list[str], str] | None:
    """(policy-path folders, source) when the command line is exactly `[--policy-path DIR]... evaluate SOURCE`."""
    paths: list[str] = []
    i = 0
    while i < len(args) and args[i].startswith("--policy-path"):
        if args[i] == "--policy-path" and i + 1 < len(args):
            paths.append(args[i + 1])
            i += 2
        elif args[i].startswith("--policy-path=") and len(args[i]) > len("--policy-path="):
            paths.append(args[i].split("=", 1)[1])
            i += 1
        else:
            return None
    rest = args[i:]
    if len(rest) == 2 and rest[0] == "evaluate" and (rest[1] == "-" or not rest[1].startswith("-")):
        return paths, rest[1]
    return None


def main() -> None:
    """The console entry (`priorauth`)."""
    quick = _evaluate_only(sys.argv[1:])
    if quick is None:
        from priorauth.cli import main as command_line

        command_line()
        return
    from priorauth.core import PriorAuthError

    paths, source = quick
    try:
        prepare(paths)
        det = evaluate_request(read_request(source))
    except (PriorAuthError, InputError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        raise SystemExit(2) from None
    print_json(det.to_dict())


if __name__ == "__main__":
    main()
