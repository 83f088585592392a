"""The two documents, a diff helper, and the places of a document's numbers (for mutations)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from priorauth.core import load_policy
from priorauth.documents import Comparison, compare, parse_document

FIXTURES = Path(__file__).parent / "fixtures"
DOCUMENTS = {"besponsa": "000_0b4c43785240c2ec.txt", "blincyto": "blincyto-illustrative.txt"}
HEADING = re.compile(r"^(?:(I|II|III|IV|V|VI|VII|VIII)\. |Appendix (\d) [–-] )")
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w])|(?<![\w.])\d+(?=[-–]\w)|\d{4,5}(?=-\d)")
# Numbers that say which cycles a block of doses is for (`Cycle 1:`, `cycle 1,`, `Cycle 1 is`): a
# change relabels the block, and is reported once for each statement it moves (tested apart).
SELECTOR = re.compile(r"(?:Cycle|cycle) $|(?:Cycle|cycle) (?=\d+(?::|,| is))")


def text_of(policy: str) -> str:
    return (FIXTURES / DOCUMENTS[policy]).read_text(encoding="utf-8")


def diff(text: str, policy: str, name: str | None = None) -> Comparison:
    document = parse_document(text.encode("utf-8"), name or DOCUMENTS[policy])
    return compare(document, load_policy(policy).latest)


def sections(text: str) -> list[str]:
    """The section of each line ("header" before Section I)."""
    out, current = [], "header"
    for line in text.split("\n"):
        m = HEADING.match(line)
        if m:
            current = m.group(1) or f"Appendix {m.group(2)}"
            out.append("heading")
        else:
            out.append(current)
    return out


@dataclass(frozen=True)
class Mutation:
    """An edit of the document a plan could make, and the section it must be reported in."""

    id: str
    section: str
    text: str


def replace_line(text: str, index: int, new: str | None) -> str:
    lines = text.split("\n")
    if new is None:
        del lines[index]
    else:
        lines[index] = new
    return "\n".join(lines)


def insert_line(text: str, index: int, new: str) -> str:
    lines = text.split("\n")
    lines.insert(index, new)
    return "\n".join(lines)


def changed(number: str) -> str:
    if "." in number:
        return f"{float(number) + 0.1:.{len(number.split('.')[1])}f}"
    return str(int(number) + 1).zfill(len(number))


def number_mutations(policy: str, selectors: bool = False) -> list[Mutation]:
    """Each number of Sections I, II, V and VI changed, one at a time."""
    text = text_of(policy)
    out = []
    for i, (line, section) in enumerate(zip(text.split("\n"), sections(text), strict=True)):
        if section not in ("I", "II", "V", "VI"):
            continue
        for m in NUMBER.finditer(line):
            is_selector = bool(SELECTOR.search(line[max(0, m.start() - 6):m.start()]))
            if is_selector != selectors:
                continue
            new = line[:m.start()] + changed(m.group(0)) + line[m.end():]
            out.append(Mutation(f"{policy}-line{i + 1}-{m.group(0)}@{m.start()}", section, replace_line(text, i, new)))
    return out
