"""The chat engine in-process, without the sandbox: its templates, the offline drafter's choice, commands
that cannot be done yet, an LLM that fails (the turn is drafted offline), and sessions that do not fit."""

import random

import jinja2
import pytest
from llm_server import ScriptedLLM

from archlab.agents.chat import offline
from archlab.agents.chat.grounding import Grounding
from archlab.agents.llm.prompts import render
from archlab.errors import ConfigError
from archlab.run.chat import open_chat
from archlab.run.workspace import Workspace
from archlab.spaces import load_space

TASK = {"name": "mnist1d", "kind": "classify", "input_shape": [1, 40], "num_outputs": 10, "max_params": 100000,
        "steps": 100}
REFS = {"concepts": [{"id": 1, "claim": "c", "kind": "hypothesis", "confidence": 0.4}],
        "candidates": [{"id": "c1", "why": "best", "val_acc": 0.5, "params": 10, "summary": "s"}]}
FIXTURES = {
    "chat/system.j2": {"role": "assistant"},
    "chat/assistant.j2": {"task": TASK, "space": "seq1d", "grammar": "g", **REFS,
                          "example": {"derivation": {"symbol": "x"}, "summary": "s"},
                          "draft": {"summary": "s", "space": "seq1d", "derivation": None, "source": "x"},
                          "history": [{"role": "user", "text": "hi"}], "message": "a gru"},
    "chat/review.j2": {"task": TASK, "idea": "a gru", "summary": "s", "rationale": "r", "source": "x", **REFS},
}


@pytest.fixture
def ws(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHLAB_EMBEDDER", "hashing")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return Workspace(root=tmp_path / "ws")


def test_every_chat_template_renders_and_a_missing_variable_raises():
    for name, variables in FIXTURES.items():
        assert render(name, **variables).strip()
        missing = dict(variables)
        missing.pop(next(iter(missing)))
        with pytest.raises(jinja2.UndefinedError):
            render(name, **missing)


def test_offline_drafting_prefers_the_parts_the_message_names(ws):
    space = load_space("seq1d")
    assert offline.named_parts(space, "Residuals around a GRU, no attention?") == {"residual", "gru", "attention"}
    engine, _ = open_chat(ws, task="mnist1d")
    try:
        draft, how = offline.draft(engine.ctx, "a gru, please", Grounding(), random.Random(0))
    finally:
        engine.close()
    assert "gru" in offline.symbols(space.load_tree(draft.derivation))
    assert "you named (gru): it uses gru" in how and draft.by == "offline" and draft.space == "seq1d"


def test_commands_that_cannot_be_done_say_why_and_the_session_goes_on(ws):
    engine, chat = open_chat(ws, task="mnist1d")
    try:
        for command in ("/try", "/queue", "/draft"):
            reply = engine.send(chat.id, command)
            assert reply.text.startswith("there is no draft yet") and reply.command == command[1:]
        assert "not done: a claim needs at least a few words" in engine.send(chat.id, "/save hi").text
        reply = engine.send(chat.id, "try a conv network")
        assert reply.draft is not None and reply.review.decision == "accept" and "LLM off" in reply.text
        assert engine.send(chat.id, "/queue").text.startswith("which run?")
        assert engine.current_draft(chat.id) == reply.draft
    finally:
        engine.close()
    assert len(engine.messages(chat.id)) == 2 * 6


def test_a_failing_llm_leaves_the_turn_to_the_offline_drafter_and_critic(ws, tmp_path):
    server = ScriptedLLM().add("archlab CHAT ASSISTANT", fault="500").add("archlab CHAT CRITIC", fault="500")
    config = tmp_path / "llm.yaml"
    config.write_text("llm: {max_retries: 0, max_failures: 5}\n")
    try:
        engine, chat = open_chat(ws, task="mnist1d", config=config, llm_base_url=server.url, llm_model="scripted")
        reply = engine.send(chat.id, "a conv network")
        engine.close()
    finally:
        server.close()
    assert not reply.llm and reply.draft.by == "offline" and reply.review.by == "offline"
    assert "The LLM gave no usable answer (server_error): this turn is drafted offline." in reply.text
    assert "the LLM critic gave no review (server_error); this is the offline verdict" in reply.text


def test_a_session_opens_only_with_its_own_task_and_a_space_that_fits(ws):
    engine, chat = open_chat(ws, task="mnist1d")
    engine.close()
    with pytest.raises(ConfigError, match="is about task mnist1d"):
        open_chat(ws, task="mnist1d-10k", session_id=chat.id)
    with pytest.raises(ConfigError, match="no chat session"):
        open_chat(ws, session_id="chat-nope")
    with pytest.raises(ConfigError, match="choose another --space"):
        open_chat(ws, task="digits", space="seq1d")
    with pytest.raises(ConfigError, match="no run"):
        open_chat(ws, run_id="r-nope")
