"""The determination letter to the provider: what was decided, why, and how to appeal.

`build_letter` gathers everything the letter says into one `DeterminationLetter`;
the HTML template and the PDF writer (`priorauth.web.pdf`) only lay it out, so
both always say the same thing. A letter cites the policy version that decided the
request (for a stored request, `stored.decided_under`), never the one loaded today.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from priorauth.core import (
    Determination,
    OneOf,
    Policy,
    PolicyVersion,
    Reason,
    ReasonBranch,
    RequestError,
    group_reasons,
)
from priorauth.web.forms import fact_label

# The plan's appeal wording. A plan deploying priorauth edits this text (docs/web.md).
APPEAL_TEXT = (
    "You, the member, or someone acting for the member may ask us to reconsider this decision. "
    "Send a written appeal with any medical records or information that support the request, "
    "quoting the request number above, within 180 days of the date of this letter "
    "(60 days for Medicaid members). The prescribing provider may also ask for a "
    "peer-to-peer discussion with the clinical reviewer. An expedited appeal is decided "
    "within 72 hours when waiting could seriously jeopardise the member's life or health."
)

OUTCOME_TEXT = {
    "approved": "Approved",
    "approved_with_modification": "Approved with modification",
    "denied": "Denied",
    "pended": "Pending: more information is needed",
    "not_applicable": "Not decided under this policy",
}


@dataclass(frozen=True, slots=True)
class LetterReason:
    """One denial reason: the requirement in plain language and where the policy says it."""

    requirement: str
    section: str
    criterion: str

    @property
    def citation(self) -> str:
        section = self.section
        return section if section.lower().startswith("appendix") else f"Section {section}"


@dataclass(frozen=True, slots=True)
class DeterminationLetter:
    request_id: str
    letter_date: dt.date
    outcome: str  # approved, approved_with_modification, denied, pended, not_applicable
    organization: str | None
    policy_title: str
    policy_document: str
    policy_version: str
    policy_digest: str
    drug: str
    hcpcs: str
    reasons: tuple[LetterReason, ...]
    authorization: dict[str, Any] | None
    modification: str | None
    reviewer_note: str | None
    reviewed_by_clinician: bool
    missing: tuple[str, ...]
    routing: dict[str, Any] | None
    # An approval whose requested doses were reduced (the engine's dose check, X12 A6).
    dose_changes: tuple[LetterReason, ...] = ()
    appeal: str = APPEAL_TEXT
    # A denial's reasons grouped by indication branch, `any` groups as "one of" (core.group_reasons).
    reason_groups: tuple[ReasonBranch, ...] = ()
    # The header's people block: (label, value) lines naming the member, member id and prescriber.
    people: tuple[tuple[str, str], ...] = ()

    @property
    def appeal_applies(self) -> bool:
        return self.outcome in ("denied", "approved_with_modification") or bool(self.dose_changes)

    @property
    def policy_digest_short(self) -> str:
        """The first 12 hex digits of the version's digest: enough to name it in a letter."""
        return self.policy_digest[:12]

    @property
    def reason_outline(self) -> list[dict[str, Any]]:
        """The grouped denial reasons for the page: per branch a heading and its items; an item is a
        requirement (`text`, `citation`) or a choice (`one_of`: alternatives, each a heading or
        None and its items)."""
        return [{"heading": _heading(b.heading) if b.heading is not None else None, "items": _outline(b.items)}
                for b in self.reason_groups]

    @property
    def outcome_text(self) -> str:
        return OUTCOME_TEXT.get(self.outcome, self.outcome)

    @property
    def approved(self) -> bool:
        return self.outcome in ("approved", "approved_with_modification")

    @property
    def authorization_lines(self) -> list[str]:
        """The period and limits, one sentence each; only what the stored authorization states.

        A reviewer's approval of a request the engine did not approve may carry only the
        fields the reviewer set, so every field is optional here.
        """
        a = self.authorization or {}
        lines = []
        if a.get("start") and a.get("end"):
            lines.append(f"Authorized from {_long_date(a['start'])} through {_long_date(a['end'])}.")
        elif a.get("start"):
            lines.append(f"Authorized from {_long_date(a['start'])}.")
        elif a.get("end"):
            lines.append(f"Authorized through {_long_date(a['end'])}.")
        if a.get("max_cycles") is not None:
            cycles = a["max_cycles"]
            # A reviewer may lower the cycle limit below the cycles the engine left: the lower wins.
            remaining = min(a.get("cycles_remaining", cycles), cycles)
            # Per-branch terms (a `branch`) count the cycles of this authorization; one set of terms, of the course.
            scope = "under this authorization" if a.get("branch") else "in all"
            left = f" ({remaining} remaining)." if remaining < cycles else "."
            lines.append(f"Up to {cycles} treatment cycles {scope}{left}")
        if a.get("max_units") is not None:
            window = f" in any {a['unit_window_days']}-day period" if a.get("unit_window_days") else ""
            lines.append(f"Up to {a['max_units']} billable units of {a.get('hcpcs') or self.hcpcs}{window}.")
        if "renewable" in a:
            lines.append("This authorization may be renewed." if a["renewable"] else
                         "This authorization cannot be extended beyond this period.")
        return lines


def _heading(text: str | None) -> str | None:
    return text.strip().rstrip(".") if text else None


