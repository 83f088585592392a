"""The public API is what priorauth.__all__ lists, and it works as documented."""

import priorauth


def test_all_names_exist_and_nothing_else_public_is_promised():
    for name in priorauth.__all__:
        assert hasattr(priorauth, name), name
    assert len(priorauth.__all__) == len(set(priorauth.__all__))


def test_evaluate_returns_a_determination_whose_dict_is_the_contract():
    det = priorauth.evaluate({"policy": "besponsa", "facts": {"request_type": "initial", "request_date": "2026-03-02"}})
    assert isinstance(det, priorauth.Determination)
    assert det.decision is priorauth.Decision.PENDED
    assert list(det.to_dict())[:6] == ["policy", "policy_version", "decision", "reasons", "missing_facts",
                                       "authorization"]
    assert det.trace.criterion == "coverage"


def test_evaluate_facts_and_bad_input():
    det = priorauth.evaluate_facts("besponsa", {"line_of_business": "medicare", "member_state": "OR"})
    assert det.routing.jurisdiction == "F"
    try:
        priorauth.evaluate({"policy": "besponsa", "facts": {"cycles_received": "3"}})
    except priorauth.RequestError as exc:
        assert exc.field == "facts.cycles_received" and exc.code == "request_invalid"
    else:
        raise AssertionError("a string is not a cycle count")
