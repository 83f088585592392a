"""Auditing on the Polars engine and the reference at once, and a policy variant with the JW/JZ rule switched."""

from tests.claims.helpers import frame

from priorauth.claims import ClaimRules, audit_claims
from priorauth.claims.reference import audit_reference


def audit_both(rows, rules, policy=None):
    """Lines by claim id; the Polars engine and the reference must agree."""
    result = audit_claims(frame(rows), policy=policy or rules.policy_id)
    expected, errors = audit_reference(frame(rows).to_dicts(), ClaimRules.from_policy(policy) if policy else rules)
    assert result.lines.to_dicts() == expected and errors == []
    return {r["claim_id"]: r for r in result.lines.to_dicts()}


def modifier_policy(required: str):
    """The bundled Besponsa file with `billing.modifiers.claim_edit.required` set to `required`."""
    from importlib import resources

    from priorauth.core import Policy, parse_policy_version

    text = (resources.files("priorauth") / "policies" / "besponsa" / "2025-06-24.yaml").read_text(encoding="utf-8")
    old = "    claim_edit:\n      required: true\n"
    assert text.count(old) == 1, "the bundled policy no longer has the JW/JZ claim rule where expected"
    variant = text.replace(old, f"    claim_edit:\n      required: {required}\n")
    return Policy.of([parse_policy_version(variant, "besponsa-modifier-variant/2025-06-24.yaml")])
