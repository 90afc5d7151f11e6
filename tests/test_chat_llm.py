"""`archlab chat` against the scripted OpenAI-compatible server (tests/llm_server.py), in a real terminal:
the assistant's structured draft is used (after an invalid derivation is re-asked with the reason), the
LLM critic's review shows, and the prompts carried what the turn retrieved."""

import re

import pexpect
from llm_server import ScriptedLLM
from sqlmodel import Session, select
from test_chat import say, spawn

from archlab.store import open_store, sqlite_url
from archlab.store.agent_log import LLMCall

MLP = '''import torch
from torch import nn


def build_model(task):
    inputs = task.input_shape[0] * task.input_shape[-1]
    return nn.Sequential(nn.Flatten(), nn.Linear(inputs, 32), nn.ReLU(), nn.Linear(32, task.num_outputs))
'''


def script() -> ScriptedLLM:
    s = ScriptedLLM()
    bad = {"message": "a derivation", "draft": {"kind": "derivation", "rationale": "a tree",
                                                "derivation": {"symbol": "nonsense"}}}
    s.add("archlab CHAT ASSISTANT", bad, times=1)
    s.add(["archlab CHAT ASSISTANT", "not valid in space seq1d"], {
        "message": "Start from a plain MLP baseline, then add structure one piece at a time.",
        "draft": {"kind": "source", "summary": "MLP-32 baseline", "rationale": "a baseline to beat", "source": MLP}})
    s.add("archlab CHAT CRITIC", {"decision": "revise", "reason": "widen the hidden layer to 64 units first"})
    return s


def test_an_llm_chat_uses_the_structured_draft_and_shows_the_llm_review(tmp_path):
    server = script()
    try:
        child = spawn(tmp_path / "ws", "--task", "mnist1d", "--llm-base-url", server.url, "--llm-model", "scripted")
        child.expect_exact(f"space seq1d; LLM at {server.url}")
        child.expect_exact("you> ")
        out = say(child, "what is a sensible baseline for mnist1d?")
        child.sendline("/quit")
        child.expect(pexpect.EOF)
    finally:
        server.close()
    assert "assistant> Start from a plain MLP baseline" in out and "LLM off" not in out
    assert "draft (free-form source, by llm): MLP-32 baseline" in out
    assert "critic (llm): revise — widen the hidden layer to 64 units first" in out

    asked = server.calls("archlab CHAT ASSISTANT")
    assert len(asked) == 2 and "From the concept memory:\n- #" in asked[0].text
    shown = re.findall(r"concepts: (#\d+)", out)
    assert shown and f"- {shown[0]} [" in asked[0].text  # the concepts the reply names are those the model saw
    with Session(open_store(sqlite_url(tmp_path / "ws" / "archlab.db"))) as s:
        calls = s.exec(select(LLMCall)).all()
    assert [(c.role, c.status, c.run_id) for c in calls] == [("coder", "invalid", None), ("coder", "ok", None),
                                                               ("critic", "ok", None)]
