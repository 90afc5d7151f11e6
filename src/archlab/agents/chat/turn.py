"""One chat turn: the message, the session with its history, and the services the turn may use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from archlab.agents.chat import transcript
from archlab.agents.chat.models import Draft, Queued, Reply
from archlab.agents.context import RunContext
from archlab.store.chat_log import ChatMessage, ChatSession

# Queues a draft into a run: (the run's id, or "latest"; the steering payload) -> what was queued. The shell
# provides it (archlab.run.control.steer): agents never import the shell. ConfigError when it cannot.
Queue = Callable[[str, dict[str, Any]], Queued]


@dataclass
class Turn:
    ctx: RunContext
    chat: ChatSession
    history: list[ChatMessage]  # the session's messages before this one
    text: str
    number: int  # 1 for the session's first message
    try_steps: int
    queue: Queue | None = None

    @property
    def draft(self) -> Draft | None:
        return transcript.current_draft(self.history)

    def reply(self, text: str, **parts) -> Reply:
        return Reply(session_id=self.chat.id, text=text, **parts)
