"""The same document as text, PDF and HTML reads the same: one digest, the same agreement, the same
disagreements. The PDF has wrapped lines, indented bullets and ruled tables split across pages, as
a plan's PDF has; the HTML has headings, nested lists and tables."""

from __future__ import annotations

import pytest
from fpdf import FPDF

from priorauth.core import load_policy
from priorauth.documents import DocumentError, compare, parse_document

from .helpers import DOCUMENTS, text_of
from .render import FONT, to_html, to_pdf

pytestmark = pytest.mark.skipif(not FONT.exists(), reason=f"the PDF test needs the DejaVu font at {FONT}")


def forms(text: str) -> dict[str, bytes]:
    return {"text": text.encode(), "pdf": to_pdf(text), "html": to_html(text).encode()}


@pytest.mark.parametrize("policy", ["besponsa", "blincyto"])
def test_text_pdf_and_html_of_a_document_have_one_digest_and_agree_with_the_file(policy):
    version = load_policy(policy).latest
    assert version.source_document is not None
    for kind, data in forms(text_of(policy)).items():
        assert data[:5] == b"%PDF-" if kind == "pdf" else True
        document = parse_document(data, DOCUMENTS[policy])
        assert document.sha256 == version.source_document.sha256, kind
        result = compare(document, version)
        assert result.disagreements == [], (kind, result.disagreements[:3])
        assert result.source.same


@pytest.mark.parametrize("policy", ["besponsa", "blincyto"])
def test_an_edit_is_found_in_every_form(policy):
    text = text_of(policy)
    edited = text.replace("C91.01\tAcute lymphoblastic leukemia, in remission\n", "")
    assert edited != text
    for kind, data in forms(edited).items():
        (d,) = compare(parse_document(data, "revised"), load_policy(policy).latest).disagreements
        assert (d.section, d.item, d.kind) == ("Appendix 1", "C91.01", "file only"), kind


def test_a_pdf_problem_is_named_by_page_and_line():
    text = text_of("besponsa").replace("C83.55\tLymphoblastic", "C8355 code\tLymphoblastic")
    with pytest.raises(DocumentError) as caught:
        parse_document(to_pdf(text), "revised.pdf")
    (problem,) = caught.value.problems
    assert problem.startswith("revised.pdf: page ") and "Appendix 1: cannot read this row" in problem


def test_a_pdf_without_text_is_refused_in_one_line():
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 50)
    with pytest.raises(DocumentError) as caught:
        parse_document(bytes(pdf.output()), "scan.pdf")
    assert caught.value.problems == ("scan.pdf: a PDF with no text (a scan? this reader does not do OCR)",)
