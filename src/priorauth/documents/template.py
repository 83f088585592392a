"""The plan's policy-document template, read strictly.

A header (document number and dates), Sections I to VIII, Appendix 1 (ICD-10 codes) and
Appendix 2 (MAC jurisdictions). Each machine-checkable part is read into
priorauth.documents.model; a table row, a sentence with a number no phrase reads, or a
section that is missing is a problem named by its line, never skipped. Lines that are
prose (notes, explanations) are kept as `Prose`: the document digest covers them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from priorauth.core import normalize_county, normalize_icd10, normalize_state
from priorauth.documents.errors import DocumentError
from priorauth.documents.model import (
    SECTIONS,
    Authorization,
    Band,
    BillingCodes,
    CriteriaLine,
    CycleCount,
    CycleLength,
    CycleTotal,
    DiagnosisCode,
    Dose,
    DoseRow,
    Header,
    JurisdictionRow,
    Ndc,
    PolicyDocument,
    Prose,
    Reference,
    UnitLimit,
)
from priorauth.documents.phrases import ORDINALS, Sentence, decimal, weeks_or_days, whole
from priorauth.documents.sources import SourceLine, read_document
from priorauth.documents.text import Line, canonical_lines, text_digest

SECTION_HEADING = re.compile(r"^(?P<n>I|II|III|IV|V|VI|VII|VIII)\. (?P<title>\S.*)$")
APPENDIX_HEADING = re.compile(r"^Appendix (?P<n>\d+) [–—-] (?P<title>\S.*)$")
HAS_DIGIT = re.compile(r"\d")
BULLET = re.compile(r"^[-•] (?P<text>.*)$")


class Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, line: Line | str, problem: str) -> None:
        where = line if isinstance(line, str) else line.where
        self.items.append(f"{where}: {problem}")


def parse_document(data: bytes, name: str) -> PolicyDocument:
    """Read a document (text, PDF or HTML) of the plan's template; DocumentError naming every problem."""
    return parse_lines(read_document(data, name), name)


def parse_lines(source: list[SourceLine], name: str) -> PolicyDocument:
    lines = canonical_lines(source)
    if not lines:
        raise DocumentError(f"{name}: the document is empty")
    header_end, sections = _split(lines, name)
    problems = Problems()
    prose: list[Prose] = []
    header = _header(lines[:header_end], problems, prose, name)
    body = {key: lines[start:end] for key, (start, end) in sections.items()}
    authorizations = _section_i(body["I"], problems)
    limits = _section_ii(body["II"], problems, prose)
    criteria = [*_criteria("III", body["III"]), *_criteria("IV", body["IV"])]
    rows = _section_v(body["V"], problems, prose, lines[sections["V"][0] - 1])
    billing = _section_vi(body["VI"], problems, prose, lines[sections["VI"][0] - 1])
    references = [*_references("VII", body["VII"], problems), *_references("VIII", body["VIII"], problems)]
    codes = _appendix_1(body["Appendix 1"], problems, lines[sections["Appendix 1"][0] - 1])
    medicare, jurisdictions = _appendix_2(body["Appendix 2"], problems, prose)
    if problems.items or header is None or billing is None:
        raise DocumentError(*(f"{name}: {p}" for p in problems.items))
    return PolicyDocument(
        name=name, sha256=text_digest(lines), header=header, authorizations=authorizations, unit_limits=limits,
        dose_rows=rows, billing=billing, references=references, codes=codes, medicare_codes=medicare,
        jurisdictions=jurisdictions, criteria=criteria, prose=prose,
        section_lines={key: lines[start - 1].where for key, (start, _) in sections.items()},
    )


def _heading(line: Line) -> str | None:
    if line.indent or len(line.cells) != 1:
        return None
    match = SECTION_HEADING.match(line.text)
    if match:
        return match.group("n")
    match = APPENDIX_HEADING.match(line.text)
    if match and match.group("n") in ("1", "2"):
        return f"Appendix {match.group('n')}"
    return None


def _split(lines: list[Line], name: str) -> tuple[int, dict[str, tuple[int, int]]]:
    """Where the header ends and each section's lines are ([start, end) after its heading)."""
    found: list[tuple[str, int]] = []
    for i, line in enumerate(lines):
        key = _heading(line)
        if key is not None:
            found.append((key, i))
    has_header = any(line.text.startswith("Document Number:") for line in lines)
    keys = [k for k, _ in found]
    if not has_header or len(set(keys) & {"I", "II", "III", "IV", "V", "VI"}) < 3:
        raise DocumentError(
            f"{name}: not a policy document of the plan's template (no 'Document Number:' header and "
            "Sections I to VIII)"
        )
    problems = []
    for key in SECTIONS:
        if keys.count(key) == 0:
            problems.append(f"{name}: the document has no {_section_name(key)} heading")
        elif keys.count(key) > 1:
            second = [i for k, i in found if k == key][1]
            problems.append(f"{name}: {lines[second].where}: {_section_name(key)} appears a second time")
    order = [k for k in keys if k in SECTIONS]
    if not problems and order != list(SECTIONS):
        problems.append(f"{name}: the sections are not in the template's order ({', '.join(order)})")
    if problems:
        raise DocumentError(*problems)
    spans = {}
    for n, (key, start) in enumerate(found):
        end = found[n + 1][1] if n + 1 < len(found) else len(lines)
        spans[key] = (start + 1, end)
    return found[0][1], spans


