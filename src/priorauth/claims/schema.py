"""Claim line and authorization columns, row errors, and the audit's result types."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from priorauth.core import ErrorCode, PriorAuthError

if TYPE_CHECKING:
    import polars as pl

CLAIM_COLUMNS: tuple[str, ...] = ("claim_id", "member_id", "service_date", "hcpcs", "units", "ndc", "icd10", "modifier")
# Columns that must hold a value on every row; ndc, icd10 and modifier may be empty.
REQUIRED_VALUES: tuple[str, ...] = ("claim_id", "member_id", "service_date", "hcpcs", "units")
AUTH_COLUMNS: tuple[str, ...] = ("member_id", "start", "end")
# Optional authorization columns: the HCPCS code it is for (empty: every audited policy's), and the
# authorization branch of the policy it was approved under (the determination's `branch`).
OPTIONAL_AUTH_COLUMNS: tuple[str, ...] = ("hcpcs", "branch")

# Row error messages: fixed text, never the value (a value may be PHI).
MISSING = "missing value"
NOT_A_DATE = "not a date (expected YYYY-MM-DD)"
NOT_WHOLE_UNITS = "not a whole number of units"
NEGATIVE_UNITS = "negative units"
END_BEFORE_START = "end is before start"
UNKNOWN_BRANCH = "not an authorization branch of the policy"

# The CSV/ISO date shape every engine accepts, checked before parsing so engines agree.
DATE_PATTERN = r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}$"
UNITS_PATTERN = r"^-?[0-9]{1,15}$"

OUTPUT_COLUMNS: tuple[str, ...] = ("row", "claim_id", "rolling_units", "cycle", "edits")


class ClaimInputError(PriorAuthError):
    """The input cannot be audited at all (unreadable file, missing columns); names file and column."""

    code = ErrorCode.CLAIMS_INPUT_INVALID


@dataclass(frozen=True)
class RowError:
    """A rejected row: 1-based data row number (header not counted), column, reason."""

    row: int
    column: str
    message: str
    source: str = "claims"

    def __str__(self) -> str:
        return f"{self.source} row {self.row}, column {self.column}: {self.message}"


def error_order(error: RowError) -> tuple[str, int, int, str]:
    """Canonical order of row errors: by file, row, then column as in the schema."""
    columns = CLAIM_COLUMNS + AUTH_COLUMNS + OPTIONAL_AUTH_COLUMNS
    return (error.source, error.row, columns.index(error.column), error.message)


@dataclass(frozen=True)
class AuditSummary:
    """Counts a claims-integrity reviewer reads first; holds no member identifiers."""

    rows_read: int
    lines_audited: int
    rows_rejected: int
    policy_lines: int
    members: int
    edit_counts: dict[str, int]
    lines_with_edits: int
    units_at_risk: int
    engine: str
    # Audited lines per policy id (the policy of each line's HCPCS code).
    lines_by_policy: dict[str, int] = field(default_factory=dict)


@dataclass
class AuditResult:
    """Per-line output (row, claim_id, rolling_units, cycle, edits) plus rejected rows and summary."""

    lines: pl.DataFrame
    errors: list[RowError]
    summary: AuditSummary
    auth_errors: list[RowError] = field(default_factory=list)
