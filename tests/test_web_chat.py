"""The web app's chat page over HTTP (FastAPI's TestClient on a real SQLite workspace, the offline engine, the
process sandbox): starting a session, a message's draft and retrieved ids on the page, escaping, /queue into a
run's steering history, /try and /save, bad input, one engine per (task, space) closed with the app, messages
to one session in turn, and the token rules."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from archlab.run.workspace import Workspace
from archlab.store import Candidate, Evaluation, Run
from archlab.store import records as store
from archlab.store.chat_log import list_sessions, messages
from archlab.store.steering import history
from archlab.web import create_app

XSS = "<script>alert(1)</script>"
LOCAL = "http://127.0.0.1"
IDEA = "a small conv network"  # the offline drafter keeps a draft with a conv: /try is quick


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """A stopped mnist1d run with one evaluated candidate (its summary hostile), and a run of another task."""
    monkeypatch.setenv("ARCHLAB_EMBEDDER", "hashing")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    workspace = Workspace(root=tmp_path / "ws")
    with Session(workspace.engine) as s:
        store.add_run(session=s, run=Run(id="r-chat", task="mnist1d", space="seq1d", status="stopped"))
        store.add_run(session=s, run=Run(id="r-digits", task="digits", space="nb201", status="stopped"))
        store.upsert_candidate(session=s, candidate=Candidate(
            id="c1", run_id="r-chat", step=1, origin="sample", source="def build_model(task):\n    return None\n",
            summary=f"conv(8) {XSS}", status="evaluated", fingerprint="fp-c1", params=1234))
        store.add_evaluation(session=s, evaluation=Evaluation(
            candidate_id="c1", run_id="r-chat", fingerprint="fp-c1", task="mnist1d", stage="train", fidelity=50,
            seed=0, status="ok", metrics={"val_acc": 0.8, "test_acc": 0.79}, wall_s=1.0))
    return workspace


@pytest.fixture
def client(ws: Workspace):
    with TestClient(create_app(ws), base_url=LOCAL) as client:  # `with`: the app's shutdown closes the engines
        yield client


def post(client: TestClient, path: str, **form) -> object:
    return client.post(path, data=form, follow_redirects=False)


def start(client: TestClient, **form) -> str:
    answer = post(client, "/chat", **{"task": "mnist1d", "space": "seq1d", **form})
    assert answer.status_code == 303, answer.text
    assert re.fullmatch(r"/chat/chat-[\w-]+", answer.headers["location"])
    return answer.headers["location"].removeprefix("/chat/")


def send(client: TestClient, chat_id: str, text: str) -> str:
    """Post a message and return the session's page after the redirect."""
    answer = post(client, f"/chat/{chat_id}", text=text)
    assert answer.status_code == 303 and answer.headers["location"] == f"/chat/{chat_id}#latest", answer.text
    page = client.get(f"/chat/{chat_id}")
    assert page.status_code == 200
    return page.text


def last_reply(page: str) -> str:
    """The page's last assistant message, with its turn data."""
    return page.rsplit('class="msg msg-assistant"', 1)[1].split('id="latest"')[0]


def stored(ws: Workspace, chat_id: str):
    with Session(ws.engine) as s:
        return list(messages(session=s, session_id=chat_id))


# --- pages ---------------------------------------------------------------------------------------------------

def test_start_a_chat_from_the_form_and_see_the_turn(client):
    listing = client.get("/chat")
    assert listing.status_code == 200 and 'id="new-chat"' in listing.text and "No chat yet" in listing.text
    assert 'value="mnist1d"' in listing.text and 'value="seq1d"' in listing.text  # the defaults
    assert '<option value="r-chat">' in listing.text and 'href="/chat" class="here"' in listing.text
    chat_id = start(client)
    reply = last_reply(send(client, chat_id, IDEA))
    assert "LLM off" in reply  # no endpoint configured: offline drafting and review
    assert '<details class="draft"><summary>draft (a derivation in seq1d' in reply
    assert "<pre>" in reply and "def build_model(task) -&gt; nn.Module:" in reply  # the source, escaped
    assert 'critic (offline): <span class="state state-accept">accept</span>' in reply
    assert re.search(r'href="/memory/\d+">#\d+</a>', reply)  # the literature seeds, retrieved
    assert 'href="/candidates/c1">c1</a> (best, val 0.8000' in reply
    assert f'href="/chat/{chat_id}">{IDEA}</a>' in client.get("/chat").text  # the first idea titles the session


