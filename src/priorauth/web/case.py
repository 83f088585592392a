"""The case page's content, built from a `StoredRequest`: what each role may see of it.

Everything about the policy shown for a stored request (questions, criteria, dose plan,
letter) comes from `stored.decided_under`, the exact version that decided it, never from
the version loaded today.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from priorauth import service
from priorauth.core import ErrorCode, PolicyVersion, RequestError
from priorauth.service import Principal
from priorauth.web import dose
from priorauth.web.forms import answer_text, fact_label, read_form
from priorauth.web.queue import format_when
from priorauth.web.views import criteria_tree, status_text, time_left, tree_counts

DONE_TEXT = {
    "information": "The information was added and the request was decided again.",
    "review": "Your decision was saved.",
}
MODIFICATION_FIELDS = ("start", "end", "max_cycles", "max_units")
ACTION_TEXT = {"approve": "Approved", "approve_with_modification": "Approved with modification", "deny": "Denied"}


def final_outcome(stored: Any) -> str | None:
    """The outcome a letter states, or None while no letter can be written (awaiting review)."""
    if stored.status == "approved":
        return "approved_with_modification" if stored.review_action == "approve_with_modification" else "approved"
    if stored.status in ("denied", "pended", "not_applicable"):
        return stored.status
    return None


DIGEST_SHOWN = 12  # hex digits of a version's digest shown to people


def decided_under(stored: Any) -> PolicyVersion:
    """The policy version that decided a stored request (everything shown for it derives from this).

    RequestError (no_policy_version) when the store no longer holds it: nothing is then shown
    under another version in its place.
    """
    version = getattr(stored, "decided_under", None)
    if not isinstance(version, PolicyVersion):
        raise RequestError("policy", "the policy version that decided this request is not available",
                           ErrorCode.NO_POLICY_VERSION)
    return version


def version_notice(stored: Any) -> str | None:
    """A plain sentence when the policy loaded today differs from the version that decided the request."""
    newer = getattr(stored, "newer_version", None)
    if not newer:
        return None
    decided = decided_under(stored).version
    if newer == decided:
        return (f"The version of {decided} of this policy now loaded differs from the one this request was decided "
                f"under; this request stays decided under the stored version (digest "
                f"{stored.policy_digest[:DIGEST_SHOWN]}).")
    return (f"A newer version of this policy (in force from {newer}) is loaded; this request stays decided "
            f"under {decided}.")


def modification_text(stored: Any) -> str | None:
    if stored.review_action != "approve_with_modification" or not stored.authorization:
        return None
    try:  # what the approval would have carried unmodified: the engine's or the policy's period
        base = service.policy_authorization(stored, (stored.decided_at or stored.updated_at).date())
    except RequestError:
        base = {}
    changed = [k for k in MODIFICATION_FIELDS if stored.authorization.get(k) != base.get(k)]
    names = {"start": "start date", "end": "end date", "max_cycles": "cycle limit", "max_units": "unit limit"}
    if not changed:
        return None
    return "The reviewer changed the " + ", ".join(names[k] for k in changed) + " of the authorization."


def modification_from_form(form: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in MODIFICATION_FIELDS:
        text = str(form.get(f"mod_{key}") or "").strip()
        if not text:
            continue
        if key.startswith("max_"):
            try:
                out[key] = int(text)
            except ValueError:
                out[key] = text  # the service names the field
        else:
            out[key] = text
    return out


def review_problem(action: str, note: str, modification: dict[str, Any] | None) -> str | None:
    """What is wrong with a decision form before it goes to the service, in the reviewer's words."""
    if action not in ACTION_TEXT:
        return "Choose Approve, Approve with modification or Deny."
    if not note:
        if action == "deny":
            return "A denial needs a note: state the clinical reason. It is quoted in the letter to the provider."
        return "Write a note: it is kept with the decision."
    if action == "approve_with_modification" and not modification:
        return "Approve with modification: give the changed start date, end date, cycle limit or unit limit."
    return None


def _actor(e: dict[str, Any]) -> str:
    if e["actor_role"] == "engine":
        return "the decision engine"
    return f"{e['actor_role']} {e['actor']} ({e['actor_org']})"


def _fact_names(names: list[str], questions: dict[str, str]) -> str:
    return "; ".join(fact_label(n, questions) for n in names)


