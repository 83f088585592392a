"""Every kind of edit a plan makes to its document, made to the real documents one at a time: each
is reported exactly once, in its section, by `policy diff` against the bundled version file."""

from __future__ import annotations

import re

import pytest

from .helpers import (
    Mutation,
    diff,
    insert_line,
    number_mutations,
    replace_line,
    sections,
    text_of,
)

POLICIES = ("besponsa", "blincyto")


def _lines(policy: str) -> list[tuple[int, str, str]]:
    text = text_of(policy)
    return [(i, line, section) for i, (line, section) in enumerate(zip(text.split("\n"), sections(text), strict=True))]


def code_mutations(policy: str) -> list[Mutation]:
    text = text_of(policy)
    rows = [(i, line) for i, line, section in _lines(policy)
            if section == "Appendix 1" and re.match(r"^[A-Z]\d\d\.\d+\t", line)]
    out = [Mutation(f"{policy}-code-added", "Appendix 1",
                    insert_line(text, rows[-1][0] + 1, "C83.70\tBurkitt lymphoma, unspecified site"))]
    for i, line in rows:
        out.append(Mutation(f"{policy}-code-removed-{line.split()[0]}", "Appendix 1", replace_line(text, i, None)))
    i, line = rows[-1]
    out.append(Mutation(f"{policy}-code-changed", "Appendix 1", replace_line(text, i, line.replace(".02\t", ".03\t"))))
    out.append(Mutation(f"{policy}-code-description", "Appendix 1",
                        replace_line(text, i, line + " (relapsed)")))
    return out


def state_mutations(policy: str) -> list[Mutation]:
    """Each state or territory moved to the next row of the MAC table."""
    text = text_of(policy)
    rows = [(i, line) for i, line, section in _lines(policy)
            if section == "Appendix 2" and line.count("\t") == 2 and re.match(r"^([A-Z]|\d+)( \(|\t)", line)]
    out = []
    for n, (i, line) in enumerate(rows):
        states_cell = line.split("\t")[1]
        tokens = re.sub(r"\s*\(includes .*\)$", "", states_cell).split(", ")
        j, target = rows[(n + 1) % len(rows)]
        for token in tokens:
            if len(tokens) == 1:
                continue
            kept = ", ".join(t for t in tokens if t != token)
            moved = replace_line(text, i, line.replace(states_cell, states_cell.replace(", ".join(tokens), kept)))
            cells = target.split("\t")
            cells[1] = re.sub(r"^([^(]*?)(\s*\(includes .*\))?$", lambda m, t=token: f"{m.group(1)}, {t}"
                              + (m.group(2) or ""), cells[1])
            moved = replace_line(moved, j, "\t".join(cells))
            out.append(Mutation(f"{policy}-state-{token.split()[0]}-moved", "Appendix 2", moved))
    return out


def county_mutations(policy: str) -> list[Mutation]:
    text = text_of(policy)
    split = "(includes Arlington & Fairfax counties and the city of Alexandria in VA)"
    assert split in text
    return [
        Mutation(f"{policy}-county-added", "Appendix 2",
                 text.replace(split, "(includes Arlington, Fairfax & Loudoun counties and the city of Alexandria "
                                     "in VA)")),
        Mutation(f"{policy}-county-removed", "Appendix 2",
                 text.replace(split, "(includes Arlington county and the city of Alexandria in VA)")),
        Mutation(f"{policy}-city-changed", "Appendix 2",
                 text.replace(split, "(includes Arlington & Fairfax counties and the city of Falls Church in VA)")),
    ]