def _section_name(key: str) -> str:
    return key if key.startswith("Appendix") else f"Section {key}"


# --- header --------------------------------------------------------------------------------

TITLE = re.compile(r"^(?P<brand>[^()\[\]®]+?)\s*(?:\[?[®™]\]?)?\s*\((?P<drug>[^()]+)\)\s*\((?P<route>[^()]+)\)$")
FIELD = re.compile(r"^(?P<field>Document Number|Date Approved|Date of Origin|Dates Reviewed):\s*(?P<value>.*)$")
DAY = re.compile(r"^(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})$")
MONTH = re.compile(r"^(?P<m>\d{1,2})/(?P<y>\d{4})$")


def _header(lines: list[Line], problems: Problems, prose: list[Prose], name: str) -> Header | None:
    values: dict[str, str] = {}
    where: dict[str, str] = {}
    title: re.Match[str] | None = None
    for line in lines:
        match = FIELD.match(line.text)
        if match:
            values[match.group("field")] = match.group("value").strip()
            where[match.group("field")] = line.where
        elif line.text == "-E-":
            continue
        elif title is None and TITLE.match(line.text):
            title = TITLE.match(line.text)
            where["title"] = line.where
        elif title is None:
            prose.append(Prose("header", line.text, line.where))  # a note above the title
        else:
            problems.add(line, "cannot read this header line (expected Document Number, Date Approved, "
                               "Date of Origin or Dates Reviewed)")
    if title is None:
        problems.add(lines[0] if lines else "header", "no title of the form 'Brand (drug) (route)'")
    dates: dict[str, dt.date] = {}
    for field in ("Document Number", "Date Approved", "Date of Origin", "Dates Reviewed"):
        if field not in values:
            problems.add(lines[-1] if lines else "header", f"the header has no '{field}:'")
    for field in ("Date Approved", "Date of Origin"):
        if field in values:
            parsed = _day(values[field])
            if parsed is None:
                problems.add(where[field], f"{field}: {values[field]!r} is not a date written MM/DD/YYYY")
            else:
                dates[field] = parsed
    reviewed: list[str] = []
    for item in (values.get("Dates Reviewed") or "").split(","):
        month = MONTH.match(item.strip())
        if month and 1 <= int(month.group("m")) <= 12:
            reviewed.append(f"{month.group('y')}-{int(month.group('m')):02d}")
        elif item.strip() or "Dates Reviewed" in values:
            problems.add(where.get("Dates Reviewed", "header"), f"Dates Reviewed: {item.strip()!r} is not MM/YYYY")
    if title is None or len(dates) < 2 or not values.get("Document Number"):
        return None
    return Header(
        title=f"{title.group('brand').strip()} ({title.group('drug').strip()}) ({title.group('route').strip()})",
        brand=title.group("brand").strip(), drug=title.group("drug").strip(),
        route=title.group("route").strip().lower(), document_number=values["Document Number"],
        date_approved=dates["Date Approved"], date_of_origin=dates["Date of Origin"],
        dates_reviewed=tuple(reviewed), where=where,
    )


def _day(text: str) -> dt.date | None:
    match = DAY.match(text)
    if not match:
        return None
    try:
        return dt.date(int(match.group("y")), int(match.group("m")), int(match.group("d")))
    except ValueError:
        return None


def _statement(line: Line) -> str:
    bullet = BULLET.match(line.text)
    return bullet.group("text") if bullet else line.text


# --- Section I: length of authorization ----------------------------------------------------

COVERAGE = re.compile(
    r"(?P<initial>Initial c|C)overage will be provided for (?P<months>\d+) months? \(for up to a maximum of "
    r"(?P<cycles>\d+) (?:[\w-]+ )?cycles?(?:: (?P<phases>[^)]*))?\)(?P<renew> and may (?P<not>NOT |not )?be renewed)?"
)
RENEWAL = re.compile(
    r"Coverage may be renewed(?: for [\w -]+?)?(?: \(refer to Section [IVX]+\))? for (?P<months>\d+) months at a "
    r"time, each renewal for up to (?P<cycles>\d+) (?:[\w-]+ )?cycles?"
)
CONTINUED = re.compile(
    r"No more than (?P<continued>\d+) [\w-]+ cycles \((?P<total>\d+) cycles in all\) will be covered"
)
COURSE_END = re.compile(
    r"no renewal extends beyond the day before the date (?P<months>\d+) months after the start of the first "
    r"authorization under this policy"
)
PHASE = re.compile(r"(?:up to )?(?P<n>\d+|[Oo]ne|[Tt]wo|[Tt]hree|[Ff]our|[Ff]ive) (?P<phase>[a-z][\w-]*) cycles?\b")


