"""What a PAS submission said beyond its facts, kept beside the stored request (table `pas_submissions`):
the Claim.identifier, member and provider identifiers `$inquire` matches on, and the submitted items
its answer reports. The request itself (facts, decision, access control, audit) is the service's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from priorauth.fhir.pas import PasSubmission, SubmittedItem
from priorauth.store.models import PasSubmission as PasSubmissionRow

# Query by example looks at the organisation's most recent submissions only.
EXAMPLE_SEARCH_LIMIT = 2000


@dataclass(frozen=True)
class SubmissionRecord:
    request_id: str
    claim_identifier: str | None
    pas_version: str
    members: list[str]
    providers: list[str]
    items: list[SubmittedItem]


def _record(row: PasSubmissionRow) -> SubmissionRecord:
    return SubmissionRecord(
        row.request_id,
        row.claim_identifier,
        row.pas_version,
        list(row.members or []),
        list(row.providers or []),
        [SubmittedItem.from_dict(i) for i in row.items or []],
    )


def record_submission(session: Session, request_id: str, org: str, submission: PasSubmission) -> None:
    """Keep what the submission said (once per request: a resubmission of the same Claim keeps the first)."""
    if session.get(PasSubmissionRow, request_id) is not None:
        return
    session.add(
        PasSubmissionRow(
            request_id=request_id,
            submitter_org=org,
            claim_identifier=submission.idempotency_key,
            pas_version=submission.pas_version,
            members=submission.members,
            providers=submission.providers,
            items=[i.to_dict() for i in submission.items],
            created_at=dt.datetime.now(dt.UTC),
        )
    )
    session.commit()


def submission(session: Session, request_id: str) -> SubmissionRecord | None:
    row = session.get(PasSubmissionRow, request_id)
    return _record(row) if row is not None else None


def by_claim_identifiers(session: Session, org: str, keys: list[str]) -> list[SubmissionRecord]:
    """The organisation's submissions whose Claim.identifier is one of `keys`, newest first."""
    if not keys:
        return []
    rows = session.execute(
        select(PasSubmissionRow)
        .where(PasSubmissionRow.submitter_org == org, PasSubmissionRow.claim_identifier.in_(keys))
        .order_by(PasSubmissionRow.created_at.desc())
    ).scalars()
    return [_record(r) for r in rows]


def recent(session: Session, org: str) -> list[SubmissionRecord]:
    """The organisation's most recent submissions, newest first (for query-by-example inquiries)."""
    rows = session.execute(
        select(PasSubmissionRow)
        .where(PasSubmissionRow.submitter_org == org)
        .order_by(PasSubmissionRow.created_at.desc())
        .limit(EXAMPLE_SEARCH_LIMIT)
    ).scalars()
    return [_record(r) for r in rows]
