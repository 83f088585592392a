"""A draft version file from a document: the machine-checkable sections filled in, the criteria a skeleton.

Sections I, II, V, VI, VII, VIII and both appendices come from the document, each item citing
its section. Each line of Sections III and IV becomes a `todo` criterion, joined as the
document's AND/OR say, so the draft pends every request until a person writes the rules. What
the document does not say and a person must decide is written as `TODO: ...`; `priorauth
policy diff` of the document against its draft lists exactly those.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import yaml

from priorauth.documents.items import normal_name
from priorauth.documents.model import CriteriaLine, Dose, DoseRow, PolicyDocument

CONNECTOR = re.compile(r"[;,]?\s*\b(AND|OR)\s*$")
MARKERS = re.compile(r"[†‡Φ]|\^\{[^}]*\}|(?<=\))\s+[\d,\s-]+$")
STOPWORDS = {"or", "and", "the", "in", "of", "a", "an", "b", "cell", "precursor", "all", "with", "for", "to"}


def slug(text: str, words: int = 4) -> str:
    parts = [w for w in normal_name(text).split() if w not in STOPWORDS][:words]
    return "_".join(parts) or "branch"


def _number(value: Decimal | int | float) -> int | float:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


class _Dumper(yaml.SafeDumper):
    """Writes a value used twice in full each time (a version file is read by people, and has no anchors)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _dump(key: str, value: Any, comment: str = "") -> str:
    text = yaml.dump({key: value}, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110,
                     default_flow_style=False)
    lines = "".join(f"# {c}\n" if c else "#\n" for c in comment.split("\n")) if comment else ""
    return lines + text


# --- indication branches ----------------------------------------------------------------------------


class Indications:
    """The document's indications (Section I's names), and every other section's name for each."""

    def __init__(self, document: PolicyDocument) -> None:
        labels = [a.indication for a in document.authorizations if a.indication is not None]
        if not labels and len(document.dose_rows) > 1:
            labels = [r.indication for r in document.dose_rows]
        self.labels = labels
        self.slugs = _unique([slug(label) for label in labels])
        self.names: dict[str, list[str]] = {s: [label] for s, label in zip(self.slugs, labels, strict=True)}
        others = [u.indication for u in document.unit_limits if u.indication is not None]
        if len(document.dose_rows) > 1:
            others.extend(r.indication for r in document.dose_rows)
        for name in dict.fromkeys(others):
            target = self.closest(name)
            if target is not None and name not in self.names[target]:
                self.names[target].append(name)

    @property
    def multiple(self) -> bool:
        return len(self.labels) > 1

    def closest(self, name: str) -> str | None:
        words = set(normal_name(name).split())
        best, score = None, 0.0
        for s, label in zip(self.slugs, self.labels, strict=True):
            other = set(normal_name(label).split())
            jaccard = len(words & other) / len(words | other) if words | other else 0.0
            if jaccard > score:
                best, score = s, jaccard
        return best

    def of(self, name: str | None) -> str | None:
        if name is None or not self.multiple:
            return None
        for s, names in self.names.items():
            if any(normal_name(n) == normal_name(name) for n in names):
                return s
        return self.closest(name)


