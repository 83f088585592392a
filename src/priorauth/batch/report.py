"""The impact report as one self-contained HTML page: a decision-flow diagram, per-criterion bars, tables.

No script and no external file: the charts are inline SVG, so the page can be mailed to
a policy committee or archived with the draft it judges.
"""

from __future__ import annotations

from html import escape
from typing import Any

from priorauth.batch.impact import DECISIONS, ImpactReport, Move

COLOURS = {"approved": "#2e7d32", "denied": "#c62828", "pended": "#f9a825", "not_applicable": "#1565c0"}
LABELS = {"approved": "approved", "denied": "denied", "pended": "pended", "not_applicable": "not applicable"}

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #222; line-height: 1.4; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.05rem; margin-bottom: .3rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.diag { background: #f3f3f3; color: #777; }
.key { display: flex; gap: 2rem; flex-wrap: wrap; margin: 1rem 0; }
.key div { background: #f6f6f6; padding: .5rem 1rem; border-radius: .3rem; }
.key b { display: block; font-size: 1.4rem; }
code { font-size: .85rem; } .muted { color: #666; }
"""


def _n(value: int) -> str:
    return f"{value:,}"


def render_html(report: ImpactReport) -> str:
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Impact: {escape(report.policy)} {escape(report.before)} to {escape(report.after)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Impact of policy <code>{escape(report.policy)}</code>: version {escape(report.before)} "
        f"→ {escape(report.after)}</h1>",
        f'<p class="muted">Version now: {escape(report.before)} (digest <code>{escape(report.before_digest[:16])}'
        f"</code>). Version proposed: {escape(report.after)} (digest <code>{escape(report.after_digest[:16])}</code>,"
        f" {escape(report.after_source)}). Every request was decided under both versions, whatever its date.</p>",
        '<div class="key">',
        f"<div><b>{_n(report.requests)}</b>requests decided under both</div>",
        f"<div><b>{_n(report.moved)}</b>change decision</div>",
        f"<div><b>{_n(report.authorization_changed)}</b>approvals with another period end</div>",
        f"<div><b>{_n(report.refused)}</b>refused (bad input) under either</div>",
        "</div>",
    ]
    if report.other_policies:
        parts.append(f"<p class='muted'>{_n(report.other_policies)} requests of other policies were left out.</p>")
    parts += ["<h2>Decision flow</h2>", _flow(report), _matrix(report)]
    parts += ["<h2>What the new version changes</h2>", _changes(report)]
    parts.append("<h2>Why requests move</h2>")
    moves = [m for m in report.moves if m.before != m.after]
    if not moves:
        parts.append("<p>No request changes decision.</p>")
    for move in moves:
        parts.append(_move(move, report))
    if report.authorization_changed:
        parts.append("<h2>Approvals whose period ends on another date</h2>")
        parts.append(f"<p>{_n(report.authorization_changed)} requests are approved under both versions with a "
                     "different authorization end (see the parameters above).</p>")
        parts.append(_examples_table(report.authorization_examples, period=True))
    parts.append(f'<p class="muted">Decided in {report.seconds:.1f} s. Facts marked as protected health '
                 "information in the policy are masked (***).</p></body></html>")
    return "\n".join(parts)


def _flow(report: ImpactReport) -> str:
    """A decision-flow (Sankey) diagram: decisions now on the left, proposed on the right."""
    total = max(report.requests, 1)
    width, height, bar, gap = 760, 360, 18, 14
    left_x, right_x = 150, width - 150 - bar
    usable = height - gap * (len(DECISIONS) - 1)
    matrix = report.matrix()

    def column(totals: dict[str, int]) -> dict[str, tuple[float, float]]:
        y, out = 0.0, {}
        for d in DECISIONS:
            h = usable * totals.get(d, 0) / total
            out[d] = (y, h)
            y += h + gap
        return out

    befores = {d: sum(matrix[d].values()) for d in DECISIONS}
    afters = {d: sum(matrix[b][d] for b in DECISIONS) for d in DECISIONS}
    left, right = column(befores), column(afters)
    svg = [f'<svg viewBox="0 0 {width} {height + 10}" width="{width}" role="img" '
           'aria-label="Decision flow from the version now to the version proposed">']
    out_offset = {d: left[d][0] for d in DECISIONS}
    in_offset = {d: right[d][0] for d in DECISIONS}
    for b in DECISIONS:
        for a in DECISIONS:
            n = matrix[b][a]
            if not n:
                continue
            h = usable * n / total
            y0, y1 = out_offset[b], in_offset[a]
            out_offset[b] += h
            in_offset[a] += h
            x0, x1 = left_x + bar, right_x
            mid = (x0 + x1) / 2
            path = (f"M{x0},{y0:.1f} C{mid},{y0:.1f} {mid},{y1:.1f} {x1},{y1:.1f} "
                    f"L{x1},{y1 + h:.1f} C{mid},{y1 + h:.1f} {mid},{y0 + h:.1f} {x0},{y0 + h:.1f} Z")
            opacity = "0.25" if a == b else "0.6"
            svg.append(f'<path d="{path}" fill="{COLOURS[b]}" fill-opacity="{opacity}">'
                       f"<title>{LABELS[b]} → {LABELS[a]}: {_n(n)}</title></path>")
    for side, x, anchor, dx in ((left, left_x, "end", -6), (right, right_x, "start", bar + 6)):
        totals = befores if side is left else afters
        for d in DECISIONS:
            y, h = side[d]
            if totals[d] == 0:
                continue
            svg.append(f'<rect x="{x}" y="{y:.1f}" width="{bar}" height="{max(h, 1):.1f}" fill="{COLOURS[d]}"/>')
            svg.append(f'<text x="{x + dx}" y="{y + h / 2 + 4:.1f}" text-anchor="{anchor}" font-size="12">'
                       f"{LABELS[d]} {_n(totals[d])}</text>")
    svg.append(f'<text x="{left_x + bar / 2}" y="{height + 8}" text-anchor="middle" font-size="11" '
               f'fill="#666">now ({escape(report.before)})</text>')
    svg.append(f'<text x="{right_x + bar / 2}" y="{height + 8}" text-anchor="middle" font-size="11" '
               f'fill="#666">proposed ({escape(report.after)})</text>')
    svg.append("</svg>")
    return "\n".join(svg)


def _matrix(report: ImpactReport) -> str:
    matrix = report.matrix()
    rows = ["<table><tr><th>now ↓ / proposed →</th>"
            + "".join(f'<th class="n">{LABELS[a]}</th>' for a in DECISIONS) + '<th class="n">total</th></tr>']
    for b in DECISIONS:
        cells = "".join(
            f'<td class="n{" diag" if a == b else ""}">{_n(matrix[b][a])}</td>' for a in DECISIONS
        )
        rows.append(f"<tr><th>{LABELS[b]}</th>{cells}<td class='n'>{_n(sum(matrix[b].values()))}</td></tr>")
    rows.append("</table>")
    return "".join(rows)


def _changes(report: ImpactReport) -> str:
    out = []
    if report.parameters:
        out.append("<h3>Parameters</h3><table><tr><th>parameter</th><th>section</th><th>meaning</th>"
                   '<th class="n">now</th><th class="n">proposed</th></tr>')
        for p in report.parameters:
            out.append(f"<tr><td><code>{escape(p['parameter'])}</code></td><td>{escape(str(p['section']))}</td>"
                       f"<td>{escape(str(p['text']))}</td><td class='n'>{escape(str(p['before']))}</td>"
                       f"<td class='n'>{escape(str(p['after']))}</td></tr>")
        out.append("</table>")
    if report.criteria:
        out.append("<h3>Criteria</h3><table><tr><th>criterion</th><th>section</th><th>change</th>"
                   "<th>text</th></tr>")
        for c in report.criteria:
            out.append(f"<tr><td><code>{escape(c.criterion)}</code></td><td>{escape(c.section)}</td>"
                       f"<td>{escape(c.change)}: {escape(c.detail)}</td><td>{escape(c.text)}</td></tr>")
        out.append("</table>")
    if not out:
        out.append("<p>No parameter or criterion differs between the two versions.</p>")
    return "\n".join(out)


def _bars(causes: list[tuple[str, int]], total: int, colour: str) -> str:
    """Horizontal bars: requests of the move whose status of each criterion differs."""
    if not causes:
        return ""
    shown = causes[:15]
    row, label_w, bar_w = 22, 230, 420
    svg = [f'<svg viewBox="0 0 {label_w + bar_w + 90} {row * len(shown) + 6}" width="{label_w + bar_w + 90}" '
           'role="img" aria-label="Requests per criterion whose status differs">']
    for i, (criterion, n) in enumerate(shown):
        y = i * row + 3
        w = bar_w * n / max(total, 1)
        svg.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" font-size="12">{escape(criterion)}</text>')
        svg.append(f'<rect x="{label_w}" y="{y}" width="{max(w, 1):.1f}" height="{row - 6}" fill="{colour}">'
                   f"<title>{escape(criterion)}: {_n(n)}</title></rect>")
        svg.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 14}" font-size="12">{_n(n)}</text>')
    svg.append("</svg>")
    return "\n".join(svg)


def _move(move: Move, report: ImpactReport) -> str:
    out = [f"<h3>{LABELS[move.before]} → {LABELS[move.after]}: {_n(move.count)} requests</h3>"]
    changed = {c.criterion: c for c in report.criteria}
    if move.causes:
        out.append("<p>Requests of this move whose status of each criterion differs between the versions:</p>")
        out.append(_bars(move.causes, move.count, COLOURS[move.after]))
        out.append("<table><tr><th>criterion</th><th>what changed in the policy</th>"
                   '<th class="n">requests</th></tr>')
        for criterion, n in move.causes:
            change = changed.get(criterion)
            why = f"{change.change}: {change.detail}" if change else "status follows from the facts it reads"
            out.append(f"<tr><td><code>{escape(criterion)}</code> {escape(report.criterion_text.get(criterion, ''))}"
                       f"</td><td>{escape(why)}</td><td class='n'>{_n(n)}</td></tr>")
        out.append("</table>")
    for title, criteria in (("Criteria only in the version proposed", move.only_after),
                            ("Criteria only in the version now", move.only_before)):
        if criteria:
            out.append(f"<p>{title}, with the statuses they take in these requests:</p><ul>")
            for c, statuses in criteria.items():
                taken = ", ".join(f"{s} {_n(n)}" for s, n in statuses.most_common())
                out.append(f"<li><code>{escape(c)}</code>: {escape(taken)}</li>")
            out.append("</ul>")
    if move.examples:
        out.append("<p>Examples:</p>")
        out.append(_examples_table(move.examples))
    return "\n".join(out)


def _examples_table(examples: list[dict[str, Any]], period: bool = False) -> str:
    if not examples:
        return ""
    head = "<th>before</th><th>after</th>" if period else "<th>reasons / missing now</th><th>proposed</th>"
    rows = [f"<table><tr><th>row</th><th>id</th>{head}<th>facts</th></tr>"]
    for e in examples:
        facts = ", ".join(f"{k}={v}" for k, v in e.get("facts", {}).items())
        if period:
            cells = f"<td>{escape(e['before'])}</td><td>{escape(e['after'])}</td>"
        else:
            cells = "".join(
                f"<td>{escape(', '.join(e['reasons'][side]) or '—')}"
                + (f"<br><span class='muted'>missing: {escape(', '.join(e['missing_facts'][side]))}</span>"
                   if e["missing_facts"][side] else "")
                + "</td>"
                for side in ("before", "after")
            )
        rows.append(f"<tr><td class='n'>{e['row']}</td><td>{escape(str(e.get('id') or ''))}</td>{cells}"
                    f"<td><code>{escape(facts)}</code></td></tr>")
    rows.append("</table>")
    return "".join(rows)
