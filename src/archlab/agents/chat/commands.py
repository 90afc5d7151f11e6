"""The chat's slash commands. A bad command, or one that cannot be done now, gets a message; the session
goes on."""

from __future__ import annotations

from collections.abc import Callable

from archlab.agents.chat import transcript
from archlab.agents.chat.models import Reply, TryResult
from archlab.agents.chat.save import save
from archlab.agents.chat.trial import try_draft
from archlab.agents.chat.turn import Turn
from archlab.errors import ConfigError

HELP = {
    "/try": "build and briefly train the current draft in the sandbox (low fidelity); the result is stored",
    "/save TEXT": "save TEXT as a concept, with the drafts tried in this chat as its evidence",
    "/queue [RUN]": "queue the current draft into a run (the chat's run by default); it is evaluated next",
    "/draft": "show the current draft's source",
    "/help": "this list",
    "/quit": "end the chat (it can be resumed)",
}
NO_DRAFT = "there is no draft yet: describe an idea and I will draft one"


def run_command(turn: Turn) -> Reply:
    name, *rest = turn.text.split(maxsplit=1)
    name, arg = name.lower(), rest[0] if rest else ""
    handler = HANDLERS.get(name)
    if handler is None:
        return turn.reply(f"unknown command {name!r}; /help lists the commands")
    try:
        return handler(turn, arg.strip())
    except ConfigError as exc:
        return turn.reply(f"{name}: not done: {exc}", command=name[1:])


def _help(turn: Turn, arg: str) -> Reply:
    return turn.reply("\n".join(f"{usage:<14} {what}" for usage, what in HELP.items()), command="help")


def _quit(turn: Turn, arg: str) -> Reply:
    return turn.reply(f"chat {turn.chat.id} is kept; resume it with --session {turn.chat.id}", command="quit",
                      done=True)


def _draft(turn: Turn, arg: str) -> Reply:
    draft = turn.draft
    if draft is None:
        return turn.reply(NO_DRAFT, command="draft")
    where = f"a derivation in {draft.space}" if draft.derivation else "free-form source"
    return turn.reply(f"the current draft ({where}, by {draft.by}): {draft.summary}\n\n{draft.source.rstrip()}",
                      command="draft", draft=draft)


def _try(turn: Turn, arg: str) -> Reply:
    draft = turn.draft
    if draft is None:
        return turn.reply(NO_DRAFT, command="try")
    result = try_draft(turn.ctx, draft, steps=turn.try_steps, session_id=turn.chat.id)
    return turn.reply(describe_try(result, draft.summary), command="try", evaluation=result)


def describe_try(r: TryResult, summary: str) -> str:
    head = f"tried {summary or r.candidate_id} on {r.steps} training steps: {r.status}"
    if r.status != "ok":
        return f"{head} at the {r.stage} stage — {r.error}\n(stored as candidate {r.candidate_id})"
    score = f"val acc {r.val_acc:.4f}" if r.val_acc is not None else f"val bpb {r.val_bpb}"
    again = " (this result was stored before: not trained again)" if r.reused else ""
    return (f"{head}, {r.params:,} params, {r.flops:,} FLOPs, {score}, {r.wall_s:.1f} s{again}\n"
            f"(stored as candidate {r.candidate_id}, evaluation {r.evaluation_id}; in no run's leaderboard)")


def _save(turn: Turn, arg: str) -> Reply:
    if not arg:
        return turn.reply("/save needs the conclusion: /save TEXT", command="save")
    saved = save(turn.ctx, arg, session_id=turn.chat.id, tried=transcript.tried(turn.history))
    c = saved.concept
    cited = (f"with supporting evidence from {', '.join(saved.evidence)}" if saved.evidence
             else "with no evidence yet (no draft was tried in this chat)")
    return turn.reply(f"{_saved_as(saved)} ({c.kind}, task {c.task}, space {c.space}), {cited}; "
                      f"confidence {c.confidence:.2f}", command="save", saved_concept=c.id)


def _saved_as(saved) -> str:
    cid = saved.concept.id
    if saved.added.action == "merged":
        return f"merged into concept #{cid} (a paraphrase, similarity {saved.added.similarity:.2f})"
    return f"already stored as concept #{cid}" if saved.added.action == "existing" else f"saved as concept #{cid}"


def _queue(turn: Turn, arg: str) -> Reply:
    draft = turn.draft
    if draft is None:
        return turn.reply(NO_DRAFT, command="queue")
    if turn.queue is None:
        return turn.reply("queueing into a run is not available here", command="queue")
    if not arg and turn.chat.run_id is None:
        return turn.reply("which run? /queue RUN (or start the chat with --run RUN)", command="queue")
    queued = turn.queue(arg or turn.chat.run_id, draft.payload())
    return turn.reply(queued.note, command="queue", queued=queued)


HANDLERS: dict[str, Callable[[Turn, str], Reply]] = {
    "/try": _try, "/save": _save, "/queue": _queue, "/draft": _draft, "/help": _help, "/quit": _quit}
