"""The LLM section of a run's report: calls, tokens and cost per role, every fault counted, and the
plans, verdicts and insights the roles produced."""

from __future__ import annotations

from collections import Counter

from sqlmodel import Session

from archlab.report.blocks import Block, Code, Table, clip
from archlab.store import Candidate, Evaluation, agent_log

CELL = 160


def llm_section(*, session: Session, run_id: str, candidates: list[Candidate],
                evaluations: list[Evaluation]) -> list[Block] | None:
    calls = agent_log.run_calls(session=session, run_id=run_id)
    notes = agent_log.run_notes(session=session, run_id=run_id)
    if not calls and not notes:
        return None
    trained = {e.candidate_id for e in evaluations if e.stage == "train"}
    return [_usage(calls, len(trained)), *_model_choice(session, run_id, calls),
            _faults(calls, notes, candidates, trained), _plans(notes), _verdicts(notes), _insights(notes)]


def usage_figures(calls, trained: int) -> dict:
    tokens = sum(c.prompt_tokens + c.completion_tokens for c in calls)
    return {"calls": len(calls), "tokens": tokens, "usd": sum(c.cost_usd for c in calls),
            "llm_s": sum(c.latency_s for c in calls), "evaluated": trained,
            "tokens_per_evaluated": tokens / trained if trained else None}


def fault_counts(calls, notes, candidates: list[Candidate], trained: set[str]) -> Counter:
    """Every fault by kind: transport faults the client retried, calls that failed, answers re-asked,
    role fallbacks, proposals sent back for repair, duplicates rejected before compute."""
    counts: Counter = Counter()
    for call in calls:
        for fault, n in (call.faults or {}).items():
            counts[f"transport {fault}"] += n
        if call.status != "ok":
            counts[f"call {call.status}"] += 1
    for note in notes:
        if note.kind == "fault":
            counts[f"{note.role} fell back ({note.data.get('status')})"] += 1
        if note.kind == "verdict" and note.data.get("decision") == "revise":
            reason = note.data.get("reason", "")
            kind = "build failed" if reason.startswith("build") else \
                "does not compile / static check" if reason.startswith("static check") else "critic notes"
            counts[f"sent back for repair: {kind}"] += 1
    for c in candidates:
        if (c.reason or "").startswith("duplicate of") and c.id not in trained:
            counts["duplicate rejected before training"] += 1
            if "(same source)" in c.reason or "(same derivation)" in c.reason:
                counts["duplicate rejected before any sandbox job"] += 1
    return counts


def _usage(calls, trained: int) -> Block:
    rows = []
    for role, model in sorted({(c.role, c.model) for c in calls}):
        mine = [c for c in calls if (c.role, c.model) == (role, model)]
        rows.append((role, model, len(mine), sum(c.status == "ok" for c in mine),
                     f"{sum(c.prompt_tokens for c in mine):,}", f"{sum(c.completion_tokens for c in mine):,}",
                     f"{sum(c.cost_usd for c in mine):.4f}", f"{sum(c.latency_s for c in mine):.1f}",
                     sum(c.status == "invalid" for c in mine)))
    f = usage_figures(calls, trained)
    per = f"{f['tokens_per_evaluated']:,.0f}" if f["tokens_per_evaluated"] is not None else "-"
    total = (f"Total: {f['tokens']:,} tokens, ${f['usd']:.4f}, {f['llm_s']:.1f}s waiting for the LLM; "
             f"{f['evaluated']} candidates trained: {per} tokens per evaluated candidate.")
    columns = "role, model, calls:, ok:, prompt tokens:, completion tokens:, $:, LLM s:, re-asked:"
    return Block("Calls and cost", Table.of(columns, rows), notes=[total])


def _model_choice(session: Session, run_id: str, calls) -> list[Block]:
    """Where a role had several models, what its bandit saw of each (agents/llm/model_bandit.py)."""
    from archlab.agents.llm.model_bandit import arm_stats

    rows = []
    for role in sorted({c.role for c in calls}):
        models = sorted({c.model for c in calls if c.role == role})
        if len(models) < 2:
            continue
        for arm in arm_stats(session.get_bind(), run_id, role, models):
            rate = f"{arm.successes / arm.trials:.2f}" if arm.trials else "-"
            rows.append((role, arm.model, arm.calls, arm.trials, arm.successes, rate, f"{arm.tokens:,}",
                         f"{arm.cost_usd:.4f}"))
    if not rows:
        return []
    note = ("Several models per role: a bandit picks one per call, learning which yields accepted, improving "
            "candidates per unit cost.")
    table = Table.of("role, model, calls:, trials:, successes:, rate:, tokens:, $:", rows)
    return [Block("Model choice", table, intro=note)]


def _faults(calls, notes, candidates, trained) -> Block:
    counts = fault_counts(calls, notes, candidates, trained)
    return Block("Faults", Table.of("fault, count:", sorted(counts.items())), empty="None.")


def _plans(notes) -> Block:
    rows = [(n.step, n.data["move"], ", ".join(n.data.get("parents") or []) or "-", clip(n.data["hypothesis"], CELL),
             clip(n.data.get("expected_effect") or "", CELL),
             ", ".join(f"#{i}" for i in n.data.get("ideas") or []) or "-") for n in notes if n.kind == "plan"]
    return Block("Plans", Table.of("step:, move, parents, hypothesis, expected effect, ideas seen", rows),
                 empty="No LLM plan (the planner ran offline).")


def _verdicts(notes) -> Block:
    rows = [(n.step, Code(n.data["candidate"]), n.data["decision"], n.data["by"],
             clip(n.data.get("reason") or "", CELL)) for n in notes if n.kind == "verdict"]
    return Block("Verdicts", Table.of("step:, candidate, decision, by, reason", rows), empty="None.")


def _insights(notes) -> Block:
    rows = []
    for n in notes:
        if n.kind != "insight":
            continue
        d = n.data
        conf = f"{d['confidence']:.2f}" if d.get("confidence") is not None else "-"
        rows.append((n.step, clip(d["claim"], CELL), ", ".join(d.get("evidence") or []), conf, d.get("relation", "new"),
                     ", ".join(f"#{c}" for c in d.get("concepts") or []) or "-"))
    return Block("Insights", Table.of("step:, claim, evidence, confidence:, relation, concept", rows),
                 empty="None from the LLM analyst.")
