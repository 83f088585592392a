"""Code normalisation shared by every door: ICD-10-CM, NDC, US states."""

from __future__ import annotations

import importlib.util
import re
import warnings
from collections.abc import Iterable
from functools import cache
from pathlib import Path

_ICD10CM = re.compile(r"^([A-TV-Z][0-9][0-9AB])\.?([0-9A-TV-Z]{0,4})$")

US_STATES_AND_TERRITORIES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM "
    "NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI".split()
)
_STATE_ALIASES = {"CNMI": "MP"}


def normalize_icd10(code: str) -> str:
    """`c9102`, ` C91.02 ` -> `C91.02`; raise ValueError if the shape is not ICD-10-CM."""
    text = code.strip().upper()
    match = _ICD10CM.match(text)
    if not match:
        raise ValueError("not an ICD-10-CM code (letter, two characters, optional dot and up to 4 more)")
    head, tail = match.groups()
    return f"{head}.{tail}" if tail else head


class _CodeList:
    """The codes of a release, without dots: looked up in the list's text while lookups are few
    (a command deciding one request makes one or two, and a set of 98,000 codes would cost it a
    fifth of its start), in a set from the 64th lookup on."""

    def __init__(self, text: str) -> None:
        self._text = "\n" + re.sub(r"[ \t\r.]", "", text) + "\n"
        self._lookups = 0
        self._set: frozenset[str] | None = None

    def __contains__(self, code: object) -> bool:
        if self._set is None:
            self._lookups += 1
            if self._lookups < 64:
                return isinstance(code, str) and "\n" not in code and f"\n{code}\n" in self._text
            self._set = frozenset(self._text.split("\n")) - {""}
        return code in self._set


@cache
def _icd10cm_codes() -> tuple[frozenset[str] | _CodeList, str]:
    """(codes without dots, code-set name) from the installed `simple-icd-10-cm` package.

    Reads the package's plain code list directly (milliseconds); importing the package
    parses its whole XML tabular (seconds), which is the fallback.
    """
    spec = importlib.util.find_spec("simple_icd_10_cm")
    if spec is not None and spec.origin is not None:
        lists = sorted((Path(spec.origin).parent / "data").glob("code-list-*.txt"))
        if len(lists) == 1:
            codes = _CodeList(lists[0].read_text("utf-8"))
            return codes, "ICD-10-CM " + lists[0].stem.removeprefix("code-list-").replace("-", " ")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm as icd

    return frozenset(c.replace(".", "") for c in icd.get_all_codes(with_dots=False)), "ICD-10-CM"


def icd10_code_set() -> str:
    """Name of the ICD-10-CM release the existence check uses (e.g. `ICD-10-CM April 2026`)."""
    return _icd10cm_codes()[1]


def icd10_exists(code: str) -> bool:
    """Whether a code (dot optional) is a category, subcategory or code of ICD-10-CM."""
    try:
        normal = normalize_icd10(code)
    except ValueError:
        return False
    return normal.replace(".", "") in _icd10cm_codes()[0]


def normalize_state(value: str) -> str:
    """Two-letter USPS code of a state or territory, upper case; raise ValueError otherwise."""
    text = value.strip().upper()
    text = _STATE_ALIASES.get(text, text)
    if text not in US_STATES_AND_TERRITORIES:
        raise ValueError("not a two-letter US state or territory code")
    return text


def normalize_county(value: str) -> tuple[str, str | None]:
    """(name, kind) of a county or independent city; kind is 'county', 'city' or None if unsaid."""
    words = value.strip().lower().replace(".", "").split()
    kind = None
    if words[:2] == ["city", "of"]:
        words, kind = words[2:], "city"
    elif words and words[-1] == "city":
        words, kind = words[:-1], "city"
    elif words and words[-1] == "county":
        words, kind = words[:-1], "county"
    return " ".join(words), kind


class NdcError(ValueError):
    """An NDC that is malformed, or 10 digits without hyphens (which segment to pad is unknown)."""


_NDC_SEGMENTS = {(4, 4, 2): 0, (5, 3, 2): 1, (5, 4, 1): 2, (5, 4, 2): None}


def normalize_ndc(value: str) -> str:
    """An NDC as 11 digits in 5-4-2 form with hyphens (`00008-0100-01`).

    Accepts 4-4-2, 5-3-2, 5-4-1 and 5-4-2 with hyphens, and 11 digits without. Ten
    digits without hyphens are ambiguous and refused.
    """
    text = value.strip()
    if "-" in text:
        parts = text.split("-")
        shape = tuple(len(p) for p in parts)
        if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts) or shape not in _NDC_SEGMENTS:
            raise NdcError("not an NDC in 4-4-2, 5-3-2, 5-4-1 or 5-4-2 form")
        pad = _NDC_SEGMENTS[shape]
        if pad is not None:
            parts[pad] = "0" + parts[pad]
        return "-".join(parts)
    if not (text.isascii() and text.isdigit()):  # ASCII only: "²".isdigit() is True
        raise NdcError("an NDC has only digits and hyphens")
    if len(text) == 11:
        return f"{text[:5]}-{text[5:9]}-{text[9:]}"
    if len(text) == 10:
        raise NdcError("10 digits without hyphens are ambiguous (4-4-2, 5-3-2 or 5-4-1?)")
    raise NdcError("an NDC has 10 or 11 digits")


def ndc_readings(value: str) -> list[str]:
    """Every 11-digit 5-4-2 reading of an NDC: one, or three for 10 digits without hyphens.

    A caller that knows the products it expects (a policy's NDC patterns) can keep the
    single reading that matches; `normalize_ndc` refuses the ambiguous form.
    """
    text = value.strip()
    if text.isascii() and text.isdigit() and len(text) == 10:
        return [f"0{text[:4]}-{text[4:8]}-{text[8:]}", f"{text[:5]}-0{text[5:8]}-{text[8:]}",
                f"{text[:5]}-{text[5:9]}-0{text[9:]}"]
    return [normalize_ndc(value)]


def match_ndc(value: str, patterns: Iterable[str]) -> str | None:
    """The 11-digit 5-4-2 reading of an NDC that matches one of `patterns` (`00008-0100-xx`), or None.

    The one NDC reading of every door (claim edits and the dose check). Hyphenated forms and
    11 digits have one reading. Ten digits without hyphens have three (4-4-2, 5-3-2 or 5-4-1
    with the hyphens left out); the one that matches a pattern is taken, and two matching
    readings (two products of the list) are ambiguous: NdcError, as for a malformed NDC.
    """
    patterns = tuple(patterns)
    matches = [r for r in ndc_readings(value) if any(ndc_matches(r, p) for p in patterns)]
    if len(matches) > 1:
        raise NdcError("10 digits without hyphens are ambiguous; write the NDC with hyphens")
    return matches[0] if matches else None


_HCPCS = re.compile(r"^[A-V][0-9]{4}$")


def normalize_hcpcs(code: str) -> str:
    """A HCPCS Level II code, upper case (`j9229` -> `J9229`); raise ValueError otherwise."""
    text = code.strip().upper()
    if not _HCPCS.match(text):
        raise ValueError("not a HCPCS Level II code (a letter and four digits)")
    return text


def ndc_matches(ndc11: str, pattern: str) -> bool:
    """Whether a normalised NDC matches a pattern such as `00008-0100-xx` (x: any digit)."""
    if len(ndc11) != len(pattern):
        return False
    return all(p in "xX" or p == c for p, c in zip(pattern, ndc11, strict=True))
