"""Loading the YAML decision cases in tests/cases/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

CASES_DIR = Path(__file__).resolve().parent.parent / "cases"


def load_cases() -> list[dict[str, Any]]:
    cases = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        bases = doc.get("bases", {})
        for case in doc["cases"]:
            facts = dict(bases[case["base"]]) if "base" in case else {}
            facts.update(case.get("facts", {}))
            for name in case.get("unset", []):
                facts.pop(name, None)
            cases.append(
                {
                    "name": case["name"],
                    "policy": path.stem,
                    "request": {"policy": case.get("policy", path.stem), "facts": facts},
                    "expect": case["expect"],
                }
            )
    return cases
