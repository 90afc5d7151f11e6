"""The LLM client against a real local OpenAI-compatible server: structured output in every mode, the
bounded re-ask of invalid answers, transport faults retried by the openai client alone, accounting,
budgets; and every prompt template rendered strictly."""

import json

import jinja2
import pytest
from llm_server import ScriptedLLM
from sqlmodel import Session

from archlab.agents.llm.answers import PlanAnswer
from archlab.agents.llm.client import CallSite, LLMBudgetExceeded, LLMClient, LLMEndpointError, LLMError
from archlab.agents.llm.config import LLMConfig
from archlab.agents.llm.prompts import render, template_names
from archlab.store import agent_log, open_store, sqlite_url

PLAN = {"move": "explore", "parents": [], "hypothesis": "a wider first layer helps", "expected_effect": "+2%"}
TASK = {"name": "mnist1d", "kind": "classify", "input_shape": [1, 40], "num_outputs": 10, "max_params": 100000,
        "steps": 100}
CAND = {"id": "c1", "summary": "conv relu", "status": "evaluated", "params": 1000, "parents": [], "delta": 0.01,
        "reason": ""}
FIXTURES = {
    "system.j2": {"role": "planner"},
    "planner.j2": {"task": TASK, "space": "seq1d", "grammar": "g", "evaluated": 1,
                   "objective": "validation accuracy, higher is better",
                   "board": [{"id": "c1", "val": 0.5, "key": 0.5, "params": 10, "origin": "write", "parents": [],
                              "summary": "s"}],
                   "pareto": [{"id": "c1", "val": 0.5, "key": 0.5, "params": 10}],
                   "failures": [{"id": "c2", "status": "failed", "summary": "s", "reason": "r"}],
                   "concepts": [{"id": 1, "claim": "c", "kind": "hypothesis", "confidence": 0.4}],
                   "ideas": ["try gelu"]},
    "coder.j2": {"task": TASK, "plan": PLAN, "space": "seq1d", "grammar": "g",
                 "example": {"derivation": {"rule": "x"}, "summary": "s"},
                 "parents": [{"id": "c1", "summary": "s", "source": "def build_model(task): ...",
                              "derivation": None}]},
    "coder_repair.j2": {"task": TASK, "plan": PLAN, "source": "x", "reason": "build candidate_error: boom",
                        "traceback": "Traceback (most recent call last): ..."},
    "critic.j2": {"task": TASK, "plan": PLAN, "source": "x", "summary": "s", "params": 1, "flops": 2,
                  "nearest": [CAND], "concepts": [], "failures": []},
    "analyst.j2": {"task": TASK, "child": CAND, "comparison": {"claim": "c1 improved"},
                   "related": [CAND], "concepts": [],
                   "history": [{"stage": "train", "fidelity": 100, "seed": 0, "status": "ok", "val": 0.5,
                                "error": ""}]},
    "validation_retry.j2": {"error": "e", "schema_name": "PlanAnswer"},
    "json_mode.j2": {"schema": "{}"},
    "bench_nb201.j2": {"dataset": "cifar10", "epochs": 200, "budget": 10, "left": 9, "edges": [(1, 0)],
                       "ops": ["none"], "evaluated": 1, "best": [{"ops": ["none"] * 6, "val": 80.0}], "recent": []},
}


def test_every_template_renders_and_a_missing_variable_raises():
    assert set(template_names()) == set(FIXTURES)
    for name, variables in FIXTURES.items():
        assert render(name, **variables).strip()
        if variables:
            missing = dict(variables)
            missing.pop(next(iter(missing)))
            with pytest.raises(jinja2.UndefinedError):
                render(name, **missing)


@pytest.fixture
def server():
    s = ScriptedLLM()
    yield s
    s.close()


@pytest.fixture
def engine(tmp_path):
    return open_store(sqlite_url(tmp_path / "a.db"))


def client(server, engine=None, **cfg) -> LLMClient:
    cfg = {"base_url": server.url, "model": "scripted", "timeout_s": 2.0, "max_retries": 2, "validation_retries": 2,
           **cfg}
    return LLMClient(LLMConfig(**cfg), api_key=None, engine=engine, run_id="r1")


def ask(c: LLMClient):
    return c.structured(CallSite("planner"), PlanAnswer, "PLAN please", system="sys", convert=lambda a: a)


