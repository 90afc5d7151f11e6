"""Coder, LLM form: a plan becomes a Proposal — a whole module, a derivation in the space, SEARCH/REPLACE
edits of the parent's source, or a new grammar (checked in the sandbox, stored, then sampled). After a
failed build or a critic's "revise" it repairs the proposal, seeing the traceback or the notes.

An answer that does not fit (a derivation invalid in the space, an edit that does not apply, a grammar
that fails its checks) is re-asked with the reason; a call that yields nothing falls back to the offline
coder for this step.
"""

from __future__ import annotations

import random

from langgraph.runtime import Runtime
from sqlmodel import Session

from archlab.agents import space_phase
from archlab.agents.context import RunContext
from archlab.agents.grammar_intake import accept_grammar, check_grammar, store_loader
from archlab.agents.llm.answers import CodeAnswer, Edit
from archlab.agents.llm.calls import LLMError
from archlab.agents.llm.prompts import render
from archlab.agents.llm.views import ERROR, candidates_by_id, fault, note, site, task_view
from archlab.agents.roles.coder.offline import code as offline_code
from archlab.agents.roles.planner.offline import in_space, step_rng
from archlab.agents.state import DiscoveryState, Plan, Proposal, proposal_of, verdict_of
from archlab.errors import ConfigError, GrammarError
from archlab.spaces import Space
from archlab.store import Candidate
from archlab.store import records as store

GRAMMAR_SAMPLES = 4  # derivations of a proposed grammar built in the sandbox before it is accepted


def llm_code(state: DiscoveryState, runtime: Runtime[RunContext]) -> dict:
    ctx = runtime.context
    chosen = Plan.model_validate(state["plan"])
    verdict = verdict_of(state)
    previous = proposal_of(state) if verdict is not None and verdict.decision == "revise" else None
    parents = candidates_by_id(ctx, chosen.parents)
    if previous:
        prompt = render("coder_repair.j2", task=task_view(ctx), plan=chosen.model_dump(),
                        source=previous.source, reason=verdict.reason[:4 * ERROR],
                        traceback=build_traceback(ctx, verdict.candidate_id))
    else:
        prompt = render("coder.j2", task=task_view(ctx), plan=chosen.model_dump(), space=ctx.space.name,
                        grammar=ctx.space.grammar.text, example=_example(ctx),
                        parents=[{"id": p.id, "summary": p.summary, "source": p.source,
                                  "derivation": p.derivation} for p in parents])
    try:
        proposal = ctx.llm.structured(
            site(state, "coder"), CodeAnswer, prompt, system=render("system.j2", role="coder"),
            convert=lambda a: to_proposal(ctx, state, chosen, a, parents, repair=bool(previous)))
    except LLMError as exc:
        fault(ctx, state, "coder", exc.status, str(exc), "offline coder")
        return offline_fallback(state, runtime, chosen, parents)
    note(ctx, state, "coder", "proposal", {"origin": proposal.origin, "parents": proposal.parents,
                                           "rationale": proposal.rationale, "summary": proposal.summary})
    return {"proposal": proposal, **space_phase.start(ctx, state, proposal)}


def to_proposal(ctx: RunContext, state: DiscoveryState, chosen: Plan, answer: CodeAnswer, parents: list[Candidate],
                *, repair: bool = False) -> Proposal:
    """The answer as a Proposal; ValueError (shown to the model) when it does not fit the run."""
    base = {"parents": chosen.parents, "rationale": answer.rationale, "by": "llm"}
    if answer.kind == "source":
        if not answer.source or "build_model" not in answer.source:
            raise ValueError("kind=source needs `source`: a whole module defining build_model(task)")
        return Proposal(origin="repair" if repair else "write", source=answer.source,
                        summary=answer.summary or "(free-form module)", **base)
    if answer.kind == "edit":
        return Proposal(origin="edit", source=apply_edits(_edited(parents), answer.edits),
                        summary=answer.summary or f"edit of {parents[0].id}", **base)
    if answer.kind == "derivation":
        try:
            tree = ctx.space.load_tree(answer.derivation or {})
        except (ConfigError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"the derivation is not valid in space {ctx.space.name}: {exc}") from None
        return Proposal(origin="derive", source=ctx.space.compile(tree), derivation=tree.to_dict(),
                        derivation_hash=ctx.space.canonical(tree), summary=ctx.space.summary(tree), **base)
    return _grammar_proposal(ctx, state, answer, base)


