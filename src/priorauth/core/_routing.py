"""Requests a policy does not govern (its scope), and where Medicare requests go (Appendix 2)."""

from __future__ import annotations

from priorauth.core._codes import normalize_county
from priorauth.core._determination import Decision, Determination, Reason, Routing
from priorauth.core._facts import Facts
from priorauth.core._logic import NOT_MET
from priorauth.core._policy.version import PolicyVersion


def governs(version: PolicyVersion, facts: Facts) -> bool:
    scope = version.scope
    return scope is None or facts.get(scope.fact) not in scope.not_governed


def not_governed(version: PolicyVersion, facts: Facts) -> Determination:
    """`not_applicable`, with the contractor to route to (or the fact needed to find it)."""
    scope = version.scope
    assert scope is not None
    reason = Reason("scope", scope.section, NOT_MET, scope.text)
    made = version.runtime
    pid, vtext, digest = version.id, made.version_text, version.digest

    def outcome(missing: tuple[str, ...] = (), routing: Routing | None = None) -> Determination:
        return Determination(pid, vtext, Decision.NOT_APPLICABLE, (reason,), missing, routing=routing,
                             policy_digest=digest)

    macs = version.mac_jurisdictions
    if macs is None:
        return outcome()
    state = facts.get(macs.state_fact)
    if state is None:
        return outcome((macs.state_fact,))
    county_rules = [(j, names) for j in macs.jurisdictions for st, names in j.counties.items() if st == state]
    chosen = None
    if county_rules:
        county = facts.get(macs.county_fact)
        if county is None:
            return outcome((macs.county_fact,))
        name, kind = normalize_county(county)
        for jurisdiction, names in county_rules:
            for listed in names:
                listed_name, listed_kind = normalize_county(listed)
                if listed_name == name and (kind is None or kind == listed_kind):
                    chosen = jurisdiction
    if chosen is None:
        chosen = next((j for j in macs.jurisdictions if state in j.states), None)
    if chosen is None:
        return outcome()
    return outcome(routing=Routing(chosen.jurisdiction, chosen.contractor, tuple(chosen.legacy), macs.section))
