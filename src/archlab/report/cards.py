"""One card per notable architecture (the top of the leaderboard and the biggest gains over a parent):
its diagram, cost, every evaluation row, the plan and verdict behind it, its parent, and its evidence."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from archlab.report.plots import fmt, graph_svg
from archlab.report.run_view import RunView, move_of
from archlab.store import Candidate, Evaluation

TOP, GAINS = 5, 3
MAX_METRICS = 10
FIRST = ("val_acc", "test_acc", "val_bpb", "test_bpb", "train_loss", "params", "flops", "latency_ms_b1",
         "latency_ms_batch", "epochs", "graph_method")
HIDDEN = {"curve", "graph_hash", "probe_hash", "device", "proxy_seed", "proxy_data", "proxy_batch", "proxy_skipped",
          "stage_seconds", "train_seconds", "proxy_seconds", "steps", "peak_method"}


@dataclass(frozen=True)
class EvalRow:
    stage: str
    fidelity: int
    seed: int
    status: str
    metrics: list[tuple[str, str]]
    wall_s: float
    error: str | None
    reused_from: str | None  # the run that recorded it, when this candidate reused another run's result


@dataclass(frozen=True)
class EvidenceRow:
    concept_id: int
    claim: str
    direction: str
    effect: float | None
    fidelity: int
    note: str


@dataclass(frozen=True)
class Card:
    candidate: Candidate
    slug: str  # a file-safe name for its reproduction bundle and diagram
    why: list[str]
    move: str
    score: float | None
    diagram: str | None  # inline SVG of its traced graph
    graph_note: str  # how the graph was drawn, or why there is none
    cost: list[tuple[str, str]]
    rows: list[EvalRow]
    plan: list[tuple[str, str]]  # (where it comes from, text)
    verdicts: list[str]
    parent: Candidate | None
    comparison: list[tuple[str, str, str]]  # (metric, parent, this candidate)
    evidence: list[EvidenceRow]


def notable(view: RunView, top: int = TOP, gains: int = GAINS) -> list[tuple[Candidate, list[str]]]:
    """The top candidates, then the biggest improvements over a parent; each with why it is shown."""
    why: dict[str, list[str]] = {}
    for rank, (cand, _) in enumerate(view.leaderboard[:top], start=1):
        why.setdefault(cand.id, []).append(f"rank {rank} on the leaderboard")
    improved = sorted((c for c in view.candidates if c.parent_delta is not None and c.parent_delta > 0),
                      key=lambda c: -c.parent_delta)
    for cand in improved[:gains]:
        why.setdefault(cand.id, []).append(f"{cand.parent_delta:+.4f} validation accuracy over its parent")
    return [(view.by_id[cid], reasons) for cid, reasons in why.items()]


def make_cards(view: RunView, top: int = TOP, gains: int = GAINS) -> list[Card]:
    return [make_card(view, cand, why) for cand, why in notable(view, top, gains)]


def make_card(view: RunView, cand: Candidate, why: list[str]) -> Card:
    evaluations = view.evaluations_of(cand)
    graph = next((e.artifacts.get("graph") for e in evaluations if e.stage == "build" and e.artifacts.get("graph")),
                 None)
    parent = next((view.by_id[p] for p in cand.parent_ids or [] if p in view.by_id), None)
    return Card(candidate=cand, slug=slug(cand.id), why=why, move=move_of(cand), score=view.scores.get(cand.id),
                diagram=graph_svg(graph["nodes"]) if graph and graph.get("nodes") else None,
                graph_note=graph_note(graph, evaluations), cost=cost_items(cand, evaluations),
                rows=[eval_row(view, e) for e in evaluations], plan=plan_of(view, cand),
                verdicts=verdicts_of(view, cand), parent=parent,
                comparison=compare(view, parent, cand) if parent else [], evidence=evidence_of(view, cand))


def slug(candidate_id: str) -> str:
    """A file name from an id; an id with other characters gets a hash, so two never collide."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", candidate_id)[:48].lstrip("_-") or "candidate"
    if safe == candidate_id:
        return safe
    return f"{safe}-{hashlib.sha256(candidate_id.encode()).hexdigest()[:8]}"


def graph_note(graph: dict | None, evaluations: list[Evaluation]) -> str:
    if graph is None:
        built = any(e.stage == "build" and e.status == "ok" for e in evaluations)
        return ("no graph stored: it was built before build stages recorded one" if built
                else "no graph: the candidate never built")
    how = "traced with torch.fx" if graph.get("method") == "fx" else "module tree (torch.fx could not trace it)"
    cut = f"; the first {len(graph['nodes'])} of {graph['total']} nodes" if graph.get("truncated") else ""
    return f"{how}, {graph.get('total', len(graph.get('nodes', [])))} nodes{cut}; data flows top to bottom"