def calls(engine):
    with Session(engine) as s:
        return list(agent_log.run_calls(session=s, run_id="r1"))


@pytest.mark.parametrize("output", ["json_schema", "json_object", "tools"])
def test_structured_output_in_each_mode(server, engine, output):
    server.add("PLAN", PLAN)
    answer = ask(client(server, engine, output=output, price_in=1.0, price_out=2.0))
    assert answer == PlanAnswer(**PLAN)
    body = server.log[0].body
    if output == "tools":
        assert body["tool_choice"]["function"]["name"] == "PlanAnswer"
    else:
        assert body["response_format"]["type"] == output
    [call] = calls(engine)
    assert call.status == "ok" and call.prompt_tokens > 0 and call.completion_tokens > 0
    assert call.cost_usd == pytest.approx((call.prompt_tokens + 2 * call.completion_tokens) / 1e6)


def test_invalid_answers_are_re_asked_with_the_error(server, engine):
    server.add("PLAN", "{\"move\": \"explo", fault="truncated", times=1)
    server.add("PLAN", {"move": "jump", "hypothesis": "short"}, times=1)
    server.add("PLAN", PLAN)
    assert ask(client(server, engine)).move == "explore"
    assert "not valid JSON" in server.log[1].text and "move" in server.log[2].text.split("could not be used")[-1]
    assert [c.status for c in calls(engine)] == ["invalid", "invalid", "ok"]


def test_an_answer_that_never_validates_is_an_llm_error_not_a_crash(server, engine):
    server.add("PLAN", {"nonsense": True})
    with pytest.raises(LLMError) as err:
        ask(client(server, engine, validation_retries=1))
    assert err.value.status == "invalid" and len(server.log) == 2


def test_domain_check_is_re_asked(server):
    server.add("PLAN", {**PLAN, "parents": ["ghost"]}, times=1)
    server.add("PLAN", PLAN)

    def convert(a):
        if a.parents:
            raise ValueError(f"unknown parent ids {a.parents}")
        return a

    assert client(server).structured(CallSite("planner"), PlanAnswer, "PLAN", system="s", convert=convert).parents == []
    assert "unknown parent ids ['ghost']" in server.log[1].text


@pytest.mark.parametrize("fault,seen", [("429", "429"), ("500", "500"), ("timeout", "timeout")])
def test_transport_faults_are_retried_by_the_client_alone(server, engine, fault, seen):
    server.add("PLAN", PLAN, fault=fault, times=1, delay=1.5)
    server.add("PLAN", PLAN)
    assert ask(client(server, engine, timeout_s=0.5)).move == "explore"
    [call] = calls(engine)  # one call, its retry inside the openai client
    assert call.status == "ok" and call.requests == 2 and call.faults == {seen: 1}


def test_faults_past_the_client_retries_are_an_llm_error(server, engine):
    server.add("PLAN", PLAN, fault="500")
    with pytest.raises(LLMError) as err:
        ask(client(server, engine, max_retries=1))
    assert err.value.status == "server_error" and len(server.log) == 2
    assert calls(engine)[0].faults == {"500": 2}


