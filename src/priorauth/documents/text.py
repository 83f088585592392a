"""The canonical text of a document: one form for its text, PDF and HTML, and the digest over it.

A line's canonical form drops what only shows how the text was typed or converted: HTML
tags left in the text, Markdown emphasis, TeX maths, runs of spaces, empty table cells.
A nested bullet keeps its indentation (one space per level), a table row its cells (tab).
The SHA-256 of a document is over its canonical lines, so the text, a PDF and an HTML page
of the same document have the same digest.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from priorauth.documents.sources import SourceLine

SUPERSCRIPT_TAG = re.compile(r"<sup\b[^>]*>(.*?)</sup>", re.I | re.S)
BLOCK_TAG = re.compile(r"</?(?:p|ul|ol|li|br|div|table|tr|td|th|h[1-6])\b[^>]*/?>", re.I)
INLINE_TAG = re.compile(r"</?(?:u|b|i|em|strong|span|sub|sup|a|font|small)\b[^>]*>", re.I)
TEX = {r"\geq": "≥", r"\leq": "≤", r"\times": "×", r"\ge": "≥", r"\le": "≤", r"\cdot": "·", r"\,": " "}
TEX_COMMAND = re.compile(r"\\(?:geq|leq|times|ge|le|cdot|,)(?![A-Za-z])")
BARE_SUPERSCRIPT = re.compile(r"\^(?!\{)([0-9A-Za-z]+)")
AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")


@dataclass(frozen=True, slots=True)
class Line:
    """A non-blank line of a document in canonical form, with where it was read."""

    where: str
    indent: int
    cells: tuple[str, ...]
    blank_before: bool

    @property
    def text(self) -> str:
        """The cells on one line (separated by a space)."""
        return " ".join(self.cells)

    @property
    def canonical(self) -> str:
        return " " * self.indent + "\t".join(self.cells)


def inline(text: str) -> str:
    """One cell's text in canonical form."""
    text = unicodedata.normalize("NFC", text)
    text = AUTOLINK.sub(r"\1", text)
    text = SUPERSCRIPT_TAG.sub(lambda m: "^{" + m.group(1) + "}", text)
    text = BLOCK_TAG.sub(" ", text)
    text = INLINE_TAG.sub("", text)
    text = TEX_COMMAND.sub(lambda m: TEX[m.group(0)], text)
    text = BARE_SUPERSCRIPT.sub(r"^{\1}", text)
    text = text.replace("$", "").replace("*", "").replace("\u00a0", " ")
    return " ".join(text.split())


def canonical_lines(lines: list[SourceLine]) -> list[Line]:
    """The non-blank lines in canonical form; `blank_before` keeps the paragraph breaks."""
    out: list[Line] = []
    blank = False
    for source in lines:
        raw = source.text.replace("\r", "")
        stripped = raw.lstrip(" \u00a0")
        indent = len(raw) - len(stripped) if not stripped.startswith("\t") else 0
        cells = [inline(c) for c in stripped.split("\t")]
        while cells and not cells[-1]:
            cells.pop()
        while cells and not cells[0]:
            cells.pop(0)
        if not cells:
            blank = True
            continue
        out.append(Line(source.where, min(indent, 4), tuple(cells), blank))
        blank = False
    return out


def text_digest(lines: list[Line]) -> str:
    """SHA-256 (hex) of the canonical text: the lines joined by newlines, UTF-8."""
    return hashlib.sha256("\n".join(line.canonical for line in lines).encode("utf-8")).hexdigest()
