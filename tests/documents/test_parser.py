"""The parser is strict: a section, a table row or a number it cannot read is a problem named by its
line, never skipped; what it reads is what the document says."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from priorauth.documents import DocumentError, parse_document

from .helpers import text_of


def problems(text: str) -> tuple[str, ...]:
    with pytest.raises(DocumentError) as caught:
        parse_document(text.encode(), "doc.txt")
    return caught.value.problems


def test_reads_the_besponsa_document():
    d = parse_document(text_of("besponsa").encode(), "doc.txt")
    assert (d.header.document_number, d.header.date_approved, d.header.drug, d.header.route) == (
        "OHSU HEALTHSERVICES-0453", dt.date(2025, 6, 24), "inotuzumab ozogamicin", "intravenous")
    assert len(d.header.dates_reviewed) == 9 and d.header.dates_reviewed[-1] == "2025-06"
    (a,) = d.authorizations
    assert (a.months, a.cycles, a.renewable) == (6, 6, False)
    (u,) = d.unit_limits
    assert (u.units, u.window_days, u.max_cycles) == (63, 21, 6)
    (row,) = d.dose_rows
    cycle_1 = {(x.days, x.amount) for x in row.doses if x.first_cycle == 1}
    assert cycle_1 == {((1,), Decimal("0.8")), ((8,), Decimal("0.5")), ((15,), Decimal("0.5"))}
    assert {(x.first_cycle, x.days, x.extended_days) for x in row.lengths} == {(1, 21, 28), (2, 28, None)}
    assert {(c.kind, c.cycles) for c in row.counts} == {("within", 3), ("recommended", 2), ("considered", 3),
                                                          ("after", 2), ("at_most", 6)}
    assert (d.billing.hcpcs, d.billing.unit_amount, d.billing.ndcs[0].pattern) == ("J9229", Decimal("0.1"),
                                                                                   "00008-0100-xx")
    assert [r.id for r in d.references][-1] == "VIII.8e" and len(d.references) == 17
    assert len(d.codes) == 13
    l_row = next(j for j in d.jurisdictions if j.jurisdiction == "L")
    assert l_row.counties == {"VA": ("Arlington County", "Fairfax County", "Alexandria city")}
    assert next(j for j in d.jurisdictions if j.jurisdiction == "E").states[-1] == "MP"  # CNMI


def test_reads_blincyto_per_indication():
    d = parse_document(text_of("blincyto").encode(), "doc.txt")
    rr, mrd, cons = d.authorizations
    assert (rr.months, rr.cycles, rr.phase_cycles, rr.renewal_months, rr.renewal_cycles, rr.total_cycles,
            rr.course_months) == (8, 5, 5, 6, 2, 9, 20)
    assert (mrd.months, mrd.cycles, mrd.renewable, cons.months) == (6, 4, False, 12)
    assert [(u.first_cycle, u.last_cycle, u.window_days) for u in d.unit_limits] == [(1, 5, 42), (6, 9, 84), (1, 4, 42),
                                                                                    (1, 4, 42)]
    capped = {(x.amount, x.cap, x.basis) for x in d.dose_rows[0].doses if x.cap is not None}
    assert capped == {(Decimal(5), Decimal(9), "per_m2"), (Decimal(15), Decimal(28), "per_m2")}


@pytest.mark.parametrize(("edit", "expected"), [
    (("Coverage will be provided for 6 months", "Coverage will be provided for 6 moons"),
     "line 17: Section I: cannot read '6', '6' in this sentence"),
    (("- 63 billable units every 21 days", "- 63 billable units per 21 days"), "line 23: Section II: cannot read"),
    (("Day 15 (0.5 mg/m²) • Cycle 1 is 3 weeks", "Day 15 (0.5 mg/m²) plus 2 mg/kg • Cycle 1 is 3 weeks"),
     "line 72: Section V (B-Cell Precursor ALL): cannot read '2'"),
    (("C91.01\tAcute", "C91 01\tAcute"), "line 126: Appendix 1: cannot read this row"),
    (("N (9)\tFL, PR, VI", "N (9)\tFL, PR, XX"), "line 143: Appendix 2: 'XX' is not a US state or territory"),
    (("- J9229 – Injection", "- J9229 Injection"), "line 81: Section VI: cannot read this HCPCS code"),
    (("Date Approved: 06/24/2025", "Date Approved: 2025-06-24"), "line 9: Date Approved: '2025-06-24' is not a date"),
    (("(includes Arlington & Fairfax counties", "(includes Arlington & Fairfax boroughs"),
     "line 146: Appendix 2: cannot read the counties"),
])
def test_what_cannot_be_read_is_named_by_line(edit, expected):
    text = text_of("besponsa")
    assert edit[0] in text
    found = problems(text.replace(edit[0], edit[1], 1))
    assert any(p.startswith("doc.txt: " + expected) for p in found), found


def test_every_problem_is_reported_not_only_the_first():
    text = text_of("besponsa").replace("- 63 billable units every 21 days", "- 63 units").replace(
        "C91.01\tAcute", "C91 01\tAcute")
    found = problems(text)
    assert len(found) == 2 and "line 23" in found[0] and "line 126" in found[1]


def test_a_missing_or_repeated_section_is_named():
    text = text_of("besponsa")
    assert problems(text.replace("VI. Billing Code/Availability Information", "Billing")) == (
        "doc.txt: the document has no Section VI heading",)
    repeated = text.replace("VIII. References (ENHANCED)", "VII. References (ENHANCED)")
    assert "appears a second time" in problems(repeated)[0]


def test_not_this_template_is_one_problem():
    assert problems("Besponsa\n\nSome other kind of document.\nI. Overview\n") == (
        "doc.txt: not a policy document of the plan's template (no 'Document Number:' header and Sections I to VIII)",)


@pytest.mark.parametrize(("module", "data", "message"), [
    ("pdfplumber", b"%PDF-1.7\n", "reading a PDF needs pdfplumber"),
    ("bs4", b"<!doctype html><html><body><p>x</p></body></html>", "reading HTML needs beautifulsoup4"),
])
def test_without_the_documents_extra_a_pdf_or_html_is_refused_saying_what_to_install(monkeypatch, module, data,
                                                                                     message):
    import sys

    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(DocumentError) as caught:
        parse_document(data, "doc")
    assert message in str(caught.value) and "priorauth[documents]" in str(caught.value)
