"""The chat engine: sessions of one task and search space, each message answered and kept in the store."""

from __future__ import annotations

from dataclasses import dataclass

from archlab.agents.chat import transcript
from archlab.agents.chat.commands import run_command
from archlab.agents.chat.models import Draft, Reply
from archlab.agents.chat.talk import talk
from archlab.agents.chat.turn import Queue, Turn
from archlab.agents.context import RunContext
from archlab.errors import ConfigError
from archlab.store import records as store
from archlab.store.chat_log import ChatMessage, ChatSession

LLM_OFF = ("(LLM off: no endpoint is configured, so drafting and review are offline; "
           "--llm-base-url or OPENAI_BASE_URL turns it on)")
TRY_FRACTION = 5  # /try trains a fifth of the task's default steps, like the cascade's first rung


@dataclass
class ChatEngine:
    """`ctx` gives the task, space, store, sandbox, concept memory and LLM client (None: offline);
    `queue` lets /queue put a draft into a run (None: not available); `try_steps` is /try's fidelity."""

    ctx: RunContext
    queue: Queue | None = None
    try_steps: int | None = None

    @property
    def quick_steps(self) -> int:
        return self.try_steps or max(1, self.ctx.task.spec.default_steps // TRY_FRACTION)

    def new_session(self, *, run_id: str | None = None, title: str = "") -> ChatSession:
        """A session of this engine's task and space; `run_id`: the run /queue puts drafts into by default."""
        if run_id is not None:
            with self.ctx.session() as session:
                if store.get_run(session=session, run_id=run_id) is None:
                    raise ConfigError(f"no run {run_id!r}; `archlab runs` lists them")
        return transcript.create(self.ctx.engine, task=self.ctx.task.name, space=self.ctx.space.name,
                                 run_id=run_id, title=title)

    def session(self, session_id: str) -> ChatSession:
        """The stored session; ConfigError when there is none, or it is for another task or space."""
        chat = transcript.get(self.ctx.engine, session_id)
        if (chat.task, chat.space) != (self.ctx.task.name, self.ctx.space.name):
            raise ConfigError(f"chat {session_id} is about task {chat.task}, space {chat.space}; this engine serves "
                              f"task {self.ctx.task.name}, space {self.ctx.space.name}")
        return chat

    def messages(self, session_id: str) -> list[ChatMessage]:
        return transcript.messages(self.ctx.engine, session_id)

    def replies(self, session_id: str) -> list[Reply]:
        """The session's assistant messages as Replies (to show a resumed conversation)."""
        return [Reply.model_validate({**m.data, "session_id": session_id, "text": m.text})
                for m in self.messages(session_id) if m.role == "assistant"]

    def current_draft(self, session_id: str) -> Draft | None:
        return transcript.current_draft(self.messages(session_id))

    def send(self, session_id: str, text: str) -> Reply:
        """Answer one message (a slash command, or words); both are stored in the session."""
        chat = self.session(session_id)
        text = text.strip()
        history = self.messages(session_id)
        transcript.add_user(self.ctx.engine, chat, text)
        turn = Turn(ctx=self.ctx, chat=chat, history=history, text=text, number=transcript.turns(history) + 1,
                    try_steps=self.quick_steps, queue=self.queue)
        if not text:
            reply = turn.reply("say something about an idea, or /help")
        else:
            reply = run_command(turn) if text.startswith("/") else talk(turn)
        if self.ctx.llm is None:
            reply.text = f"{reply.text}\n{LLM_OFF}"
        transcript.add_reply(self.ctx.engine, reply)
        return reply

    def close(self) -> None:
        self.ctx.sandbox.close()
        if self.ctx.llm is not None:
            self.ctx.llm.close()
