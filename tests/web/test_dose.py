"""The case page's dose plan table, from a request's dosing block (numbers from the core)."""

from __future__ import annotations

from types import SimpleNamespace

from priorauth.core import load_policy
from priorauth.web.dose import dose_plan_table


def test_no_table_without_doses():
    assert dose_plan_table(SimpleNamespace(facts={"request_date": "2026-03-02"}), load_policy("besponsa")) is None


def test_table_for_170_cm_70_kg_cycle_1():
    stored = SimpleNamespace(facts={"request_date": "2026-03-02"},
                             dosing={"height_cm": 170, "weight_kg": 70, "cycle": 1})
    table = dose_plan_table(stored, load_policy("besponsa"))
    assert table["columns"][0] == "Day"
    # BSA 1.82 m² (Mosteller): 0.8 / 0.5 / 0.5 mg/m² on days 1, 8, 15.
    assert table["rows"][0] == (1, "0.8", "1.456", 15, 2, 3, "JW", 18)
    assert [r[0] for r in table["rows"]] == [1, 8, 15, "Cycle total"]
    assert table["rows"][-1] == ("Cycle total", "", "3.276", 35, 6, 19, "", 54)
    assert "BSA 1.82 m²" in table["summary"]
    assert table["notes"][0] == "Busiest 21-day window: 54 of 63 units, within the limit (§II)."


def test_incomplete_dosing_says_why():
    stored = SimpleNamespace(facts={}, dosing={"cycle": 2, "bsa_m2": 1.8})
    table = dose_plan_table(stored, load_policy("besponsa"))
    assert table["rows"] == () and table["notes"][0].startswith("No dose plan: required from cycle 2 on")


def test_case_page_shows_the_table_when_the_request_carries_doses(site):
    import dataclasses

    from priorauth import service
    from priorauth.web.case import build_case
    from priorauth.web.rendering import render
    from priorauth.web.routes import static, url

    from .conftest import example_facts

    stored = site.submit(example_facts("approved-adult-relapsed"))
    with_doses = dataclasses.replace(stored, dosing={"height_cm": 170, "weight_kg": 70, "cycle": 1})
    reviewer = service.Principal("tok_x", "reviewer", "plan")
    html = render("case.html", {
        "c": build_case(with_doses, reviewer, []), "principal": reviewer, "csrf": "x" * 32, "url": url,
        "static": static, "notices": [], "note": None, "page": "", "question_texts": {},
    })
    assert 'id="dose-heading">Dose plan' in html
    assert "<td>Cycle total</td>" in html and "<td>3.276</td>" in html


def dosed_request():
    import json
    from importlib import resources

    request = json.loads((resources.files("priorauth") / "examples" / "approved-adult-relapsed.json").read_text())
    request["dosing"] = {"height_cm": 170, "weight_kg": 70, "cycle": 1, "ndc": "00008-0100-01", "hcpcs": "J9229",
                         "doses": [{"day": 1, "mg": 1.456}, {"day": 8, "mg": 0.91}, {"day": 15, "units": 12}]}
    return request


def test_dose_check_table_shows_requested_against_allowed():
    from priorauth.core import evaluate

    det = evaluate(dosed_request()).to_dict()
    table = dose_plan_table(SimpleNamespace(determination=det, facts={}), load_policy("besponsa"))
    assert table["columns"][:4] == ("Day", "Requested (mg)", "Requested units", "Label dose (mg)")
    day15 = table["rows"][2]
    # 12 units (1.2 mg) asked; label 0.5 mg/m² x 1.82 m² = 0.91 mg, at most 10% more to reach a vial.
    assert day15 == (15, "1.2", 12, "0.91", "1.001", "0.91", 10, 2, 8, "JW", "modified")
    assert table["rows"][-1][0] == "Cycle total" and table["rows"][-1][2] == 37 and table["rows"][-1][6] == 35
    assert table["summary"].startswith("Dose check: approved with modification (X12 A6)")
    assert table["notes"][0].startswith("Day 15: the requested dose is more than 10% above the label dose")


def test_letter_of_an_approval_with_reduced_doses_says_so_and_how_to_appeal():
    from priorauth.core import evaluate
    from priorauth.web.letters import build_letter
    from priorauth.web.pdf import letter_pdf
    from priorauth.web.rendering import render

    from .pdftext import pdf_text

    policy = load_policy("besponsa")
    letter = build_letter(policy=policy, request_id="req_d", determination=evaluate(dosed_request()))
    assert letter.outcome == "approved" and letter.appeal_applies
    assert [r.citation for r in letter.dose_changes] == ["Section V"]
    html = render("letter.html", {"letter": letter, "back_url": "/", "pdf_url": "/"})
    assert "The requested doses were changed to what the policy allows:" in html and "How to appeal" in html
    assert "Day 15: the requested dose is more than 10%" in pdf_text(letter_pdf(letter))
