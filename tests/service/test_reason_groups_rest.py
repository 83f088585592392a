"""REST reasons (issue 12): every failed branch, each reason placed by `branch` and `any_of`, and
`reasons_text` presenting the policy's alternatives as "One of:", not as requirements all unmet."""

from __future__ import annotations

import datetime as dt

from dateutil.relativedelta import relativedelta


def test_evaluate_places_each_reason_and_reads_alternatives_as_one_of(client, auth, example):
    h = auth("submitter")
    request = example("pended-comorbidities-unknown")
    request["facts"]["substantial_comorbidities"] = True
    out = client.post("/v1/evaluate", json=request, headers=h).json()
    assert out["decision"] == "denied"
    placed = {r["criterion"]: (r["branch"], r["any_of"], r["alternative"]) for r in out["reasons"]}
    assert placed["fc_no_rituximab"] == ("adult", "fc_rituximab", "fc_no_rituximab")
    assert placed["fc_no_comorbidities"] == ("adult", "fc_rituximab", "fc_rituximab_eligible")
    assert placed["pediatric_under_18"] == ("pediatric", None, None)
    text = out["reasons_text"]
    assert ("      - One of:\n"
            "        - Rituximab is not added to the regimen. (Section III)\n"
            "        - The patient is under 65 and has no substantial comorbidities:\n"
            "          - The patient has no substantial comorbidities. (Section III)\n") in text
    assert text.startswith("Adult B-cell precursor ALL:\n") and "\nPediatric B-cell precursor ALL:\n" in text


def test_a_17_year_old_on_a_tki_combination_hears_both_branches(client, auth, example):
    """The denial names the adult branch's age and the pediatric branch's single agent, grouped by branch."""
    submitter, reviewer = auth("submitter"), auth("reviewer", "plan")
    request = example("approved-adult-relapsed")
    seventeen = dt.date.today() - relativedelta(years=17, months=3)  # stored requests are decided on receipt
    request["facts"].update(birth_date=seventeen.isoformat(), regimen="tki_combination", ph_status="positive")
    request["facts"].pop("request_date", None)
    stored = client.post("/v1/requests", json=request, headers=submitter).json()
    det = client.get(f"/v1/requests/{stored['id']}", headers=reviewer).json()["determination"]
    assert [(r["criterion"], r["branch"]) for r in det["reasons"]] == [
        ("adult_age", "adult"), ("pediatric_single_agent", "pediatric")]
    assert det["reasons_text"] == (
        "Adult B-cell precursor ALL:\n"
        "  - The patient is 18 years of age or older. (Section III)\n"
        "Pediatric B-cell precursor ALL:\n"
        "  - The drug is used as a single agent. (Section III)"
    )
