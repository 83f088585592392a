"""Claims audit: the policy's claim edits over claim lines, on Polars or Spark."""

from priorauth.claims.audit import audit_claims
from priorauth.claims.edits import EDITS, ClaimEdit, ClaimRules
from priorauth.claims.schema import AuditResult, AuditSummary, ClaimInputError, RowError

__all__ = [
    "EDITS",
    "AuditResult",
    "AuditSummary",
    "ClaimEdit",
    "ClaimInputError",
    "ClaimRules",
    "RowError",
    "audit_claims",
]
