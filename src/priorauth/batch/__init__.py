"""Batch decisions: request histories decided column-wise (Polars, or Spark), identical to
`priorauth.evaluate` on every request; impact analysis between two policy versions; synthetic
request histories.

Polars and pyarrow are imported here and in the modules below, never by `priorauth.core`:
`import priorauth` stays light.
"""

from priorauth.batch.engine import BatchDecider, RowError
from priorauth.batch.run import BatchSummary, decide_file, resolve_version
from priorauth.batch.source import read_chunks
from priorauth.batch.synth import synth_requests, write_requests

__all__ = [
    "BatchDecider",
    "BatchSummary",
    "RowError",
    "decide_file",
    "read_chunks",
    "resolve_version",
    "synth_requests",
    "write_requests",
]
