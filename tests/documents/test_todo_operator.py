"""The `todo` leaf: a criterion not yet written as a rule is unknown, so a tree holding it pends."""

from __future__ import annotations

import pytest

from priorauth.core import Criterion, PolicyError, Truth, parse_policy_version

from .helpers import FIXTURES

HEAD = """
id: todo_demo
effective: "2026-01-01"
title: Demo (demo) (Intravenous)
drug: demo
route: intravenous
decided_on: request_date
metadata: {document_number: D-1, date_approved: "2026-01-01", date_of_origin: "2026-01-01",
           dates_reviewed: ["2026-01"], source: demo.txt}
questions:
  - {id: request_date, type: date, text: "When?"}
  - {id: ok, type: boolean, text: "OK?"}
parameters:
  authorization_months: {section: I, text: months, value: 6}
  max_cycles: {section: I, text: cycles, value: 6}
  renewable: {section: I, text: renewable, value: false}
  max_units: {section: II, text: units, value: 10}
  unit_window_days: {section: II, text: days, value: 21}
billing:
  section: VI
  hcpcs: {code: J0000, description: demo, amount_per_unit: 1, amount_unit: mg}
  ndc: [{pattern: 00000-0000-xx, labeler: "00000", product: "0000", description: demo, vial_amount: 1,
         single_dose: true}]
  modifiers: {reading: r, discarded: JW, none_discarded: JZ}
references: []
code_lists: {}
"""


def version(criteria: str):
    return parse_policy_version(HEAD + criteria, "todo_demo.yaml")


def statuses(criteria: str, facts: dict) -> dict[str, Truth]:
    v = version(criteria)
    compiled = v.runtime.criteria
    result = compiled.evaluate({"request_date": None, **facts}, v.runtime.params)
    return {node.criterion.id: result[node.index] for node in compiled.nodes}


TREE = """
criteria:
  id: root
  section: III
  text: root
  {op}:
    - {{id: written, section: III, text: a rule, equals: {{ok: true}}}}
    - {{id: open, section: III, text: not yet a rule, todo: "Patient has CD22-positive disease"}}
"""


@pytest.mark.parametrize(("op", "ok", "expected"), [
    # Kleene: false and unknown = false; true and unknown = unknown; true or unknown = true.
    ("all", True, Truth.UNKNOWN), ("all", False, Truth.NOT_MET),
    ("any", True, Truth.MET), ("any", False, Truth.UNKNOWN),
])
def test_a_todo_is_unknown_whatever_the_facts(op, ok, expected):
    found = statuses(TREE.format(op=op), {"ok": ok})
    assert found["open"] is Truth.UNKNOWN
    assert found["root"] is expected


def test_a_todo_reads_no_fact_and_the_evaluator_and_the_plain_loop_agree():
    v = version(TREE.format(op="all"))
    compiled = v.runtime.criteria
    facts = {"ok": True, "request_date": None}
    assert compiled.evaluate(facts, v.runtime.params) == compiled.evaluate_by_loop(facts, v.runtime.params)
    assert v.reads(next(n.criterion for n in compiled.nodes if n.criterion.id == "open")) == ()


@pytest.mark.parametrize("argument", ['""', "3", "[a, b]", "{x: 1}"])
def test_a_todo_takes_the_wording_as_text(argument):
    with pytest.raises(PolicyError, match="todo"):
        version(f"criteria: {{id: c, section: III, text: t, todo: {argument}}}\n")


def test_a_todo_is_a_criterion_of_the_public_model():
    node = Criterion.model_validate({"id": "c", "section": "III", "text": "t", "todo": "wording"})
    assert node.leaf is not None and node.leaf.operator == "todo" and node.leaf.argument == "wording"
    assert FIXTURES.exists()