def _unique(items: list[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        candidate, n = item, 2
        while candidate in out:
            candidate, n = f"{item}_{n}", n + 1
        out.append(candidate)
    return out


# --- the draft ---------------------------------------------------------------------------------------


def draft_policy(document: PolicyDocument, policy_id: str, made_on: dt.date | None = None) -> str:
    """The YAML text of a draft version file for `document`, with id `policy_id`."""
    h = document.header
    indications = Indications(document)
    parts = [
        f"# Draft of {h.title}: the policy as data, the version in force from {h.date_approved.isoformat()}.\n"
        f"#\n# Made by `priorauth policy draft` from {document.name} on {(made_on or dt.date.today()).isoformat()}.\n"
        "# Sections I, II, V, VI, VII, VIII and both appendices are filled from the document, each item\n"
        "# citing its section. The criteria are a skeleton: each line of Sections III and IV is a `todo`\n"
        "# criterion (always unknown, so this draft pends rather than decides) to be written as a rule in\n"
        "# our own words, with the questions it reads. Every `TODO` is listed by `priorauth policy diff`.\n\n",
        _dump("id", policy_id),
        _dump("effective", h.date_approved.isoformat()),
        _dump("title", h.title),
        _dump("drug", h.drug),
        _dump("route", h.route),
        _dump("note", f"Draft made from {document.name} (document {h.document_number}, approved "
                      f"{h.date_approved.isoformat()})."),
        _dump("decided_on", "request_date", "The date a request is decided on: it picks the version in force."),
        "\n",
        _dump("metadata", {
            "document_number": h.document_number, "date_approved": h.date_approved.isoformat(),
            "date_of_origin": h.date_of_origin.isoformat(), "dates_reviewed": list(h.dates_reviewed),
            "source": document.name,
        }),
        "\n",
        _dump("questions", _questions(document, indications), "--- fact vocabulary: the questions a request answers"),
        "\n",
        *_authorization(document, indications),
        "\n",
        _dump("scope", {
            "section": "Appendix 2", "fact": "line_of_business", "not_governed": ["medicare"],
            "text": "The document is for non-Medicare coverage determinations (Appendix 2); Medicare Part B "
                    "requests are decided by the member's Medicare Administrative Contractor.",
        }, "--- Appendix 2: which requests this policy governs"),
        "\n",
        _dump("criteria", _criteria(document, indications),
              "--- Sections III and IV: the skeleton of the criteria (the document's lines as `todo`)"),
        "\n",
    ]
    dosing = _dosing(document, indications)
    if dosing is not None:
        parts += [_dump("dosing", dosing, "--- Section V: dosing (docs/dosing.md)"), "\n"]
    parts += [
        _dump("billing", _billing(document), "--- Section VI: billing"),
        "\n",
        _dump("references", [{"id": r.id, "section": r.section, "text": r.text} for r in document.references],
              "--- Sections VII and VIII: references"),
        "\n",
        _dump("code_lists", {"appendix_1": {"section": "Appendix 1", "system": "icd-10-cm",
                                            "codes": {c.code: c.description for c in document.codes}}},
              "--- Appendix 1: covered diagnosis codes"),
        "\n",
        _dump("mac_jurisdictions", _jurisdictions(document), "--- Appendix 2: Medicare Part B contractors"),
        "\n",
        source_document_yaml(document, indications),
    ]
    return "".join(parts)


def source_document_yaml(document: PolicyDocument, indications: Indications | None = None) -> str:
    """The `source_document` block of a version made from `document`."""
    block: dict[str, Any] = {
        "file": document.name,
        "sha256": document.sha256,
        "date_approved": document.header.date_approved.isoformat(),
        "criteria_text": {s: document.criteria_text(s) for s in ("III", "IV")},
        "notes_text": document.notes_text(),
    }
    if indications is not None and indications.multiple:
        block["indications"] = [{"names": indications.names[s], "when": {"indication": [s]}}
                                for s in indications.slugs]
    return _dump("source_document", block, (
        "--- The source document ----------------------------------------------------------------\n"
        "The document this version was made from (the SHA-256 of its canonical text, see\n"
        "docs/policies.md), its Sections III and IV as it words them, line by line, and its other\n"
        "prose: the criteria above are in our words and the prose is in no item, so `priorauth policy\n"
        "diff` compares a document's criteria and prose with these lines."))


def _questions(document: PolicyDocument, indications: Indications) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"id": "request_type", "type": "choice", "values": ["initial", "renewal"],
         "text": "Is this an initial request or a renewal of an existing authorization?"},
        {"id": "request_date", "type": "date", "text": "On what date is the request decided?"},
    ]
    if indications.multiple:
        out.append({"id": "indication", "type": "choice", "values": list(indications.slugs),
                    "text": "TODO: which of the document's indications the request is for; replace with the facts "
                            "that tell them apart (Sections I, II and V name them: "
                            + "; ".join(indications.labels) + ")."})
    if any(a.course_months is not None for a in document.authorizations):
        out.append({"id": "first_authorization_date", "type": "date",
                    "text": "Renewal: on what date did the patient's first authorization under this policy start?"})
        out.append({"id": "cycles_received", "type": "integer", "minimum": 0,
                    "text": "Renewal: how many treatment cycles have already been given?"})
    out += [
        {"id": "line_of_business", "type": "choice", "values": ["commercial", "medicaid", "medicare"],
         "default": "commercial", "text": "Under which line of business is the member covered?"},
        {"id": "member_state", "type": "state",
         "text": "In which US state or territory does the member live (two-letter code)?"},
        {"id": "member_county", "type": "string", "text": "In which county or independent city does the member live?"},
    ]
    return out


# --- Sections I and II ----------------------------------------------------------------------------------


