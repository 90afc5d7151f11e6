"""Several models per role: the bandit learns from the run's store which model yields accepted, improving
candidates per unit cost, the client sends and records the model it picked, and the report shows the arms."""

from collections import Counter

import pytest
from llm_server import ScriptedLLM
from sqlmodel import Session

from archlab.agents.llm.answers import PlanAnswer
from archlab.agents.llm.calls import CallSite
from archlab.agents.llm.client import LLMClient
from archlab.agents.llm.config import LLMConfig
from archlab.agents.llm.model_bandit import ModelBandit, arm_stats
from archlab.agents.roles.critic.offline import candidate_id
from archlab.report.llm import llm_section
from archlab.store import Candidate, Run, agent_log, open_store, sqlite_url
from archlab.store import records as store

RUN = "r1"


@pytest.fixture
def engine(tmp_path):
    engine = open_store(sqlite_url(tmp_path / "a.db"))
    with Session(engine) as s:
        store.add_run(session=s, run=Run(id=RUN, task="mnist1d", space="seq1d"))
    return engine


def record(engine, step: int, model: str, *, status: str, delta: float | None = None, tokens: int = 1000,
           usd: float = 0.0, role: str = "coder") -> None:
    """A coder call at (step, 0) and the candidate it led to."""
    with Session(engine) as s:
        agent_log.add_call(session=s, call=agent_log.LLMCall(run_id=RUN, step=step, attempt=0, role=role,
                                                             model=model, status="ok", prompt_tokens=tokens,
                                                             completion_tokens=0, cost_usd=usd))
        store.upsert_candidate(session=s, candidate=Candidate(id=candidate_id(RUN, step, 0), run_id=RUN, step=step,
                                                              origin="write", source="x", status=status,
                                                              parent_delta=delta))


def cfg(*models: str, **prices) -> LLMConfig:
    return LLMConfig(base_url="http://127.0.0.1:1/v1", coder={"models": list(models)}, prices=prices)


def choices(engine, config: LLMConfig, steps=range(100, 160)) -> Counter:
    bandit = ModelBandit(engine, RUN, config)
    return Counter(bandit.choose(CallSite(role="coder", step=s)) for s in steps)


def test_outcomes_are_read_from_the_candidates(engine):
    record(engine, 0, "a", status="evaluated", delta=0.02)
    record(engine, 1, "a", status="evaluated", delta=-0.05)  # worse than its parent
    record(engine, 2, "a", status="evaluated", delta=None)  # a fresh exploration that trained
    record(engine, 3, "b", status="rejected")
    record(engine, 4, "b", status="accepted")  # not decided yet: no trial
    arms = {a.model: a for a in arm_stats(engine, RUN, "coder", ["a", "b", "c"])}
    assert (arms["a"].trials, arms["a"].successes, arms["a"].calls) == (3, 2, 3)
    assert (arms["b"].trials, arms["b"].successes, arms["b"].calls) == (1, 0, 2)
    assert arms["c"].trials == 0


def test_an_untried_model_goes_first(engine):
    record(engine, 0, "a", status="evaluated", delta=0.1)
    assert choices(engine, cfg("a", "b")) == Counter({"b": 60})


def test_the_model_that_yields_improving_candidates_wins(engine):
    for step in range(8):
        record(engine, step, "good", status="evaluated", delta=0.01 if step % 4 else -0.01)
        record(engine, 100 + step, "bad", status="failed")
    picked = choices(engine, cfg("bad", "good"), steps=range(200, 260))
    assert picked["good"] >= 55, picked


def test_at_equal_yield_the_cheaper_model_wins(engine):
    for step in range(8):
        ok = "evaluated" if step % 2 else "rejected"
        record(engine, step, "cheap", status=ok, delta=0.01, usd=0.001)
        record(engine, 100 + step, "dear", status=ok, delta=0.01, usd=0.02)
    picked = choices(engine, cfg("cheap", "dear"), steps=range(200, 260))
    assert picked["cheap"] >= 50, picked


def test_a_resumed_step_makes_the_same_choice(engine):
    for step in range(4):
        record(engine, step, "a", status="evaluated", delta=0.01)
        record(engine, 10 + step, "b", status="evaluated", delta=0.01)
    bandit = ModelBandit(engine, RUN, cfg("a", "b"))
    site = CallSite(role="coder", step=42, attempt=1)
    assert len({bandit.choose(site) for _ in range(5)}) == 1


def test_the_client_sends_records_and_prices_the_chosen_model(engine):
    plan = {"move": "explore", "parents": [], "hypothesis": "a wider first layer helps"}
    server = ScriptedLLM().add("PLAN PLEASE", plan)
    config = LLMConfig(base_url=server.url, coder={"models": ["m-cheap", "m-dear", "m-cheap"]},
                       prices={"m-dear": {"price_in": 10.0, "price_out": 30.0}})
    assert config.models_of("coder") == ["m-cheap", "m-dear"]
    assert config.roles_without_model() == ["planner", "critic", "analyst"]  # no hidden default model
    record(engine, 0, "m-cheap", status="evaluated", delta=0.1)  # m-dear is untried: it goes next
    client = LLMClient(config, api_key=None, engine=engine, run_id=RUN,
                       choose_model=ModelBandit(engine, RUN, config).choose)
    try:
        client.structured(CallSite(role="coder", step=1), PlanAnswer, "PLAN PLEASE", system="s",
                          convert=lambda answer: answer)
    finally:
        client.close()
        server.close()
    assert server.log[-1].body["model"] == "m-dear"
    with Session(engine) as s:
        call = agent_log.run_calls(session=s, run_id=RUN)[-1]
        assert call.model == "m-dear" and call.cost_usd == pytest.approx(call.prompt_tokens * 10.0 / 1e6
                                                                         + call.completion_tokens * 30.0 / 1e6)
        section = llm_section(session=s, run_id=RUN, candidates=[], evaluations=[])
    choice = next(block for block in section if block.title == "Model choice")
    assert [row[:3] for row in choice.table.rows if row[1] == "m-dear"] == [("coder", "m-dear", 1)]


def test_a_single_model_is_never_asked_of_the_bandit(engine):
    plan = {"move": "explore", "parents": [], "hypothesis": "a wider first layer helps"}
    server = ScriptedLLM().add("PLAN PLEASE", plan)
    config = LLMConfig(base_url=server.url, model="only")

    def refuse(site):
        raise AssertionError("the bandit was asked")

    client = LLMClient(config, api_key=None, engine=engine, run_id=RUN, choose_model=refuse)
    try:
        client.structured(CallSite(role="planner"), PlanAnswer, "PLAN PLEASE", system="s", convert=lambda a: a)
    finally:
        client.close()
        server.close()
    assert server.log[-1].body["model"] == "only"