def test_text_from_a_person_or_the_store_is_escaped(client):
    chat_id = start(client)
    page = send(client, chat_id, f"{IDEA} {XSS}")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert "conv(8) &lt;script&gt;" in page  # a retrieved candidate's summary
    assert page.count("<script") == 1  # the page's own, which carries the policy's nonce
    assert "&lt;script&gt;alert(1)" in client.get("/chat").text  # the session's title


def test_help_and_commands_that_cannot_be_done_yet(client):
    chat_id = start(client)
    assert "there is no draft yet" in last_reply(send(client, chat_id, "/draft"))
    assert "unknown command &#39;/frobnicate&#39;" in last_reply(send(client, chat_id, "/frobnicate"))
    help_reply = last_reply(send(client, chat_id, "/help"))
    assert "/queue [RUN]" in help_reply and "/save TEXT" in help_reply and "/try" in help_reply
    assert "there is no draft yet" in last_reply(send(client, chat_id, "/queue"))
    assert [m.role for m in stored(client.app.state.ws, chat_id)] == ["user", "assistant"] * 4


def test_queue_puts_the_draft_into_the_runs_steering_history(client, ws):
    chat_id = start(client, run="r-chat")
    assert 'href="/runs/r-chat">r-chat</a>' in client.get(f"/chat/{chat_id}").text
    send(client, chat_id, IDEA)
    reply = last_reply(send(client, chat_id, "/queue"))
    assert 'queued into run <a class="mono" href="/runs/r-chat">r-chat</a>' in reply
    assert "the run is stopped: the draft waits until it is resumed" in reply
    with Session(ws.engine) as s:
        (action,) = history(session=s, run_id="r-chat")
    assert (action.kind, action.status, action.origin) == ("draft", "pending", "chat")
    assert "build_model" in action.payload["source"] and action.payload["space"] == "seq1d"
    assert f"steering action #{action.id}" in reply
    run_page = client.get("/runs/r-chat").text
    steering = run_page.split('id="steering"')[1].split("</tbody>")[0]
    assert "<td>draft</td>" in steering and "<td>chat</td>" in steering and "state-pending" in steering


def test_try_trains_the_draft_in_the_sandbox_and_save_cites_it(client):
    # Before the engine opens: a quick /try. Not 10 steps: honest drafts reach 0.29-0.31 there, over the
    # leakage ceiling sandbox/integrity.py sets for mnist1d at 10 steps (0.279), and 2 in 14 were refused.
    client.app.state.chats.try_steps = 20
    chat_id = start(client)
    send(client, chat_id, IDEA)
    tried = last_reply(send(client, chat_id, "/try"))
    assert "on 20 training steps: ok" in tried
    assert re.search(r'tried <a class="mono" href="/candidates/chat-\w+">chat-\w+</a>\s+on 20 steps: '
                     r'<span class="state state-ok">ok</span> at the train stage', tried)
    assert "params" in tried and "FLOPs" in tried and "val acc" in tried
    saved = last_reply(send(client, chat_id, "/save one small convolution stage learns mnist1d within twenty steps"))
    assert re.search(r'saved as <a href="/memory/\d+">concept #\d+</a>', saved)
    assert "with supporting evidence from chat-" in saved


