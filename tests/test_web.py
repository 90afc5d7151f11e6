"""The web app over HTTP (FastAPI's TestClient on a real SQLite workspace): every page, escaping, steering
recorded in the run's history, bad input, and the token rules."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session
from typer.testing import CliRunner

from archlab.errors import ConfigError
from archlab.run.workspace import Workspace
from archlab.store import Candidate, Evaluation, Run
from archlab.store import records as store
from archlab.store.agent_log import Idea
from archlab.store.evidence import EvidenceCreate
from archlab.store.grammars import GrammarRecord, add_grammar
from archlab.store.steering import history
from archlab.web import create_app
from archlab.web.auth import check_bind

XSS = "<script>alert(1)</script>"
LOCAL = "http://127.0.0.1"


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def add_candidate(s: Session, cid: str, run_id: str, *, val: float, parents: list[str] | None = None,
                  summary: str = "conv(16) relu", error: str | None = None) -> None:
    store.upsert_candidate(session=s, candidate=Candidate(
        id=cid, run_id=run_id, step=1, origin="mutate" if parents else "sample", parent_ids=parents or [],
        rationale="<img src=x onerror=alert(2)> (fresh sample)", source="def build_model(task):\n    return None\n",
        summary=summary, status="evaluated", fingerprint=f"fp-{cid}", params=1000 * (1 + len(cid)), flops=5000))
    for stage, fidelity, metrics in (("build", 0, {"params": 1000}),
                                     ("train", 50, {"val_acc": val, "test_acc": val - 0.01, "curve": [[1, 2.0]]})):
        store.add_evaluation(session=s, evaluation=Evaluation(
            candidate_id=cid, run_id=run_id, fingerprint=f"fp-{cid}", task="mnist1d", stage=stage, fidelity=fidelity,
            seed=0, status="ok", metrics=metrics, wall_s=1.5, error=error if stage == "train" else None))


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """Runs in every state, a small family of candidates (one with a hostile summary), a stored grammar."""
    monkeypatch.setenv("ARCHLAB_EMBEDDER", "hashing")
    workspace = Workspace(root=tmp_path / "ws")
    with Session(workspace.engine) as s:
        for run_id, status, pid in (("r-done", "finished", None), ("r-live", "running", os.getpid()),
                                    ("r-dead", "running", dead_pid()), ("r-paused", "paused", os.getpid())):
            store.add_run(session=s, run=Run(id=run_id, task="mnist1d", space="seq1d", budget_s=300.0, status=status,
                                             pid=pid, used_s=42.0))
        add_candidate(s, "c1", "r-done", val=0.8, summary=XSS)
        add_candidate(s, "c2", "r-done", val=0.6, parents=["c1"], error="<b>boom</b>")
        add_candidate(s, "c3", "r-live", val=0.5)
        add_grammar(session=s, record=GrammarRecord(
            id="g1", name="mine", text="# <i>my grammar</i>\n", parent="seq1d", proposed_by="coder (<em>llm</em>)",
            run_id="r-done", task="mnist1d", rationale=XSS))
    return workspace


@pytest.fixture
def client(ws: Workspace) -> TestClient:
    return TestClient(create_app(ws), base_url=LOCAL)


def steering(ws: Workspace, run_id: str):
    with Session(ws.engine) as s:
        return list(history(session=s, run_id=run_id))


# --- pages -----------------------------------------------------------------------------------------------

def test_runs_list_shows_each_state(client):
    page = client.get("/")
    assert page.status_code == 200
    for run_id, state in (("r-done", "finished"), ("r-live", "running"), ("r-dead", "interrupted"),
                          ("r-paused", "paused")):
        assert f'href="/runs/{run_id}"' in page.text
        assert f'state-{state}">{state}</span>' in page.text
    assert "0.8000" in page.text and "42s / 5m 00s" in page.text


def test_run_page_has_board_plots_lineage_and_controls(client):
    page = client.get("/runs/r-done")
    assert page.status_code == 200
    text = page.text
    assert text.index('href="/candidates/c1"') < text.index('href="/candidates/c2"')  # best first
    assert text.count("<svg") >= 2  # Pareto front and best so far
    assert 'id="lineage"' in text and "mutate" in text
    for action in ("pause", "resume", "stop", "idea", "veto-candidate", "veto-direction", "budget"):
        assert f'action="/runs/r-done/steer/{action}"' in text


def test_live_endpoint_sends_only_new_rows(client, ws):
    first = client.get("/runs/r-done/live").json()
    assert first["new"] == 4 and first["state"] == "finished" and "c2" in first["rows"]
    assert "&lt;b&gt;boom&lt;/b&gt;" in first["rows"] and "<b>boom" not in first["rows"]
    again = client.get(f"/runs/r-done/live?after={first['last_id']}").json()
    assert again["new"] == 0 and again["rows"].strip() == "" and again["last_id"] == first["last_id"]
    with Session(ws.engine) as s:
        add_candidate(s, "c9", "r-done", val=0.7)
    later = client.get(f"/runs/r-done/live?after={first['last_id']}").json()
    assert later["new"] == 2 and "c9" in later["rows"] and "c1" not in later["rows"]


def test_candidate_page(client):
    page = client.get("/candidates/c2")
    assert page.status_code == 200
    assert 'href="/candidates/c1"' in page.text  # parent
    assert "val_acc=0.6" in page.text and "curve=[1 values]" in page.text and "fidelity" in page.text
    assert "&lt;b&gt;boom&lt;/b&gt;" in page.text  # the train row's error, escaped
    assert "def build_model(task):" in page.text
    parent = client.get("/candidates/c1")
    assert 'href="/candidates/c2"' in parent.text  # child


def test_llm_and_person_text_is_escaped(client):
    for url in ("/candidates/c1", "/runs/r-done", "/grammars/mine", "/grammars"):
        page = client.get(url)
        assert page.status_code == 200, url
        assert "<script>alert(1)" not in page.text and "<img src=x" not in page.text and "<em>llm" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get("/candidates/c1").text
    run = client.get("/runs/r-done")
    assert run.text.count("<script") == 1  # the page's own script, which carries the policy's nonce
    nonce = run.headers["content-security-policy"].split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in run.text


def test_grammar_pages(client):
    listing = client.get("/grammars")
    assert all(f'href="/grammars/{name}"' in listing.text for name in ("seq1d", "nb201", "lmblocks", "mine"))
    builtin = client.get("/grammars/seq1d")
    assert "Built into archlab" in builtin.text and 'id="space-stats"' in builtin.text
    # the best score and its metric; extended by the stored one
    assert '>0.8000 <span class="small muted">val acc<' in builtin.text and "mine" in builtin.text
    stored = client.get("/grammars/mine")
    assert "&lt;i&gt;my grammar&lt;/i&gt;" in stored.text and 'href="/runs/r-done"' in stored.text
    assert "coder (&lt;em&gt;llm&lt;/em&gt;)" in stored.text


def test_memory_search_and_concept_page(client):
    listing = client.get("/memory")
    assert listing.status_code == 200 and 'id="concepts"' in listing.text  # the literature seeds
    hits = client.get("/memory", params={"q": "evolutionary search with a grammar"})
    assert hits.status_code == 200 and "similarity" in hits.text
    memory = client.app.state.memory
    concept_id = memory.retrieve("weight sharing", k=1)[0].concept.id
    memory.add_evidence(EvidenceCreate(concept_id=concept_id, candidate_id="c1", run_id="r-done",
                                       direction="supports", effect_size=0.05, fidelity=50, note=XSS))
    page = client.get(f"/memory/{concept_id}")
    assert 'id="evidence"' in page.text and 'href="/candidates/c1"' in page.text and "+0.0500" in page.text
    assert "&lt;script&gt;" in page.text and "<script>alert" not in page.text


@pytest.mark.parametrize("url", ["/runs/nope", "/runs/nope/live", "/candidates/nope", "/memory/99999",
                                 "/grammars/nope"])
def test_unknown_things_are_404_pages(client, url):
    page = client.get(url)
    assert page.status_code == 404 and 'id="message"' in page.text and "Traceback" not in page.text


# --- steering ----------------------------------------------------------------------------------------------

def post(client: TestClient, path: str, **form) -> object:
    return client.post(path, data=form, follow_redirects=False)


def test_idea_is_recorded_and_queued(client, ws):
    answer = post(client, "/runs/r-done/steer/idea", text="  try   depthwise convs ")
    assert answer.status_code == 303 and answer.headers["location"] == "/runs/r-done"
    (action,) = steering(ws, "r-done")
    assert (action.kind, action.origin, action.status, action.payload["text"]) == (
        "idea", "web", "pending", "try depthwise convs")
    with Session(ws.engine) as s:
        assert s.get(Idea, action.payload["idea_id"]).status == "queued"
    page = client.get("/runs/r-done").text
    assert "try depthwise convs" in page and "state-queued" in page


def test_vetoes_and_budget_are_recorded(client, ws):
    assert post(client, "/runs/r-done/steer/veto-candidate", candidate_id="c2", reason="too big",
                back="/candidates/c2").headers["location"] == "/candidates/c2"
    post(client, "/runs/r-done/steer/veto-direction", text="attention")
    for value in ("+10m", "-5m", "1h"):
        assert post(client, "/runs/r-done/steer/budget", budget=value).status_code == 303
    payloads = [(a.kind, a.payload) for a in steering(ws, "r-done")]
    assert payloads == [("veto_candidate", {"candidate_id": "c2", "reason": "too big"}),
                        ("veto_direction", {"text": "attention"}), ("budget", {"delta_s": 600.0}),
                        ("budget", {"delta_s": -300.0}), ("budget", {"seconds": 3600.0})]


def test_course_of_a_live_run(client, ws):
    assert post(client, "/runs/r-live/steer/pause").status_code == 303
    refused = post(client, "/runs/r-live/steer/resume")
    assert refused.status_code == 409 and "is not paused" in refused.text
    assert post(client, "/runs/r-paused/steer/resume").status_code == 303
    assert post(client, "/runs/r-dead/steer/stop").status_code == 303  # no process: stopped at once
    assert [(a.kind, a.status) for a in steering(ws, "r-live")] == [("pause", "pending")]
    assert [(a.kind, a.status) for a in steering(ws, "r-dead")] == [("stop", "applied")]
    assert 'state-stopped">stopped' in client.get("/").text


def test_refusals_show_their_message(client, ws):
    bad = post(client, "/runs/r-done/steer/budget", budget="soon")
    assert bad.status_code == 400 and "&#39;+10m&#39; adds" in bad.text and "Traceback" not in bad.text
    assert post(client, "/runs/r-done/steer/budget", budget=" ").status_code == 400
    assert post(client, "/runs/r-done/steer/budget", budget="0").status_code == 400
    assert post(client, "/runs/r-done/steer/idea", text="   ").status_code == 400
    assert post(client, "/runs/r-done/steer/veto-candidate", candidate_id="c3").status_code == 400  # other run's
    finished = post(client, "/runs/r-done/steer/pause")
    assert finished.status_code == 409 and "not running" in finished.text
    assert post(client, "/runs/nope/steer/idea", text="x").status_code == 404
    assert post(client, "/runs/r-done/steer/explode").status_code == 404
    assert steering(ws, "r-done") == []


def test_redirect_stays_on_this_server(client):
    answer = post(client, "/runs/r-done/steer/veto-direction", text="gru", back="//evil.example/x")
    assert answer.headers["location"] == "/runs/r-done"


@pytest.mark.parametrize("value, payload", [("+90s", {"delta_s": 90.0}), ("-1h30m", {"delta_s": -5400.0}),
                                            ("45m", {"seconds": 2700.0}), ("600", {"seconds": 600.0})])
def test_budget_forms(client, ws, value, payload):
    assert post(client, "/runs/r-done/steer/budget", budget=value).status_code == 303
    assert steering(ws, "r-done")[-1].payload == payload


# --- who may use it ----------------------------------------------------------------------------------------

def test_bind_rules():
    check_bind("127.0.0.1", None)
    check_bind("::1", None)
    check_bind("0.0.0.0", "long-random-token")
    with pytest.raises(ConfigError, match="pass --token"):
        check_bind("0.0.0.0", None)
    with pytest.raises(ConfigError, match="empty"):
        check_bind("0.0.0.0", " ")


def test_serve_refuses_a_public_bind_without_token(ws, monkeypatch):
    from archlab.cli.main import app

    monkeypatch.setenv("ARCHLAB_WORKSPACE", str(ws.root))
    monkeypatch.delenv("ARCHLAB_WEB_TOKEN", raising=False)
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--port", "1"])
    assert result.exit_code == 2 and "pass --token" in result.output


def test_local_server_refuses_other_hosts_and_origins(client, ws):
    assert client.get("/", headers={"host": "evil.example"}).status_code == 403  # DNS rebinding
    assert client.get("/", headers={"host": "localhost:8765"}).status_code == 200
    cross = client.post("/runs/r-done/steer/idea", data={"text": "x"}, headers={"origin": "http://evil.example"},
                        follow_redirects=False)
    assert cross.status_code == 403
    same = client.post("/runs/r-done/steer/idea", data={"text": "y"}, headers={"origin": LOCAL},
                       follow_redirects=False)
    assert same.status_code == 303 and [a.payload["text"] for a in steering(ws, "r-done")] == ["y"]


def test_token_guards_pages_and_changes(ws):
    token = "s3cret-t0ken"
    client = TestClient(create_app(ws, token=token), base_url="http://192.0.2.1")
    locked = client.get("/runs/r-done")
    assert locked.status_code == 401 and token not in locked.text and "?token=" in locked.text
    assert client.get("/?token=wrong", follow_redirects=False).status_code == 401
    entry = client.get(f"/runs/r-done?token={token}", follow_redirects=False)
    assert entry.status_code == 303 and entry.headers["location"] == "/runs/r-done"
    cookie = entry.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    page = client.get("/runs/r-done")  # the cookie now
    assert page.status_code == 200 and f'name="token" value="{token}"' in page.text
    # A cookie alone changes nothing (a page elsewhere could make the browser send it).
    assert post(client, "/runs/r-done/steer/idea", text="cookie only").status_code == 403
    assert post(client, "/runs/r-done/steer/idea", text="wrong", token="nope").status_code == 403
    assert post(client, "/runs/r-done/steer/idea", text="form", token=token).status_code == 303
    bare = TestClient(create_app(ws, token=token), base_url="http://192.0.2.1")
    assert bare.post("/runs/r-done/steer/idea", data={"text": "header"}, headers={"X-Archlab-Token": token},
                     follow_redirects=False).status_code == 303
    assert bare.get("/", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert bare.get("/").status_code == 401
    assert [a.payload["text"] for a in steering(ws, "r-done")] == ["form", "header"]
    health = bare.get("/healthz")  # a container's health check: no token, and nothing of the runs
    assert (health.status_code, health.text) == (200, "ok")


def test_access_log_never_shows_the_token():
    import logging

    from archlab.web.auth import RedactToken

    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5", "GET", "/runs/x?token=s3cret&a=1", "1.1", 303), None)
    RedactToken().filter(record)
    assert "s3cret" not in record.getMessage() and "token=***&a=1" in record.getMessage()
