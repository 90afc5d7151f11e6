"""Chat ideation: a person works an architecture idea through with the assistant, grounded in the workspace.

    engine = ChatEngine(ctx, queue=..., try_steps=...)  # ctx: a RunContext (task, space, store, sandbox,
    chat = engine.new_session(run_id=None)              #      concept memory, LLM client or None)
    reply = engine.send(chat.id, "a GRU after two convs")  # -> Reply (models.py)
    reply = engine.send(chat.id, "/try")

Every message retrieves concepts and past candidates of the task (their ids are in the Reply), drafts an
architecture — with the LLM through structured output (assistant.py), else offline from the space
(offline.py) — and has the critic review it before any compute (review.py). Commands: /try, /save TEXT,
/queue [RUN], /draft, /help, /quit (commands.py). Every message and the turn's data are stored as
ChatMessage rows (store/chat_log.py), so a session resumes from the store.

The shell builds the engine from a workspace: `archlab.run.chat.open_chat` (also the web app's entry).
"""

from archlab.agents.chat.engine import ChatEngine
from archlab.agents.chat.models import CandidateRef, ConceptRef, Draft, Queued, Reply, Review, TryResult
from archlab.agents.chat.turn import Queue

__all__ = ["CandidateRef", "ChatEngine", "ConceptRef", "Draft", "Queue", "Queued", "Reply", "Review", "TryResult"]