def _phase_total(text: str) -> int | None:
    phases = list(PHASE.finditer(text))
    return sum(whole(p.group("n")) for p in phases) if phases else None


def _section_i(lines: list[Line], problems: Problems) -> list[Authorization]:
    out: list[Authorization] = []
    indication: str | None = None
    pending: dict[str, object] = {}

    def close() -> None:
        if not pending:
            return
        if "months" not in pending:
            problems.add(str(pending["where"]), "Section I: no 'coverage will be provided for N months' for "
                                                f"{indication or 'this policy'}")
        elif "renewable" not in pending:
            problems.add(str(pending["where"]), "Section I: does not say whether coverage may be renewed")
        else:
            out.append(Authorization(indication=indication, **pending))  # type: ignore[arg-type]
        pending.clear()

    for line in lines:
        text = _statement(line)
        if not BULLET.match(line.text) and text.endswith(":") and not HAS_DIGIT.search(text):
            close()
            indication = text[:-1].strip()
            continue
        sentence = Sentence(text)
        read = False
        for m in sentence.matches(COVERAGE):
            read = True
            pending.setdefault("where", line.where)
            pending.update(months=int(m.group("months")), cycles=int(m.group("cycles")))
            if m.group("phases"):
                pending["phase_cycles"] = _phase_total(m.group("phases"))
            if m.group("renew"):
                pending["renewable"] = not m.group("not")
        for m in sentence.matches(RENEWAL):
            read = True
            pending.setdefault("where", line.where)
            pending.update(renewable=True, renewal_months=int(m.group("months")), renewal_cycles=int(m.group("cycles")))
        for m in sentence.matches(CONTINUED):
            read = True
            pending.update(continued_cycles=int(m.group("continued")), total_cycles=int(m.group("total")))
        for m in sentence.matches(COURSE_END):
            read = True
            pending["course_months"] = int(m.group("months"))
        unread = sentence.unread()
        if unread:
            problems.add(line, f"Section I: cannot read {', '.join(repr(u) for u in unread)} in this sentence")
        elif not read:
            problems.add(line, "Section I: cannot read this line (expected the length of authorization)")
    close()
    if not out and not problems.items:
        problems.add("Section I", "Section I gives no length of authorization")
    return out


# --- Section II: dosing limits -------------------------------------------------------------

MAX_UNITS_INTRO = re.compile(r"^Max Units \(per dose and over time\) \[HCPCS Unit\]:?$")
LIMIT = re.compile(
    r"^(?:(?:Cycles? (?P<first>\d+)(?: (?:through|to|-) (?P<last>\d+))?(?: \([^)]*\))?|Up to (?P<upto>\d+) cycles?): )?"
    r"(?P<units>\d[\d,]*) billable units every (?P<days>\d+) days"
    r"(?: \(for up to a maximum of (?P<max>\d+) cycles?\))?\.?$"
)


def _section_ii(lines: list[Line], problems: Problems, prose: list[Prose]) -> list[UnitLimit]:
    out: list[UnitLimit] = []
    indication: str | None = None
    unread = False
    for line in lines:
        if MAX_UNITS_INTRO.match(line.text):
            continue
        if not BULLET.match(line.text):
            if HAS_DIGIT.search(line.text) or line.text.endswith("."):
                prose.append(Prose("II", line.text, line.where))
            else:
                indication = line.text.rstrip(":").strip()
            continue
        m = LIMIT.match(_statement(line))
        if not m:
            problems.add(line, "Section II: cannot read this limit (expected 'N billable units every N days')")
            unread = True
            continue
        first = m.group("first") or (m.group("upto") and "1")
        last = m.group("last") or m.group("upto") or (m.group("first") if m.group("first") else None)
        out.append(UnitLimit(
            indication=indication, first_cycle=int(first) if first else None, last_cycle=int(last) if last else None,
            units=int(m.group("units").replace(",", "")), window_days=int(m.group("days")),
            max_cycles=int(m.group("max")) if m.group("max") else None, where=line.where,
        ))
    if not out and not unread:
        problems.add("Section II", "Section II gives no unit limit")
    return out


# --- Sections III and IV: the criteria as worded ---------------------------------------------