def _authorization(document: PolicyDocument, indications: Indications) -> list[str]:
    auths = document.authorizations
    simple = (len(auths) == 1 and auths[0].renewal_months is None and len(document.unit_limits) == 1
              and not indications.multiple)
    if simple:
        a, u = auths[0], document.unit_limits[0]
        parameters = {
            "authorization_months": {"section": "I", "text": "An approval covers this many calendar months.",
                                     "value": a.months},
            "max_cycles": {"section": "I", "text": "An approval covers at most this many treatment cycles.",
                           "value": a.cycles},
            "renewable": {"section": "I", "text": "Whether an approval may be renewed.", "value": a.renewable},
            "max_units": {"section": "II", "text": "Billable HCPCS units allowed in any window of unit_window_days.",
                          "value": u.units},
            "unit_window_days": {"section": "II", "text": "Length in days of the unit limit's window.",
                                 "value": u.window_days},
        }
        return [_dump("parameters", parameters, "--- Sections I and II: the limits of this version")]
    terms: list[dict[str, Any]] = []
    for a in auths:
        branch = indications.of(a.indication)
        limits = [u for u in document.unit_limits if indications.of(u.indication) == branch]
        base: dict[str, Any] = {}
        name = a.indication or document.header.drug
        condition: dict[str, Any] = {"indication": [branch]} if branch else {}
        renewal = a.renewal_months is not None
        for k, limit in enumerate(limits or [None]):
            is_renewal = renewal and k > 0
            entry = dict(base)
            entry["id"] = f"{branch or 'all'}_{'renewal' if is_renewal else 'initial'}" + (f"_{k}" if k > 1 else "")
            entry["section"] = "I"
            entry["text"] = f"{'Renewal' if is_renewal else 'Approval'}: {name}."
            when = dict(condition)
            if renewal:
                when["request_type"] = ["renewal" if is_renewal else "initial"]
            if when:
                entry["when"] = when
            if limit is not None and limit.first_cycle is not None:
                entry["cycles"] = {"from": limit.first_cycle, **({"to": limit.last_cycle} if limit.last_cycle else {})}
            if is_renewal:
                entry.update(months=a.renewal_months, max_cycles=a.renewal_cycles)
            else:
                entry.update(months=a.months, max_cycles=a.cycles)
            entry.update(max_units=limit.units if limit else 0, unit_window_days=limit.window_days if limit else 1,
                         renewable=a.renewable)
            if is_renewal and a.course_months is not None:
                entry["course"] = {"start": "first_authorization_date", "months": a.course_months,
                                   "cycles": a.total_cycles or a.cycles, "given": "cycles_received"}
            terms.append(entry)
    return [_dump("authorizations", terms, "--- Sections I and II: the terms of an approval, by indication"),
            "\n", _dump("parameters", {}, "Plain values of this version (none: the terms above hold them).")]


# --- Sections III and IV -------------------------------------------------------------------------------


def _criteria(document: PolicyDocument, indications: Indications) -> dict[str, Any]:
    counter = {"n": 0}

    def new_id(section: str) -> str:
        counter["n"] += 1
        return f"{section.lower()}_{counter['n']}"

    initial = _section_tree("III", [c for c in document.criteria if c.section == "III"], new_id)
    renewal = _section_tree("IV", [c for c in document.criteria if c.section == "IV"], new_id)
    return {
        "id": "coverage", "section": "III",
        "text": "The request meets the initial criteria (Section III) or the renewal criteria (Section IV).",
        "any": [
            {"id": "initial_request", "section": "III", "text": "An initial request meets Section III.",
             "all": [{"id": "is_initial", "guard": True, "section": "III", "text": "The request is an initial request.",
                      "equals": {"request_type": "initial"}}, initial]},
            {"id": "renewal_request", "section": "IV", "text": "A renewal request meets Section IV.",
             "all": [{"id": "is_renewal", "guard": True, "section": "IV", "text": "The request is a renewal.",
                      "equals": {"request_type": "renewal"}}, renewal]},
        ],
    }


def _is_bullet(line: CriteriaLine) -> bool:
    return line.text.lstrip().startswith(("- ", "• "))


