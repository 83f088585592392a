"""Policy folders made for tests from the bundled file (never shipped): a next version of the
bundled policy, and copies with an extra question and criterion, under the same or a new id."""

from __future__ import annotations

import shutil
from pathlib import Path

BUNDLED_DIR = Path(__file__).resolve().parents[1] / "src" / "priorauth" / "policies" / "besponsa"
BUNDLED = BUNDLED_DIR / "2025-06-24.yaml"
NEXT = "2026-07-01"

EXTRA_QUESTION = """  - id: hepatic_function_checked
    type: boolean
    text: Was liver function checked within 30 days before the request (test-only question)?
"""
EXTRA_CRITERION = """            - id: hepatic_function_checked
              section: III
              text: Liver function was checked within 30 days (a test-only criterion).
              equals: {hepatic_function_checked: true}
"""


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def next_version_text() -> str:
    """The bundled version revised as of 2026-07-01: 4-month approvals, 72 units per 21 days, and
    rituximab in frontline consolidation allowed under 70 (was 65)."""
    text = BUNDLED.read_text(encoding="utf-8")
    text = _replace(text, 'effective: "2025-06-24"', f'effective: "{NEXT}"')
    text = _replace(text, "note: Document approved 06/24/2025",
                    "note: A test-only revision of the document approved 06/24/2025")
    text = _replace(text, "An approval covers this many calendar months from its start date.\n    value: 6",
                    "An approval covers this many calendar months from its start date.\n    value: 4")
    text = _replace(text, "    value: 63\n", "    value: 72\n")
    text = _replace(text, "age_below: {fact: birth_date, years: 65}", "age_below: {fact: birth_date, years: 70}")
    text = _replace(text, "text: The patient is younger than 65.", "text: The patient is younger than 70.")
    return text


def with_extra_question(text: str, policy_id: str = "besponsa") -> str:
    text = _replace(text, "id: besponsa\n", f"id: {policy_id}\n")
    text = _replace(text, "questions:\n", "questions:\n" + EXTRA_QUESTION)
    return _replace(text, "          all:\n            - id: no_prior_inotuzumab\n",
                    "          all:\n" + EXTRA_CRITERION + "            - id: no_prior_inotuzumab\n")


def policy_path_with_next_version(root: Path) -> Path:
    """A policy path whose `besponsa` folder holds the bundled version and the 2026-07-01 one."""
    folder = root / "besponsa"
    folder.mkdir(parents=True)
    shutil.copy(BUNDLED, folder / BUNDLED.name)
    (folder / f"{NEXT}.yaml").write_text(next_version_text(), encoding="utf-8")
    return root


def policy_path_with_extra_question(root: Path, policy_id: str) -> Path:
    """A policy path holding a copy of the bundled policy under `policy_id`, with one more
    question and one more criterion reading it."""
    folder = root / policy_id
    folder.mkdir(parents=True)
    text = with_extra_question(BUNDLED.read_text(encoding="utf-8"), policy_id)
    (folder / BUNDLED.name).write_text(text, encoding="utf-8")
    return root
