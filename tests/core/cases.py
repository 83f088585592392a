"""Loading the YAML decision cases in tests/cases/: strict, so a typo in a key fails loudly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

CASES_DIR = Path(__file__).resolve().parent.parent / "cases"
FILE_KEYS = {"bases", "cases", "policy_version"}
CASE_KEYS = {"name", "base", "facts", "unset", "dosing", "expect", "policy", "policy_version"}
EXPECT_KEYS = {"decision", "reasons", "missing_facts", "authorization", "routing", "dose_check", "error"}
ERROR_KEYS = {"field", "code"}
# A reason is its criterion id, or a mapping that also states where it sits (request-contract.md).
REASON_KEYS = {"criterion", "branch", "any_of", "alternative"}


def _check_keys(where: str, mapping: Any, allowed: set[str]) -> None:
    if not isinstance(mapping, dict):
        raise ValueError(f"{where}: expected a mapping")
    unknown = set(mapping) - allowed
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(allowed))}")


def parse_cases(doc: Any, policy: str, source: str) -> list[dict[str, Any]]:
    """The cases of one file; ValueError naming the case and key of anything unknown.

    Each case is decided under the version in force on its request date and names the
    version it expects (`policy_version:` on the case, else the file's).
    """
    _check_keys(source, doc, FILE_KEYS)
    bases = doc.get("bases", {})
    cases = []
    for i, case in enumerate(doc["cases"]):
        where = f"{source}: cases[{i}] ({case.get('name', '?') if isinstance(case, dict) else '?'})"
        _check_keys(where, case, CASE_KEYS)
        _check_keys(f"{where}.expect", case["expect"], EXPECT_KEYS)
        if "error" in case["expect"]:
            _check_keys(f"{where}.expect.error", case["expect"]["error"], ERROR_KEYS)
        elif "policy_version" not in case and "policy_version" not in doc:
            raise ValueError(f"{where}: name the policy version the case expects (policy_version)")
        for k, reason in enumerate(case["expect"].get("reasons") or []):
            if not isinstance(reason, str):
                _check_keys(f"{where}.expect.reasons[{k}]", reason, REASON_KEYS)
                if "criterion" not in reason:
                    raise ValueError(f"{where}.expect.reasons[{k}]: name the criterion")
        if "base" in case and case["base"] not in bases:
            raise ValueError(f"{where}.base: unknown base {case['base']!r}")
        facts = dict(bases[case["base"]]) if "base" in case else {}
        facts.update(case.get("facts", {}))
        for name in case.get("unset", []):
            facts.pop(name, None)
        request: dict[str, Any] = {"policy": case.get("policy", policy), "facts": facts}
        if "dosing" in case:
            request["dosing"] = case["dosing"]
        cases.append(
            {
                "name": case["name"],
                "policy": policy,
                "policy_version": str(case.get("policy_version", doc.get("policy_version"))),
                "request": request,
                "expect": case["expect"],
            }
        )
    return cases


def load_cases() -> list[dict[str, Any]]:
    cases = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        cases += parse_cases(doc, path.stem, path.name)
    return cases