def _section_tree(section: str, lines: list[CriteriaLine], new_id: Any) -> dict[str, Any]:
    bullets = [line for line in lines if _is_bullet(line)]
    if not bullets:  # a section of sentences: each is a criterion
        leaves = [_todo(section, line.text, new_id) for line in lines]
        return _join(section, [(leaf, "AND") for leaf in leaves], new_id, "The document's lines, all met.")
    universal: list[CriteriaLine] = []
    blocks: list[tuple[str, list[CriteriaLine]]] = []
    for i, line in enumerate(lines):
        if _is_bullet(line) or line.text.startswith("Note:"):
            (blocks[-1][1] if blocks else universal).append(line)
        elif i + 1 < len(lines) and _is_bullet(lines[i + 1]) and not line.text.rstrip().endswith((".", ":")):
            blocks.append((line.text, []))
    parts = []
    if universal:
        parts.append(_block(section, "The requirements of every indication.", universal, new_id))
    if blocks:
        branches = [_block(section, MARKERS.sub("", title).strip(), body, new_id) for title, body in blocks if body]
        parts.append(branches[0] if len(branches) == 1 else {
            "id": new_id(section), "section": section, "text": "One of the document's indications.", "any": branches})
    return parts[0] if len(parts) == 1 else {"id": new_id(section), "section": section,
                                             "text": f"The criteria of Section {section}.", "all": parts}


def _todo(section: str, text: str, new_id: Any) -> dict[str, Any]:
    wording = CONNECTOR.sub("", text.strip().removeprefix("- ").removeprefix("• ")).strip()
    wording = " ".join(re.sub(r"\^\{[^}]*\}", "", wording).split())  # citations of Sections VII, VIII
    return {"id": new_id(section), "section": section, "text": wording, "todo": wording}


def _block(section: str, title: str, lines: list[CriteriaLine], new_id: Any) -> dict[str, Any]:
    """A block of bullets joined as written: AND binds before OR, a nested bullet belongs to the one above."""
    items: list[tuple[dict[str, Any], str]] = []
    stack: list[tuple[int, list[tuple[dict[str, Any], str]]]] = [(-1, items)]
    for line in lines:
        depth = len(line.text) - len(line.text.lstrip())
        match = CONNECTOR.search(line.text)
        connector = match.group(1) if match else "AND"
        leaf = _todo(section, line.text, new_id)
        while stack[-1][0] >= depth:
            stack.pop()
        stack[-1][1].append((leaf, connector))
        children: list[tuple[dict[str, Any], str]] = []
        leaf["_children"] = children
        stack.append((depth, children))
    node = _join(section, [(_fold(section, n, new_id), c) for n, c in items], new_id, title)
    node["reading"] = ("TODO: the AND/OR of the document's lines were read with AND binding before OR and a "
                       "nested line joined to the line above; check the grouping against the document.")
    return node


def _fold(section: str, leaf: dict[str, Any], new_id: Any) -> dict[str, Any]:
    children = leaf.pop("_children")
    if not children:
        return leaf
    inner = _join(section, [(_fold(section, n, new_id), c) for n, c in children], new_id, leaf["text"])
    return {"id": new_id(section), "section": section, "text": leaf["text"], "all": [leaf, inner]}


def _join(section: str, items: list[tuple[dict[str, Any], str]], new_id: Any, text: str) -> dict[str, Any]:
    groups: list[list[dict[str, Any]]] = [[]]
    for node, connector in items:
        groups[-1].append(node)
        if connector == "OR":
            groups.append([])
    groups = [g for g in groups if g]
    alternatives = [g[0] if len(g) == 1 else {"id": new_id(section), "section": section,
                                              "text": "All of: " + "; ".join(n["text"] for n in g)[:160], "all": g}
                    for g in groups]
    if len(alternatives) == 1 and "all" in alternatives[0] and alternatives[0]["text"].startswith("All of"):
        alternatives[0]["text"] = text
        return alternatives[0]
    if len(alternatives) == 1:
        return {"id": new_id(section), "section": section, "text": text, "all": alternatives}
    return {"id": new_id(section), "section": section, "text": text, "any": alternatives}


# --- Section V --------------------------------------------------------------------------------------------


