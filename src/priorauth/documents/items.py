"""Every machine-checkable item, from a document and from a policy version, in one vocabulary.

Both sides give `Item`s (section, key, value); the comparison (priorauth.documents.compare)
matches them by key. Keys name what an item is, never where it sits, so a file laid out
differently from the document (Section V split into other schedules, limits in parameters or
per-branch terms) still agrees when the numbers do. Section V is compared cycle by cycle and
day by day, so each changed number is one disagreement however the schedules are cut.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from priorauth.core import PolicyVersion, normalize_county
from priorauth.documents.model import DoseRow, PolicyDocument

MG_PER = {"mg": Decimal(1), "mcg": Decimal("0.001")}
BASIS_TEXT = {"flat": "", "per_m2": "/m²", "per_kg": "/kg"}
ALL = "all"


@dataclass(frozen=True, slots=True)
class Item:
    """One machine-checkable item: `key` identifies it within `section`; `label` says it for people."""

    section: str
    key: str
    value: str
    label: str = ""
    where: str = ""
    group: str | None = None  # unmatched items of one group are paired in order (a code changed)
    optional: bool = False  # a file item compared only when the document states it

    @property
    def name(self) -> str:
        return self.label or self.key


@dataclass
class Branches:
    """The document's indication names, each resolved to a branch of the file (`b0`, `b1`...)."""

    keys: dict[str, str] = field(default_factory=dict)  # normalised name -> branch key
    labels: dict[str, str] = field(default_factory=dict)  # branch key -> a name for people
    unmapped: list[tuple[str, str, str]] = field(default_factory=list)  # (section, name, where)

    def key(self, name: str | None) -> str | None:
        if name is None:
            return ALL
        return self.keys.get(normal_name(name))

    def label(self, key: str) -> str:
        return self.labels.get(key, "")


