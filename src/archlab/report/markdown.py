"""The Markdown twin of the run report: the same sections as report.html, the plots linked as SVG files
beside it (plots/), the reproduction bundles under repro/.

Text an LLM or a person wrote is kept on one line, pipes escaped (tables) and `<` written as `&lt;`, so it
renders as text; code goes in fences longer than any backtick run inside it.
"""

from __future__ import annotations

import re

from archlab.report.cards import Card
from archlab.report.data import Report, Section
from archlab.report.figures import Figure
from archlab.report.run_view import LineageNode
from archlab.report.summary import Summary

CELL = 300


def render_markdown(report: Report) -> str:
    run = report.view.run
    head = [f"# archlab run {run.id}", "", f"- task: `{run.task}`, space: `{run.space}`",
            f"- status: {run.status}" + (f" ({text(run.stop_reason)})" if run.stop_reason else ""),
            "- report.html beside this file holds the same report with the plots inline."]
    bodies = {"summary": summary(report.summary), "task": task(report), "leaderboard": leaderboard(report),
              "pareto": figures(report.pareto), "progress": figures(report.progress), "rank-fidelity": rank(report),
              "lineage": lineage(report.lineage), "cards": cards(report.cards), "failures": failures(report),
              "llm": report.llm or "No LLM calls or notes: every role ran offline.", "memory": report.memory,
              "config": fence(report.config, "yaml")}
    parts = ["\n".join(head), *(section(s, bodies[s.id]) for s in report.sections)]
    return "\n\n".join(parts) + "\n"


def section(sec: Section, body: str) -> str:
    return f"## {sec.title}\n\n{body}"


def task(report: Report) -> str:
    info = report.task
    rows = [f"`{info.name}` ({info.origin})", "", "| | |", "|---|---|"]
    return "\n".join(rows + [f"| {text(what)} | {text(value)} |" for what, value in info.rows])


def summary(s: Summary) -> str:
    statuses = ", ".join(f"{n} {status}" for status, n in s.statuses.items()) or "none"
    rows = ["### What was tried", "", f"{sum(s.statuses.values())} candidates proposed: {statuses}.", "",
            "| origin | move | proposed | trained | rejected | failed | best val acc |",
            "|---|---|---:|---:|---:|---:|---:|"]
    rows += [f"| {text(r.origin)} | {text(r.move)} | {r.proposed} | {r.trained} | {r.rejected} | {r.failed} | "
             f"{_num(r.best)} |" for r in s.moves]
    return "\n".join(rows + ["", "### What worked", "", worked(s), "", "### What was learned", "", learned(s), "",
                             "### What it cost", "", cost(s), "", "### What it would try next", "", next_steps(s)])


def worked(s: Summary) -> str:
    o = s.outcome
    if o is None:
        return "No candidate was trained successfully."
    test = f", test {o.best_test:.4f}" if o.best_test is not None else ""
    return (f"Best: {code(o.best.id)}, validation {o.best_score:.4f}{test}, {o.best.params or 0:,} parameters "
            f"({text(o.best.summary)}). It beats the first trained candidate ({code(o.first.id)}, "
            f"{o.first_score:.4f}) by {o.best_score - o.first_score:+.4f} and the median of the {o.trained} trained "
            f"({o.median:.4f}) by {o.best_score - o.median:+.4f}.")


def learned(s: Summary) -> str:
    if not s.learned:
        return "No concept was created or found evidence for in this run."
    lines = []
    for ch in s.learned:
        c = ch.concept
        status = f"retired here: {text(c.retired_reason or '')}" if ch.retired_here else str(c.status)
        lines.append(f"- #{c.id} ({'new' if ch.created else 'changed'}, {c.kind}): {text(c.claim)} — this run "
                     f"+{ch.supports} / −{ch.contradicts}, confidence {c.confidence:.2f}, {status}")
    return "\n".join(lines)


def cost(s: Summary) -> str:
    c = s.cost
    budget = f"{c.budget_s:.0f} s" if c.budget_s else "none"
    cap = f", at most {c.max_evals} evaluations" if c.max_evals else ""
    stages = "; ".join(f"{st.stage} {st.runs} ({st.ok} ok, {st.seconds:.1f} s)" for st in c.stages) or "none"
    llm = (f"{c.llm_calls} calls, {c.tokens:,} tokens, ${c.usd:.4f}, {c.llm_s:.1f} s waiting" if c.llm_calls
           else "no calls (offline run)")
    return "\n".join([f"- wall clock: {c.used_s:.0f} s of budget {budget}{cap}", f"- evaluations per stage: {stages}",
                      f"- sandbox time: {c.sandbox_s:.1f} s", f"- LLM: {llm}"])


def next_steps(s: Summary) -> str:
    if not s.next_steps:
        return "Nothing to suggest from this run's records (no plan, no trained candidate with a derivation)."
    return "\n".join(f"- **From {text(n.source)}:** {text(n.text)}" for n in s.next_steps)


def leaderboard(report: Report) -> str:
    if not report.board:
        return "No candidate was trained successfully."
    rows = ["| # | candidate | origin | params | FLOPs | val acc | test acc | train s | architecture |",
            "|---|---|---|---:|---:|---:|---:|---:|---|"]
    rows += [f"| {rank} | {code(c.id)} | {text(c.origin)} | {c.params or 0:,} | {c.flops or 0:,} | "
             f"{e.metrics['val_acc']:.4f} | {_num(e.metrics.get('test_acc'))} | {e.wall_s:.1f} | {text(c.summary)} |"
             for rank, c, e in report.board]
    return "\n".join(rows + ["", "Selected on validation accuracy; test accuracy is reported, never used to choose."])