def _outline(items: tuple[Reason | OneOf, ...]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, Reason):
            out.append({"text": item.text, "citation": LetterReason(item.text, item.section, item.criterion).citation})
        else:
            alternatives = [{"heading": _heading(a.text), "items": _outline(a.items)} for a in item.alternatives]
            out.append({"one_of": alternatives})
    return out


def _long_date(value: Any) -> str:
    day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    return f"{day.strftime('%B')} {day.day}, {day.year}"


def decided_version(policy: Policy | PolicyVersion, det: dict[str, Any]) -> PolicyVersion:
    """The version a determination was decided under: `policy` itself, or the one of `policy` it names.

    A determination names its version by digest (and effective date); a Policy that does not
    hold that exact version cannot stand in for it.
    """
    if isinstance(policy, PolicyVersion):
        return policy
    digest = det.get("policy_digest")
    version = policy.by_digest(digest) if digest else None
    if version is None and not digest and det.get("policy_version"):
        version = next((v for v in policy.versions if v.version == det["policy_version"]), None)
    if version is None:
        raise RequestError("policy_digest", f"policy {policy.id} does not hold the version this request was decided "
                                            "under")
    return version


def build_letter(
    *,
    policy: Policy | PolicyVersion,
    request_id: str,
    determination: Determination | dict[str, Any],
    outcome: str | None = None,
    reviewer_note: str | None = None,
    modification: str | None = None,
    organization: str | None = None,
    letter_date: dt.date | None = None,
    question_text: dict[str, str] | None = None,
    authorization: dict[str, Any] | None = None,
    reviewed: bool | None = None,
    patient: dict[str, Any] | None = None,
    prescriber: dict[str, Any] | None = None,
    request_date: str | None = None,
) -> DeterminationLetter:
    """The letter for a request: `outcome` is the final decision (the engine's when not reviewed).

    `policy` is the version the request was decided under (for a stored request,
    `stored.decided_under`), or a Policy holding it (picked by the determination's digest).
    `determination` is a `Determination` or its contract dict (as stored); `authorization`
    replaces the engine's period (a reviewer's modification applied). `patient` and `prescriber`
    (a stored request's, PHI) head the letter: member, member id, prescriber and NPI.
    """
    det = determination.to_dict() if isinstance(determination, Determination) else determination
    version = decided_version(policy, det)
    engine_outcome = det["decision"]
    final = outcome or engine_outcome
    reasons: tuple[LetterReason, ...] = ()
    groups: tuple[ReasonBranch, ...] = ()
    if final == "denied":
        failed = [r for r in det.get("reasons", []) if r.get("status") == "not_met"]
        reasons = tuple(LetterReason(r["text"], r["section"], r["criterion"]) for r in failed)
        groups = group_reasons(failed, version)
    if final == "not_applicable":
        reasons = tuple(LetterReason(r["text"], r["section"], r["criterion"]) for r in det.get("reasons", []))
    questions = question_text or {q.id: q.text for q in version.questions}
    missing = tuple(fact_label(f, questions) for f in det.get("missing_facts", [])) if final == "pended" else ()
    dose_changes: tuple[LetterReason, ...] = ()
    if final in ("approved", "approved_with_modification"):
        dose_changes = tuple(
            LetterReason(r["text"], r["section"], r["criterion"]) for r in det.get("reasons", [])
            if r.get("status") == "not_met" and str(r.get("criterion", "")).startswith("dose.")
        )
    return DeterminationLetter(
        request_id=str(request_id),
        letter_date=letter_date or dt.date.today(),
        outcome=final,
        organization=organization,
        policy_title=version.title,
        policy_document=version.metadata.document_number,
        policy_version=version.version,
        policy_digest=version.digest,
        drug=version.drug,
        hcpcs=version.billing.hcpcs.code,
        reasons=reasons,
        authorization=(authorization or det.get("authorization")) if final in ("approved", "approved_with_modification")
        else None,
        modification=modification if final == "approved_with_modification" else None,
        reviewer_note=reviewer_note,
        reviewed_by_clinician=reviewed if reviewed is not None else outcome is not None,
        missing=missing,
        routing=det.get("routing"),
        dose_changes=dose_changes,
        reason_groups=groups,
        people=people_lines(patient, prescriber, request_date),
    )


def letter_recipient(organization: str | None, contact: dict[str, Any] | None) -> str | None:
    """The letter's addressee: the submitting contact at its organisation (`Jamie Intake, st-olaf-oncology`)."""
    name = (contact or {}).get("name")
    if not name:
        return organization
    return f"{name}, {organization}" if organization else name


def people_lines(
    patient: dict[str, Any] | None, prescriber: dict[str, Any] | None, request_date: str | None = None
) -> tuple[tuple[str, str], ...]:
    """The letter header's people: who the request is for and who prescribed (what was given)."""
    patient, prescriber = patient or {}, prescriber or {}
    lines = []
    if patient.get("name"):
        lines.append(("Member", str(patient["name"])))
    if patient.get("member_id"):
        lines.append(("Member ID", str(patient["member_id"])))
    if prescriber.get("name"):
        npi = f" (NPI {prescriber['npi']})" if prescriber.get("npi") else ""
        lines.append(("Prescriber", f"{prescriber['name']}{npi}"))
    if request_date:
        lines.append(("Request date", _long_date(request_date)))
    return tuple(lines)


def long_date(value: Any) -> str:
    """`2026-03-02` -> `March 2, 2026`."""
    return _long_date(value)