def apply_edits(source: str, edits: list[Edit]) -> str:
    """SEARCH/REPLACE blocks applied in order; each SEARCH must be found exactly once."""
    if not edits:
        raise ValueError("kind=edit needs at least one edit")
    for number, edit in enumerate(edits, start=1):
        found = source.count(edit.search) if edit.search else 0
        if found != 1:
            raise ValueError(f"edit {number}: the SEARCH text occurs {found} times in the parent's source (it must "
                             "occur exactly once); copy it exactly, or send the whole module as kind=source")
        source = source.replace(edit.search, edit.replace)
    return source


def _edited(parents: list[Candidate]) -> str:
    if not parents:
        raise ValueError("kind=edit needs a parent; this plan has none, so send kind=source or kind=derivation")
    return parents[0].source


def _grammar_proposal(ctx: RunContext, state: DiscoveryState, answer: CodeAnswer, base: dict) -> Proposal:
    """Check the grammar in the sandbox, store it with its provenance, and propose one of its derivations."""
    if not answer.grammar:
        raise ValueError("kind=grammar needs `grammar`: the grammar text")
    with Session(ctx.engine) as session:
        try:
            checked = check_grammar(answer.grammar, code=answer.grammar_code, task=ctx.task, sandbox=ctx.sandbox,
                                    loader=store_loader(session), samples=GRAMMAR_SAMPLES, seed=ctx.seed)
            record = accept_grammar(checked, session=session, proposed_by="llm coder", task=ctx.task.name,
                                    run_id=ctx.run_id, rationale=answer.rationale)
        except (GrammarError, ConfigError) as exc:
            raise ValueError(f"the grammar was not accepted: {exc}") from None
    space = Space(checked.grammar)
    tree = space.sample(step_rng(ctx, state, "grammar"))
    return Proposal(origin="grammar", source=space.compile(tree), derivation=tree.to_dict(), space=record.name,
                    derivation_hash=f"{record.name}:{space.canonical(tree)}", summary=space.summary(tree),
                    **{**base, "rationale": f"{answer.rationale} (new space {record.name})"})


def build_traceback(ctx: RunContext, candidate_id: str) -> str:
    """The tail of the traceback the failed build of this candidate left, or "" (a static check, a review)."""
    with ctx.session() as session:
        builds = [e for e in store.candidate_evaluations(session=session, candidate_id=candidate_id)
                  if e.stage == "build" and e.status != "ok"]
    trace = (builds[-1].artifacts or {}).get("traceback", "") if builds else ""
    return trace[-4 * ERROR:]


def offline_fallback(state: DiscoveryState, runtime: Runtime[RunContext], chosen: Plan,
                     parents: list[Candidate]) -> dict:
    """The offline coder, on a plan it can follow: a parent outside this space's grammar is sampled afresh."""
    mutable = chosen.move == "refine" and parents and in_space(runtime.context.space, parents[0])
    if not mutable:
        fresh = chosen.model_copy(update={"move": "explore", "parents": []})
        state = {**state, "plan": fresh}
    return offline_code(state, runtime)


def _example(ctx: RunContext) -> dict:
    """One derivation of the space with its compiled source, so the model sees both forms."""
    tree = ctx.space.sample(random.Random(f"{ctx.seed}:example"))
    return {"derivation": tree.to_dict(), "summary": ctx.space.summary(tree)}
