"""The chat's assistant with an LLM: it discusses the message, grounded in what was retrieved, and drafts
an architecture through structured output (a derivation in the space, or a whole module). An answer whose
draft does not fit (an invalid derivation, a module without build_model) is re-asked with the reason."""

from __future__ import annotations

import random

from archlab.agents.chat.answers import ChatAnswer
from archlab.agents.chat.grounding import Grounding
from archlab.agents.chat.models import Draft
from archlab.agents.context import RunContext
from archlab.agents.llm.calls import CallSite
from archlab.agents.llm.prompts import render
from archlab.agents.llm.views import task_view
from archlab.errors import ConfigError
from archlab.store.chat_log import ChatMessage

HISTORY = 8  # earlier messages shown to the model
SHOWN = 1500  # characters of each earlier message shown


def converse(ctx: RunContext, text: str, grounding: Grounding, history: list[ChatMessage], current: Draft | None,
             *, turn: int) -> tuple[str, Draft | None]:
    """(the assistant's message, its draft or None); LLMError when no valid answer came."""
    example = ctx.space.sample(random.Random(f"{ctx.space.name}:example"))
    prompt = render("chat/assistant.j2", task=task_view(ctx), space=ctx.space.name, grammar=ctx.space.grammar.text,
                    example={"derivation": example.to_dict(), "summary": ctx.space.summary(example)},
                    concepts=[c.model_dump() for c in grounding.concepts],
                    candidates=[c.model_dump() for c in grounding.candidates],
                    draft=current.model_dump() if current else None,
                    history=[{"role": m.role, "text": m.text[:SHOWN]} for m in history[-HISTORY:]], message=text)
    # The chat drafts with the coder's model and settings (llm.coder): LLMConfig names the run's four roles.
    return ctx.llm.structured(CallSite(role="coder", step=turn), ChatAnswer, prompt,
                              system=render("chat/system.j2", role="assistant"),
                              convert=lambda a: (a.message, to_draft(ctx, a)))


def to_draft(ctx: RunContext, answer: ChatAnswer) -> Draft | None:
    """The answer's draft; ValueError (shown to the model) when it does not fit the task or the space."""
    d = answer.draft
    if d is None:
        return None
    if d.kind == "source":
        if not d.source or "build_model" not in d.source:
            raise ValueError("draft kind=source needs `source`: a whole module defining build_model(task)")
        return Draft(source=d.source, space=ctx.space.name, summary=d.summary or "(free-form module)",
                     rationale=d.rationale, by="llm")
    try:
        tree = ctx.space.load_tree(d.derivation or {})
    except (ConfigError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"the draft's derivation is not valid in space {ctx.space.name}: {exc}") from None
    return Draft(source=ctx.space.compile(tree), derivation=tree.to_dict(), derivation_hash=ctx.space.canonical(tree),
                 space=ctx.space.name, summary=ctx.space.summary(tree), rationale=d.rationale, by="llm")