def _dosing(document: PolicyDocument, indications: Indications) -> dict[str, Any] | None:
    rows = document.dose_rows
    if not rows:
        return None
    doses = [d for r in rows for d in r.doses]
    per_m2 = any(d.basis == "per_m2" for d in doses)
    banded = any(d.band is not None for d in doses)
    inputs: dict[str, Any] = {}
    if per_m2 or banded or any(d.basis == "per_kg" for d in doses):
        inputs["weight_kg"] = {"type": "number", "unit": "kg", "min": 2, "max": 350, "text": "Weight in kg.",
                               "reading": "Not in the document: the project's plausible range."}
    if per_m2:
        inputs["height_cm"] = {"type": "number", "unit": "cm", "min": 40, "max": 250,
                               "text": "Height in cm, for the BSA."}
        inputs["bsa_m2"] = {"type": "number", "unit": "m2", "min": 0.1, "max": 5,
                            "text": "The BSA itself, instead of height and weight."}
    inputs["cycle"] = {"type": "integer", "min": 1, "max": 100, "text": "The cycle the doses are for (1 = first)."}
    schedules: list[dict[str, Any]] = []
    stop_rules: list[dict[str, Any]] = []
    branch_values: list[str] = []
    for row in rows:
        condition = {"indication": [indications.of(row.indication) or ""]} if indications.multiple else {}
        schedules.extend(_schedules(row, condition, branch_values))
        stop_rules.extend(_stop_rules(row, condition, inputs))
    if branch_values:
        inputs["dose_branch"] = {"type": "choice", "values": branch_values,
                                 "text": "TODO: which of Section V's branches a cycle follows (the document's words: "
                                         + "; ".join(branch_values) + "); replace with the dose inputs or facts "
                                                                      "that say it."}
    block: dict[str, Any] = {"section": "V", "indication": "; ".join(r.indication for r in rows), "inputs": inputs}
    if per_m2:
        block["bsa"] = {"section": "V", "default_method": "mosteller", "decimals": 2,
                        "reading": "TODO: the document doses per m2 but does not say how BSA is found; "
                                   "Mosteller rounded to 2 decimals is assumed."}
    block["schedules"] = schedules
    if stop_rules:
        block["stop_rules"] = stop_rules
    return block


def _segments(row: DoseRow) -> list[tuple[int, int | None]]:
    cuts = {1}
    for first, last in [(d.first_cycle, d.last_cycle) for d in row.doses] + \
                       [(x.first_cycle, x.last_cycle) for x in row.lengths]:
        cuts.add(first)
        if last is not None:
            cuts.add(last + 1)
    ordered = sorted(cuts)
    finite_end = max([x for d in row.doses for x in (d.last_cycle,) if x is not None] + [0])
    open_end = any(d.last_cycle is None for d in row.doses)
    out: list[tuple[int, int | None]] = []
    for i, start in enumerate(ordered):
        end = ordered[i + 1] - 1 if i + 1 < len(ordered) else None
        if end is None and not open_end and start > finite_end:
            break
        out.append((start, end))
    return out


def _covers(first: int, last: int | None, start: int, end: int | None) -> bool:
    return first <= start and (last is None or (end is not None and end <= last))


def _schedules(row: DoseRow, condition: dict[str, Any], branch_values: list[str]) -> list[dict[str, Any]]:
    out = []
    for start, end in _segments(row):
        doses = [d for d in row.doses if _covers(d.first_cycle, d.last_cycle, start, end)]
        if not doses:
            continue
        lengths = [x for x in row.lengths if _covers(x.first_cycle, x.last_cycle, start, end)]
        branches: list[str | None] = list(dict.fromkeys(d.branch for d in doses if d.branch is not None))
        for branch in branches or [None]:
            chosen = [d for d in doses if d.branch is None or d.branch == branch]
            when = dict(condition)
            if branch is not None:
                value = slug(branch, 6)
                if value not in branch_values:
                    branch_values.append(value)
                when["dose_branch"] = [value]
            cycles = {"from": start, **({"to": end} if end is not None else {})}
            text = f"{row.indication}, " + (f"cycle {start}" if start == end else
                                             f"cycles {start}-{end}" if end else f"cycles {start} on")
            schedule: dict[str, Any] = {
                "id": slug(f"{row.indication} {start} {branch or ''}", 8) or f"cycles_{start}",
                "section": "V", "text": text + (f", {branch}" if branch else ""), "cycles": cycles,
            }
            if when:
                schedule["when"] = when
            length = lengths[0] if lengths else None
            schedule["length_days"] = length.days if length else max(max(d.days) for d in chosen)
            if length is not None and length.extended_days:
                schedule["extended_length_days"] = length.extended_days
                schedule["extension_when"] = "TODO: when the document allows the longer cycle (Section V)."
            schedule["doses"] = [_dose_line(d) for d in chosen]
            out.append(schedule)
    ids: dict[str, int] = {}
    for schedule in out:
        n = ids[schedule["id"]] = ids.get(schedule["id"], 0) + 1
        if n > 1:
            schedule["id"] += f"_{n}"
    return out


