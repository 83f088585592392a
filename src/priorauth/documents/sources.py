"""A policy document's lines from its bytes: plain text, PDF (pdfplumber) or HTML (Beautiful Soup).

Every reader gives the same thing: numbered lines, table cells separated by a tab, a
nested bullet indented by one space per level, a blank line between paragraphs. The
template parser (priorauth.documents.template) reads those lines, whatever the format.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from statistics import median
from typing import Any

from priorauth.documents.errors import DocumentError

# What starts a new line in a PDF (a line that starts otherwise continues the one before:
# the PDF wrapped it). Bullets, numbered references, headings, header fields.
LINE_STARTS = re.compile(
    r"^(?:[-•] |\d+e?\. |(?:I|II|III|IV|V|VI|VII|VIII)\. |Appendix \d+ |"
    r"Document Number:|Date Approved:|Date of Origin:|Dates Reviewed:|-E-$)"
)
HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S)


@dataclass(frozen=True, slots=True)
class SourceLine:
    """One line of the document as read: its place (line, or page and line for a PDF) and its text."""

    number: int
    text: str
    page: int | None = None

    @property
    def where(self) -> str:
        return f"page {self.page} line {self.number}" if self.page is not None else f"line {self.number}"


def read_document(data: bytes, name: str = "document") -> list[SourceLine]:
    """The lines of a document given as bytes; DocumentError (one line) for empty or binary input."""
    if not data.strip():
        raise DocumentError(f"{name}: the document is empty")
    if data.startswith(b"%PDF-"):
        return _pdf_lines(data, name)
    text = _decode(data, name)
    if HTML_START.match(data[:4096]) or name.lower().endswith((".html", ".htm")):
        return _html_lines(text, name)
    return [SourceLine(i, line.rstrip("\r")) for i, line in enumerate(text.split("\n"), start=1)]


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data:
        raise DocumentError(f"{name}: binary content; a policy document is plain text, PDF or HTML")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DocumentError(f"{name}: not UTF-8 text, PDF or HTML (binary content?)") from None


# --- HTML --------------------------------------------------------------------------------

BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "dt", "dd", "caption", "figcaption"}
CONTAINERS = {"html", "body", "div", "section", "article", "main", "header", "footer", "nav", "aside", "center",
              "figure", "dl", "form", "tbody", "thead", "tfoot"}
SKIPPED = {"head", "script", "style", "template", "noscript", "title", "meta", "link"}


def _html_lines(text: str, name: str) -> list[SourceLine]:
    try:
        from bs4 import BeautifulSoup
    except ModuleNotFoundError:
        raise DocumentError(
            f"{name}: reading HTML needs beautifulsoup4, which is not installed: pip install 'priorauth[documents]'"
        ) from None

    soup = BeautifulSoup(text, "html.parser")
    lines: list[SourceLine] = []
    _HtmlWalker(lines).walk(soup.body or soup, depth=0)
    if not lines:
        raise DocumentError(f"{name}: an HTML document with no text")
    return lines


class _HtmlWalker:
    """Block elements become lines, table rows become tab-separated cells, list items bullets."""

    def __init__(self, out: list[SourceLine]) -> None:
        self.out = out
        self.pending: list[str] = []
        self.pending_line = 0

    def emit(self, text: str, line: int | None) -> None:
        number = line or (self.out[-1].number if self.out else 1)
        if self.out:
            self.out.append(SourceLine(number, ""))  # a paragraph break, as in the text form
        self.out.append(SourceLine(number, text))

    def flush(self) -> None:
        text = " ".join("".join(self.pending).split())
        if text:
            self.emit(text, self.pending_line)
        self.pending = []

    def walk(self, node: Any, depth: int) -> None:
        from bs4 import NavigableString, Tag
        from bs4.element import Comment

        for child in node.children:
            if isinstance(child, Comment):
                continue
            if isinstance(child, NavigableString):
                if not self.pending:
                    self.pending_line = getattr(node, "sourceline", None) or 0
                self.pending.append(str(child))
                continue
            if not isinstance(child, Tag) or child.name in SKIPPED:
                continue
            if child.name in BLOCKS:
                self.flush()
                self.emit(inline_text(child), child.sourceline)
            elif child.name in ("ul", "ol"):
                self.flush()
                self.list_items(child, depth)
            elif child.name == "table":
                self.flush()
                self.table(child)
            elif child.name in CONTAINERS:
                self.flush()
                self.walk(child, depth)
            elif child.name in ("br", "hr"):
                self.flush()
            else:
                if not self.pending:
                    self.pending_line = child.sourceline or 0
                self.pending.append(inline_text(child))
        self.flush()

    def list_items(self, listing: Any, depth: int) -> None:
        """Items as bullets, indented one space per level: a list inside an item, or straight inside
        the list (as some editors write it), is one level deeper."""
        from bs4 import Tag

        number = int(listing.get("start", 1) or 1)
        for child in listing.children:
            if not isinstance(child, Tag):
                continue
            if child.name in ("ul", "ol"):
                self.list_items(child, depth + 1)
                continue
            if child.name != "li":
                continue
            nested = [c for c in child.children if isinstance(c, Tag) and c.name in ("ul", "ol")]
            for n in nested:
                n.extract()
            marker = f"{number}. " if listing.name == "ol" else "- "
            text = inline_text(child)
            if text:
                self.out.append(SourceLine(child.sourceline or 0, " " * depth + marker + text))
            number += 1
            for n in nested:
                self.list_items(n, depth + 1)
        self.out.append(SourceLine(listing.sourceline or 0, ""))

    def table(self, table: Any) -> None:
        for row in table.find_all("tr"):
            if row.find_parent("table") is not table:
                continue
            cells = [inline_text(c) for c in row.find_all(["td", "th"], recursive=False)]
            if any(cells):
                self.out.append(SourceLine(row.sourceline or 0, "\t".join(cells)))
        self.out.append(SourceLine(table.sourceline or 0, ""))


def inline_text(node: Any) -> str:
    """The text of an element on one line: superscripts as ^{...}, inner blocks separated by spaces."""
    from bs4 import NavigableString, Tag
    from bs4.element import Comment

    parts: list[str] = []
    for child in node.children:
        if isinstance(child, Comment):
            continue
        if isinstance(child, NavigableString):
            parts.append(str(child))
        elif isinstance(child, Tag) and child.name not in SKIPPED:
            inner = inline_text(child)
            if child.name == "sup":
                parts.append(f"^{{{inner}}}")
            elif child.name in ("br", "p", "li", "div", "ul", "ol", "tr", "td", "th") or child.name in BLOCKS:
                parts.append(f" {inner} ")
            else:
                parts.append(inner)
    return " ".join("".join(parts).split())


# --- PDF ---------------------------------------------------------------------------------

# Words further apart than this (in points) on one line are in different columns.
COLUMN_GAP = 14.0


def _pdf_lines(data: bytes, name: str) -> list[SourceLine]:
    try:
        import pdfplumber
    except ModuleNotFoundError:
        raise DocumentError(
            f"{name}: reading a PDF needs pdfplumber, which is not installed: pip install 'priorauth[documents]'"
        ) from None
    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - pdfminer raises many kinds on a damaged file
        raise DocumentError(f"{name}: not a readable PDF (damaged, encrypted or not a PDF)") from None
    out: list[SourceLine] = []
    with pdf:
        try:
            for page_number, page in enumerate(pdf.pages, start=1):
                out.extend(_page_lines(page, page_number))
        except Exception:  # noqa: BLE001 - pdfminer raises many kinds on a damaged file
            raise DocumentError(f"{name}: not a readable PDF (a page could not be read)") from None
    if not any(line.text.strip() for line in out):
        raise DocumentError(f"{name}: a PDF with no text (a scan? this reader does not do OCR)")
    return out


@dataclass
class _Row:
    top: float
    bottom: float
    x0: float
    text: str
    table: bool


def _page_lines(page: Any, page_number: int) -> list[SourceLine]:
    tables = page.find_tables()
    boxes = [t.bbox for t in tables]
    rows: list[_Row] = []
    for table in tables:
        for row, cells in zip(table.rows, table.extract(), strict=True):
            texts = [" ".join((c or "").split()) for c in cells]
            if any(texts):
                top, bottom = row.bbox[1], row.bbox[3]
                rows.append(_Row(top, bottom, row.bbox[0], "\t".join(texts), True))

    def outside(word: dict[str, Any]) -> bool:
        cx, cy = (word["x0"] + word["x1"]) / 2, (word["top"] + word["bottom"]) / 2
        return not any(x0 <= cx <= x1 and top <= cy <= bottom for x0, top, x1, bottom in boxes)

    words = [w for w in page.extract_words(keep_blank_chars=False, use_text_flow=False) if outside(w)]
    words.sort(key=lambda w: (round(w["top"]), w["x0"]))
    current: list[dict[str, Any]] = []
    for word in words:
        if current and abs(word["top"] - current[0]["top"]) > 2.5:
            rows.append(_text_row(current))
            current = []
        current.append(word)
    if current:
        rows.append(_text_row(current))
    rows.sort(key=lambda r: (r.top, r.x0))
    return _unwrap(rows, page_number)


def _text_row(words: list[dict[str, Any]]) -> _Row:
    words = sorted(words, key=lambda w: w["x0"])
    text = words[0]["text"]
    for before, word in zip(words, words[1:], strict=False):
        text += ("\t" if word["x0"] - before["x1"] > COLUMN_GAP else " ") + word["text"]
    return _Row(min(w["top"] for w in words), max(w["bottom"] for w in words), words[0]["x0"], text, False)


def _unwrap(rows: list[_Row], page_number: int) -> list[SourceLine]:
    """Lines of a page: wrapped lines joined, a paragraph gap as a blank line, indentation as spaces."""
    if not rows:
        return []
    heights = [r.bottom - r.top for r in rows if not r.table] or [10.0]
    height = median(heights)
    margin = min(r.x0 for r in rows if not r.table) if any(not r.table for r in rows) else rows[0].x0
    out: list[SourceLine] = []
    previous: _Row | None = None
    for row in rows:
        gap = row.top - previous.bottom if previous is not None else 0.0
        paragraph = previous is not None and gap > 0.6 * height
        if row.table:
            if paragraph:
                out.append(SourceLine(len(out) + 1, "", page_number))
            out.append(SourceLine(len(out) + 1, row.text, page_number))
        else:
            indent = max(0, round((row.x0 - margin) / (1.2 * height)))
            text = " " * indent + row.text
            continues = (
                previous is not None and not previous.table and not paragraph
                and out and out[-1].text and not LINE_STARTS.match(row.text)
            )
            if continues:
                last = out[-1]
                out[-1] = SourceLine(last.number, f"{last.text} {row.text}", page_number)
            else:
                if paragraph:
                    out.append(SourceLine(len(out) + 1, "", page_number))
                out.append(SourceLine(len(out) + 1, text, page_number))
        previous = row
    return out
