"""The LLM section of a run's report: calls, tokens and cost per role, every fault counted, and the
plans, verdicts and insights the roles produced."""

from __future__ import annotations

from collections import Counter

from sqlmodel import Session

from archlab.store import Candidate, Evaluation, agent_log

CELL = 160


def llm_section(*, session: Session, run_id: str, candidates: list[Candidate],
                evaluations: list[Evaluation]) -> str | None:
    calls = agent_log.run_calls(session=session, run_id=run_id)
    notes = agent_log.run_notes(session=session, run_id=run_id)
    if not calls and not notes:
        return None
    trained = {e.candidate_id for e in evaluations if e.stage == "train"}
    parts = ["## LLM roles", _usage(calls, len(trained)), *_model_choice(session, run_id, calls),
             _faults(calls, notes, candidates, trained), _plans(notes), _verdicts(notes), _insights(notes)]
    return "\n\n".join(parts)


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


def _usage(calls, trained: int) -> str:
    rows = ["### Calls and cost", "",
            "| role | model | calls | ok | prompt tokens | completion tokens | $ | LLM s | re-asked |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for role, model in sorted({(c.role, c.model) for c in calls}):
        mine = [c for c in calls if (c.role, c.model) == (role, model)]
        rows.append(f"| {role} | {model} | {len(mine)} | {sum(c.status == 'ok' for c in mine)} | "
                    f"{sum(c.prompt_tokens for c in mine):,} | {sum(c.completion_tokens for c in mine):,} | "
                    f"{sum(c.cost_usd for c in mine):.4f} | {sum(c.latency_s for c in mine):.1f} | "
                    f"{sum(c.status == 'invalid' for c in mine)} |")
    f = usage_figures(calls, trained)
    per = f"{f['tokens_per_evaluated']:,.0f}" if f["tokens_per_evaluated"] is not None else "-"
    rows += ["", f"Total: {f['tokens']:,} tokens, ${f['usd']:.4f}, {f['llm_s']:.1f}s waiting for the LLM; "
                 f"{f['evaluated']} candidates trained: **{per} tokens per evaluated candidate**."]
    return "\n".join(rows)


def _model_choice(session: Session, run_id: str, calls) -> list[str]:
    """Where a role had several models, what its bandit saw of each (agents/llm/model_bandit.py)."""
    from archlab.agents.llm.model_bandit import arm_stats

    rows = []
    for role in sorted({c.role for c in calls}):
        models = sorted({c.model for c in calls if c.role == role})
        if len(models) < 2:
            continue
        for arm in arm_stats(session.get_bind(), run_id, role, models):
            rate = f"{arm.successes / arm.trials:.2f}" if arm.trials else "-"
            rows.append(f"| {role} | {arm.model} | {arm.calls} | {arm.trials} | {arm.successes} | {rate} | "
                        f"{arm.tokens:,} | {arm.cost_usd:.4f} |")
    if not rows:
        return []
    head = ["### Model choice", "", "Several models per role: a bandit picks one per call, learning which "
            "yields accepted, improving candidates per unit cost.", "",
            "| role | model | calls | trials | successes | rate | tokens | $ |",
            "|---|---|---:|---:|---:|---:|---:|---:|"]
    return ["\n".join(head + rows)]


def _faults(calls, notes, candidates, trained) -> str:
    counts = fault_counts(calls, notes, candidates, trained)
    if not counts:
        return "### Faults\n\nNone."
    rows = ["### Faults", "", "| fault | count |", "|---|---:|"]
    rows += [f"| {kind} | {n} |" for kind, n in sorted(counts.items())]
    return "\n".join(rows)


def _plans(notes) -> str:
    plans = [n for n in notes if n.kind == "plan"]
    if not plans:
        return "### Plans\n\nNo LLM plan (the planner ran offline)."
    rows = ["### Plans", "", "| step | move | parents | hypothesis | expected effect | ideas seen |",
            "|---:|---|---|---|---|---|"]
    for n in plans:
        d = n.data
        rows.append(f"| {n.step} | {d['move']} | {', '.join(d.get('parents') or []) or '-'} | "
                    f"{_cell(d['hypothesis'])} | {_cell(d.get('expected_effect') or '')} | "
                    f"{', '.join(f'#{i}' for i in d.get('ideas') or []) or '-'} |")
    return "\n".join(rows)


def _verdicts(notes) -> str:
    verdicts = [n for n in notes if n.kind == "verdict"]
    if not verdicts:
        return "### Verdicts\n\nNone."
    rows = ["### Verdicts", "", "| step | candidate | decision | by | reason |", "|---:|---|---|---|---|"]
    for n in verdicts:
        d = n.data
        rows.append(f"| {n.step} | `{d['candidate']}` | {d['decision']} | {d['by']} | {_cell(d.get('reason') or '')} |")
    return "\n".join(rows)


def _insights(notes) -> str:
    insights = [n for n in notes if n.kind == "insight"]
    if not insights:
        return "### Insights\n\nNone from the LLM analyst."
    rows = ["### Insights", "", "| step | claim | evidence | confidence | relation | concept |",
            "|---:|---|---|---:|---|---|"]
    for n in insights:
        d = n.data
        concepts = ", ".join(f"#{c}" for c in d.get("concepts") or []) or "-"
        conf = f"{d['confidence']:.2f}" if d.get("confidence") is not None else "-"
        rows.append(f"| {n.step} | {_cell(d['claim'])} | {', '.join(d.get('evidence') or [])} | {conf} | "
                    f"{d.get('relation', 'new')} | {concepts} |")
    return "\n".join(rows)


def _cell(text: str) -> str:
    text = text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")  # `<`: no markup from a cell
    return text if len(text) <= CELL else text[:CELL - 1] + "…"
