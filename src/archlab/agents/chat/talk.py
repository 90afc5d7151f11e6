"""A message (not a command): ground it, discuss it and draft (with the LLM, else offline), then review the
draft with the critic."""

from __future__ import annotations

import random

from archlab.agents.chat import offline
from archlab.agents.chat.assistant import converse
from archlab.agents.chat.grounding import Grounding, ground
from archlab.agents.chat.models import Draft, Reply, Review
from archlab.agents.chat.review import llm_review, review
from archlab.agents.chat.turn import Turn
from archlab.agents.llm.calls import LLMError

OFFLINE_GROUNDING = "The concepts and candidates below were retrieved for you to read; offline drafting does not use " \
                    "the concepts."


def talk(turn: Turn) -> Reply:
    ctx = turn.ctx
    grounding = ground(ctx, turn.text, turn=turn.number)
    notes: list[str] = []
    message, draft, by_llm = "", None, False
    if ctx.llm is not None:
        try:
            message, draft = converse(ctx, turn.text, grounding, turn.history, turn.draft, turn=turn.number)
            by_llm = True
        except LLMError as exc:
            notes.append(f"The LLM gave no usable answer ({exc.status}): this turn is drafted offline.")
    if not by_llm:
        rng = random.Random(f"{turn.chat.id}:{turn.number}")
        draft, message = offline.draft(ctx, turn.text, grounding, rng)
        notes.append(OFFLINE_GROUNDING)
    verdict = _review(turn, draft, grounding, notes) if draft is not None else None
    return turn.reply("\n".join([message, *notes]), llm=by_llm, draft=draft, review=verdict,
                      concepts=grounding.concepts, candidates=grounding.candidates)


def _review(turn: Turn, draft: Draft, grounding: Grounding, notes: list[str]) -> Review:
    verdict = review(turn.ctx, draft, run_id=turn.chat.run_id)
    if turn.ctx.llm is None or verdict.decision != "accept":
        return verdict
    verdict, failed = llm_review(turn.ctx, draft, verdict, idea=turn.text, turn=turn.number,
                                 concepts=grounding.concepts, candidates=grounding.candidates)
    if failed:
        notes.append(failed)
    return verdict
