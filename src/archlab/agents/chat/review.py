"""The critic on a chat's draft, before any compute: static checks, a vetoed direction of the chat's run,
novelty against every stored candidate (derivation, then source), and — with an LLM — its review.

Nothing is built here (a build is a sandbox job of seconds); /try builds and trains.
"""

from __future__ import annotations

from archlab.agents.chat.models import CandidateRef, ConceptRef, Draft, Review
from archlab.agents.chat.novelty import twin
from archlab.agents.context import RunContext
from archlab.agents.llm.answers import ReviewAnswer
from archlab.agents.llm.calls import CallSite, LLMError
from archlab.agents.llm.prompts import render
from archlab.agents.llm.views import task_view
from archlab.evaluator.candidate import static_check
from archlab.store import steering


def review(ctx: RunContext, draft: Draft, *, run_id: str | None) -> Review:
    """The offline verdict: accept, revise (a static problem) or reject (vetoed, or not new)."""
    checks = ["static checks"]
    problems = static_check(draft.source)
    if problems:
        return Review(decision="revise", reason="static check: " + "; ".join(problems), checks=checks)
    if run_id is not None:
        checks.append(f"vetoed directions of run {run_id}")
        vetoed = _vetoed(ctx, run_id, draft)
        if vetoed:
            return Review(decision="reject", reason=f"a person vetoed this direction in run {run_id}: {vetoed!r}",
                          checks=checks)
    checks.append("novelty against stored candidates (derivation, source)")
    found = twin(ctx, draft.source, draft.derivation_hash)
    if found is not None:
        where = f"run {found.run_id}" if found.run_id else "outside a run"
        return Review(decision="reject", duplicate_of=found.id, checks=checks,
                      reason=f"not new: the same network as {found.id} ({where}, {found.status})")
    return Review(decision="accept", reason="passes the static checks and is new", checks=checks)


def llm_review(ctx: RunContext, draft: Draft, verdict: Review, *, idea: str, turn: int,
               concepts: list[ConceptRef], candidates: list[CandidateRef]) -> tuple[Review, str | None]:
    """The LLM critic on a draft the offline checks accepted; (review, a note when the call failed)."""
    prompt = render("chat/review.j2", task=task_view(ctx), idea=idea, summary=draft.summary,
                    rationale=draft.rationale, source=draft.source,
                    concepts=[c.model_dump() for c in concepts], candidates=[c.model_dump() for c in candidates])
    try:
        answer = ctx.llm.structured(CallSite(role="critic", step=turn), ReviewAnswer, prompt,
                                    system=render("chat/system.j2", role="critic"), convert=lambda a: a)
    except LLMError as exc:
        return verdict, f"the LLM critic gave no review ({exc.status}); this is the offline verdict"
    checks = [*verdict.checks, "LLM review"]
    return Review(decision=answer.decision, reason=answer.reason, checks=checks, by="llm"), None


def _vetoed(ctx: RunContext, run_id: str, draft: Draft) -> str | None:
    with ctx.session() as session:
        directions = steering.vetoed_directions(session=session, run_id=run_id)
    described = f"{draft.summary} {draft.rationale}".lower()
    return next((d for d in directions if d.lower() in described), None)
