"""The policy documents page: a policy analyst uploads the plan's document and sees how it differs
from the policy version file (the same comparison as `priorauth policy diff`).

Reviewers and administrators only. The document is read in memory and never stored or logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from priorauth.core import Policy, PolicyVersion, PriorAuthError, load_policy, parse_iso_date, policy_ids
from priorauth.documents import (
    MAX_DOCUMENT_BYTES,
    Comparison,
    DocumentError,
    compare,
    parse_document,
    version_for_document,
)

ROLES = ("reviewer", "admin")
KIND_TEXT = {
    "differs": "differs", "document only": "only in the document", "file only": "only in the file",
    "added": "line added", "removed": "line removed", "reworded": "line reworded", "unmapped": "indication not mapped",
    "todo": "to do",
}


@dataclass
class DocumentsPage:
    """What the page shows: the form's choices, and the comparison or the problems with the upload."""

    policies: list[str]
    policy: str
    version: str = ""
    versions: list[str] = field(default_factory=list)
    file_name: str = ""
    problems: list[str] = field(default_factory=list)
    result: Comparison | None = None

    @property
    def sections(self) -> list[tuple[str, list[Any]]]:
        """The disagreements grouped by section, in the document's order."""
        if self.result is None:
            return []
        out: dict[str, list[Any]] = {}
        for d in self.result.disagreements:
            out.setdefault(d.section, []).append(d)
        return list(out.items())


def empty_page(policy: str | None = None) -> DocumentsPage:
    ids = policy_ids()
    chosen = policy if policy in ids else ids[0]
    return DocumentsPage(ids, chosen, versions=[v.version for v in load_policy(chosen).versions])


def compare_upload(policy_id: str, version: str, name: str, data: bytes) -> DocumentsPage:
    """Read an uploaded document and compare it; problems (bad file, unknown version) are listed, not raised."""
    page = empty_page(policy_id)
    page.version, page.file_name = version, name
    if policy_id not in page.policies:
        page.problems.append("Choose one of the policies listed.")
        return page
    if not data:
        page.problems.append("Choose a document to upload (text, PDF or HTML).")
        return page
    if len(data) > MAX_DOCUMENT_BYTES:
        page.problems.append(f"The document is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB.")
        return page
    try:
        document = parse_document(data, name or "document")
    except DocumentError as exc:
        page.problems.extend(exc.problems)
        return page
    policy = load_policy(policy_id)
    try:
        target = _version(policy, version, document)
    except (ValueError, PriorAuthError) as exc:
        page.problems.append(f"Version: {exc}")
        return page
    page.result = compare(document, target)
    page.version = target.version
    return page


def _version(policy: Policy, version: str, document: Any) -> PolicyVersion:
    if not version:
        return version_for_document(policy, document)
    return policy.in_force(parse_iso_date(version))


def kind_text(kind: str) -> str:
    return KIND_TEXT.get(kind, kind)
