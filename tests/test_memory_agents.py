"""The memory in the offline agents: the analyst writes concepts with evidence, the planner and critic
retrieve them (logged), the report shows both, and concepts carry into the next run of a workspace.

The nodes run for real on a real store; only the sandbox is absent (analyst and planner never use it).
"""

import random

import pytest
from langgraph.runtime import Runtime
from sqlmodel import Session, select

from archlab.agents.config import SearchConfig
from archlab.agents.context import RunContext
from archlab.agents.recall import recall
from archlab.agents.roles.analyst.lessons import change, facets
from archlab.agents.roles.analyst.offline import analyse
from archlab.agents.roles.planner.offline import plan
from archlab.evaluator.config import EvaluationConfig
from archlab.evaluator.tasks import get_task
from archlab.memory.concept_memory import ConceptMemory
from archlab.memory.embedder import HashingEmbedder
from archlab.report.build import write_report
from archlab.run.workspace import Workspace
from archlab.sandbox.base import Limits
from archlab.spaces import load_space
from archlab.store import Candidate, Evaluation, Run
from archlab.store import records as store
from archlab.store.retrieval_log import RetrievalLog

PARENT = "res[conv(16,k5,s1) bn relu] → gap_head"
CHILD = "res[conv(16,k5,s1) bn gelu] → gap_head"
DERIVATION = load_space("seq1d").sample(random.Random(0)).to_dict()


@pytest.fixture
def ws(tmp_path):
    return Workspace(root=tmp_path / "ws")


@pytest.fixture
def memory(ws):
    return ConceptMemory(ws.engine, HashingEmbedder())


def context(ws, memory, run_id):
    with Session(ws.engine) as s:
        store.add_run(session=s, run=Run(id=run_id, task="mnist1d", space="seq1d", max_evals=100))
    return RunContext(run_id=run_id, engine=ws.engine, sandbox=None, task=get_task("mnist1d"),
                      space=load_space("seq1d"), search=SearchConfig(init_population=1, explore_prob=0.0),
                      evaluation=EvaluationConfig(), limits=Limits(), cache_dir=ws.cache_dir, max_evals=100,
                      memory=memory)


def trained(ws, run_id, cid, summary, val, parents=(), status="ok"):
    with Session(ws.engine) as s:
        store.upsert_candidate(session=s, candidate=Candidate(
            id=cid, run_id=run_id, origin="mutate" if parents else "sample", parent_ids=list(parents), source="src",
            summary=summary, status="evaluated" if status == "ok" else "failed", fingerprint=f"fp-{cid}", params=10,
            flops=20, derivation=DERIVATION))  # a derivation of seq1d: the offline planner refines only those
        store.add_evaluation(session=s, evaluation=Evaluation(
            candidate_id=cid, run_id=run_id, fingerprint=f"fp-{cid}", task="mnist1d", stage="train", fidelity=150,
            seed=0, status=status, metrics={"val_acc": val, "test_acc": val} if status == "ok" else {}))


def analysed(ctx, child_id, step=1):
    update = analyse({"verdict": {"decision": "accept", "candidate_id": child_id}, "step": step},
                     Runtime(context=ctx))
    return update["insight"].concepts


def test_the_summary_difference_names_the_change():
    assert change(PARENT, CHILD) == "changing relu to gelu"
    assert change("a → b", "a → b → c") == "adding c"
    assert change(PARENT, PARENT) is None


def test_a_change_is_also_read_at_the_operator_level():
    assert facets(PARENT, CHILD) == ["fewer relu", "more gelu"]
    wider = "res[conv(32,k7,s1) bn relu] → gap_head"
    assert facets(PARENT, wider) == ["raising conv's #1", "raising conv's k"]
    assert facets("conv(16,k5,s1) → attn(2x16)", "conv(16,k5,s1) → attn(2x8)") == ["lowering attn's x"]
    assert facets("a → b", "a → b → c") == ["more c"]
    regrown = "conv(16,k3,s1) ln silu → branch[conv(8,k3,s1) | ln] → gap_head"
    assert change(PARENT, regrown) and facets(PARENT, regrown) == []  # too many facets to attribute


def test_analyst_writes_a_concept_with_evidence_from_its_comparison(ws, memory):
    ctx = context(ws, memory, "run-a")
    trained(ws, "run-a", "p1", PARENT, 0.70)
    trained(ws, "run-a", "c1", CHILD, 0.75, parents=["p1"])
    [cid, *facet_ids] = analysed(ctx, "c1")
    detail = memory.get(cid)
    assert detail.concept.claim == "On mnist1d in the seq1d space, changing relu to gelu improves validation accuracy"
    assert [memory.get(f).concept.claim.split(", ", 1)[1] for f in facet_ids] == [
        "fewer relu improves validation accuracy", "more gelu improves validation accuracy"]
    assert all(memory.get(f).evidence[0].direction == "supports" for f in facet_ids)
    assert (detail.concept.task, detail.concept.space, detail.concept.run_id) == ("mnist1d", "seq1d", "run-a")
    [evidence] = detail.evidence
    assert (evidence.candidate_id, evidence.direction, evidence.fidelity, evidence.run_id) == (
        "c1", "supports", 150, "run-a")
    assert evidence.effect_size == pytest.approx(0.05) and evidence.evaluation_id is not None
    assert analysed(ctx, "c1") == [cid, *facet_ids] and len(memory.get(cid).evidence) == 1  # a resumed step: once
    supported = memory.get(cid).concept.confidence

    # The same change made again, for the worse: evidence against the same concept, not a new concept.
    trained(ws, "run-a", "p2", PARENT.replace("16", "32"), 0.80)
    trained(ws, "run-a", "c2", CHILD.replace("16", "32"), 0.74, parents=["p2"])
    assert analysed(ctx, "c2", step=2) == [cid, *facet_ids]
    concept = memory.get(cid).concept
    assert (concept.supports, concept.contradicts) == (1, 1) and concept.confidence < supported

    # A change within the noise teaches nothing; a failed child is a failure mode.
    trained(ws, "run-a", "c3", CHILD.replace("gelu", "silu"), 0.705, parents=["p1"])
    assert analysed(ctx, "c3", step=3) == []
    trained(ws, "run-a", "c4", CHILD.replace("gelu", "tanh"), 0.0, parents=["p1"], status="timeout")
    [failure, *_] = analysed(ctx, "c4", step=4)
    assert memory.get(failure).concept.kind == "failure_mode"
    assert "changing relu to tanh makes training fail" in memory.get(failure).concept.claim