def audit_lines(events: list[dict[str, Any]], questions: dict[str, str]) -> list[dict[str, str]]:
    """Audit events as timeline lines; consecutive reads by one person are counted, not repeated."""
    lines: list[dict[str, str]] = []
    last_read: tuple[str, dict[str, str]] | None = None
    for e in events:
        at = dt.datetime.fromisoformat(e["at"])
        d = e.get("detail") or {}
        action = e["action"]
        if action == "read":
            if last_read and last_read[0] == e["actor"]:
                entry = last_read[1]
                entry["count"] = str(int(entry["count"]) + 1)
                entry["text"] = f"Viewed {entry['count']} times by {_actor(e)}"
                continue
            entry = {"iso": at.isoformat(), "when": format_when(at), "text": f"Viewed by {_actor(e)}", "count": "1"}
            lines.append(entry)
            last_read = (e["actor"], entry)
            continue
        last_read = None
        if action == "create":
            text = f"Submitted by {_actor(e)} ({d.get('urgency', 'standard')}), {len(d.get('facts', []))} facts given"
        elif action == "decision":
            text = f"Engine decision: {d.get('decision', '?')} → status {status_text(d.get('status'))}"
            if d.get("missing_facts"):
                text += f"; needs: {_fact_names(d['missing_facts'], questions)}"
            if d.get("decision") == "denied" and d.get("reasons"):
                text += f"; criteria not met: {', '.join(d['reasons'])}"
        elif action == "information":
            text = f"Information added by {_actor(e)}: {_fact_names(d.get('facts', []), questions)}"
        elif action == "review":
            decided = d.get("action")
            if isinstance(decided, str):
                decided = ACTION_TEXT.get(decided, decided)
            text = f"{decided} by {_actor(e)}"
            if d.get("note"):
                text += f": “{d['note']}”"
        else:
            text = f"{action.replace('_', ' ').capitalize()} by {_actor(e)}"
        lines.append({"iso": at.isoformat(), "when": format_when(at), "text": text, "count": "1"})
    return lines


def build_case(
    stored: Any, principal: Principal, events: list[dict[str, Any]] | None, *,
    now: dt.datetime | None = None, info_form: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything case.html shows, as plain values."""
    now = now or dt.datetime.now(dt.UTC)
    version = decided_under(stored)
    questions = {q.id: q.text for q in version.questions}
    det = stored.determination
    left, overdue = time_left(stored.due_at, now, closed=stored.final)
    reviewer_side = principal.role in ("reviewer", "admin")
    facts = []
    if stored.patient:
        if stored.patient.get("name"):
            facts.append({"label": "Patient name", "answer": stored.patient["name"]})
        if stored.patient.get("member_id"):
            facts.append({"label": "Member ID", "answer": stored.patient["member_id"]})
    for q in version.questions:
        if q.id in stored.facts and stored.facts[q.id] is not None:
            facts.append({"label": q.text, "answer": answer_text(q, stored.facts[q.id])})
    missing_ids = list(det.get("missing_facts", [])) if stored.status == "pended" else []
    can_add_info = principal.role == "submitter" and stored.status == "pended" and bool(missing_ids)
    info_fields = []
    if can_add_info:
        state = read_form(version, info_form or {}, only=set(missing_ids))
        if info_form is None:
            for f in state.fields:
                f.error = None
        info_fields = [f for f in state.fields]
    focus = {r["criterion"] for r in det.get("reasons", [])}
    tree = criteria_tree(stored.trace, focus) if (reviewer_side or stored.status == "pended") else None
    outcome = final_outcome(stored)
    review = None
    if stored.review_action:
        review = {
            "outcome": "approved_with_modification" if stored.review_action == "approve_with_modification"
            else ("denied" if stored.review_action == "deny" else "approved"),
            "note": stored.review_note,
            "at": format_when(stored.decided_at) if stored.decided_at else None,
            "by": stored.decided_by if reviewer_side else None,
        }
    return {
        "id": stored.id,
        "status": stored.status,
        "status_text": status_text(stored.status),
        "urgency": stored.urgency,
        "policy_title": version.title,
        "policy_version": version.version,
        "policy_digest": stored.policy_digest[:DIGEST_SHOWN],
        "version_notice": version_notice(stored),
        "submitter": stored.submitter_org,
        "created_text": format_when(stored.created_at),
        "due_text": format_when(stored.due_at),
        "time_left": left,
        "overdue": overdue,
        "version": stored.version,
        "decided": stored.final,
        # An engine denial waits for a clinician; provider staff see the outcome, not the recommendation.
        "show_engine": reviewer_side or stored.status in ("pended", "approved", "not_applicable"),
        "determination": det,
        "review": review,
        "facts": facts,
        "missing": [fact_label(m, questions) for m in missing_ids],
        "can_add_info": can_add_info,
        "info_fields": info_fields,
        "can_review": principal.role == "reviewer" and not stored.final,
        "tree": tree,
        "counts": tree_counts(tree),
        "audit": audit_lines(events, questions) if events is not None else None,
        "letter_available": outcome is not None,
        "dose_plan": dose.dose_plan_table(stored, version),
    }
