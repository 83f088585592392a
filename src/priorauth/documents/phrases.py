"""Reading numbers out of sentences strictly: every number a sentence holds must be read by a phrase.

A `Sentence` hands out the matches of phrase patterns (never two over the same words);
`unread()` gives the numbers no phrase took, so the parser can report them by line instead
of skipping them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?![\w])|(?<![\w.])\d+(?=[-–]\w)")
SUPERSCRIPT = re.compile(r"\^\{[^}]*\}")
WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
            "ninth": 9, "tenth": 10}


def whole(text: str) -> int:
    """A whole number written in digits or as a word (one to ten)."""
    word = text.lower()
    if word in WORDS:
        return WORDS[word]
    return int(text.replace(",", ""))


def decimal(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def weeks_or_days(number: str, unit: str) -> int:
    n = whole(number)
    return n * 7 if unit.lower().startswith("week") else n


class Sentence:
    """Text whose numbers are read by phrases; what no phrase read is `unread()`."""

    def __init__(self, text: str) -> None:
        self.text = SUPERSCRIPT.sub(lambda m: " " * len(m.group(0)), text)
        self.spans: list[tuple[int, int]] = []

    def _free(self, start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in self.spans)

    def matches(self, pattern: re.Pattern[str]) -> Iterator[re.Match[str]]:
        """Matches of a phrase over words no other phrase has read (they are then read)."""
        for match in pattern.finditer(self.text):
            if match.end() > match.start() and self._free(match.start(), match.end()):
                self.spans.append((match.start(), match.end()))
                yield match

    def first(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        return next(self.matches(pattern), None)

    def unread(self) -> list[str]:
        """Numbers in digits that no phrase has read."""
        return [m.group(0) for m in NUMBER.finditer(self.text) if self._free(m.start(), m.end())]
