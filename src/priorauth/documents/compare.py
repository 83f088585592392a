"""A document against a policy version: every machine-checkable item, the criteria as worded, the TODOs.

Each disagreement says its section, the item, what the document says and what the file says.
An item on one side only is a disagreement too. Section III and IV are compared line by line
with the document text the version records (`source_document.criteria_text`), since the
criteria's wording in the file is the project's own: added, removed and reworded lines are
listed for a person to review. A `todo` criterion, and any text of the file that starts with
`TODO`, is a disagreement until a person writes the rule.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from priorauth.core import PolicyVersion, walk
from priorauth.documents.items import (
    ALL,
    TOTAL,
    Branches,
    Item,
    RowFacts,
    branches_of,
    document_items,
    document_row,
    row_items,
    version_items,
    version_row,
)
from priorauth.documents.model import PolicyDocument

ABSENT = "(not stated)"


@dataclass(frozen=True, slots=True)
class Disagreement:
    """One item the document and the file disagree on. `kind`: differs, document only, file only,
    added / removed / reworded (a line of the document's text), unmapped (an indication name), todo."""

    section: str
    item: str
    document: str
    file: str
    kind: str
    where: str = ""

    def line(self) -> str:
        return f"{self.section} · {self.item} · {self.document} · {self.file}"


@dataclass(frozen=True, slots=True)
class SourceCheck:
    """Whether the document given is the one the version was made from."""

    recorded: bool
    same: bool
    file: str = ""
    sha256: str = ""
    date_approved: str = ""

    def note(self, version: str, document: PolicyDocument) -> str:
        if not self.recorded:
            return f"version {version} records no source document; compared with {document.name} as given"
        if self.same:
            return f"version {version} was made from this document ({self.file}, approved {self.date_approved})"
        return (f"this is not the document version {version} was made from: that was {self.file} "
                f"(approved {self.date_approved}, text sha256 {self.sha256[:12]}); this one is {document.name} "
                f"(approved {document.header.date_approved.isoformat()}, text sha256 {document.sha256[:12]})")


@dataclass
class Comparison:
    policy: str
    version: str
    digest: str
    document: PolicyDocument
    source: SourceCheck
    checked: int
    disagreements: list[Disagreement] = field(default_factory=list)

    @property
    def in_agreement(self) -> bool:
        return not self.disagreements

    def todos(self) -> list[Disagreement]:
        return [d for d in self.disagreements if d.kind == "todo"]

    def to_dict(self) -> dict[str, Any]:
        h = self.document.header
        return {
            "policy": self.policy,
            "version": self.version,
            "policy_digest": self.digest,
            "document": {"name": self.document.name, "sha256": self.document.sha256,
                         "document_number": h.document_number, "date_approved": h.date_approved.isoformat()},
            "source_document": {**asdict(self.source), "note": self.source.note(self.version, self.document)},
            "in_agreement": self.in_agreement,
            "items_checked": self.checked,
            "disagreements": [asdict(d) for d in self.disagreements],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)


def compare(document: PolicyDocument, version: PolicyVersion) -> Comparison:
    """Every machine-checkable item of `document` against `version`."""
    branches = branches_of(document, version)
    doc_items = document_items(document, branches)
    file_items, conditions = version_items(version, branches)
    v_doc, v_file = _section_v(document, version, branches, conditions)
    disagreements = [Disagreement(section, "indication", name, "(no branch of the file has this name)",
                                  "unmapped", where) for section, name, where in branches.unmapped]
    matched, checked = _match([*doc_items, *v_doc], [*file_items, *v_file], branches)
    disagreements.extend(matched)
    criteria, lines = _criteria(document, version)
    disagreements.extend(criteria)
    disagreements.extend(_todos(version))
    order = {s: i for i, s in enumerate(("header", "I", "II", "III", "IV", "V", "VI", "VII", "VIII",
                                         "Appendix 1", "Appendix 2"))}
    disagreements.sort(key=lambda d: order.get(d.section, 99))
    return Comparison(version.id, version.version, version.digest, document, _source(document, version),
                      checked + lines, disagreements)


def _source(document: PolicyDocument, version: PolicyVersion) -> SourceCheck:
    s = version.source_document
    if s is None:
        return SourceCheck(False, False)
    return SourceCheck(True, s.sha256 == document.sha256, s.file, s.sha256, s.date_approved.isoformat())


# --- Section V: both sides expanded to the same cycles ---------------------------------------------


def _section_v(document: PolicyDocument, version: PolicyVersion, branches: Branches,
               conditions: dict[str, Any]) -> tuple[list[Item], list[Item]]:
    doc_rows: dict[str, tuple[str, RowFacts, str]] = {}
    for row in document.dose_rows:
        branch = ALL if len(document.dose_rows) == 1 else branches.key(row.indication)
        if branch is not None:
            doc_rows[branch] = (row.indication, document_row(row), row.where)
    if len(doc_rows) == 1 and ALL in doc_rows and ALL not in conditions and len(conditions) == 1:
        doc_rows = {next(iter(conditions)): doc_rows[ALL]}  # one indication on both sides
    doc_out: list[Item] = []
    file_out: list[Item] = []
    for branch in dict.fromkeys([*doc_rows, *(conditions if version.dosing else ())]):
        label, doc_facts, where = doc_rows.get(branch, (branches.label(branch), RowFacts(), ""))
        file_facts = version_row(version, conditions[branch], doc_facts.infusion) if branch in conditions \
            else RowFacts()
        # Open cycle ranges run to the most cycles allowed (the smaller of the two sides' figures, so a
        # changed figure is one disagreement), else to one past the last cycle either side names.
        doc_most, file_most = doc_facts.counts.get("at_most"), file_facts.counts.get("at_most")
        if doc_most or file_most:
            bound = min(max(doc_most or file_most or {1}), max(file_most or doc_most or {1}))
        else:
            bound = max(doc_facts.last_cycle(), file_facts.last_cycle()) + 1
        doc_out.extend(row_items(branch, label, doc_facts, bound, where))
        file_out.extend(row_items(branch, label, file_facts, bound, optional={TOTAL} - doc_facts.kinds()))
    return doc_out, file_out


# --- matching items ------------------------------------------------------------------------------------


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _match(doc: list[Item], file: list[Item], branches: Branches) -> tuple[list[Disagreement], int]:
    doc_keys = {(i.section, i.key): i for i in doc}
    file_keys = {(i.section, i.key): i for i in file if not i.optional or (i.section, i.key) in doc_keys}
    out: list[Disagreement] = []
    cells: list[tuple[Item | None, Item | None]] = []
    leftovers: dict[tuple[str, str], tuple[list[Item], list[Item]]] = {}
    for key in dict.fromkeys([*doc_keys, *file_keys]):
        d, f = doc_keys.get(key), file_keys.get(key)
        item = d or f
        assert item is not None
        if item.group and item.group.startswith("cell:"):
            if d is None or f is None or not _same(d.value, f.value):
                cells.append((d, f))
            continue
        if d is not None and f is not None:
            if not _same(d.value, f.value):
                out.append(Disagreement(item.section, item.name, d.value, f.value, "differs", d.where))
        elif item.group:
            side = leftovers.setdefault((item.section, item.group), ([], []))
            side[0 if d is not None else 1].append(item)
        elif d is not None:
            out.append(Disagreement(d.section, d.name, d.value, ABSENT, "document only", d.where))
        elif f is not None:
            out.append(Disagreement(f.section, f.name, ABSENT, f.value, "file only"))
    for (section, _), (docs, files) in leftovers.items():
        for d, f in zip(docs, files, strict=False):
            out.append(Disagreement(section, f"{d.name} (file: {f.name})", d.value, f.value, "differs", d.where))
        for d in docs[len(files):]:
            out.append(Disagreement(section, d.name, d.value, ABSENT, "document only", d.where))
        for f in files[len(docs):]:
            out.append(Disagreement(section, f.name, ABSENT, f.value, "file only"))
    out.extend(_cell_disagreements(cells))
    plain = {k for k, i in doc_keys.items() if not (i.group and i.group.startswith("cell:"))}
    statements = {(i.group, i.value) for i in doc if i.group and i.group.startswith("cell:")}
    return out, len(plain | {k for k, i in file_keys.items() if not (i.group or "").startswith("cell:")}) \
        + len(statements)


def _cell_disagreements(cells: list[tuple[Item | None, Item | None]]) -> Iterator[Disagreement]:
    """Cells that differ, grouped: one disagreement per changed statement, however many cells it spans.

    A cell holds every dose (or length) given on it, one per branch; what differs is what one side
    has and the other has not, and cells whose values differ in the same words are one change. A
    statement moved to other days or cycles is one disagreement.
    """
    groups: dict[tuple[str, str, str, str], list[tuple[int, int, str, str]]] = {}
    info: dict[tuple[str, str, str, str], Item] = {}
    for d, f in cells:
        item = d or f
        assert item is not None
        doc_values = set(d.value.split(" or ")) if d else set()
        file_values = set(f.value.split(" or ")) if f else set()
        doc_extra = " or ".join(sorted(doc_values - file_values))
        file_extra = " or ".join(sorted(file_values - doc_values))
        doc_change, file_change = _changed_words(doc_extra, file_extra)
        _, _, _, cycle, day = item.key.split(" · ")
        key = (item.group or "", doc_change, file_change, item.label)
        groups.setdefault(key, []).append((int(cycle), int(day), doc_extra, file_extra))
        info.setdefault(key, d or item)
    done: set[tuple[str, str, str, str]] = set()
    for key, members in groups.items():
        if key in done:
            continue
        group, doc_change, file_change, label = key
        done.add(key)
        item = info[key]
        _, kind, band, _, _ = item.key.split(" · ")
        what = " · ".join(x for x in (label, kind, band if band not in ("", "any weight") else "") if x)
        places = [(c, d) for c, d, _, _ in members]
        twin = None
        if bool(doc_change) != bool(file_change):
            value = doc_change or file_change
            twin = next((k for k in groups if k not in done and k[0] == group and k[3] == label
                         and (k[2] if doc_change else k[1]) == value and not (k[1] if doc_change else k[2])), None)
        if twin is not None:
            done.add(twin)
            other = [(c, d) for c, d, _, _ in groups[twin]]
            doc_places, file_places = (places, other) if doc_change else (other, places)
            yield Disagreement("V", f"{what} · {doc_change or file_change}", f"on {_places(doc_places)}",
                               f"on {_places(file_places)}", "differs", item.where)
            continue
        values = {(doc, file) for _, _, doc, file in members}
        doc_text, file_text = next(iter(values)) if len(values) == 1 else (doc_change, file_change)
        yield Disagreement("V", f"{what} · {_places(places)}", doc_text or ABSENT, file_text or ABSENT,
                           "differs" if doc_text and file_text else ("document only" if doc_text else "file only"),
                           item.where)


def _changed_words(doc: str, file: str) -> tuple[str, str]:
    """The words that differ between two values, with one word around them (the values when one is empty)."""
    if not doc or not file:
        return doc, file
    a, b = doc.split(), file.split()
    doc_words: list[str] = []
    file_words: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag != "equal":
            doc_words.append(" ".join(a[max(i1 - 1, 0):i2 + 1]))
            file_words.append(" ".join(b[max(j1 - 1, 0):j2 + 1]))
    return "; ".join(doc_words) or doc, "; ".join(file_words) or file


def _places(cells: list[tuple[int, int]]) -> str:
    by_cycle: dict[int, list[int]] = {}
    for cycle, day in sorted(cells):
        by_cycle.setdefault(cycle, []).append(day)
    parts: list[tuple[int, int, tuple[int, ...]]] = []
    for cycle, days in by_cycle.items():
        if parts and parts[-1][1] == cycle - 1 and parts[-1][2] == tuple(days):
            parts[-1] = (parts[-1][0], cycle, parts[-1][2])
        else:
            parts.append((cycle, cycle, tuple(days)))
    texts = []
    for first, last, day_numbers in parts:
        cycles = f"cycle {first}" if first == last else f"cycles {first}-{last}"
        texts.append(cycles if day_numbers == (0,) else f"{cycles}, {_days(day_numbers)}")
    return "; ".join(texts)


def _days(days: tuple[int, ...]) -> str:
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    text = ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)
    return ("days " if len(days) > 1 else "day ") + text