def _criteria(section: str, lines: list[Line]) -> list[CriteriaLine]:
    return [CriteriaLine(section, " " * line.indent + line.text, line.where) for line in lines]


# --- Section V: dosage and administration -----------------------------------------------------

MASS = r"(?:mg|mcg)"
PER = r"(?:/m²|/m2|/kg)"
DOSE_AMOUNT = re.compile(rf"\d+(?:\.\d+)? {MASS}{PER}?(?:/day)?\b")
CYCLE_HEADING = re.compile(
    r"\b(?:Cycle (?P<one>\d+)|Cycles (?P<a>\d+) (?:to|through|-) (?P<b>\d+)|(?P<later>Subsequent [Cc]ycles))"
    r"(?: \((?:cycles are|each cycle is) (?P<len>\d+) (?P<unit>weeks?|days?) in duration\))?:"
)
TOTAL = re.compile(
    rf"(?P<total>\d+(?:\.\d+)?) (?P<unit>{MASS})(?P<per>{PER})? total per cycle, administered as (?P<n>\d+) divided "
    rf"doses? on (?P<days>Day \d+ \(\d+(?:\.\d+)? {MASS}{PER}?\)"
    rf"(?:,? (?:and )?Day \d+ \(\d+(?:\.\d+)? {MASS}{PER}?\))*)"
)
DAY_DOSE = re.compile(rf"Day (?P<day>\d+) \((?P<amount>\d+(?:\.\d+)?) (?P<unit>{MASS})(?P<per>{PER})?\)")
LENGTH = re.compile(
    r"Cycle (?P<c>\d+) is (?P<len>\d+) (?P<unit>weeks?|days?) in duration"
    r"(?:, but may be extended to (?P<ext>\d+) (?P<extunit>weeks?|days?))?"
)
INFUSION = re.compile(
    r"Each (?:[\w-]+ )?cycle is (?P<inf>\d+) days of continuous (?:intravenous )?infusion followed by "
    r"(?:a treatment-free interval of |at least )?(?P<gap>\d+) days(?: without [\w-]+)?"
    r"(?: \((?P<len>\d+)(?:-day cycle| days)\))?(?: for cycles (?P<a>\d+) to (?P<b>\d+))?"
    r"(?:,? or of (?P<gap2>\d+) days \((?P<len2>\d+)-day cycle\) for cycles (?P<a2>\d+) to (?P<b2>\d+))?"
)
WITHIN = re.compile(r"do(?:es)? not achieve (?:a )?[\w ]+? within (?P<n>\d+) cycles?")
RECOMMENDED = re.compile(r"Recommended duration of treatment is (?P<n>\d+) cycles?")
CONSIDERED = re.compile(
    r"A (?P<ord>" + "|".join(ORDINALS) + r") cycle may be considered[^.•]*? after (?P<after>\d+) cycles?"
)
AT_MOST = re.compile(r"(?:up to a maximum of|[Uu]p to) (?P<n>\d+) (?:[\w-]+ )?cycles?(?! of)")
COURSE = re.compile(
    r"(?:A full course is up to |\b)(?P<list>(?:(?:up to )?(?:\d+|[Oo]ne|[Tt]wo|[Tt]hree) [a-z][\w-]* cycles?"
    r"(?:, | and |,? followed by ))+(?:up to )?(?:\d+|[Oo]ne|[Tt]wo|[Tt]hree) [a-z][\w-]* cycles?)"
)
TRIALS = re.compile(r"\(the [\w ]+ trial gave (?P<a>\d+) cycles?, the [\w ]+ trial (?P<b>\d+)\)")
BAND = re.compile(
    r"Weight (?:(?P<ge>\d+(?:\.\d+)?) kg or more|less than (?P<lt>\d+(?:\.\d+)?) kg|"
    r"(?P<lo>\d+(?:\.\d+)?) (?:kg )?to (?:less than|under) (?P<hi>\d+(?:\.\d+)?) kg)(?: \([^)]*\))?:"
)
DOSE_CYCLES = re.compile(r"\b(?:cycle (?P<one>\d+)|cycles (?P<a>\d+) (?:to|through|-) (?P<b>\d+)),")
DAILY = re.compile(
    rf"(?P<amount>\d+(?:\.\d+)?) (?P<unit>{MASS})(?P<per>{PER})?/day on days (?P<d1>\d+)[-–](?P<d2>\d+)"
    rf"(?: of every cycle)?(?: \(not more than (?P<cap>\d+(?:\.\d+)?) (?P<capunit>{MASS})/day\))?"
)
V_PHRASES = (CYCLE_HEADING, TOTAL, LENGTH, INFUSION, WITHIN, RECOMMENDED, CONSIDERED, COURSE, TRIALS, AT_MOST,
             BAND, DOSE_CYCLES, DAILY)
