"""The determination letter as PDF, laid out with fpdf2 (pure Python: no system libraries).

The PDF's words come from the same `DeterminationLetter` as the HTML letter.
"""

from __future__ import annotations

from fpdf import FPDF

from priorauth.core import reason_lines
from priorauth.web.letters import DeterminationLetter, long_date
from priorauth.web.views import sentence

# The core PDF fonts cover Latin-1 only; these characters are written in ASCII.
_REPLACEMENTS = {
    "\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
    "\u2264": "<=", "\u2265": ">=", "\u2026": "...", "\u2022": "-", "\u00a0": " ", "\u2713": "", "\u2717": "",
}


def _latin1(text: str) -> str:
    for char, plain in _REPLACEMENTS.items():
        text = text.replace(char, plain)
    return text.encode("latin-1", "replace").decode("latin-1")


class _LetterPDF(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(format="Letter", unit="mm")
        self._footer_text = footer_text
        self.set_margins(20, 18, 20)
        self.set_auto_page_break(True, margin=18)

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font("Helvetica", size=8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, _latin1(f"{self._footer_text} - page {self.page_no()} of {{nb}}"), align="C")


def letter_pdf(letter: DeterminationLetter) -> bytes:
    """The letter as a PDF document."""
    pdf = _LetterPDF(f"Prior authorization request {letter.request_id}")
    pdf.alias_nb_pages()
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def para(text: str, size: float = 10.5, style: str = "", gap: float = 2) -> None:
        pdf.set_font("Helvetica", style=style, size=size)
        pdf.multi_cell(width, size * 0.5, _latin1(text), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    def heading(text: str) -> None:
        pdf.ln(1)
        para(text, size=12, style="B", gap=1)

    pdf.set_text_color(0, 0, 0)
    para("Prior authorization determination", size=16, style="B", gap=1)
    para(f"Date: {long_date(letter.letter_date)}", gap=0)
    para(f"Request number: {letter.request_id}", gap=0)
    if letter.organization:
        para(f"To: {letter.organization}", gap=0)
    for label, value in letter.people:
        para(f"{label}: {value}", gap=0)
    para(f"Drug: {letter.drug} (HCPCS {letter.hcpcs})", gap=0)
    para(f"Policy: {letter.policy_title}, {letter.policy_document}, version of {letter.policy_version} "
         f"(version digest {letter.policy_digest_short})", gap=4)

    heading(f"Decision: {letter.outcome_text}")
    if letter.approved:
        for line in letter.authorization_lines:
            para(line, gap=0.5)
        if letter.modification:
            para(f"Modification: {letter.modification}")
        if letter.dose_changes:
            para("The requested doses were changed to what the policy allows:")
            for reason in letter.dose_changes:
                para(f"- {reason.requirement} (Policy {reason.citation}.)", gap=1)
    elif letter.outcome == "denied":
        para("The request does not meet the following requirements of the policy, listed for each indication it "
             'could be covered under. Where the policy accepts one of several options, they are listed as "One of".')
        for line in reason_lines(letter.reason_groups):
            depth = (len(line) - len(line.lstrip(" "))) // 2
            pdf.set_x(pdf.l_margin + 5 * depth)
            pdf.set_font("Helvetica", style="" if line.lstrip().startswith("-") else "B", size=10.5)
            pdf.multi_cell(width - 5 * depth, 5.25, _latin1(line.strip()), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(0.5)
    elif letter.outcome == "pended":
        para("We cannot decide the request until we receive the following information:")
        for item in letter.missing:
            para(f"- {item}", gap=0.5)
    elif letter.outcome == "not_applicable":
        for reason in letter.reasons:
            para(f"{reason.requirement} (Policy {reason.citation}.)")
        if letter.routing:
            para(sentence(
                f"Send the request to Medicare jurisdiction {letter.routing['jurisdiction']}: "
                f"{letter.routing['contractor']}"
            ))
    if letter.reviewer_note:
        heading("Reviewer's note")
        para(letter.reviewer_note)
    if letter.reviewed_by_clinician:
        para("This decision was made by a clinical reviewer.", size=9.5, style="I")
    if letter.appeal_applies:
        heading("How to appeal")
        para(letter.appeal)
    return bytes(pdf.output())