def _dose_line(d: Dose) -> dict[str, Any]:
    days: Any = {"from": d.days[0], "to": d.days[-1]} if len(d.days) > 2 and \
        list(d.days) == list(range(d.days[0], d.days[-1] + 1)) else list(d.days)
    line: dict[str, Any] = {"days": days, "amount": _number(d.amount), "unit": d.unit, "basis": d.basis}
    if d.cap is not None:
        line["max_per_day"] = _number(d.cap)
    if d.band is not None:
        band = {}
        if d.band.at_least is not None:
            band["at_least"] = _number(d.band.at_least)
        if d.band.below is not None:
            band["below"] = _number(d.band.below)
        line["weight_kg"] = band
    return line


def _stop_rules(row: DoseRow, condition: dict[str, Any], inputs: dict[str, Any]) -> list[dict[str, Any]]:
    counts: dict[str, list[int]] = {}
    labels: dict[str, str] = {}
    for c in row.counts:
        counts.setdefault(c.kind, []).append(c.cycles)
        labels.setdefault(c.kind, c.branch or "")
    out = []
    base = slug(row.indication, 3) if condition else "cycles"

    def rule(kind: str, text: str, **fields: Any) -> dict[str, Any]:
        entry: dict[str, Any] = {"id": f"{base}_{kind}", "section": "V", "text": text}
        if condition:
            entry["when"] = condition
        entry.update(fields)
        return entry

    def requirement(kind: str, text: str) -> dict[str, Any]:
        name = f"{base}_{kind}_met"
        inputs[name] = {"type": "boolean", "text": f"TODO: {text} (Section V); replace with the inputs that say it."}
        return {name: [True]}

    for n in counts.get("at_most", []):
        out.append(rule(f"at_most_{n}", f"At most {n} cycles ({labels['at_most'] or row.indication}).",
                        max_cycles=n))
    for n in counts.get("within", []):
        out.append(rule("within", f"A cycle after the {n}th only when the response the document asks for is reached.",
                        from_cycle=n + 1, requires=requirement("within", f"the response is reached within {n} cycles")))
    if "recommended" in counts:
        n = counts["recommended"][0]
        further = counts.get("considered", [n + 1])[0]
        out.append(rule("recommended", f"{n} cycles recommended; cycle {further} may be considered "
                                       f"({labels['recommended']}).",
                        max_cycles=further, from_cycle=n + 1,
                        requires=requirement("further_cycle", f"a cycle after the {n}th may be considered")))
    return out


# --- Section VI and Appendix 2 ----------------------------------------------------------------------------


def _billing(document: PolicyDocument) -> dict[str, Any]:
    b = document.billing
    mg = {"mg": Decimal(1), "mcg": Decimal("0.001")}
    return {
        "section": "VI",
        "hcpcs": {"code": b.hcpcs, "description": b.description, "amount_per_unit": _number(b.unit_amount),
                  "amount_unit": b.unit},
        "ndc": [{"pattern": n.pattern, "labeler": n.labeler_product.split("-")[0],
                 "product": n.labeler_product.split("-")[1], "description": n.description,
                 "vial_amount": _number(n.vial_amount * mg[n.vial_unit] / mg[b.unit]), "single_dose": n.single_dose}
                for n in b.ndcs],
        "modifiers": {"reading": "Not in the document: CMS single-dose container rules. Discarded drug is reported "
                                 "as whole units with JW; JZ when no whole unit is discarded.",
                      "discarded": "JW", "none_discarded": "JZ"},
    }


def _jurisdictions(document: PolicyDocument) -> dict[str, Any]:
    rows = []
    owner = {state: row.jurisdiction for row in document.jurisdictions for state in row.counties}
    for row in document.jurisdictions:
        entry: dict[str, Any] = {"jurisdiction": row.jurisdiction}
        if row.legacy:
            entry["legacy"] = list(row.legacy)
        entry.update(contractor=row.contractor, states=list(row.states))
        if row.counties:
            entry["counties"] = {state: list(places) for state, places in row.counties.items()}
        excluded = [s for s in row.excluding if s in owner]
        if excluded:
            entry["reading"] = "; ".join(f"{s} except the places listed under jurisdiction {owner[s]}"
                                         for s in excluded) + "."
        rows.append(entry)
    return {"section": "Appendix 2", "text": "Medicare Part B Administrative Contractor (MAC) jurisdictions.",
            "state_fact": "member_state", "county_fact": "member_county", "jurisdictions": rows}
