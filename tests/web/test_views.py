"""Queue rows, time left, criteria tree and audit timeline helpers."""

from __future__ import annotations

import datetime as dt

from priorauth.core import evaluate_facts, load_policy
from priorauth.web.case import audit_lines, final_outcome, review_problem, version_notice
from priorauth.web.queue import QueueQuery, queue_result
from priorauth.web.views import criteria_tree, sentence, time_left

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def test_time_left_and_overdue():
    assert time_left(NOW + dt.timedelta(days=3, hours=4, minutes=10), NOW) == ("3 d 4 h left", False)
    assert time_left(NOW + dt.timedelta(hours=5, minutes=7), NOW) == ("5 h 7 min left", False)
    assert time_left(NOW - dt.timedelta(hours=5), NOW) == ("overdue by 5 h 0 min", True)
    assert time_left(NOW - dt.timedelta(hours=5), NOW, closed=True) == ("decided", False)


def test_criteria_tree_from_the_stored_trace_keeps_sections_and_marks():
    policy = load_policy("besponsa")
    det = evaluate_facts(policy, {"request_type": "initial", "request_date": "2026-03-02"})
    tree = criteria_tree(det.trace.to_dict())
    assert tree.criterion == "coverage" and tree.status == "unknown" and tree.mark == "?"
    initial = tree.children[0]
    assert initial.children[0].criterion == "is_initial"
    assert (initial.children[0].status_label, initial.children[0].citation) == ("met", "§III")
    # Collapsed, the tree shows the paths still unknown; the met request kind is off them.
    assert tree.on_path and not initial.children[0].on_path
    assert any(c.on_path for c in initial.children if c.status == "unknown")
    assert criteria_tree(det.trace) == tree  # the object and its stored dict give the same tree


def test_queue_query_ignores_unknown_values_and_builds_page_links():
    q = QueueQuery.parse({"status": "awaiting_review", "sort": "nonsense", "page": "x", "size": "7",
                          "policy": "other"}, ["besponsa"])
    assert (q.status, q.sort, q.page, q.size, q.policy) == ("awaiting_review", "due", 1, 50, None)
    q = QueueQuery.parse({"status": "pended", "page": "3", "size": "25", "due": "overdue"}, ["besponsa"])
    filters = q.filters(NOW, "reviewer")
    assert (filters.status, filters.overdue) == ("pended", True)
    spec = q.page_spec()
    assert (spec.limit, spec.offset) == (25, 50)
    result = queue_result(q, total=1000, shown=25, base="/web/requests")
    assert (result.first, result.last, result.pages) == (51, 75, 40)
    assert result.prev_url == "/web/requests?status=pended&due=overdue&page=2&size=25"
    assert result.next_url == "/web/requests?status=pended&due=overdue&page=4&size=25"


def test_submitter_cannot_filter_on_other_organisations():
    q = QueueQuery.parse({"submitter": "clinic-b"}, ["besponsa"])
    assert q.filters(NOW, "submitter").submitter is None
    assert q.filters(NOW, "reviewer").submitter == "clinic-b"


def test_denial_needs_a_note():
    assert "needs a note" in review_problem("deny", "", None)
    assert review_problem("deny", "Criteria not met.", None) is None
    assert "modification" in review_problem("approve_with_modification", "ok", {})
    assert review_problem("shrug", "x", None)


class Stored:
    def __init__(self, status, review_action=None):
        self.status, self.review_action = status, review_action


def test_final_outcome_waits_for_review():
    assert final_outcome(Stored("awaiting_review")) is None
    assert final_outcome(Stored("approved", "approve_with_modification")) == "approved_with_modification"
    assert final_outcome(Stored("denied", "deny")) == "denied"
    assert final_outcome(Stored("pended")) == "pended"


