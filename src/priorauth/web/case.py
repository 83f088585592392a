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
from priorauth.core import ErrorCode, PolicyVersion, RequestError, age_on, group_reasons, parse_iso_date, walk
from priorauth.service import Principal
from priorauth.web import dose
from priorauth.web.forms import answer_text, fact_label, humanize, read_form
from priorauth.web.queue import format_when
from priorauth.web.views import criteria_tree, plain_value, sentence, status_text, time_left

DONE_TEXT = {
    "information": "The information was added and the request was decided again.",
    "review": "Your decision was saved.",
    "request_date": "The request date was changed and the request was decided again.",
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


def person(token_id: str, role: str, org: str, people: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """Who acted, by name and role: `Dr Ada Reviewer (reviewer, health-plan)`.

    The name is the token's label; a token without one is named by its role and organisation.
    """
    if role == "engine":
        return "the decision engine"
    known = (people or {}).get(token_id) or {}
    name = (known.get("name") or "").strip()
    role = known.get("role") or role
    org = known.get("org") or org
    if name:
        return f"{name} ({role}, {org})" if org else f"{name} ({role})"
    return f"a {role} of {org}" if org else f"a {role}"


def _actor(e: dict[str, Any], people: Mapping[str, Mapping[str, str]] | None) -> str:
    return person(e["actor"], e["actor_role"], e["actor_org"], people)


def _fact_names(names: list[str], questions: dict[str, str]) -> str:
    return "; ".join(fact_label(n, questions) for n in names)


def criteria_texts(version: PolicyVersion) -> dict[str, str]:
    """Criterion id -> its text, for every node of the version's criteria tree."""
    return {node.id: node.text for _, node in walk(version.criteria)}


def _criteria_names(ids: list[str], criteria: Mapping[str, str]) -> str:
    return "; ".join(dict.fromkeys(_no_stop(criteria.get(i, i)) for i in ids))  # a criterion two branches share: once


def _no_stop(text: str) -> str:
    return text[:-1] if text.endswith(".") else text


def audit_lines(
    events: list[dict[str, Any]], questions: dict[str, str], people: Mapping[str, Mapping[str, str]] | None = None,
    criteria: Mapping[str, str] | None = None,
) -> list[dict[str, str]]:
    """Audit events as timeline lines; consecutive reads by one person are counted, not repeated.

    `people` (token id -> name, role, org; `service.people`) names who acted; `criteria`
    (criterion id -> text) words the criteria a decision did not meet.
    """
    criteria = criteria or {}
    lines: list[dict[str, str]] = []
    last_read: tuple[str, dict[str, str]] | None = None
    for e in events:
        at = dt.datetime.fromisoformat(e["at"])
        d = e.get("detail") or {}
        action = e["action"]
        who = _actor(e, people)
        if action == "read":
            if last_read and last_read[0] == e["actor"]:
                entry = last_read[1]
                entry["count"] = str(int(entry["count"]) + 1)
                entry["text"] = f"Viewed {entry['count']} times by {who}"
                continue
            entry = {"iso": at.isoformat(), "when": format_when(at), "text": f"Viewed by {who}", "count": "1"}
            lines.append(entry)
            last_read = (e["actor"], entry)
            continue
        last_read = None
        if action == "create":
            given = len(d.get("facts", []))
            text = f"Submitted by {who}: {d.get('urgency', 'standard')}, {given} fact{'' if given == 1 else 's'} given"
        elif action == "decision":
            text = f"Engine decision: {status_text(d.get('decision')) or '?'}; status {status_text(d.get('status'))}"
            if d.get("missing_facts"):
                text += f"; needs: {_fact_names(d['missing_facts'], questions)}"
            if d.get("decision") == "denied" and d.get("reasons"):
                text += f"; criteria not met: {_criteria_names(list(d['reasons']), criteria)}"
        elif action == "information":
            text = f"Information added by {who}: {_fact_names(d.get('facts', []), questions)}"
        elif action == "review":
            decided = d.get("action")
            if isinstance(decided, str):
                decided = ACTION_TEXT.get(decided, decided)
            text = f"{decided} by {who}"
            if d.get("note"):
                text += f": “{d['note']}”"
        else:
            text = f"{action.replace('_', ' ').capitalize()} by {who}"
        lines.append({"iso": at.isoformat(), "when": format_when(at), "text": text, "count": "1"})
    return lines


def birth_facts(version: PolicyVersion) -> set[str]:
    """The date facts the version computes ages from (the `fact` of its age criteria)."""
    out = set()
    for _, node in walk(version.criteria):
        leaf = node.leaf
        fact = getattr(leaf.argument, "fact", None) if leaf is not None and leaf.operator.startswith("age_") else None
        if isinstance(fact, str):
            out.add(fact)
    return out


def _date(value: Any) -> dt.date | None:
    try:
        return parse_iso_date(value)
    except ValueError:
        return None


def age_text(birth: Any, day: Any) -> str | None:
    """`17 years on the request date` (`8 months` under one year), or None without both dates."""
    born, on = _date(birth), _date(day)
    if born is None or on is None or born > on:
        return None
    years = age_on(born, on)
    if years >= 1:
        return f"{years} year{'' if years == 1 else 's'} on the request date"
    months = (on.year - born.year) * 12 + on.month - born.month - (on.day < born.day)
    return f"{months} month{'' if months == 1 else 's'} on the request date"


class FactWords:
    """A stored request's facts in plain words: Yes/No, choice labels, ages next to birth dates."""

    def __init__(self, version: PolicyVersion, facts: Mapping[str, Any]) -> None:
        self.questions = version.questions_by_id
        self.births = birth_facts(version)
        self.request_date = facts.get(version.decided_on)

    def answer(self, fact: str, value: Any) -> str:
        q = self.questions.get(fact)
        text = answer_text(q, value) if q is not None else plain_value(value)
        if fact in self.births and value is not None:
            age = age_text(value, self.request_date)
            if age:
                text += f" ({age})"
        return text

    def pair(self, fact: str, value: Any) -> tuple[str, str]:
        """(the fact's short name, its value in words), for a criterion line of the tree."""
        if fact.startswith("dosing."):  # `the weight (kg)` -> `Weight (kg)`
            words = fact_label(fact, {}).removeprefix("the ")
            name = words[:1].upper() + words[1:]
        else:
            name = humanize(fact)
        return name, self.answer(fact, value)


def _clause(text: str | None) -> str:
    """A criterion's sentence as a clause: no full stop, lower-case start (`CD22-…` stays)."""
    text = _no_stop((text or "").strip().rstrip(":"))
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _options(group: Any) -> list[str]:
    """A "one of" group's alternatives as clauses, each by what failed in it.

    An alternative that failed only on a nested group contributes that group's alternatives
    (one of a, or one of b or c, is one of a, b or c).
    """
    out: list[str] = []
    for alt in group.alternatives:
        if len(alt.items) == 1 and hasattr(alt.items[0], "alternatives"):
            out.extend(_options(alt.items[0]))
        else:
            out.append(" and ".join(_words(i) for i in alt.items))
    return out


def _words(item: Any) -> str:
    """A grouped reason as a clause: a reason's text, or "one of: a, or b" for an `any` group."""
    if hasattr(item, "alternatives"):
        return "one of: " + ", or ".join(_options(item))
    return _clause(item.text)


def _item_words(item: Any) -> str:
    """A grouped reason as words after "requires"."""
    return _words(item) if hasattr(item, "alternatives") else f"that {_words(item)}"


def why_text(reasons: list[dict[str, Any]], version: PolicyVersion) -> str:
    """What each branch that could have applied requires and did not get, from `group_reasons`.

    "Adult B-cell precursor ALL requires that the patient is 18 years of age or older;
    Pediatric B-cell precursor ALL requires that the drug is used as a single agent"
    """
    kinds = {c.id for c in version.criteria.any or ()}  # the request kinds (initial, renewal)
    clauses = []
    for group in group_reasons([r for r in reasons if r.get("status") != "met"], version):
        if not group.items:
            continue
        if group.branch in kinds or group.heading is None:
            label = "Every indication" if group.branch in kinds else "The request"
        else:
            label = _no_stop(group.heading)
        clauses.append(f"{label} requires {_and([_item_words(i) for i in group.items])}")
    return "; ".join(clauses)


def summary_text(stored: Any, version: PolicyVersion, questions: dict[str, str], show_engine: bool) -> str | None:
    """The sentence a reader takes in first: the outcome and, for a denial, why, branch by branch.

    None when the reader may not see the engine's recommendation (a submitter while it
    awaits review).
    """
    det = stored.determination
    decision = det.get("decision")
    if stored.status == "awaiting_review":
        if not show_engine:
            return None
        why = why_text(det.get("reasons") or [], version) if decision == "denied" else ""
        return sentence(f"Awaiting clinical review; the engine recommends a denial: {why}" if why
                        else "Awaiting clinical review")
    if stored.review_action:
        outcome = {"deny": "Denied", "approve": "Approved",
                   "approve_with_modification": "Approved with modification"}.get(stored.review_action, "Decided")
        text = f"{outcome} by the clinical reviewer"
        if decision == "denied":
            why = why_text(det.get("reasons") or [], version)
            if why:
                text += f": {why}" if stored.review_action == "deny" else f", against the engine's finding: {why}"
        return sentence(text)
    if decision == "approved":
        a = det.get("authorization") or {}
        text = "Approved: the request meets the policy's criteria"
        if a.get("start") and a.get("end"):
            text += f"; authorized {a['start']} to {a['end']}"
            if a.get("max_cycles") is not None:
                text += f", up to {a['max_cycles']} cycles"
        return sentence(text)
    if decision == "pended":
        missing = det.get("missing_facts") or []
        if not missing:
            return sentence("Pended: information is needed")
        count = f"{len(missing)} answer{'' if len(missing) == 1 else 's'}"
        return sentence(f"Pended: {count} needed to decide: " + "; ".join(fact_label(m, questions) for m in missing))
    if decision == "not_applicable":
        text = "Not governed by this policy"
        reasons = [_clause(r.get("text")) for r in det.get("reasons") or [] if r.get("text")]
        if reasons:
            text += ": " + "; ".join(reasons)
        routing = det.get("routing")
        if routing:
            text = sentence(text) + " " + sentence(
                f"Route it to Medicare jurisdiction {routing['jurisdiction']}: {routing['contractor']}")
        return sentence(text)
    if decision == "denied":
        why = why_text(det.get("reasons") or [], version)
        return sentence(f"Denied: {why}" if why else "Denied")
    return None


def build_case(
    stored: Any, principal: Principal, events: list[dict[str, Any]] | None, *,
    now: dt.datetime | None = None, info_form: Mapping[str, Any] | None = None,
    people: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, Any]:
    """Everything case.html shows, as plain values.

    `people` (token id -> name, role, org; `service.people`) names who acted.
    """
    now = now or dt.datetime.now(dt.UTC)
    version = decided_under(stored)
    questions = {q.id: q.text for q in version.questions}
    words = FactWords(version, stored.facts)
    det = stored.determination
    left, overdue = time_left(stored.due_at, now, closed=stored.final)
    reviewer_side = principal.role in ("reviewer", "admin")
    facts = []
    if stored.patient:
        if stored.patient.get("name"):
            facts.append({"label": "Patient name", "answer": stored.patient["name"]})
        if stored.patient.get("member_id"):
            facts.append({"label": "Member ID", "answer": stored.patient["member_id"]})
    people_given = (("Prescriber", getattr(stored, "prescriber", None)), ("Contact", getattr(stored, "contact", None)))
    for title, details in people_given:
        if details:
            shown = [str(details[k]) for k in ("name", "npi", "phone", "email") if details.get(k)]
            if details.get("npi"):
                shown[shown.index(str(details["npi"]))] = f"NPI {details['npi']}"
            if shown:
                facts.append({"label": title, "answer": ", ".join(shown)})
    for q in version.questions:
        if q.id in stored.facts and stored.facts[q.id] is not None:
            facts.append({"label": q.text, "answer": words.answer(q.id, stored.facts[q.id])})
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
    tree = criteria_tree(stored.trace, focus, words.pair) if (reviewer_side or stored.status == "pended") else None
    outcome = final_outcome(stored)
    review = None
    if stored.review_action:
        review = {
            "outcome": "approved_with_modification" if stored.review_action == "approve_with_modification"
            else ("denied" if stored.review_action == "deny" else "approved"),
            "note": stored.review_note,
            "at": format_when(stored.decided_at) if stored.decided_at else None,
            "by": person(stored.decided_by, "reviewer", "", people) if reviewer_side and stored.decided_by else None,
        }
    show_engine = reviewer_side or stored.status in ("pended", "approved", "not_applicable")
    return {
        "id": stored.id,
        "summary": summary_text(stored, version, questions, not stored.withheld_from(principal.role)),
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
        "show_engine": show_engine,
        "determination": det,
        "reason_groups": [g.to_dict() for g in group_reasons(
            [r for r in det.get("reasons", []) if r.get("status") == "not_met"], version)],
        "review": review,
        "facts": facts,
        "missing": [fact_label(m, questions) for m in missing_ids],
        "can_add_info": can_add_info,
        "info_fields": info_fields,
        "can_review": principal.role == "reviewer" and not stored.final,
        "request_date": stored.facts.get(version.decided_on) if principal.role == "reviewer" else None,
        "tree": tree,
        "audit": audit_lines(events, questions, people, criteria_texts(version)) if events is not None else None,
        "letter_available": outcome is not None,
        "dose_plan": dose.dose_plan_table(stored, version),
        "waiting": waiting_text(stored, version, left, overdue) if stored.withheld_from(principal.role) else None,
    }


def waiting_text(stored: Any, version: PolicyVersion, left: str, overdue: bool) -> dict[str, Any]:
    """What a submitter reads while a clinician reviews: what happens next, by when, what was sent."""
    given = sum(1 for v in stored.facts.values() if v is not None)
    submitted = [
        ("Policy", f"{version.title} (version {version.version})"),
        ("Submitted", f"{format_when(stored.created_at)} by {stored.submitter_org}"),
        ("Urgency", "Expedited" if stored.urgency == "expedited" else "Standard"),
        ("Answers given", f"{given} (listed under Facts given)"),
    ]
    if stored.dosing:
        submitted.append(("Doses", "the requested doses (see the dose plan)"))
    return {
        "next": ("A clinical reviewer at the health plan is reviewing this request. Nothing more is needed "
                 "from you now."),
        "due": (f"The decision was due by {format_when(stored.due_at)}; it is {left}." if overdue
                else f"The decision is due by {format_when(stored.due_at)} ({left})."),
        "then": ("The decision appears on this page when the reviewer makes it, with the determination "
                 "letter to download."),
        "submitted": submitted,
    }