@pytest.mark.parametrize("fault", ["partial_usage", "no_usage"])
def test_missing_token_counts_are_estimated_and_marked(server, engine, fault):
    """A gateway that sends only total_tokens, or no usage at all: no crash, no silent $0."""
    server.add("PLAN", PLAN, fault=fault)
    assert ask(client(server, engine, price_in=1.0, price_out=2.0)).move == "explore"
    [call] = calls(engine)
    assert call.status == "ok" and call.faults == {"usage_estimated": 1}
    assert call.prompt_tokens > 0 and call.completion_tokens > 0 and call.cost_usd > 0
    if fault == "partial_usage":  # the server's total is kept, split between prompt and completion
        prompt, content = len(server.log[0].text), len(json.dumps(PLAN))
        assert call.prompt_tokens + call.completion_tokens == max(1, prompt // 4) + max(1, content // 4)


def test_a_cut_off_answer_is_asked_again_with_more_tokens_then_named(server, engine, caplog):
    server.add("PLAN", PLAN, fault="length", times=1)
    server.add("PLAN", PLAN)
    assert ask(client(server, engine, max_tokens=100)).move == "explore"
    assert [e.body["max_tokens"] for e in server.log] == [100, 200]
    assert [c.status for c in calls(engine)] == ["truncated", "ok"]
    assert "cut off at max_tokens 100" in caplog.text and "llm.planner.max_tokens" in caplog.text

    server.add("PLAN", PLAN, fault="length")
    server.rules.pop(1)  # from now on every answer is cut off
    with pytest.raises(LLMError, match=r"cut off at max_tokens 200 .*raise llm.planner.max_tokens") as err:
        ask(client(server, engine, max_tokens=100))
    assert err.value.status == "truncated"  # not "not valid JSON", and not re-asked as such


def test_dropped_connections_are_not_called_timeouts(server, engine):
    server.add("PLAN", PLAN, fault="drop", times=1)
    server.add("PLAN", PLAN)
    assert ask(client(server, engine)).move == "explore"
    assert calls(engine)[0].faults == {"connection": 1}
    server.add("PLAN", PLAN, fault="drop")
    server.rules.pop(1)
    with pytest.raises(LLMError) as err:
        ask(client(server, engine, max_retries=1))
    assert err.value.status == "connection" and calls(engine)[-1].faults == {"connection": 2}


def test_a_repair_sees_the_traceback_of_the_failed_build(engine):
    from types import SimpleNamespace

    from archlab.agents.roles.coder.llm import build_traceback
    from archlab.store import Candidate, Evaluation
    from archlab.store import records as store

    trace = "Traceback (most recent call last):\n  File \"candidate.py\", line 9\nRuntimeError: shapes (4x7) (8x2)"
    with Session(engine) as s:
        store.upsert_candidate(session=s, candidate=Candidate(id="c1", run_id="r1", step=0, origin="write",
                                                               source="x"))
        store.add_evaluation(session=s, evaluation=Evaluation(
            candidate_id="c1", run_id="r1", fingerprint="", task="mnist1d", stage="build", fidelity=0, seed=0,
            status="candidate_error", error="RuntimeError: shapes", artifacts={"traceback": trace}))
    ctx = SimpleNamespace(session=lambda: Session(engine))
    assert build_traceback(ctx, "c1") == trace and build_traceback(ctx, "c2") == ""


@pytest.mark.parametrize("answer", [
    "Here is the plan:\n```json\n" + json.dumps(PLAN) + "\n```\nHope that helps.",
    "Sure! " + json.dumps(PLAN) + " Let me know.",
    json.dumps({"name": "PlanAnswer", "arguments": json.dumps(PLAN)}),
    json.dumps({"name": "PlanAnswer", "arguments": PLAN}),
])
def test_json_inside_prose_fences_or_tool_wrappers_is_read_without_a_re_ask(server, engine, answer):
    server.add("PLAN", answer)
    assert ask(client(server, engine)) == PlanAnswer(**PLAN)
    assert [c.status for c in calls(engine)] == ["ok"]


def test_a_400_to_json_schema_falls_back_to_json_mode(server, engine, caplog):
    server.add("PLAN", PLAN, fault="400_schema")
    c = client(server, engine, output="json_schema")
    assert ask(c) == PlanAnswer(**PLAN) and ask(c) == PlanAnswer(**PLAN)
    kinds = [e.body["response_format"]["type"] for e in server.log]
    assert kinds == ["json_schema", "json_object", "json_object"]  # asked once, then remembered
    assert "refused response_format json_schema" in caplog.text


def test_a_misconfigured_endpoint_stops_the_run(server):
    with pytest.raises(LLMEndpointError):  # 404: the script has no answer (like an unknown model)
        ask(client(server))


def test_the_token_budget_stops_further_calls(server, engine):
    server.add("PLAN", PLAN)
    c = client(server, engine, budget={"tokens": 10})
    ask(c)
    assert c.exhausted().startswith("LLM token budget reached")
    with pytest.raises(LLMBudgetExceeded):
        ask(c)
    again = client(server, engine, budget={"tokens": 10})  # a resumed run counts what was spent
    assert again.exhausted() is not None and len(server.log) == 1


def test_settings_cli_overrides_and_the_environment(monkeypatch):
    from archlab.cli.main import _llm_overrides
    from archlab.errors import ConfigError
    from archlab.run.settings import load_config

    assert _llm_overrides("http://h/v1", ["m1", "coder=m2"]) == {"base_url": "http://h/v1", "model": "m1",
                                                                  "coder": {"model": "m2"}}
    with pytest.raises(ConfigError, match="unknown role 'painter'"):
        _llm_overrides(None, ["painter=m"])
    monkeypatch.setenv("OPENAI_BASE_URL", "http://env/v1")
    monkeypatch.setenv("ARCHLAB_LLM__MODEL", "env-model")
    cfg = load_config(None, {"llm": {"model": "explicit", "critic": {"model": "judge"}}})
    assert cfg.llm.active and cfg.llm.base_url == "http://env/v1"  # the environment fills what is unset
    assert cfg.llm.model_of("planner") == "explicit" and cfg.llm.model_of("critic") == "judge"
    assert load_config(None).llm.model_of("coder") == "env-model"  # the one variable of llm.model
    monkeypatch.delenv("ARCHLAB_LLM__MODEL")
    # No hidden model: an LLM run that names none is refused, naming the setting and the roles without one.
    with pytest.raises(ConfigError, match=r"llm.model: an LLM run needs a model name and planner, coder, critic"):
        load_config(None)
    per_role = {"planner": {"model": "p"}, "coder": {"models": ["c1", "c2"]}, "critic": {"offline": True},
                "analyst": {"model": "a"}}
    assert load_config(None, {"llm": per_role}).llm.roles_without_model() == []
    with pytest.raises(ConfigError, match="llm.critic.model"):
        load_config(None, {"llm": per_role}).llm.model_of("critic")
    monkeypatch.setenv("ARCHLAB_LLM_MODEL", "old-name")  # a second variable for the same setting: refused
    with pytest.raises(ConfigError, match="ARCHLAB_LLM_MODEL is not read: set ARCHLAB_LLM__MODEL"):
        load_config(None, {"llm": {"model": "explicit"}})
    monkeypatch.delenv("ARCHLAB_LLM_MODEL")
    monkeypatch.setenv("ARCHLAB_LLM__MODEL", "env-model")
    assert not load_config(None, {"llm": {"enabled": False}}).llm.active
    monkeypatch.delenv("OPENAI_BASE_URL")
    assert not load_config(None).llm.active  # offline by default
    with pytest.raises(ConfigError, match="llm.enabled"):
        load_config(None, {"llm": {"enabled": True}})


def test_pure_checks_of_answers():
    from archlab.agents.llm.answers import Edit
    from archlab.agents.llm.views import pareto
    from archlab.agents.roles.coder.llm import apply_edits
    from archlab.agents.roles.critic.llm import source_key
    from archlab.agents.roles.planner.llm import to_plan

    assert to_plan(PlanAnswer(move="refine", parents=["c1"], hypothesis="widen c1 a bit"), {"c1"}, "s").by == "llm"
    with pytest.raises(ValueError, match="takes 2..2 parents"):
        to_plan(PlanAnswer(move="combine", parents=["c1"], hypothesis="mix c1 with c2"), {"c1"}, "s")
    with pytest.raises(ValueError, match="unknown parent ids"):
        to_plan(PlanAnswer(move="refine", parents=["c9"], hypothesis="widen c9 a bit"), {"c1"}, "s")
    assert apply_edits("a = 1\nb = 2\n", [Edit(search="b = 2", replace="b = 3")]) == "a = 1\nb = 3\n"
    with pytest.raises(ValueError, match="occurs 0 times"):
        apply_edits("a = 1\n", [Edit(search="c", replace="d")])
    assert source_key("x = 1  # one\n") == source_key("\nx = (1)\n") != source_key("y = 1\n")
    rows = [{"id": "a", "key": 0.9, "params": 100}, {"id": "b", "key": 0.8, "params": 10},
            {"id": "c", "key": 0.7, "params": 50}]
    assert [r["id"] for r in pareto(rows)] == ["b", "a"]
    # bits per byte: lower is better, so the key is its negative
    rows = [{"id": "a", "key": -3.5, "params": 100}, {"id": "b", "key": -3.6, "params": 10},
            {"id": "c", "key": -3.4, "params": 500}]
    assert [r["id"] for r in pareto(rows)] == ["b", "a", "c"]
