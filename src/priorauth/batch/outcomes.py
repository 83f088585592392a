"""What the core decides in a batch: one determination per pattern of requests, kept as an outcome.

A pattern's determination is the core's own (`determine` on one row of it); the batch keeps its
decision, reasons and missing facts (`Outcome`) for every row of the pattern. New patterns can
be many at the start of a history, and each is the core's residual computation, so they are
decided in worker processes when there are enough of them.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from priorauth.core import (
    Decision,
    Determination,
    PolicyVersion,
    PriorAuthError,
    Truth,
    authorization_for,
    determine,
    version_from_content,
)


@dataclass(frozen=True, slots=True)
class RowError:
    """A request that could not be decided: its row, id, the field at fault, the problem (never the value)."""

    row: int
    id: str | None
    field: str
    code: str
    problem: str


@dataclass(slots=True)
class Group:
    """Requests decided alike: one determination stands for them all (but for the authorization end)."""

    id: int
    version: PolicyVersion
    decision: str
    reasons: tuple[str, ...]  # criterion ids
    missing: tuple[str, ...]


Outcome = tuple[str, tuple[str, ...], tuple[str, ...]]  # decision, reason criterion ids, missing facts


def outcome(det: Determination | None) -> Outcome | None:
    if det is None:
        return None
    return det.decision.value, tuple(r.criterion for r in det.reasons), tuple(det.missing_facts)


# --- the core's determinations of new patterns, on every core ----------------------------------
#
# Deciding a new pattern is the core's work (its residual can take milliseconds), and the
# column work waits for it, so new patterns are decided in worker processes when there are
# many: each worker is given the version (its validated content) and the patterns' facts.

PARALLEL_FROM = 64  # new patterns in one chunk before worker processes are used
WORKERS_ENV = "PRIORAUTH_BATCH_WORKERS"  # worker processes (default: one per core; 1: none)
_WORKER_VERSIONS: dict[str, PolicyVersion] = {}


def _portable(version: PolicyVersion) -> tuple[str, str, str]:
    """The version for another process: its canonical content (what its digest is over) and source."""
    return f"{version.id}:{version.version}:{version.digest}:{id(version)}", version.canonical, version.source


def _decide_in_worker(task: tuple[tuple[str, str, str], list[dict[str, Any]]]) -> list[Outcome | None]:
    (key, canonical, source), rows = task
    version = _WORKER_VERSIONS.get(key)
    if version is None:
        version = version_from_content(json.loads(canonical), source)
        _WORKER_VERSIONS[key] = version
    return [outcome(determine_or_none(version, facts)) for facts in rows]


_TRUTH_CODES = {Truth.UNKNOWN: 0, Truth.NOT_MET: 1, Truth.MET: 2}


def trace_codes(det: Determination) -> dict[str, int]:
    """Each criterion's status code from a determination's trace (none when not governed)."""
    if det.decision is Decision.NOT_APPLICABLE or det.trace is None:
        return {}
    out = {}
    stack = [det.trace]
    while stack:
        node = stack.pop()
        out[node.criterion] = _TRUTH_CODES[node.status]
        stack.extend(node.children)
    return out


SAMPLE = 16  # approved rows per chunk whose column-wise authorization end is checked against the core


def core_authorization_end(version: PolicyVersion, facts: dict[str, Any]) -> dt.date | None:
    """The core's authorization end for approved facts; None when the core refuses them."""
    try:
        return authorization_for(version, facts).end
    except PriorAuthError:
        return None


def determine_or_none(version: PolicyVersion, facts: dict[str, Any]) -> Determination | None:
    """The core's determination, or None when the core refuses these facts (the per-request path reports it)."""
    try:
        return determine(version, facts)
    except PriorAuthError:
        return None
