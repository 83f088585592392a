"""Policy documents: read the plan's document (text, PDF or HTML), compare it with a policy version,
and draft a version file from it.

- `parse_document(data, name)`: the document read strictly (`DocumentError` names each line it
  cannot read).
- `compare(document, version)`: every machine-checkable item, the criteria as worded, the TODOs.
- `draft_policy(document, policy_id)`: the YAML text of a draft version file.

Uses only the core's public face (`priorauth.core`).
"""

from __future__ import annotations

from priorauth.core import Policy, PolicyVersion
from priorauth.documents.compare import Comparison, Disagreement, SourceCheck, compare
from priorauth.documents.draft import draft_policy, source_document_yaml
from priorauth.documents.errors import DocumentError
from priorauth.documents.model import PolicyDocument
from priorauth.documents.template import parse_document

# A policy document is a few hundred kilobytes; a PDF with images a few megabytes.
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "Comparison",
    "Disagreement",
    "DocumentError",
    "PolicyDocument",
    "SourceCheck",
    "compare",
    "draft_policy",
    "parse_document",
    "source_document_yaml",
    "version_for_document",
]


def version_for_document(policy: Policy, document: PolicyDocument) -> PolicyVersion:
    """The version a document is compared with by default: the one in force on its approval date
    (the first version for a document approved before it)."""
    return policy.version_on(document.header.date_approved) or policy.first