def header_mutations(policy: str) -> list[Mutation]:
    text = text_of(policy)
    approved = re.search(r"Date Approved: (\d\d)/(\d\d)/(\d{4})", text)
    origin = re.search(r"Date of Origin: (\d\d/\d\d/\d{4})", text)
    reviewed = re.search(r"Dates Reviewed: (.*)", text)
    number = re.search(r"Document Number: (.*)", text)
    assert approved and origin and reviewed and number
    day = int(approved.group(2))
    return [
        Mutation(f"{policy}-date-approved", "header", text.replace(
            approved.group(0), f"Date Approved: {approved.group(1)}/{day + 1:02d}/{approved.group(3)}")),
        Mutation(f"{policy}-date-of-origin", "header", text.replace(origin.group(0), "Date of Origin: 01/01/2018")),
        Mutation(f"{policy}-review-added", "header", text.replace(reviewed.group(0), reviewed.group(0) + ", 12/2026")),
        Mutation(f"{policy}-review-changed", "header", text.replace(
            reviewed.group(0), reviewed.group(0).replace(reviewed.group(1)[:7], "02/2018", 1))),
        Mutation(f"{policy}-document-number", "header", text.replace(number.group(1), number.group(1) + "-A")),
    ]


def reference_mutations(policy: str) -> list[Mutation]:
    text = text_of(policy)
    lines = _lines(policy)
    last_vii = max(i for i, line, s in lines if s == "VII" and line.strip())
    last_viii = max(i for i, line, s in lines if s == "VIII" and line.strip())
    count_vii = sum(1 for _, line, s in lines if s == "VII" and line.strip())
    count_viii = sum(1 for _, line, s in lines if s == "VIII" and line.strip())
    new_vii = f"{count_vii + 1}. Doe J, Roe R. A newly cited trial. N Engl J Med. 2026;394(1):1-10."
    new_viii = f"- {count_viii + 1}e. Doe J. A newly cited enhanced review. Blood. 2026;147:1-9."
    first_vii = min(i for i, line, s in lines if s == "VII" and line.strip())
    first_line = text.split("\n")[first_vii]
    year = re.search(r"(19|20)\d\d", first_line)
    assert year
    return [
        Mutation(f"{policy}-reference-added-VII", "VII", insert_line(text, last_vii + 1, new_vii)),
        Mutation(f"{policy}-reference-added-VIII", "VIII", insert_line(text, last_viii + 1, new_viii)),
        Mutation(f"{policy}-reference-removed-VIII", "VIII", replace_line(text, last_viii, None)),
        Mutation(f"{policy}-reference-year", "VII", replace_line(
            text, first_vii, first_line.replace(year.group(0), "1999", 1))),
    ]


def criteria_mutations(policy: str) -> list[Mutation]:
    text = text_of(policy)
    lines = _lines(policy)
    bullet_iii = next(i for i, line, s in lines if s == "III" and line.startswith("- "))
    iv = [(i, line) for i, line, s in lines if s == "IV" and line.strip()]
    added = "- Patient has an adequate performance status (ECOG 0 to 2); **AND**"
    first_iii = text.split("\n")[bullet_iii]
    return [
        Mutation(f"{policy}-bullet-added-III", "III", insert_line(text, bullet_iii + 1, added)),
        Mutation(f"{policy}-bullet-added-IV", "IV", insert_line(text, iv[-1][0] + 1, "")
                 .replace(iv[-1][1] + "\n", iv[-1][1] + "\n\n- Patient has no disease progression\n", 1)),
        Mutation(f"{policy}-bullet-removed-III", "III", replace_line(text, bullet_iii, None)),
        Mutation(f"{policy}-bullet-reworded-III", "III", replace_line(
            text, bullet_iii, first_iii.replace("Patient", "The patient", 1))),
        Mutation(f"{policy}-and-becomes-or-III", "III", replace_line(
            text, bullet_iii, first_iii.replace("**AND**", "**OR**"))),
    ]


def billing_mutations(policy: str) -> list[Mutation]:
    text = text_of(policy)
    code = re.search(r"- (J\d{4}) –", text)
    assert code
    return [
        Mutation(f"{policy}-hcpcs-changed", "VI", text.replace(code.group(1), code.group(1)[:-1] + "8", 1)),
        Mutation(f"{policy}-ndc-added", "VI", text.replace(
            "\nVII. References",
            "\n- Another 10 mg/mL vial in a single-dose vial: 12345-6789-xx\n\nVII. References", 1)),
    ]


