"""One request from the command line: what `priorauth evaluate` does, shared by the full command line
(`priorauth.cli`) and the console entry's quick path (`priorauth.console`).

Nothing here imports Typer, Rich, Polars, Spark or FastAPI.
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

from priorauth.core import ErrorCode, PriorAuthError  # noqa: E402 - after the pydantic setting above

# A request is a few kilobytes; anything far larger is refused before it is read.
MAX_REQUEST_BYTES = 1024 * 1024


class InputError(PriorAuthError):
    """Input the command line refuses before deciding anything (one line, exit status 2)."""

    code = ErrorCode.REQUEST_INVALID


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