def test_planner_and_critic_retrieve_concepts_from_an_earlier_run_and_log_them(ws, memory):
    ctx_a = context(ws, memory, "run-a")
    trained(ws, "run-a", "p1", PARENT, 0.70)
    trained(ws, "run-a", "c1", CHILD, 0.75, parents=["p1"])
    [learned, *_] = analysed(ctx_a, "c1")

    # A new run in the same workspace, with a fresh memory object as a new process would have.
    ctx_b = context(ws, ConceptMemory(ws.engine, HashingEmbedder()), "run-b")
    trained(ws, "run-b", "b1", PARENT, 0.71)
    update = plan({"step": 5, "attempt": 0}, Runtime(context=ctx_b))
    assert update["plan"].move == "refine" and learned in update["plan"].concepts
    critic = recall(ctx_b, {"step": 5, "attempt": 0}, agent="critic", query=f"pitfalls of {CHILD}")
    assert learned in critic
    with Session(ws.engine) as s:
        logs = s.exec(select(RetrievalLog).where(RetrievalLog.run_id == "run-b")).all()
    assert [(x.agent, x.step, x.attempt) for x in logs] == [("planner", 5, 0), ("critic", 5, 0)]
    assert logs[0].concept_ids == update["plan"].concepts
    assert logs[0].filters == {"task": "mnist1d", "space": "seq1d"}

    report = write_report(ws, "run-b").read_text()
    assert "### Concepts that informed proposals" in report
    assert f"#{learned}: On mnist1d in the seq1d space, changing relu to gelu" in report
    report_a = write_report(ws, "run-a").read_text()
    assert f"| #{learned} | On mnist1d in the seq1d space, changing relu to gelu improves validation accuracy" \
           f" | hypothesis | " in report_a
    assert "new; +1 / −0" in report_a


def test_no_memory_means_no_retrieval(ws):
    ctx = context(ws, None, "run-x")
    assert recall(ctx, {"step": 0}, agent="planner", query="anything") == []


def _concept(ws, claim, kind, confidence):
    from archlab.store.concepts import Concept

    with Session(ws.engine) as s:
        s.add(Concept(claim=claim, kind=kind, task="mnist1d", space="seq1d", confidence=confidence))
        s.commit()


def test_memory_steers_the_offline_coder_to_the_change_it_rates_best(ws, memory, tmp_path):
    from archlab.agents.roles.analyst.lessons import fails_claim, improves_claim
    from archlab.agents.roles.coder.memory_guided import ALTERNATIVES, guided_mutation
    from archlab.store.concepts import ConceptKind

    ctx = context(ws, memory, "run-guided")
    space = ctx.space
    parent = space.sample(random.Random(4))

    def draw():
        return guided_mutation(ctx, parent, random.Random(1), random.Random(2))

    usual, _, how = draw()
    assert "memory" not in how  # nothing known: exactly the usual mutation
    alternatives = random.Random(2)
    options = [usual, *(space.mutate_with_move(parent, alternatives)[0] for _ in range(ALTERNATIVES))]
    changes = [change(space.summary(parent), space.summary(t)) for t in options]
    better = next(i for i in range(1, len(options)) if changes[i] and changes[i] != changes[0])

    _concept(ws, improves_claim("mnist1d", "seq1d", changes[better]), ConceptKind.hypothesis, 0.9)
    chosen, _, how = draw()
    assert space.summary(chosen) == space.summary(options[better]) and "memory rates" in how and "+0.40" in how

    ctx.search = ctx.search.model_copy(update={"memory_guided": False})
    assert space.summary(draw()[0]) == space.summary(usual)  # switched off: the usual draw
    ctx.search = ctx.search.model_copy(update={"memory_guided": True})

    other = Workspace(root=tmp_path / "other")  # a failure mode on the usual change steers away from it
    ctx2 = context(other, ConceptMemory(other.engine, HashingEmbedder()), "run-failing")
    if changes[0]:
        _concept(other, fails_claim("mnist1d", "seq1d", changes[0]), ConceptKind.failure_mode, 0.8)
        chosen = guided_mutation(ctx2, parent, random.Random(1), random.Random(2))[0]
        assert change(space.summary(parent), space.summary(chosen)) != changes[0]