BASIS = {None: "flat", "/m²": "per_m2", "/m2": "per_m2", "/kg": "per_kg"}


def _section_v(lines: list[Line], problems: Problems, prose: list[Prose], heading: Line) -> list[DoseRow]:
    rows: list[DoseRow] = []
    in_table = False
    for line in lines:
        if not in_table:
            if [c.lower() for c in line.cells] == ["indication", "dose"]:
                in_table = True
            elif HAS_DIGIT.search(line.text):
                problems.add(line, "Section V: a line with numbers before the 'Indication / Dose' table")
            else:
                prose.append(Prose("V", line.text, line.where))
            continue
        if len(line.cells) >= 2:
            rows.append(DoseRow(indication=line.cells[0], where=line.where, text=" ".join(line.cells[1:])))
        elif rows and DOSE_AMOUNT.search(line.text):
            rows[-1].text += " " + line.text  # the dose cell goes on (a converter split it)
        else:
            prose.append(Prose("V", line.text, line.where))
    if not in_table:
        problems.add(heading, "Section V: no 'Indication / Dose' table")
    for row in rows:
        _dose_row(row, problems)
        prose.extend(Prose("V", f"{row.indication}: {remark}", row.where) for remark in row.remarks)
    return rows


class _RowReader:
    """Reads one Section V dose cell phrase by phrase, in order."""

    def __init__(self, row: DoseRow) -> None:
        self.row = row
        self.cycles: tuple[int, int | None] = (1, None)
        self.band: Band | None = None
        self.branch: str | None = None
        self.last_end = 0
        self.text = ""

    def context(self, start: int) -> str | None:
        """The words between the phrase before and this one: the label of a branch, if any."""
        words = re.sub(r"[•:;,.()]", " ", self.text[self.last_end:start])
        words = " ".join(w for w in words.split() if w.lower() not in ("then", "and", "or"))
        return words or None


def _dose_row(row: DoseRow, problems: Problems) -> None:
    sentence = Sentence(row.text)
    events: list[tuple[int, re.Pattern[str], re.Match[str]]] = []
    for pattern in V_PHRASES:
        events.extend((m.start(), pattern, m) for m in sentence.matches(pattern))
    events.sort(key=lambda e: e[0])
    reader = _RowReader(row)
    reader.text = sentence.text
    for start, pattern, m in events:
        label = reader.context(start)
        _V_HANDLERS[pattern](reader, m, label)
        reader.last_end = m.end()
    unread = sentence.unread()
    if unread:
        problems.add(row.where, f"Section V ({row.indication}): cannot read "
                                f"{', '.join(repr(u) for u in unread)} in the dose")
    if not row.doses:
        problems.add(row.where, f"Section V ({row.indication}): no dose read")


def _on_heading(r: _RowReader, m: re.Match[str], label: str | None) -> None:
    if m.group("later"):
        first = (r.cycles[1] or r.cycles[0]) + 1
        r.cycles = (first, None)
    elif m.group("one"):
        r.cycles = (int(m.group("one")), int(m.group("one")))
    else:
        r.cycles = (int(m.group("a")), int(m.group("b")))
    r.branch = None
    if m.group("len"):
        r.row.lengths.append(CycleLength(r.cycles[0], r.cycles[1], weeks_or_days(m.group("len"), m.group("unit")),
                                         None, r.row.where))


def _on_total(r: _RowReader, m: re.Match[str], label: str | None) -> None:
    r.branch = label or r.branch
    unit, basis = m.group("unit"), BASIS[m.group("per")]
    days = list(DAY_DOSE.finditer(m.group("days")))
    r.row.totals.append(CycleTotal(r.cycles[0], r.cycles[1], r.branch, decimal(m.group("total")), unit, basis,
                                   int(m.group("n")), r.row.where))
    for d in days:
        r.row.doses.append(Dose(r.cycles[0], r.cycles[1], r.branch, r.band, (int(d.group("day")),),
                                decimal(d.group("amount")), d.group("unit"), BASIS[d.group("per")], None, r.row.where))


def _on_length(r: _RowReader, m: re.Match[str], label: str | None) -> None:
    c = int(m.group("c"))
    ext = weeks_or_days(m.group("ext"), m.group("extunit")) if m.group("ext") else None
    r.row.lengths.append(CycleLength(c, c, weeks_or_days(m.group("len"), m.group("unit")), ext, r.row.where))


def _on_infusion(r: _RowReader, m: re.Match[str], label: str | None) -> None:
    infusion, gap = int(m.group("inf")), int(m.group("gap"))
    first, last = (int(m.group("a")), int(m.group("b"))) if m.group("a") else (1, None)
    length = int(m.group("len")) if m.group("len") else infusion + gap
    r.row.lengths.append(CycleLength(first, last, length, None, r.row.where, infusion, gap))
    if m.group("gap2"):
        r.row.lengths.append(CycleLength(int(m.group("a2")), int(m.group("b2")), int(m.group("len2")), None,
                                         r.row.where, infusion, int(m.group("gap2"))))