def normal_name(name: str) -> str:
    text = name.lower().replace("acute lymphoblastic leukemia (all)", "all")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def number(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if isinstance(value, float):
        return f"{Decimal(str(value)).normalize():f}"
    return str(value)


def cycles_text(first: int | None, last: int | None) -> str:
    if first is None:
        return "every cycle"
    if last is None:
        return f"cycles {first} on"
    return f"cycle {first}" if first == last else f"cycles {first}-{last}"


def branches_of(document: PolicyDocument, version: PolicyVersion | None) -> Branches:
    """Resolve every indication name the document uses (Sections I, II, V) to a branch of the file."""
    names: list[tuple[str, str, str]] = []
    for a in document.authorizations:
        if a.indication is not None:
            names.append(("I", a.indication, a.where))
    for u in document.unit_limits:
        if u.indication is not None:
            names.append(("II", u.indication, u.where))
    if len(document.dose_rows) > 1:
        names.extend(("V", r.indication, r.where) for r in document.dose_rows)
    branches = Branches()
    mapped = version.source_document.indications if version is not None and version.source_document else []
    for i, indication in enumerate(mapped):
        key = f"b{i}"
        branches.labels[key] = indication.names[0]
        for name in indication.names:
            branches.keys[normal_name(name)] = key
    for section, name, where in dict.fromkeys(names):
        if normal_name(name) not in branches.keys and (section, name) not in {u[:2] for u in branches.unmapped}:
            branches.unmapped.append((section, name, where))
    return branches


# --- the document's items ----------------------------------------------------------------------


def document_items(document: PolicyDocument, branches: Branches) -> list[Item]:
    h = document.header
    out = [
        Item("header", "document number", h.document_number, where=h.where["Document Number"]),
        Item("header", "date approved", h.date_approved.isoformat(), where=h.where["Date Approved"]),
        Item("header", "date of origin", h.date_of_origin.isoformat(), where=h.where["Date of Origin"]),
        Item("header", "dates reviewed", ", ".join(h.dates_reviewed), where=h.where["Dates Reviewed"]),
    ]
    for a in document.authorizations:
        branch = branches.key(a.indication)
        if branch is None:
            continue
        label = a.indication or ""
        for key, value in _authorization_values(a.months, a.cycles, a.renewable, a.phase_cycles, a.renewal_months,
                                                a.renewal_cycles, a.continued_cycles, a.total_cycles, a.course_months):
            out.append(Item("I", f"{branch} · {key}", number(value), _with(label, key), a.where))
    per_branch: dict[str, int] = {}
    for u in document.unit_limits:
        branch = branches.key(u.indication)
        if branch is None:
            continue
        k = per_branch[branch] = per_branch.get(branch, 0) + 1
        first, last = u.first_cycle, u.last_cycle
        if first is None and u.max_cycles is not None:
            first, last = 1, u.max_cycles
        out.append(Item("II", f"{branch} · limit {k}", _limit(u.units, u.window_days),
                        _with(u.indication or "", f"unit limit {k}"), u.where))
        if first is not None:
            out.append(Item("II", f"{branch} · limit {k} cycles", cycles_text(first, last),
                            _with(u.indication or "", f"cycles of unit limit {k}"), u.where))
    b = document.billing
    out.append(Item("VI", "HCPCS code", b.hcpcs, where=b.where))
    out.append(Item("VI", "HCPCS description", b.description, where=b.where))
    out.append(Item("VI", "billable unit", f"{number(b.unit_amount)} {b.unit}", where=b.where))
    for ndc in b.ndcs:
        amount = ndc.vial_amount * MG_PER[ndc.vial_unit] / MG_PER[b.unit]
        out.append(Item("VI", f"NDC {ndc.labeler_product}", _ndc(ndc.pattern, amount, b.unit, ndc.single_dose),
                        where=ndc.where, group="ndc"))
    for ref in document.references:
        out.append(Item(ref.section, f"reference {ref.id}", fingerprint(ref.text), where=ref.where))
    for code in document.codes:
        out.append(Item("Appendix 1", code.code, code.description, where=code.where, group="codes"))
    out.append(Item("Appendix 2", "Medicare Part B covered diagnosis codes", document.medicare_codes))
    for row in document.jurisdictions:
        out.extend(_jurisdiction_items(row.jurisdiction, row.legacy, row.contractor, row.states, row.counties,
                                       row.where))
    return out


def _with(label: str, key: str) -> str:
    return f"{label} · {key}" if label else key


def _authorization_values(months: Any, cycles: Any, renewable: Any, phase_cycles: Any = None,
                          renewal_months: Any = None, renewal_cycles: Any = None, continued: Any = None,
                          total: Any = None, course_months: Any = None) -> Iterator[tuple[str, Any]]:
    yield "months of coverage", months
    yield "most cycles covered", cycles
    yield "may be renewed", renewable
    optional = (("cycles of the phases listed", phase_cycles), ("months per renewal", renewal_months),
                ("cycles per renewal", renewal_cycles), ("continued-therapy cycles", continued),
                ("cycles in all", total), ("months of the whole course", course_months))
    for key, value in optional:
        if value is not None:
            yield key, value


def _limit(units: int, days: int) -> str:
    return f"{units} billable units every {days} days"


def _limit_items(branch: str, label: str, k: int, units: int, days: int, first: int, last: int | None
                 ) -> Iterator[Item]:
    yield Item("II", f"{branch} · limit {k}", _limit(units, days), _with(label, f"unit limit {k}"))
    yield Item("II", f"{branch} · limit {k} cycles", cycles_text(first, last),
               _with(label, f"cycles of unit limit {k}"),
               optional=True)


def _ndc(pattern: str, amount: Decimal, unit: str, single_dose: bool) -> str:
    return f"{pattern}: {number(amount)} {unit} vial{', single-dose' if single_dose else ''}"


REFERENCE_BOILERPLATE = re.compile(r"^(?:Referenced with permission from (?:the )?)", re.I)
YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")


def fingerprint(text: str) -> str:
    """What identifies a reference whatever its wording: its first word (author or title) and year."""
    text = REFERENCE_BOILERPLATE.sub("", text.strip())
    first = re.match(r"[\w'’-]+", text)
    year = YEAR.search(text)
    return f"{first.group(0) if first else text[:20]} … {year.group(0) if year else 'no year'}"


def _jurisdiction_items(jid: str, legacy: Iterable[str], contractor: str, states: Iterable[str],
                        counties: dict[str, tuple[str, ...]] | dict[str, list[str]], where: str) -> Iterator[Item]:
    yield Item("Appendix 2", f"jurisdiction {jid} contractor", contractor, where=where)
    yield Item("Appendix 2", f"jurisdiction {jid} former numbers", " & ".join(legacy) or "none", where=where)
    for state in states:
        yield Item("Appendix 2", f"state {state}", f"jurisdiction {jid}", where=where)
    for state, places in counties.items():
        for place in places:
            name, kind = normalize_county(place)
            yield Item("Appendix 2", f"{state}: {name} ({kind or 'place'})", f"jurisdiction {jid}",
                       label=f"{state}: {place}", where=where, group=f"counties {state}")


# --- Section V, cycle by cycle --------------------------------------------------------------------

# What a Section V cell holds, by kind: (band, cycle, day) for doses; (cycle) for the others.
DOSE, TOTAL, LENGTH = "dose", "dose per cycle", "cycle length"


@dataclass
class RowFacts:
    """One indication's Section V as statements over cycle ranges (an open range: every later cycle)."""

    statements: list[tuple[str, str, int, int | None, tuple[int, ...], str, str]] = field(default_factory=list)
    counts: dict[str, set[int]] = field(default_factory=dict)
    bands: list[str] = field(default_factory=list)
    infusion: bool = False  # lengths say their days of continuous infusion

    def add(self, kind: str, band: str, first: int, last: int | None, days: tuple[int, ...], text: str,
            where: str = "") -> None:
        self.statements.append((kind, band, first, last, days, text, where))

    def last_cycle(self) -> int:
        finite = [n for s in self.statements for n in (s[2], s[3]) if n is not None]
        return max([*finite, *(n for values in self.counts.values() for n in values)], default=1)

    def kinds(self) -> set[str]:
        return {s[0] for s in self.statements}


COUNT_TEXT = {
    "at_most": "most cycles given", "within": "cycles to reach a response", "recommended": "cycles recommended",
    "considered": "a further cycle that may be considered", "after": "cycles after which the response is reviewed",
}


def length_text(days: int, extended: int | None, infusion: int | None, gap: int | None) -> str:
    text = f"{days} days"
    if extended:
        text += f" (up to {extended} when extended)"
    if infusion is not None:
        text += f" ({infusion} of infusion, {gap} without)"
    return text


def dose_text(amount: Decimal, unit: str, basis: str, cap: Decimal | None) -> str:
    text = f"{number(amount)} {unit}{BASIS_TEXT[basis]}"
    return text + (f" (at most {number(cap)} {unit} a day)" if cap is not None else "")


def _ordered_bands(bands: Iterable[str], at_least: dict[str, Decimal]) -> list[str]:
    return sorted(set(bands), key=lambda b: at_least.get(b, Decimal(0)))


def document_row(row: DoseRow) -> RowFacts:
    facts = RowFacts()
    at_least = {str(b): b.at_least or Decimal(0) for b in row.bands}
    facts.bands = _ordered_bands(at_least, at_least)
    for d in row.doses:
        band = f"band {facts.bands.index(str(d.band)) + 1}" if d.band is not None else "any weight"
        facts.add(DOSE, band, d.first_cycle, d.last_cycle, d.days, dose_text(d.amount, d.unit, d.basis, d.cap),
                  d.where)
    for t in row.totals:
        facts.add(TOTAL, "", t.first_cycle, t.last_cycle, (),
                  f"{number(t.total)} {t.unit}{BASIS_TEXT[t.basis]} in {t.doses} doses", t.where)
    for length in row.lengths:
        facts.add(LENGTH, "", length.first_cycle, length.last_cycle, (),
                  length_text(length.days, length.extended_days, length.infusion_days, length.gap_days), length.where)
    facts.infusion = any(length.infusion_days is not None for length in row.lengths)
    for count in row.counts:
        facts.counts.setdefault(count.kind, set()).add(count.cycles)
    return facts


def row_items(branch: str, label: str, facts: RowFacts, bound: int, where: str = "",
              optional: frozenset[str] | set[str] = frozenset()) -> list[Item]:
    """The row's cells up to cycle `bound` (open ranges expanded), its cycle counts and weight bands."""
    cells: dict[tuple[str, str, int, int], set[str]] = {}
    places: dict[tuple[str, str, int, int], str] = {}
    for kind, band, first, last, days, text, at in facts.statements:
        for cycle in range(first, (last if last is not None else bound) + 1):
            for day in days or (0,):
                key = (kind, band, cycle, day)
                cells.setdefault(key, set()).add(text)
                places.setdefault(key, at)
    out = []
    for (kind, band, cycle, day), texts in cells.items():
        out.append(Item(
            "V", f"{branch} · {kind} · {band} · {cycle} · {day}", " or ".join(sorted(texts)),
            label=label, where=places[(kind, band, cycle, day)] or where, group=f"cell:{branch}:{kind}:{band}",
            optional=kind in optional,
        ))
    for kind, values in facts.counts.items():
        out.append(Item("V", f"{branch} · {COUNT_TEXT[kind]}", ", ".join(str(v) for v in sorted(values)),
                        _with(label, COUNT_TEXT[kind]), where))
    if facts.bands:
        out.append(Item("V", f"{branch} · weight bands", "; ".join(facts.bands), _with(label, "weight bands"), where))
    return out


# --- the file's items --------------------------------------------------------------------------------


def _resolve(version: PolicyVersion, raw: Any) -> Any:
    return version.parameter(raw) if isinstance(raw, str) else raw


def _selects(when: Any, branch_when: Any) -> bool:
    """Whether a condition (of terms or a schedule) is within a branch's: it tests each of the
    branch's facts with no value outside the branch's."""
    if when is None:
        return False
    leaves = list(when.leaves())
    for fact, values in branch_when.leaves():
        if not any(f == fact and set(v) <= set(values) for f, v in leaves):
            return False
    return True


def _branch_conditions(version: PolicyVersion) -> dict[str, Any]:
    source = version.source_document
    if source is None or not source.indications:
        return {ALL: None}
    return {f"b{i}": indication.when for i, indication in enumerate(source.indications)}


def version_items(version: PolicyVersion, branches: Branches) -> tuple[list[Item], dict[str, Any]]:
    """The file's items but Section V, and the condition of each branch (for `version_row`)."""
    m = version.metadata
    out = [
        Item("header", "document number", m.document_number),
        Item("header", "date approved", m.date_approved.isoformat()),
        Item("header", "date of origin", m.date_of_origin.isoformat()),
        Item("header", "dates reviewed", ", ".join(m.dates_reviewed)),
    ]
    conditions = _branch_conditions(version)
    for branch, when in conditions.items():
        label = branches.label(branch)
        out.extend(_authorization_items(version, branch, when, label))
    b = version.billing
    out.append(Item("VI", "HCPCS code", b.hcpcs.code))
    out.append(Item("VI", "HCPCS description", b.hcpcs.description))
    out.append(Item("VI", "billable unit", f"{number(b.hcpcs.amount_per_unit)} {b.hcpcs.amount_unit}"))
    for ndc in b.ndc:
        labeler_product = "-".join(ndc.pattern.split("-")[:2])
        out.append(Item("VI", f"NDC {labeler_product}", _ndc(ndc.pattern, Decimal(str(ndc.vial_amount)),
                                                                b.hcpcs.amount_unit, ndc.single_dose), group="ndc"))
    for ref in version.references:
        out.append(Item(ref.section, f"reference {ref.id}", fingerprint(ref.text)))
    for codes in version.code_lists.values():
        if codes.section == "Appendix 1":
            out.extend(Item("Appendix 1", code, text, group="codes") for code, text in codes.codes.items())
    out.append(Item("Appendix 2", "Medicare Part B covered diagnosis codes", "N/A"))
    if version.mac_jurisdictions is not None:
        for j in version.mac_jurisdictions.jurisdictions:
            out.extend(_jurisdiction_items(j.jurisdiction, j.legacy, " ".join(j.contractor.split()), j.states,
                                           j.counties, ""))
    return out, conditions


def _authorization_items(version: PolicyVersion, branch: str, when: Any, label: str) -> Iterator[Item]:
    terms = [t for t in version.authorizations or () if when is None or _selects(t.when, when)]
    if not version.authorizations:
        p = version.parameter
        max_cycles = p("max_cycles")
        for key, value in _authorization_values(p("authorization_months"), max_cycles, p("renewable")):
            yield Item("I", f"{branch} · {key}", number(value), _with(label, key))
        yield Item("I", f"{branch} · cycles of the phases listed", number(max_cycles),
                   _with(label, "cycles of the phases listed"), optional=True)
        yield from _limit_items(branch, label, 1, p("max_units"), p("unit_window_days"), 1, max_cycles)
        return
    initial = next((t for t in terms if t.course is None), None)
    renewal = next((t for t in terms if t.course is not None), None)
    if initial is not None:
        cycles = _resolve(version, initial.max_cycles)
        for key, value in _authorization_values(_resolve(version, initial.months), cycles,
                                                _resolve(version, initial.renewable)):
            yield Item("I", f"{branch} · {key}", number(value), _with(label, key))
        yield Item("I", f"{branch} · cycles of the phases listed", number(cycles),
                   _with(label, "cycles of the phases listed"), optional=True)
    if renewal is not None and renewal.course is not None:
        course = renewal.course
        span = renewal.cycles
        values = (("months per renewal", _resolve(version, renewal.months)),
                  ("cycles per renewal", _resolve(version, renewal.max_cycles)),
                  ("continued-therapy cycles", span.last - span.first + 1 if span and span.last else None),
                  ("cycles in all", _resolve(version, course.cycles)),
                  ("months of the whole course", _resolve(version, course.months)))
        for key, value in values:
            if value is not None:
                yield Item("I", f"{branch} · {key}", number(value), _with(label, key))
    for k, t in enumerate(terms, start=1):
        max_cycles = _resolve(version, t.max_cycles)
        first, last = (t.cycles.first, t.cycles.last) if t.cycles else (1, max_cycles)
        yield from _limit_items(branch, label, k, _resolve(version, t.max_units),
                                _resolve(version, t.unit_window_days), first, last)


def version_row(version: PolicyVersion, when: Any, infusion: bool = False) -> RowFacts:
    """A branch's Section V from the file's schedules and stop rules."""
    dosing = version.dosing
    facts = RowFacts()
    if dosing is None:
        return facts
    schedules = [s for s in dosing.schedules if when is None or _selects(s.when, when)]
    rules = [r for r in dosing.stop_rules if when is None or _selects(r.when, when)]
    bands = {str(line.weight_kg): line.weight_kg.at_least or Decimal(0)
             for s in schedules for line in s.doses if line.weight_kg is not None}
    facts.bands = _ordered_bands(bands, bands)
    for s in schedules:
        first, last = s.cycles.first, s.cycles.last
        given = max(s.dose_days)
        facts.add(LENGTH, "", first, last, (), length_text(s.length_days, s.extended_length_days,
                                                          given if infusion else None, s.length_days - given))
        per_band: dict[str, list[Any]] = {}
        for line in s.doses:
            band = f"band {facts.bands.index(str(line.weight_kg)) + 1}" if line.weight_kg is not None \
                else "any weight"
            per_band.setdefault(band, []).append(line)
            facts.add(DOSE, band, first, last, line.day_numbers,
                      dose_text(line.amount, line.unit, line.basis, line.max_per_day))
        for lines in per_band.values():
            kinds = {(line.unit, line.basis) for line in lines}
            if len(kinds) == 1:
                ((unit, basis),) = kinds
                total = sum((line.amount * len(line.day_numbers) for line in lines), Decimal(0))
                doses = sum(len(line.day_numbers) for line in lines)
                facts.add(TOTAL, "", first, last, (), f"{number(total)} {unit}{BASIS_TEXT[basis]} in {doses} doses")
    for rule in rules:
        if rule.max_cycles is not None and rule.requires is None:
            facts.counts.setdefault("at_most", set()).add(rule.max_cycles)
        elif rule.requires is not None and rule.from_cycle is not None and rule.max_cycles is None:
            facts.counts.setdefault("within", set()).add(rule.from_cycle - 1)
        elif rule.requires is not None and rule.from_cycle is not None and rule.max_cycles is not None:
            facts.counts.setdefault("recommended", set()).add(rule.from_cycle - 1)
            facts.counts.setdefault("considered", set()).add(rule.max_cycles)
            facts.counts.setdefault("after", set()).add(rule.from_cycle - 1)
    if "at_most" not in facts.counts and schedules and all(s.cycles.last is not None for s in schedules):
        facts.counts["at_most"] = {max(s.cycles.last for s in schedules if s.cycles.last is not None)}
    return facts
