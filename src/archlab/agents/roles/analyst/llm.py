"""Analyst, LLM form: after the offline comparison (child against its best parent, written into the
memory), the LLM reads the child, its parents, its siblings and its stage history, and writes Insights:
a claim, the candidates it rests on, a confidence, and whether it confirms or contradicts a stored concept.
Each insight goes into the concept memory with the child's evaluation as evidence."""

from __future__ import annotations

from langgraph.runtime import Runtime

from archlab.agents.context import RunContext
from archlab.agents.llm.answers import InsightAnswer, InsightsAnswer
from archlab.agents.llm.calls import LLMError
from archlab.agents.llm.prompts import render
from archlab.agents.llm.views import ERROR, concept_claims, fault, note, site, task_view
from archlab.agents.recall import recall
from archlab.agents.roles.analyst.offline import analyse
from archlab.agents.state import DiscoveryState, Insight, Verdict
from archlab.store import Candidate, Evaluation
from archlab.store import records as store
from archlab.store.concepts import ConceptCreate, ConceptKind
from archlab.store.evidence import Direction, EvidenceCreate


def llm_analyse(state: DiscoveryState, runtime: Runtime[RunContext]) -> dict:
    ctx = runtime.context
    update = analyse(state, runtime)  # the measured comparison is kept whatever the LLM says
    verdict = Verdict.model_validate(state["verdict"])
    with ctx.session() as session:
        child = store.get_candidate(session=session, candidate_id=verdict.candidate_id)
        related = _related(session, ctx.run_id, child)
        history = list(store.candidate_evaluations(session=session, candidate_id=child.id))
    concepts = recall(ctx, state, agent="analyst", query=f"effects of {child.summary} on {ctx.task.name}")
    shown = concept_claims(ctx, concepts)
    prompt = render("analyst.j2", task=task_view(ctx), child=_view(child), comparison=update["insight"].model_dump(),
                    related=[_view(c) for c in related], concepts=shown,
                    history=[{"stage": e.stage, "fidelity": e.fidelity, "seed": e.seed, "status": e.status,
                              "val": ctx.objective.value(e.metrics), "error": (e.error or "")[:ERROR // 2]}
                             for e in history])
    known = {child.id, *(c.id for c in related)}
    try:
        answers = ctx.llm.structured(site(state, "analyst"), InsightsAnswer, prompt,
                                     system=render("system.j2", role="analyst", objective=ctx.objective.label),
                                     convert=lambda a: checked(a, known, {c["id"] for c in shown}))
    except LLMError as exc:
        fault(ctx, state, "analyst", exc.status, str(exc), "offline comparison only")
        return update
    trained = [e for e in history if e.stage == "train"]
    insights = [learn(ctx, child, answer, trained[-1] if trained else None, update["insight"].model_dump())
                for answer in answers.insights]
    for insight in insights:
        note(ctx, state, "analyst", "insight", insight.model_dump())
    return {**update, "insights": insights}


def checked(answer: InsightsAnswer, known: set[str], concepts: set[int]) -> InsightsAnswer:
    """ValueError (shown to the model) for evidence outside the candidates shown, or an unknown concept."""
    for number, item in enumerate(answer.insights, start=1):
        unknown = [c for c in item.evidence if c not in known]
        if unknown:
            raise ValueError(f"insight {number}: evidence {unknown} is not among the candidates shown {sorted(known)}")
        if item.relation != "new" and item.concept_id not in concepts:
            raise ValueError(f"insight {number}: relation {item.relation} needs concept_id, one of {sorted(concepts)}")
    return answer


def learn(ctx: RunContext, child: Candidate, answer: InsightAnswer, evaluation: Evaluation | None,
          comparison: dict) -> Insight:
    """The insight written into the memory, with the child's result as evidence for (or against) it."""
    insight = Insight(candidate_id=child.id, parent_id=comparison.get("parent_id"), claim=answer.claim,
                      delta=comparison.get("delta"), evidence=answer.evidence, confidence=answer.confidence,
                      relation=answer.relation, fidelity=evaluation.fidelity if evaluation else 0, by="llm")
    if ctx.memory is None:
        return insight
    if answer.relation == "new" or answer.concept_id is None:
        concept_in = ConceptCreate(claim=answer.claim, kind=ConceptKind(answer.kind), task=ctx.task.name,
                                   space=ctx.space.name, tags=["llm analyst"], source=f"run {ctx.run_id}",
                                   prior=answer.confidence)
        concept_id = ctx.memory.add(concept_in, run_id=ctx.run_id).concept.id
    else:
        concept_id = answer.concept_id
    direction = Direction.contradicts if answer.relation == "contradicts" else Direction.supports
    ctx.memory.add_evidence(EvidenceCreate(
        concept_id=concept_id, candidate_id=child.id, evaluation_id=evaluation.id if evaluation else None,
        run_id=ctx.run_id, direction=direction, effect_size=insight.delta, fidelity=insight.fidelity,
        seeds=1, note=f"llm analyst: {answer.claim[:200]}"))
    insight.concepts = [concept_id]
    return insight


def _related(session, run_id: str, child: Candidate) -> list[Candidate]:
    """The child's parents and its siblings (other children of the same parents)."""
    everyone = store.run_candidates(session=session, run_id=run_id)
    parents = set(child.parent_ids)
    return [c for c in everyone if c.id != child.id and (c.id in parents or parents & set(c.parent_ids))][-8:]


def _view(c: Candidate) -> dict:
    return {"id": c.id, "summary": c.summary or "(free-form module)", "status": c.status, "params": c.params,
            "parents": list(c.parent_ids), "delta": c.parent_delta, "reason": (c.reason or "")[:ERROR // 2]}