def test_audit_timeline_in_words_with_repeated_views_counted():
    def event(kind, actor="tok_r", role="reviewer", org="plan", **detail):
        return {"at": NOW.isoformat(), "actor": actor, "actor_role": role, "actor_org": org, "action": kind,
                "detail": detail}

    questions = {"substantial_comorbidities": "Does the patient have substantial comorbidities?"}
    people = {"tok_s": {"name": "Sam Intake", "role": "submitter", "org": "clinic"},
              "tok_r": {"name": "Dr Ada Reviewer", "role": "reviewer", "org": "plan"}}
    criteria = {"fc_no_rituximab": "Rituximab is not added to the regimen."}
    lines = audit_lines([
        event("create", "tok_s", "submitter", "clinic", urgency="standard", facts=["a", "b"]),
        event("decision", "engine", "engine", "system", decision="pended", status="pended",
              missing_facts=["substantial_comorbidities"]),
        event("read"), event("read"), event("read"),
        event("information", "tok_s", "submitter", "clinic", facts=["substantial_comorbidities"]),
        event("decision", "engine", "engine", "system", decision="denied", status="awaiting_review",
              reasons=["fc_no_rituximab"]),
        event("review", action="deny", note="Not met."),
        event("read", "tok_unnamed", "reviewer", "plan"),
    ], questions, people, criteria)
    texts = [line["text"] for line in lines]
    assert texts[0] == "Submitted by Sam Intake (submitter, clinic): standard, 2 facts given"
    assert texts[1].startswith("Engine decision: Pended") and "substantial comorbidities?" in texts[1]
    assert texts[2] == "Viewed 3 times by Dr Ada Reviewer (reviewer, plan)"
    assert texts[3] == ("Information added by Sam Intake (submitter, clinic): "
                        "Does the patient have substantial comorbidities?")
    assert texts[4] == ("Engine decision: Denied; status Awaiting clinical review; "
                        "criteria not met: Rituximab is not added to the regimen")
    assert texts[5] == "Denied by Dr Ada Reviewer (reviewer, plan): “Not met.”"
    assert texts[6] == "Viewed by a reviewer of plan"  # a token without a name: never its id
    assert not any("tok_" in t or "fc_no" in t for t in texts)


def test_a_sentence_ending_in_a_name_with_a_period_gets_one_full_stop():
    assert sentence("Route it to Medicare jurisdiction L: Novitas Solutions, Inc.") == (
        "Route it to Medicare jurisdiction L: Novitas Solutions, Inc.")
    assert sentence("Route it to Medicare jurisdiction J: Palmetto GBA ") == (
        "Route it to Medicare jurisdiction J: Palmetto GBA.")


def test_tree_opens_on_the_branches_behind_the_decision():
    policy = load_policy("besponsa")
    facts = {"request_type": "initial", "request_date": "2026-03-02", "birth_date": "1966-11-02",
             "diagnosis": "b_cell_precursor_all", "icd10_codes": ["C91.00"], "cd22_positive": True,
             "prior_inotuzumab": False, "baseline_ecg_normal": True, "ecg_monitoring_planned": True,
             "disease_setting": "frontline_consolidation", "regimen": "mini_hyper_cvd", "ph_status": "negative",
             "with_rituximab": True, "substantial_comorbidities": True}
    det = evaluate_facts(policy, facts)
    tree = criteria_tree(det.trace, {r.criterion for r in det.reasons})

    def find(node, criterion):
        if node.criterion == criterion:
            return node
        for child in node.children:
            found = find(child, criterion)
            if found:
                return found
        return None

    assert find(tree, "fc_rituximab").expanded  # leads to the reasons
    assert find(tree, "pediatric").expanded  # its failed age is a reason too (every branch that could apply)
    assert not find(tree, "renewal_request").expanded  # a request kind that cannot apply stays closed
    # Collapsed, the failing paths show and the met criteria on them do not.
    assert find(tree, "fc_rituximab").on_path and not find(tree, "is_initial").on_path
    assert tree.expanded


def test_version_notice_names_a_newer_or_edited_version():
    from types import SimpleNamespace

    version = load_policy("besponsa").first
    stored = SimpleNamespace(decided_under=version, policy_digest=version.digest, newer_version=None)
    assert version_notice(stored) is None
    stored.newer_version = "2026-07-01"
    assert version_notice(stored) == (
        f"A newer version of this policy (in force from 2026-07-01) is loaded; this request stays decided under "
        f"{version.version}."
    )
    stored.newer_version = version.version  # the file of the same date was edited: another digest
    notice = version_notice(stored)
    assert "differs from the one this request was decided under" in notice and version.digest[:12] in notice