def figures(figs: list[Figure]) -> str:
    return "\n\n".join(f"![{f.title}](plots/{f.name}.svg)\n\n{f.caption}" for f in figs)


def rank(report: Report) -> str:
    if report.rank is None:
        return "No two stages ranked the same candidates (a cascade run screens, predicts and trains at rungs)."
    return f"{figures([report.rank])}\n\n{report.rank_table}"


def lineage(roots: list[LineageNode]) -> str:
    if not roots:
        return "No candidate was trained, so there is no lineage to show."
    lines = ["Each child is indented under its parent, with the move that made it; **#n** marks the top candidates.",
             ""]
    lines += [line for root in roots for line in _tree(root, 0)]
    return "\n".join(lines)


def _tree(node: LineageNode, depth: int) -> list[str]:
    how = f"via {text(node.move)}" if node.parents else f"{text(node.move)}, no parent"
    score = f", val {node.score:.4f}" if node.score is not None else f", {text(node.candidate.status)}"
    rank = f" **#{node.rank}**" if node.rank else ""
    others = f" (also from {', '.join(code(p) for p in node.parents[1:])})" if len(node.parents) > 1 else ""
    line = f"{'  ' * depth}- {code(node.candidate.id)} {how}{score}{rank}{others}: {text(node.candidate.summary)}"
    return [line] + [child for c in node.children for child in _tree(c, depth + 1)]


def cards(all_cards: list[Card]) -> str:
    if not all_cards:
        return "No candidate was trained successfully."
    return "\n\n".join(card(c) for c in all_cards)


def card(c: Card) -> str:
    diagram = f"![model graph of {c.candidate.id}](plots/graph-{c.slug}.svg)\n\n" if c.diagram else ""
    parts = [f"### {code(c.candidate.id)}", "", f"{'; '.join(c.why)}. Made by {text(c.move)} "
             f"({text(c.candidate.origin)}). {text(c.candidate.summary)}", "", f"{diagram}Graph: {text(c.graph_note)}.",
             "", "Cost: " + ", ".join(f"{k} {v}" for k, v in c.cost), "", _rows(c), "",
             *[f"- **{text(src)}:** {text(body)}" for src, body in c.plan], "",
             *[f"- **critic:** {text(v)}" for v in c.verdicts], "", _parent(c), "", _evidence(c), "",
             f"Reproduce: bundle in [repro/{c.slug}/](repro/{c.slug}/); run `sh repro/{c.slug}/reproduce.sh`.", "",
             "Source:", "", fence(c.candidate.source, "python")]
    return "\n".join(parts)


def _rows(c: Card) -> str:
    rows = ["| stage | fidelity | seed | status | metrics | wall s |", "|---|---:|---:|---|---|---:|"]
    for r in c.rows:
        metrics = ", ".join(f"{k} {v}" for k, v in r.metrics) + (f"; error: {r.error}" if r.error else "")
        reused = f" (reused from {r.reused_from})" if r.reused_from else ""
        rows.append(f"| {r.stage}{text(reused)} | {r.fidelity} | {r.seed} | {r.status} | {text(metrics)} | "
                    f"{r.wall_s:.1f} |")
    return "\n".join(rows) if c.rows else "No stored evaluation."


def _parent(c: Card) -> str:
    if c.parent is None:
        return "No parent: a fresh sample or a first proposal."
    rows = [f"Parent {code(c.parent.id)}:", "", "| | parent | this candidate |", "|---|---:|---:|"]
    rows += [f"| {metric} | {p} | {mine} |" for metric, p, mine in c.comparison]
    return "\n".join(rows)


def _evidence(c: Card) -> str:
    if not c.evidence:
        return "Concepts: no evidence names this candidate."
    lines = ["Concepts:"]
    for e in c.evidence:
        effect = f", effect {e.effect:+.4f}" if e.effect is not None else ""
        lines.append(f"- {e.direction} #{e.concept_id}: {text(e.claim)} ({e.fidelity} steps{effect})")
    return "\n".join(lines)


def failures(report: Report) -> str:
    if not report.failures:
        return "None."
    rows = ["| candidate | status | stage status | reason |", "|---|---|---|---|"]
    rows += [f"| {code(c.id)} | {c.status} | {stage} | {text(c.reason or '')} |" for c, stage in report.failures]
    return "\n".join(rows)


def text(value: object) -> str:
    """One line of prose or a table cell: pipes escaped, no newlines, `<` and `&` as entities."""
    line = " ".join(str(value).split()).replace("&", "&amp;").replace("<", "&lt;").replace("|", "\\|")
    return line if len(line) <= CELL else line[:CELL - 1] + "…"


def code(value: str) -> str:
    """An inline code span that no backtick inside the value can close early."""
    value = " ".join(value.split()).replace("|", "\\|")
    ticks = "`" * (1 + max((len(m) for m in re.findall(r"`+", value)), default=0))
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{ticks}{pad}{value}{pad}{ticks}"


def fence(source: str, lang: str) -> str:
    ticks = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", source)), default=0))
    return f"{ticks}{lang}\n{source.rstrip()}\n{ticks}"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