# --- Sections III and IV: the document's wording against the one recorded ------------------------------


def _criteria(document: PolicyDocument, version: PolicyVersion) -> tuple[list[Disagreement], int]:
    out: list[Disagreement] = []
    recorded = version.source_document.criteria_text if version.source_document else None
    count = 0
    for section in ("III", "IV"):
        doc_lines = [c for c in document.criteria if c.section == section]
        count += len(doc_lines)
        if recorded is None:
            out.append(Disagreement(section, "criteria as worded", f"{len(doc_lines)} lines",
                                    "(the file records no source document text)", "file only"))
            continue
        out.extend(_lines(section, [c.text for c in doc_lines], [c.where for c in doc_lines], recorded[section]))
    if version.source_document is not None:
        notes = version.source_document.notes_text
        for section in dict.fromkeys([*(p.section for p in document.prose), *notes]):
            prose = [p for p in document.prose if p.section == section]
            count += len(prose)
            out.extend(_lines(section, [p.text for p in prose], [p.where for p in prose], notes.get(section, [])))
    return out, count


def _lines(section: str, doc: list[str], where: list[str], file: list[str]) -> Iterator[Disagreement]:
    matcher = difflib.SequenceMatcher(a=[" ".join(x.split()) for x in file], b=[" ".join(x.split()) for x in doc],
                                      autojunk=False)
    removed: list[str] = []
    added: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        olds, news = file[i1:i2], list(zip(doc[j1:j2], where[j1:j2], strict=True))
        while olds and news:
            best = max(range(len(news)), key=lambda k: difflib.SequenceMatcher(a=olds[0], b=news[k][0]).ratio())
            if difflib.SequenceMatcher(a=olds[0], b=news[best][0]).ratio() < 0.5:
                break
            text, at = news.pop(best)
            yield Disagreement(section, "line reworded", text, olds.pop(0), "reworded", at)
        removed.extend(olds)
        added.extend(news)
    for text in removed:
        moved = next((a for a in added if " ".join(a[0].split()) == " ".join(text.split())), None)
        if moved is not None:
            added.remove(moved)
            yield Disagreement(section, "line moved", moved[0], text, "reworded", moved[1])
        else:
            yield Disagreement(section, "line removed", ABSENT, text, "removed")
    for text, at in added:
        yield Disagreement(section, "line added", text, ABSENT, "added", at)


# --- TODOs ---------------------------------------------------------------------------------------------


def _todos(version: PolicyVersion) -> Iterator[Disagreement]:
    for _, node in walk(version.criteria):
        if node.leaf is not None and node.leaf.operator == "todo":
            yield Disagreement(node.section, f"criterion {node.id}", str(node.leaf.argument),
                               "TODO: not yet written as a rule", "todo")
    content = json.loads(version.canonical) if version.canonical else version.model_dump(mode="json")
    content.pop("criteria", None)
    for path, text in _strings(content, ""):
        if text.lstrip().upper().startswith("TODO"):
            yield Disagreement(_section_of(content, path), path, ABSENT, text, "todo")


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _strings(inner, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from _strings(inner, f"{path}[{i}]")
    elif isinstance(value, str):
        yield path, value


def _section_of(content: dict[str, Any], path: str) -> str:
    head = path.split(".")[0].split("[")[0]
    return {"parameters": "I", "authorizations": "I", "dosing": "V", "billing": "VI", "questions": "questions",
            "source_document": "source document"}.get(head, head)