def _count(kind: str, group: str = "n") -> Callable[[_RowReader, re.Match[str], str | None], None]:
    def handler(r: _RowReader, m: re.Match[str], label: str | None) -> None:
        r.row.counts.append(CycleCount(kind, whole(m.group(group)), label, r.row.where))

    return handler


def _on_considered(r: _RowReader, m: re.Match[str], label: str | None) -> None:
    r.row.counts.append(CycleCount("considered", ORDINALS[m.group("ord").lower()], label, r.row.where))
    r.row.counts.append(CycleCount("after", int(m.group("after")), label, r.row.where))


def _on_course(r: _RowReader, m: re.Match[str], label: str | None) -> None:
    total = _phase_total(m.group("list"))
    if total is not None:
        r.row.counts.append(CycleCount("at_most", total, label, r.row.where))


def _on_trials(r: _RowReader, m: re.Match[str], label: str | None) -> None:
    """What trials gave: an explanation, not a limit; compared as worded."""
    r.row.remarks.append(m.group(0))


def _on_band(r: _RowReader, m: re.Match[str], label: str | None) -> None:
    if m.group("ge"):
        band = Band(decimal(m.group("ge")), None)
    elif m.group("lt"):
        band = Band(None, decimal(m.group("lt")))
    else:
        band = Band(decimal(m.group("lo")), decimal(m.group("hi")))
    r.band = band
    r.row.bands.append(band)
    r.cycles = (1, None)


def _on_dose_cycles(r: _RowReader, m: re.Match[str], label: str | None) -> None:
    r.cycles = (int(m.group("one")), int(m.group("one"))) if m.group("one") else (int(m.group("a")), int(m.group("b")))


def _on_daily(r: _RowReader, m: re.Match[str], label: str | None) -> None:
    days = tuple(range(int(m.group("d1")), int(m.group("d2")) + 1))
    cap = decimal(m.group("cap")) if m.group("cap") else None
    r.row.doses.append(Dose(r.cycles[0], r.cycles[1], r.branch, r.band, days, decimal(m.group("amount")),
                            m.group("unit"), BASIS[m.group("per")], cap, r.row.where))


_V_HANDLERS: dict[re.Pattern[str], Callable[[_RowReader, re.Match[str], str | None], None]] = {
    CYCLE_HEADING: _on_heading, TOTAL: _on_total, LENGTH: _on_length, INFUSION: _on_infusion,
    WITHIN: _count("within"), RECOMMENDED: _count("recommended"), CONSIDERED: _on_considered,
    COURSE: _on_course, TRIALS: _on_trials, AT_MOST: _count("at_most"), BAND: _on_band,
    DOSE_CYCLES: _on_dose_cycles, DAILY: _on_daily,
}


# --- Section VI: billing codes ------------------------------------------------------------------

HCPCS_LINE = re.compile(
    rf"^(?P<code>[A-Z]\d{{4}}) [–—-] (?P<description>.+?): (?P<units>\d+) billable units? = "
    rf"(?P<amount>\d+(?:\.\d+)?) (?P<unit>{MASS})$"
)
NDC_LINE = re.compile(
    rf"^(?P<description>.*?\b(?P<amount>\d+(?:\.\d+)?) (?P<unit>{MASS})\b.*?): "
    rf"(?P<labeler>\d{{4,5}})-(?P<product>\d{{3,4}})"
    r"-(?P<package>xx|XX|\d{1,2})$"
)


