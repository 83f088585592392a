"""The code blocks of the README and docs/*.md, each of a known kind, and how a transcript's output is checked.

Kinds, by the fence's info string (its first word; `file=NAME` after it names a file):

- ``sh``: commands, run as printed, in order (tests/operations/test_docs_run.py);
- ``console``: a transcript: each ``$ `` line (with the lines that complete it) is run in the same
  shell, and its output must be the lines shown under it (:func:`output_matches`); with
  ``dates=any`` (output of the day it runs) any date stands for any date;
- ``text``: not a command: a synopsis with placeholders, a diagram, output shown alone;
- ``json``, ``yaml``, ``toml``, ``python``: data or code shown, not run; ``python file=NAME`` is a
  file the reader saves: it is written to NAME before the blocks after it run.

A block of any other kind, a fence without one, or an indented code block is refused by
`test_every_code_block_has_a_known_kind`, so a new command cannot escape the tests.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

RUN = "sh"
TRANSCRIPT = "console"
KINDS = {
    "sh": "commands, run in order",
    "console": "a transcript: its commands are run and their output checked",
    "text": "not a command (synopsis, diagram, output shown alone)",
    "json": "data shown",
    "yaml": "data shown",
    "toml": "data shown",
    "python": "code shown (with file=NAME: a file written before the next blocks run)",
}

FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})\s*([^`\s]*)\s*(.*)$")


@dataclass
class Block:
    """One code block: its kind (the info string's first word, "" for none), options, text, first line."""

    path: Path
    line: int
    kind: str
    text: str
    options: dict[str, str] = field(default_factory=dict)
    indented: bool = False

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.line}"


def code_blocks(path: Path) -> list[Block]:
    """Every fenced and indented code block of a Markdown file, in order."""
    lines = path.read_text(encoding="utf-8").split("\n")
    blocks: list[Block] = []
    i = 0
    previous_blank = True
    in_list = False
    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        if fence:
            marker, kind, rest = fence.group(2), fence.group(3), fence.group(4)
            options = dict(o.split("=", 1) for o in rest.split() if "=" in o)
            closing = re.compile(rf"^ {{0,3}}{re.escape(marker[0])}{{{len(marker)},}}\s*$")
            first = i + 2  # the 1-based number of the block's first line
            body: list[str] = []
            i += 1
            while i < len(lines) and not closing.match(lines[i]):
                body.append(lines[i])
                i += 1
            blocks.append(Block(path, first, kind, "\n".join(body) + "\n", options))
            i += 1
            previous_blank = False
            continue
        if re.match(r"^\s*([-*+]|\d+\.)\s", line):
            in_list = True
        elif not line.strip():
            pass
        elif not line.startswith(" "):
            in_list = False
        if line.startswith("    ") and line.strip() and previous_blank and not in_list:
            start = i
            body = []
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                body.append(lines[i][4:])
                i += 1
            while body and not body[-1].strip():
                body.pop()
            blocks.append(Block(path, start + 1, "", "\n".join(body) + "\n", indented=True))
            previous_blank = False
            continue
        previous_blank = not line.strip()
        i += 1
    return blocks


def blocks_of_no_known_kind(paths: list[Path]) -> list[str]:
    """Where each block of no known kind is, and what it is (an indented block, or its fence's kind)."""
    return [
        f"{b.where}: {'an indented code block: fence it' if b.indented else f'kind {b.kind!r}'}"
        for path in paths
        for b in code_blocks(path)
        if b.indented or b.kind not in KINDS
    ]


@dataclass
class Step:
    """One command of a transcript, the output shown under it and the line it starts on."""

    command: str
    expected: list[str]
    line: int
    any_date: bool = False


def complete(command: str) -> bool:
    """Whether bash reads `command` as whole (no open quote, bracket or trailing backslash)."""
    if command.endswith("\\"):
        return False
    done = subprocess.run(["bash", "-n", "-c", command], capture_output=True, text=True, check=False)
    return not (done.returncode != 0 and ("unexpected end of file" in done.stderr or "EOF" in done.stderr))


def transcript_steps(block: Block) -> list[Step]:
    """The commands of a ``console`` block: a ``$ `` line and the lines that complete it, then its output."""
    steps: list[Step] = []
    lines = block.text.rstrip("\n").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("$ "):
            start, command = i, line[2:]
            while not complete(command) and i + 1 < len(lines):
                i += 1
                command += "\n" + lines[i]
            steps.append(Step(command, [], block.line + start, block.options.get("dates") == "any"))
        elif steps:
            steps[-1].expected.append(line)
        else:
            raise ValueError(f"{block.where}: a console block starts with a command ($ ...), not {line!r}")
        i += 1
    return steps


# What differs from run to run, in shown output: each stands for any value of its shape.
DATE = (re.compile(r"\d{4}-\d\d-\d\d"), r"\d{4}-\d\d-\d\d")  # with dates=any: the day it runs
VOLATILE = [
    (re.compile(r"…|\.\.\."), r"[^\n]*?"),  # elided: anything within the line
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), r"[0-9a-f-]{36}"),  # UUIDs
    (re.compile(r"\b(req|tok|cds)_[0-9a-f]{8,}"), r"\1_[0-9a-f]+"),  # ids of requests, tokens, clients
    (re.compile(r"\b[0-9a-f]{12,}\b"), r"[0-9a-f]{12,}"),  # digests, assertion ids
]
GAP = {"…", "...", "[...]"}


def line_pattern(expected: str, any_date: bool = False) -> str:
    """A regular expression for one shown line: literal but for the volatile values."""
    out, pos = [], 0
    while pos < len(expected):
        best = None
        for pattern, replacement in [DATE, *VOLATILE] if any_date else VOLATILE:
            m = pattern.search(expected, pos)
            if m and (best is None or m.start() < best[0].start()):
                best = (m, replacement)
        if best is None:
            out.append(re.escape(expected[pos:]))
            break
        m, replacement = best
        out.append(re.escape(expected[pos : m.start()]))
        out.append(m.expand(replacement) if "\\1" in replacement else replacement)
        pos = m.end()
    return "".join(out)


def output_matches(expected: list[str], actual: str, any_date: bool = False) -> bool:
    """Whether a command's output is what the transcript shows.

    Line by line, trailing spaces and blank lines aside; a line that is only ``…`` (or ``...``)
    stands for any number of lines, and within a line ``…`` for any text; UUIDs, ids and hex digests
    (and with `any_date` dates) stand for any value of their shape (they are of the run).
    """
    shown = [line.rstrip() for line in expected]
    while shown and not shown[-1]:
        shown.pop()
    lines = [line.rstrip() for line in actual.rstrip("\n").split("\n")] if actual.strip() else []
    parts = [r"(?:[^\n]*\n)*?" if line.strip() in GAP else line_pattern(line, any_date) + r"\n" for line in shown]
    return re.fullmatch("".join(parts), "".join(line + "\n" for line in lines)) is not None