def appendix_2_mutations(policy: str) -> list[Mutation]:
    text = text_of(policy)
    return [
        Mutation(f"{policy}-contractor", "Appendix 2", text.replace("\tPalmetto GBA\n", "\tPalmetto GBA, LLC\n", 1)),
        Mutation(f"{policy}-medicare-codes", "Appendix 2", text.replace(
            "(applicable to existing NCD/LCA/LCD): N/A", "(applicable to existing NCD/LCA/LCD): C91.00, C91.02")),
        Mutation(f"{policy}-prose", "Appendix 2", text.replace("Chapter 15, §50", "Chapter 15, §60")),
    ]


MUTATIONS = [
    m
    for policy in POLICIES
    for kind in (number_mutations, code_mutations, state_mutations, county_mutations, header_mutations,
                 reference_mutations, criteria_mutations, billing_mutations, appendix_2_mutations)
    for m in kind(policy)
]


def test_the_originals_agree_with_their_bundled_files():
    for policy in POLICIES:
        result = diff(text_of(policy), policy)
        assert result.disagreements == [], policy
        assert result.source.recorded and result.source.same
        assert result.checked > 150


def test_every_kind_of_edit_is_generated_for_both_documents():
    kinds = ("-line", "-code-added", "-code-removed", "-code-changed", "-state-", "-county-added", "-county-removed",
             "-city-changed", "-date-approved", "-date-of-origin", "-review-", "-reference-added-VII",
             "-reference-added-VIII", "-bullet-added-III", "-bullet-added-IV", "-bullet-reworded", "-hcpcs-changed",
             "-ndc-added", "-contractor")
    for policy in POLICIES:
        ids = [m.id for m in MUTATIONS if m.id.startswith(policy + "-")]
        assert all(any(kind in i for i in ids) for kind in kinds), policy
        assert {m.section for m in MUTATIONS if m.id.startswith(policy + "-line")} == {"I", "II", "V", "VI"}
    assert len([m for m in MUTATIONS if "-line" in m.id]) > 150


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.id for m in MUTATIONS])
def test_each_edit_is_reported_exactly_once_in_its_section(mutation: Mutation):
    policy = mutation.id.split("-", 1)[0]
    result = diff(mutation.text, policy, name="revised.txt")
    found = [(d.section, d.item, d.document, d.file) for d in result.disagreements]
    assert len(result.disagreements) == 1, found
    assert result.disagreements[0].section == mutation.section, found
    assert not result.source.same  # and it says this is not the document the version was made from


@pytest.mark.parametrize("policy", POLICIES)
def test_a_relabelled_block_of_cycles_is_reported_in_section_v(policy: str):
    mutations = number_mutations(policy, selectors=True)
    assert mutations
    for mutation in mutations:
        result = diff(mutation.text, policy)
        assert result.disagreements, mutation.id
        assert {d.section for d in result.disagreements} == {"V"}, mutation.id


def test_a_changed_dose_names_the_cycles_days_and_both_values():
    text = text_of("blincyto").replace("cycles 2 to 9, 28 mcg/day on days 1-28",
                                       "cycles 2 to 9, 30 mcg/day on days 1-28")
    (d,) = diff(text, "blincyto").disagreements
    assert d.section == "V" and d.kind == "differs"
    assert "cycles 2-9, days 1-28" in d.item and d.document == "30 mcg" and d.file == "28 mcg"
    assert d.where == "line 95"


def test_a_moved_state_names_both_jurisdictions():
    text = text_of("besponsa").replace("TN, GA, AL", "TN, GA").replace("NY, CT, MA", "NY, CT, MA, AL")
    (d,) = diff(text, "besponsa").disagreements
    assert (d.section, d.item, d.document, d.file) == ("Appendix 2", "state AL", "jurisdiction K", "jurisdiction J")