# --- bad input -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("form, message", [
    ({"task": "nope"}, "unknown task &#39;nope&#39;"),
    ({"space": "nope"}, "unknown grammar &#39;nope&#39;"),
    ({"task": "digits"}, "choose another --space"),
    ({"task": " "}, "a chat needs a task and a search space"),
    ({"run": "r-nope"}, "no run &#39;r-nope&#39;"),
    ({"run": "r-digits"}, "run r-digits searches task digits, not mnist1d"),
])
def test_a_chat_that_cannot_start_says_why(client, ws, form, message):
    answer = post(client, "/chat", **{"task": "mnist1d", "space": "seq1d", **form})
    assert answer.status_code == 400 and message in answer.text and "Traceback" not in answer.text
    assert 'href="/chat">back</a>' in answer.text
    with Session(ws.engine) as s:
        assert list_sessions(session=s) == []


def test_unknown_session_and_empty_message(client, ws):
    for answer in (client.get("/chat/chat-nope"), post(client, "/chat/chat-nope", text="hi")):
        assert answer.status_code == 404 and "no chat session &#39;chat-nope&#39;" in answer.text
        assert 'id="message"' in answer.text and "Traceback" not in answer.text
    chat_id = start(client)
    for form in ({"text": "   "}, {}):
        empty = post(client, f"/chat/{chat_id}", **form)
        assert empty.status_code == 400 and "the message is empty" in empty.text
    assert stored(ws, chat_id) == []


# --- engines -------------------------------------------------------------------------------------------------

def test_one_engine_per_task_and_space_closed_with_the_app(ws):
    app = create_app(ws)
    with TestClient(app, base_url=LOCAL) as client:
        first, second = start(client), start(client, run="r-chat")
        send(client, first, IDEA)
        send(client, second, IDEA)
        assert app.state.chats.opened() == [("mnist1d", "seq1d")]
    assert app.state.chats.opened() == []  # closed on shutdown: the sandbox and memory with it
    again = create_app(ws)  # a later server: a stored session opens its engine on its next message
    with TestClient(again, base_url=LOCAL) as client:
        assert "the current draft (a derivation in seq1d, by offline)" in last_reply(send(client, first, "/draft"))
        assert again.state.chats.opened() == [("mnist1d", "seq1d")]


def test_messages_to_one_session_take_turns(client, ws):
    chat_id = start(client)
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda text: post(client, f"/chat/{chat_id}", text=text),
                                [IDEA, "a conv network with a gru", "/help"]))
    assert [a.status_code for a in answers] == [303] * 3
    assert [m.role for m in stored(ws, chat_id)] == ["user", "assistant"] * 3  # never two users in a row


# --- who may use it ------------------------------------------------------------------------------------------

def test_changes_need_the_token_and_this_servers_origin(ws, client):
    cross = client.post("/chat", data={"task": "mnist1d", "space": "seq1d"}, headers={"origin": "http://evil.example"},
                        follow_redirects=False)
    assert cross.status_code == 403
    token = "s3cret-t0ken"
    with TestClient(create_app(ws, token=token), base_url="http://192.0.2.1") as guarded:
        assert guarded.get("/chat").status_code == 401
        assert guarded.get(f"/chat?token={token}").status_code == 200  # the cookie from now on
        page = guarded.get("/chat")
        assert f'name="token" value="{token}"' in page.text  # the form carries it
        assert post(guarded, "/chat", task="mnist1d", space="seq1d").status_code == 403  # a cookie alone: refused
        chat_id = start(guarded, token=token)
        assert post(guarded, f"/chat/{chat_id}", text=IDEA).status_code == 403
        assert f'name="token" value="{token}"' in guarded.get(f"/chat/{chat_id}").text
        assert post(guarded, f"/chat/{chat_id}", text=IDEA, token=token).status_code == 303
    assert [m.text for m in stored(ws, chat_id)][:1] == [IDEA]
    with Session(ws.engine) as s:
        assert len(list_sessions(session=s)) == 1