def _section_vi(lines: list[Line], problems: Problems, prose: list[Prose], heading: Line) -> BillingCodes | None:
    kind: str | None = None
    hcpcs: re.Match[str] | None = None
    hcpcs_where = heading.where
    ndcs: list[Ndc] = []
    for line in lines:
        if not BULLET.match(line.text):
            label = line.text.rstrip(":").strip().lower()
            if label in ("hcpcs code", "hcpcs codes", "hcpcs"):
                kind = "hcpcs"
            elif label in ("ndc", "ndcs", "ndc(s)"):
                kind = "ndc"
            elif HAS_DIGIT.search(line.text):
                problems.add(line, "Section VI: cannot read this line (expected a HCPCS code or an NDC)")
            else:
                prose.append(Prose("VI", line.text, line.where))
            continue
        text = _statement(line)
        if kind == "hcpcs":
            m = HCPCS_LINE.match(text)
            if m is None:
                problems.add(line, "Section VI: cannot read this HCPCS code (expected 'J0000 – description: "
                                   "1 billable unit = N mg')")
            elif hcpcs is not None:
                problems.add(line, "Section VI: a second HCPCS code (one code per policy)")
            else:
                hcpcs, hcpcs_where = m, line.where
        elif kind == "ndc":
            m = NDC_LINE.match(text)
            if m is None:
                problems.add(line, "Section VI: cannot read this NDC (expected 'product N mg ...: 00000-0000-xx')")
                continue
            description = m.group("description").strip()
            ndcs.append(Ndc(
                labeler_product=f"{m.group('labeler')}-{m.group('product')}",
                pattern=f"{m.group('labeler')}-{m.group('product')}-{m.group('package').lower()}",
                vial_amount=decimal(m.group("amount")), vial_unit=m.group("unit"),
                single_dose="single-dose" in description.lower() or "single dose" in description.lower(),
                description=description, where=line.where,
            ))
        else:
            problems.add(line, "Section VI: a bullet outside 'HCPCS Code:' and 'NDC:'")
    if hcpcs is None:
        problems.add(heading, "Section VI: no HCPCS code")
        return None
    if not ndcs:
        problems.add(heading, "Section VI: no NDC")
    return BillingCodes(
        hcpcs=hcpcs.group("code"), description=hcpcs.group("description").strip(),
        unit_amount=decimal(hcpcs.group("amount")) / int(hcpcs.group("units") or 1), unit=hcpcs.group("unit"),
        ndcs=tuple(ndcs), where=hcpcs_where,
    )


# --- Sections VII and VIII: references ------------------------------------------------------------

REFERENCE = re.compile(r"^(?:[-•] )?(?:(?P<n>\d+)(?P<e>e)?\. )?(?P<text>\S.*)$")


def _references(section: str, lines: list[Line], problems: Problems) -> list[Reference]:
    out: list[Reference] = []
    suffix = "e" if section == "VIII" else ""
    last = 0
    for line in lines:
        m = REFERENCE.match(line.text)
        if m is None or (not BULLET.match(line.text) and not m.group("n")):
            problems.add(line, f"Section {section}: not a reference (expected '- text' or 'N. text')")
            continue
        number = int(m.group("n")) if m.group("n") else last + 1
        if number != last + 1:
            problems.add(line, f"Section {section}: reference {number}{suffix} follows {last}{suffix}")
        if bool(m.group("e")) != bool(suffix) and m.group("n"):
            problems.add(line, f"Section {section}: reference numbered {m.group('n')}{m.group('e') or ''}")
        last = number
        out.append(Reference(f"{section}.{number}{suffix}", section, m.group("text").strip(), line.where))
    return out


# --- Appendix 1: covered diagnosis codes -----------------------------------------------------------

CODE_ROW = re.compile(r"^(?P<code>[A-Z]\d[0-9AB](?:\.[0-9A-Z]{1,4})?)\s+(?P<description>\S.*)$")


def _appendix_1(lines: list[Line], problems: Problems, heading: Line) -> list[DiagnosisCode]:
    out: list[DiagnosisCode] = []
    seen: dict[str, str] = {}
    for line in lines:
        if [c.lower() for c in line.cells] == ["icd-10", "icd-10 description"]:
            continue
        m = CODE_ROW.match("\t".join(line.cells))
        if m is not None and len(line.cells) > 1 and m.group("code") != line.cells[0]:
            m = None  # a table row: the code is its whole first cell
        if m is None:
            problems.add(line, "Appendix 1: cannot read this row (expected an ICD-10 code and its description)")
            continue
        try:
            code = normalize_icd10(m.group("code"))
        except ValueError:
            problems.add(line, f"Appendix 1: {m.group('code')!r} is not an ICD-10-CM code")
            continue
        if code in seen:
            problems.add(line, f"Appendix 1: {code} is also listed at {seen[code]}")
            continue
        seen[code] = line.where
        out.append(DiagnosisCode(code, " ".join(m.group("description").split()), line.where))
    if not out:
        problems.add(heading, "Appendix 1: no diagnosis code")
    return out


# --- Appendix 2: Medicare Part B administrative contractors -----------------------------------------

MEDICARE_CODES = re.compile(r"^Medicare Part B Covered Diagnosis Codes(?: \([^)]*\))?:\s*(?P<value>.+)$")
MAC_TITLE = re.compile(r"^Medicare Part B Administrative Contractor \(MAC\) Jurisdictions$")
MAC_HEADER = ["jurisdiction", "applicable state/us territory", "contractor"]
JURISDICTION = re.compile(r"^(?P<id>[A-Z]|\d{1,2})(?: \((?P<legacy>\d+(?: (?:&|and) \d+)*)\))?$")
FLAT_ROW = re.compile(
    r"^(?P<id>[A-Z]|\d{1,2})(?: \((?P<legacy>\d+(?: (?:&|and) \d+)*)\))? "
    r"(?P<states>[A-Z]{2,4}(?: \(excluding below\))?(?:, [A-Z]{2,4}(?: \(excluding below\))?)*(?: \([^)]*\))?) "
    r"(?P<contractor>[A-Z].*)$"
)
STATE_TOKEN = re.compile(r"^(?P<state>[A-Z]{2,4})(?: \((?P<excluding>excluding below)\))?$")
INCLUDES = re.compile(r"\s*\(includes (?P<places>.+) in (?P<state>[A-Z]{2})\)$")