def cost_items(cand: Candidate, evaluations: list[Evaluation]) -> list[tuple[str, str]]:
    items = [("parameters", f"{cand.params:,}" if cand.params is not None else "-"),
             ("FLOPs", f"{cand.flops:,}" if cand.flops is not None else "-")]
    timed = next((e.metrics for e in evaluations if "latency_ms_b1" in e.metrics), None)
    if timed:
        items.append(("latency, batch 1", f"{timed['latency_ms_b1']:.3g} ms"))
        if "latency_ms_batch" in timed:
            items.append((f"latency, batch {timed.get('latency_batch', '?')}", f"{timed['latency_ms_batch']:.3g} ms"))
    else:
        items.append(("latency", "not measured (the cascade's screen stage times it)"))
    return items


def eval_row(view: RunView, ev: Evaluation) -> EvalRow:
    return EvalRow(stage=ev.stage, fidelity=ev.fidelity, seed=ev.seed, status=ev.status,
                   metrics=metric_items(ev.metrics), wall_s=ev.wall_s, error=ev.error,
                   reused_from=(ev.run_id or "a one-off eval") if ev.run_id != view.run.id else None)


def metric_items(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    """The metrics worth a glance, formatted: scores first, nested proxies flattened, hashes and curves left out."""
    flat: dict[str, Any] = {}
    for key, value in metrics.items():
        if isinstance(value, dict) and key not in HIDDEN:
            flat |= {f"{key}.{k}": v for k, v in value.items() if not isinstance(v, dict | list)}
        elif key not in HIDDEN and not isinstance(value, list):
            flat[key] = value
    order = [k for k in FIRST if k in flat] + sorted(k for k in flat if k not in FIRST)
    return [(k, _value(flat[k])) for k in order[:MAX_METRICS]]


def plan_of(view: RunView, cand: Candidate) -> list[tuple[str, str]]:
    attempt = view.attempt_of(cand)
    plans = [n for n in view.notes if n.kind == "plan" and n.step == cand.step
             and (attempt is None or n.attempt <= attempt)]
    shown = []
    if plans:
        d = plans[-1].data
        effect = f" Expected: {d['expected_effect']}" if d.get("expected_effect") else ""
        shown.append((f"LLM plan, step {plans[-1].step}", f"{d.get('move', '?')}: {d.get('hypothesis', '')}{effect}"))
    source = "coder's rationale" if plans else "rationale (offline planner and coder)"
    shown.append((source, cand.rationale or "none recorded"))
    return shown


def verdicts_of(view: RunView, cand: Candidate) -> list[str]:
    notes = [n.data for n in view.notes if n.kind == "verdict" and n.data.get("candidate") == cand.id]
    shown = [f"{d.get('decision')} by the {d.get('by', '?')} critic" + (f": {d['reason']}" if d.get("reason") else "")
             for d in notes]
    return shown + [f"final status: {cand.status}" + (f" ({cand.reason})" if cand.reason else "")]


def compare(view: RunView, parent: Candidate, cand: Candidate) -> list[tuple[str, str, str]]:
    best = {c.id: e for c, e in view.leaderboard}

    def metric(c: Candidate, key: str) -> str:
        ev = best.get(c.id)
        return _value(ev.metrics[key]) if ev is not None and key in ev.metrics else "-"

    objective = view.objective
    test = objective.label.replace("validation", "test", 1)
    rows = [(objective.label, metric(parent, objective.metric), metric(cand, objective.metric)),
            (test, metric(parent, objective.test), metric(cand, objective.test)),
            ("trained steps", *(str(best[c.id].fidelity) if c.id in best else "-" for c in (parent, cand))),
            ("parameters", *(f"{c.params:,}" if c.params is not None else "-" for c in (parent, cand))),
            ("FLOPs", *(f"{c.flops:,}" if c.flops is not None else "-" for c in (parent, cand)))]
    if cand.parent_delta is not None:
        rows.append(("analyst's delta (validation; positive: better)", "", f"{cand.parent_delta:+.4f}"))
    return rows


def evidence_of(view: RunView, cand: Candidate) -> list[EvidenceRow]:
    return [EvidenceRow(concept_id=e.concept_id, claim=view.concepts[e.concept_id].claim if e.concept_id in
                        view.concepts else "(concept not in this workspace)", direction=str(e.direction),
                        effect=e.effect_size, fidelity=e.fidelity, note=e.note)
            for e in view.evidence if e.candidate_id == cand.id]


def _value(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        text = str(value)
        return text if len(text) <= 40 else text[:39] + "…"
    if isinstance(value, int):
        return f"{value:,}"
    return fmt(value) if abs(value) >= 1000 else f"{value:.4g}"
