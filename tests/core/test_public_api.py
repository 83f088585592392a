"""The public API is exactly what priorauth.__all__ lists (the httpx way), and it works as documented."""

import types

import priorauth
import priorauth.core

SUBPACKAGES = {"api", "batch", "claims", "cli", "commands", "console", "core", "documents", "fhir", "http",
               "one_request", "service", "store", "web"}


def _public(module):
    return {n for n in dir(module) if not n.startswith("_") and not isinstance(getattr(module, n), types.ModuleType)}


def test_all_is_exactly_the_public_names():
    assert len(priorauth.__all__) == len(set(priorauth.__all__))
    for name in priorauth.__all__:
        assert hasattr(priorauth, name), name
    assert _public(priorauth) == set(priorauth.__all__)
    assert {n for n in dir(priorauth) if isinstance(getattr(priorauth, n), types.ModuleType)} <= SUBPACKAGES


def test_the_core_face_is_exactly_its_all():
    assert _public(priorauth.core) == set(priorauth.core.__all__)
    assert set(priorauth.__all__) - {"audit_claims"} <= set(priorauth.core.__all__)


def test_evaluate_returns_a_determination_whose_dict_is_the_contract():
    det = priorauth.evaluate({"policy": "besponsa", "facts": {"request_type": "initial", "request_date": "2026-03-02"}})
    assert isinstance(det, priorauth.Determination)
    assert det.decision is priorauth.Decision.PENDED
    assert list(det.to_dict())[:7] == ["policy", "policy_version", "policy_digest", "decision", "reasons",
                                       "missing_facts", "authorization"]
    assert det.policy_digest == priorauth.load_policy("besponsa").first.digest
    assert det.trace.criterion == "coverage"


def test_evaluate_facts_and_bad_input():
    det = priorauth.evaluate_facts("besponsa", {"line_of_business": "medicare", "member_state": "OR"})
    assert det.routing.jurisdiction == "F"
    try:
        priorauth.evaluate({"policy": "besponsa", "facts": {"cycles_received": "3"}})
    except priorauth.RequestError as exc:
        assert exc.field == "facts.cycles_received" and exc.code == priorauth.ErrorCode.REQUEST_INVALID
    else:
        raise AssertionError("a string is not a cycle count")