def _appendix_2(lines: list[Line], problems: Problems, prose: list[Prose]) -> tuple[str, list[JurisdictionRow]]:
    medicare = ""
    rows: list[JurisdictionRow] = []
    in_table = False
    for line in lines:
        m = MEDICARE_CODES.match(line.text)
        if m:
            medicare = m.group("value").strip()
            continue
        if MAC_TITLE.match(line.text):
            continue
        if [c.lower() for c in line.cells] == MAC_HEADER:
            in_table = True
            continue
        if not in_table:
            prose.append(Prose("Appendix 2", line.text, line.where))
            continue
        if len(line.cells) == 3:
            jid, states, contractor = line.cells
            head = JURISDICTION.match(jid)
        else:
            flat = FLAT_ROW.match(line.text)
            head = flat
            jid, states, contractor = (flat.group(0), flat.group("states"), flat.group("contractor")) if flat else \
                ("", "", "")
        if head is None:
            problems.add(line, "Appendix 2: cannot read this row (expected jurisdiction, states, contractor)")
            continue
        row = _jurisdiction(line, head, states, contractor, problems)
        if row is not None:
            rows.append(row)
    if not in_table:
        problems.add(lines[0] if lines else "Appendix 2", "Appendix 2: no MAC jurisdiction table")
    _check_splits(rows, problems)
    return medicare or "N/A", rows


def _jurisdiction(line: Line, head: re.Match[str], states_text: str, contractor: str,
                  problems: Problems) -> JurisdictionRow | None:
    counties: dict[str, tuple[str, ...]] = {}
    includes = INCLUDES.search(states_text)
    if includes:
        places = _places(includes.group("places"))
        if places is None:
            problems.add(line, f"Appendix 2: cannot read the counties in {includes.group(0).strip()!r}")
            return None
        counties[includes.group("state")] = places
        states_text = states_text[: includes.start()]
    states: list[str] = []
    excluding: list[str] = []
    for token in (t.strip() for t in states_text.split(",")):
        m = STATE_TOKEN.match(token)
        try:
            state = normalize_state(m.group("state")) if m else None
        except ValueError:
            state = None
        if m is None or state is None:
            problems.add(line, f"Appendix 2: {token!r} is not a US state or territory")
            return None
        states.append(state)
        if m.group("excluding"):
            excluding.append(state)
    legacy = tuple(re.findall(r"\d+", head.group("legacy") or ""))
    return JurisdictionRow(head.group("id"), legacy, tuple(states), tuple(excluding), counties,
                           " ".join(contractor.split()), line.where)


def _places(text: str) -> tuple[str, ...] | None:
    """`Arlington & Fairfax counties and the city of Alexandria` -> Arlington County, Fairfax County,
    Alexandria city."""
    out: list[str] = []
    pending: list[str] = []
    for part in (p.strip() for p in re.split(r",\s*(?:and\s+)?|\s+&\s+|\s+and\s+", text) if p.strip()):
        words = part.split()
        if part.lower().startswith("the city of ") or part.lower().startswith("city of "):
            if pending:
                return None
            out.append(f"{part.split('of', 1)[1].strip()} city")
        elif words[-1].lower() in ("counties", "county"):
            names = [*pending, " ".join(words[:-1])]
            if len(names) > 1 and words[-1].lower() == "county":
                return None
            out.extend(f"{n} County" for n in names)
            pending = []
        elif words[-1].lower() == "city":
            if pending:
                return None
            out.append(f"{' '.join(words[:-1])} city")
        else:
            pending.append(part)
    if pending or not out:
        return None
    places = [normalize_county(o) for o in out]
    return tuple(out) if len(set(places)) == len(places) else None


def _check_splits(rows: list[JurisdictionRow], problems: Problems) -> None:
    """A state split by county is `excluding below` in one row and has its counties listed in another."""
    listed = {state for row in rows for state in row.counties}
    excluded = {state for row in rows for state in row.excluding}
    for row in rows:
        for state in row.excluding:
            if state not in listed:
                problems.add(row.where, f"Appendix 2: {state} is 'excluding below' but no row lists its counties")
        for state in row.counties:
            if state not in excluded:
                problems.add(row.where, f"Appendix 2: counties of {state} are listed but no row has "
                                        f"'{state} (excluding below)'")

