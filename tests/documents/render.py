"""The same document as a PDF (fpdf2, wrapped lines and ruled tables, as a plan's PDF is laid out) and
as an HTML page (headings, paragraphs, nested lists, tables): made from the text for the tests."""

from __future__ import annotations

import html
import re
from pathlib import Path

from fpdf import FPDF

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
HEADING = re.compile(r"^(?:I|II|III|IV|V|VI|VII|VIII)\. |^Appendix \d ")
TEX = {r"\geq": "≥", r"\leq": "≤", r"\times": "×"}


def plain(text: str) -> str:
    """What a reader sees of a line of the text form: no Markdown, TeX or HTML tags."""
    text = re.sub(r"<(https?://[^>]+)>", r"\1", text)
    text = re.sub(r"</?(?:u|b|i|em|strong|span)\b[^>]*>", "", text)
    text = re.sub(r"</?(?:p|ul|li|br)\b[^>]*>", " ", text)
    for tex, char in TEX.items():
        text = text.replace(tex, char)
    text = re.sub(r"\^(\d+)", r"^{\1}", text)
    return " ".join(text.replace("$", "").replace("*", "").split())


def _blocks(text: str) -> list[tuple[str, list[str]]]:
    """('table', rows) for a run of tab-separated rows (the lines in between belong to it), else ('line', [line])."""
    lines = text.split("\n")
    out: list[tuple[str, list[str]]] = []
    in_table = False
    for line in lines:
        if HEADING.match(line):
            in_table = False
        if "\t" in line:
            if not in_table:
                out.append(("table", []))
                in_table = True
            out[-1][1].append(line)
        elif in_table and line.strip():
            out[-1][1].append("\t" + line)  # a line inside the table: a row with an empty first cell
        elif not in_table or not line.strip():
            if not (in_table and not line.strip()):
                out.append(("line", [line]))
    return out


def _cell_lines(cell: str) -> str:
    """A table cell's text, broken where its HTML paragraphs and bullets are."""
    cell = re.sub(r"</p>|<ul[^>]*>", "\n", cell)
    cell = cell.replace("•", "\n•")
    return "\n".join(plain(part) for part in cell.split("\n") if plain(part))


def to_pdf(text: str) -> bytes:
    pdf = FPDF(orientation="L", format="A4")
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_font("DejaVu", "", str(FONT))
    pdf.set_font("DejaVu", size=8)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    for kind, lines in _blocks(text):
        if kind == "line":
            line = lines[0]
            if not line.strip():
                pdf.ln(3)
                continue
            indent = (len(line) - len(line.lstrip(" "))) * 3.5
            pdf.set_x(pdf.l_margin + indent)
            pdf.multi_cell(width - indent, 4, plain(line), new_x="LMARGIN", new_y="NEXT")
            continue
        rows = [[_cell_lines(c) for c in row.split("\t")] for row in lines]
        columns = max(len(r) for r in rows)
        rows = [r + [""] * (columns - len(r)) for r in rows]
        widths = (40, width - 40) if columns == 2 and any(len(r[1]) > 200 for r in rows) else None
        with pdf.table(col_widths=widths, line_height=4, first_row_as_headings=False) as table:
            for r in rows:
                row = table.row()
                for cell in r:
                    row.cell(cell)
        pdf.ln(3)
    return bytes(pdf.output())


def to_html(text: str) -> str:
    out = ["<!doctype html>", "<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Policy</title></head><body>"]
    depth = -1
    for kind, lines in _blocks(text):
        if kind == "table":
            out.append("<table>")
            for row in lines:
                cells = "".join(f"<td>{_html_inline(c, cell=True)}</td>" for c in row.split("\t"))
                out.append(f"<tr>{cells}</tr>")
            out.append("</table>")
            continue
        line = lines[0]
        bullet = re.match(r"^( *)- (.*)$", line)
        if bullet:
            level = len(bullet.group(1))
            while depth < level:
                out.append("<ul>")
                depth += 1
            while depth > level:
                out.append("</ul>")
                depth -= 1
            out.append(f"<li>{_html_inline(bullet.group(2))}</li>")
            continue
        while depth >= 0:
            out.append("</ul>")
            depth -= 1
        if not line.strip():
            continue
        tag = "h2" if HEADING.match(line) else "p"
        out.append(f"<{tag}>{_html_inline(line)}</{tag}>")
    while depth >= 0:
        out.append("</ul>")
        depth -= 1
    out.append("</body></html>")
    return "\n".join(out)


def _html_inline(text: str, cell: bool = False) -> str:
    """Markdown and TeX of the text form as HTML (a dose cell's own HTML is kept as HTML)."""
    text = re.sub(r"<(https?://[^>]+)>", r"\1", text)
    keep = re.findall(r"</?(?:p|ul|li|u)\b[^>]*>", text) if cell else []
    parts = re.split(r"(</?(?:p|ul|li|u)\b[^>]*>)", text) if cell else [text]
    out = []
    for part in parts:
        if part in keep:
            out.append(part)
            continue
        part = html.escape(part, quote=False)
        part = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", part)
        part = re.sub(r"\^\{([^}]*)\}", r"<sup>\1</sup>", part)
        part = re.sub(r"\$([^$]*)\$", lambda m: _tex(m.group(1)), part)
        part = re.sub(r"\*(.+?)\*", r"<em>\1</em>", part)
        out.append(part.replace("*", ""))
    return "".join(out)


def _tex(math: str) -> str:
    for tex, char in TEX.items():
        math = math.replace(tex, char)
    return re.sub(r"\^(\d+)", r"<sup>\1</sup>", math)
