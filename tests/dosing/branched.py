"""The made-up infusion test policy with per-branch authorization terms added (for the dosing and
claims tests of limits that differ by authorization branch); never shipped."""

from __future__ import annotations

from pathlib import Path

from priorauth.core import Policy, parse_policy_version

INFUSAMAB = Path(__file__).resolve().parent / "policies" / "infusamab" / "2026-01-15.yaml"
BRANCHES = """
authorizations:
  - id: rr_initial
    section: I
    text: Relapsed or refractory, initial.
    when: {request_type: [initial], disease_setting: [relapsed_refractory]}
    cycles: {from: 1, to: 2}
    months: 8
    max_cycles: 2
    max_units: 100
    unit_window_days: 10
    renewable: true
  - id: rr_renewal
    section: I
    text: Relapsed or refractory, renewal.
    when: {request_type: [renewal], disease_setting: [relapsed_refractory]}
    cycles: {from: 3, to: 4}
    months: 6
    max_cycles: 2
    max_units: 100
    unit_window_days: 20
    renewable: false
  - id: mrd
    section: I
    text: MRD-positive.
    when: {request_type: [initial], disease_setting: [mrd_positive]}
    cycles: {from: 1, to: 1}
    months: 6
    max_cycles: 1
    max_units: 60
    unit_window_days: 10
    renewable: false
"""


def branched_policy() -> Policy:
    """The made-up infusion policy with three authorization branches (its parameters stay, unused)."""
    text = INFUSAMAB.read_text(encoding="utf-8").replace("\ncriteria:\n", BRANCHES + "\ncriteria:\n", 1)
    return Policy.of(parse_policy_version(text, "infusamab-branched/2026-01-15.yaml"))
