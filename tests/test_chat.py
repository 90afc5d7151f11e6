"""`archlab chat` in a real terminal (pexpect), offline: a message grounded in the memory gets a draft and
the critic's review, /try trains it in the sandbox, /save stores a concept with that evidence, /queue puts
the draft into a stored run's steering queue; a bad command is answered and the session goes on; the
session resumes with --session."""

import os
import sys
from pathlib import Path

import pexpect
import pytest
from sqlmodel import Session, select

from archlab.store import Run, open_store, sqlite_url
from archlab.store import records as store
from archlab.store.chat_log import ChatMessage
from archlab.store.concepts import Concept
from archlab.store.evidence import Evidence
from archlab.store.steering import history

pytestmark = pytest.mark.slow  # a real terminal session with sandbox jobs: about a minute

TIMEOUT = 120  # a cold start imports torch; /try builds and trains


def spawn(ws: Path, *args: str) -> pexpect.spawn:
    env = {**os.environ, "ARCHLAB_WORKSPACE": str(ws), "ARCHLAB_EMBEDDER": "hashing", "TERM": "dumb",
           "NO_COLOR": "1"}
    env.pop("OPENAI_BASE_URL", None)
    return pexpect.spawn(sys.executable, ["-m", "archlab", "chat", *args], env=env, encoding="utf-8",
                         timeout=TIMEOUT, dimensions=(50, 400))


def say(child: pexpect.spawn, text: str) -> str:
    """Send a line and return what the chat printed before its next prompt."""
    child.sendline(text)
    child.expect_exact("you> ")
    return child.before


def stored_run(ws: Path) -> str:
    ws.mkdir(parents=True)
    with Session(open_store(sqlite_url(ws / "archlab.db"))) as s:
        store.add_run(session=s, run=Run(id="r-chat", task="mnist1d", space="seq1d", status="stopped"))
    return "r-chat"


def test_an_offline_chat_drafts_tries_saves_queues_and_resumes(tmp_path):
    ws = tmp_path / "ws"
    run_id = stored_run(ws)
    child = spawn(ws, "--task", "mnist1d", "--steps", "20")
    child.expect(r"chat (chat-[\w-]+): task mnist1d, space seq1d; LLM off")
    session_id = child.match.group(1)
    child.expect_exact("you> ")

    talk = say(child, "a small conv network")  # a small draft: /try is quick
    assert "the parts you named (conv): it uses conv" in talk and "LLM off" in talk
    assert "draft (a derivation in seq1d, by offline):" in talk
    assert "critic (offline): accept" in talk
    assert "concepts: #" in talk  # the literature seeds, retrieved and named by id

    tried = say(child, "/try")
    assert "on 20 training steps: ok" in tried and "params" in tried and "FLOPs" in tried and "val acc" in tried
    assert "stored as candidate chat-" in tried

    assert "unknown command '/frobnicate'; /help lists the commands" in say(child, "/frobnicate")
    assert "/save needs the conclusion" in say(child, "/save")
    saved = say(child, "/save one small convolution stage trains on mnist1d within twenty steps")
    assert "saved as concept #" in saved and "with supporting evidence from chat-" in saved
    assert "which run?" in say(child, "/queue")
    queued = say(child, f"/queue {run_id}")
    assert f"queued the draft into run {run_id} as steering action #" in queued
    assert "the run is stopped: the draft waits until it is resumed" in queued
    assert "/queue [RUN]" in say(child, "/help")
    child.sendline("/quit")
    child.expect(f"resume it with --session {session_id}")
    child.expect(pexpect.EOF)

    engine = open_store(sqlite_url(ws / "archlab.db"))
    with Session(engine) as s:
        concept = s.exec(select(Concept).where(Concept.source == f"chat {session_id}")).one()
        evidence = s.exec(select(Evidence).where(Evidence.concept_id == concept.id)).all()
        actions = history(session=s, run_id=run_id)
        messages = s.exec(select(ChatMessage).where(ChatMessage.session_id == session_id)).all()
        tried_cand = store.get_candidate(session=s, candidate_id=evidence[0].candidate_id)
    assert (concept.task, concept.space) == ("mnist1d", "seq1d") and len(evidence) == 1
    assert tried_cand.status == "evaluated" and tried_cand.run_id is None and tried_cand.origin == "chat"
    assert [(a.kind, a.status, a.origin) for a in actions] == [("draft", "pending", "chat")]
    assert actions[0].payload["space"] == "seq1d" and "build_model" in actions[0].payload["source"]
    assert actions[0].payload["derivation"] == tried_cand.derivation
    assert len(messages) == 2 * 9 and messages[0].role == "user"

    child = spawn(ws, "--session", session_id)
    child.expect_exact(f"chat {session_id}: task mnist1d, space seq1d")
    child.expect(r"resumed: 18 messages so far")
    child.expect_exact(f"current draft: {tried_cand.summary}")
    child.expect_exact("you> ")
    assert "def build_model" in say(child, "/draft")
    child.sendline("/quit")
    child.expect(pexpect.EOF)
