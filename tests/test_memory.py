"""The concept memory with the deterministic hashing embedder: on real SQLite (faiss index), on PostgreSQL
without pgvector (faiss) and on PostgreSQL with pgvector (the index inside the server), where configured."""

import json
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, text
from sqlmodel import Session, select

from archlab.errors import ConfigError, StoreError
from archlab.memory import retrieve
from archlab.memory.concept_memory import ConceptMemory
from archlab.memory.embedder import HashingEmbedder
from archlab.memory.paraphrase import decide
from archlab.memory.retrieve import Filters, mmr
from archlab.memory.seeds import SEED_FILE, ensure_seeded, load_seeds, seed_records
from archlab.memory.transfer import export_lines, import_records, parse_lines
from archlab.store import open_store, sqlite_url
from archlab.store.concepts import Concept, ConceptBase, ConceptCreate, ConceptKind, LinkKind
from archlab.store.evidence import Evidence, EvidenceCreate
from archlab.store.retrieval_log import LogContext, RetrievalLog

ROOT = Path(__file__).resolve().parents[1]


STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres),
          pytest.param("pgvector", marks=pytest.mark.postgres)]
INDEX_OF = {"sqlite": "faiss", "postgres": "faiss", "pgvector": "pgvector"}  # what vector_index auto picks


@pytest.fixture(params=STORES)
def engine(request, tmp_path):  # PostgreSQL servers where configured (conftest.py)
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "ws" / "archlab.db")
    else:
        url = request.getfixturevalue(f"fresh_{request.param}_url")
    engine = open_store(url)
    yield engine
    engine.dispose()


@pytest.fixture
def memory(engine, request):
    memory = ConceptMemory(engine, HashingEmbedder())
    assert memory.index_kind == INDEX_OF[request.node.callspec.params["engine"]]
    return memory


def new(claim, **kw):
    return ConceptCreate(claim=claim, **kw)


def result(concept_id, candidate, direction="supports", fidelity=100, seeds=1, run_id="r1", evaluation_id=None):
    return EvidenceCreate(concept_id=concept_id, candidate_id=candidate, direction=direction, fidelity=fidelity,
                          seeds=seeds, run_id=run_id, evaluation_id=evaluation_id, effect_size=0.01)


def count(engine, table=Concept):
    with Session(engine) as s:
        return len(s.exec(select(table)).all())


# --- merging paraphrases on insert

def test_a_paraphrase_merges_into_the_stored_concept(memory, engine):
    first = memory.add(new("Wider convolutions improve validation accuracy on mnist1d", tags=["width"]))
    again = memory.add(new("wider convolutions improve the validation accuracy on MNIST1D.", tags=["Conv"]))
    assert first.action == "created" and again.action == "merged"
    assert again.concept.id == first.concept.id and again.similarity > 0.99
    assert again.concept.aliases == ["wider convolutions improve the validation accuracy on MNIST1D."]
    assert again.concept.tags == ["conv", "width"]
    assert count(engine) == 1


def test_paraphrases_within_one_batch_merge(memory, engine):
    results = memory.add_many([new("Skip connections stabilise training of deep residual networks"),
                               new("skip connections stabilise the training of deep residual networks")])
    assert [r.action for r in results] == ["created", "merged"]
    assert results[1].concept.id == results[0].concept.id and count(engine) == 1


def test_a_change_the_other_way_is_kept_apart(memory, engine):
    forward = memory.add(new("On mnist1d, changing relu to gelu improves validation accuracy")).concept.id
    for claim in ("On mnist1d, changing gelu to relu improves validation accuracy",
                  "On mnist1d, changing conv(32,k5,s1) to conv(64,k5,s1) improves validation accuracy",
                  "On mnist1d, changing conv(64,k5,s1) to conv(32,k5,s1) improves validation accuracy",
                  "On mnist1d, raising conv's k improves validation accuracy",
                  "On mnist1d, lowering conv's k improves validation accuracy"):
        added = memory.add(new(claim))
        assert added.action == "created" and added.concept.id != forward, claim
    assert count(engine) == 6
    again = memory.add(new("on mnist1d, changing relu to gelu improves the validation accuracy"))
    assert again.action == "merged" and again.concept.id == forward


def test_a_negated_claim_is_kept_apart_and_linked_as_contradicting():
    stored = ConceptBase(claim="Wider convolutions improve validation accuracy on mnist1d")
    negated = ConceptBase(claim="Wider convolutions do not improve validation accuracy on mnist1d")
    opposite = ConceptBase(claim="Wider convolutions hurt validation accuracy on mnist1d")
    both_flipped = ConceptBase(claim="Narrower convolutions hurt validation accuracy on mnist1d")
    assert decide(stored, negated, 0.98, 0.85).link == LinkKind.contradicts
    assert decide(stored, opposite, 0.95, 0.85).link == LinkKind.contradicts
    assert decide(stored, both_flipped, 0.95, 0.85).link is None  # two flips agree: no contradiction


def test_claims_with_different_numbers_stay_apart(memory, engine):
    memory.add(new("Plain MLPs reach 93% on CIFAR-10 when scaled up"))
    other = memory.add(new("Plain MLPs reach 79% on CIFAR-10 when scaled up"))
    assert other.action == "created" and count(engine) == 2


def test_a_scoped_claim_refines_the_general_one(memory):
    general = memory.add(new("Larger convolution kernels improve accuracy on time series"))
    scoped = memory.add(new("Larger convolution kernels improve accuracy on time series", task="mnist1d"))
    assert scoped.action == "created" and scoped.link == LinkKind.refines
    links = memory.get(scoped.concept.id).links
    assert [(x.source_id, x.target_id, x.kind) for x in links] == [(scoped.concept.id, general.concept.id, "refines")]


def test_same_uid_is_not_stored_twice(memory, engine):
    memory.add(new("Mamba scales linearly with sequence length", uid="u-1"))
    again = memory.add(new("An unrelated claim about pooling layers", uid="u-1"))
    assert again.action == "existing" and count(engine) == 1


def test_bad_claims_are_refused():
    for claim in ("", "   ", "short", "x" * 1001):
        with pytest.raises(ValueError):
            ConceptCreate(claim=claim)
    with pytest.raises(ValueError):
        ConceptCreate(claim="a claim of enough words", kind="rumour")


# --- confidence and retirement

def test_confidence_orders_by_independence_fidelity_seeds_and_contradiction(memory):
    ids = {name: memory.add(new(f"claim {name} about an architecture change", uid=name)).concept.id
           for name in ("strong", "weak", "single", "untested", "contested")}
    for i in range(3):
        memory.add_evidence(result(ids["strong"], f"s{i}", fidelity=2000, seeds=3))
        memory.add_evidence(result(ids["weak"], f"w{i}", fidelity=10, seeds=1))
    memory.add_evidence(result(ids["single"], "x0", fidelity=10))
    memory.add_evidence(result(ids["contested"], "y0"))
    memory.add_evidence(result(ids["contested"], "y1", direction="contradicts"))
    memory.add_evidence(result(ids["contested"], "y2", direction="contradicts"))
    conf = {name: memory.get(cid).concept.confidence for name, cid in ids.items()}
    assert conf["strong"] > conf["weak"] > conf["single"] > conf["untested"] > conf["contested"]
    assert conf["untested"] == pytest.approx(0.4)  # a hypothesis' prior


def test_several_evaluations_of_one_candidate_count_once(memory):
    cid = memory.add(new("claim about one candidate evaluated three times")).concept.id
    for evaluation in (1, 2, 3):
        concept = memory.add_evidence(result(cid, "same-candidate", evaluation_id=evaluation))
    assert concept.supports == 1
    once = memory.add(new("claim about three different candidates")).concept.id
    for i in (1, 2, 3):
        three = memory.add_evidence(result(once, f"cand-{i}"))
    assert three.supports == 3 and three.confidence > concept.confidence


def test_the_same_result_is_recorded_once(memory, engine):
    cid = memory.add(new("claim whose evidence is recorded twice")).concept.id
    memory.add_evidence(result(cid, "c1"))
    memory.add_evidence(result(cid, "c1"))  # evaluation_id None: a NULL the unique constraint would let through
    memory.add_evidence(result(cid, "c2", evaluation_id=7))
    memory.add_evidence(result(cid, "c2", evaluation_id=7))
    assert count(engine, Evidence) == 2


def test_refuted_concepts_are_retired_not_deleted(memory):
    cid = memory.add(new("Tanh activations improve validation accuracy on mnist1d")).concept.id
    memory.add_evidence(result(cid, "a", direction="contradicts", run_id="r7"))
    concept = memory.add_evidence(result(cid, "b", direction="contradicts", run_id="r7"))
    assert concept.status == "active"  # two results are not yet a refutation
    concept = memory.add_evidence(result(cid, "c", direction="contradicts", run_id="r7"))
    assert concept.status == "retired" and concept.retired_run_id == "r7"
    assert "refuted" in concept.retired_reason and "3 independent results contradict" in concept.retired_reason
    assert memory.retrieve("tanh activations validation accuracy") == []
    kept = memory.retrieve("tanh activations validation accuracy", filters=Filters(include_retired=True))
    assert [h.concept.id for h in kept] == [cid]
    assert len(memory.get(cid).evidence) == 3


def test_evidence_for_a_missing_concept_stores_nothing(memory, engine):
    with pytest.raises(StoreError, match="no concept 42"):
        memory.add_evidence(result(42, "c1"))
    assert count(engine, Evidence) == 0


# --- retrieval

def test_filters_by_task_space_kind_confidence_and_status(memory):
    claim = "dilated convolutions widen the receptive field"
    ids = {
        "mnist": memory.add(new(claim + " on mnist1d", task="mnist1d", space="seq1d")).concept.id,
        "other": memory.add(new(claim + " on cifar10", task="cifar10", space="nb201")).concept.id,
        "general": memory.add(new(claim + " in general", kind=ConceptKind.design_principle)).concept.id,
    }
    found = {h.concept.id for h in memory.retrieve(claim, k=10, filters=Filters(task="mnist1d"))}
    assert found == {ids["mnist"], ids["general"]}
    found = {h.concept.id for h in memory.retrieve(claim, k=10, filters=Filters(space="nb201"))}
    assert found == {ids["other"], ids["general"]}
    found = {h.concept.id for h in memory.retrieve(claim, k=10, filters=Filters(kind="design_principle"))}
    assert found == {ids["general"]}
    found = {h.concept.id for h in memory.retrieve(claim, k=10, filters=Filters(min_confidence=0.45))}
    assert found == {ids["general"]}  # prior 0.5 against the hypotheses' 0.4


def test_selective_filters_search_among_matching_concepts_only(memory, monkeypatch):
    monkeypatch.setattr(retrieve, "MAX_OVERFETCH", 8)  # make 40 nearer non-matching concepts "many"
    memory.add_many([new(f"residual blocks with {i} layers train stably") for i in range(40)])
    far = memory.add(new("an unrelated pooling claim about residual blocks", kind=ConceptKind.design_principle))
    # Confidence is checked in SQL (evidence changes it): the nearest 8 fail, so the matching ids are
    # selected first and searched among.
    hits = memory.retrieve("residual blocks train stably", k=3, filters=Filters(min_confidence=0.45))
    assert [h.concept.id for h in hits] == [far.concept.id]
    # Scope is selected in the index itself.
    hits = memory.retrieve("residual blocks train stably", k=3, filters=Filters(kind="design_principle"))
    assert [h.concept.id for h in hits] == [far.concept.id]


def test_mmr_trades_relevance_for_diversity():
    vectors = np.array([[1.0, 0.0], [0.995, 0.0999], [0.6, 0.8]], dtype=np.float32)
    relevance = np.array([0.9, 0.89, 0.7])
    assert mmr(relevance, vectors, 2, diversity=0.0) == [0, 1]
    assert mmr(relevance, vectors, 2, diversity=0.5) == [0, 2]


def test_retrieval_results_are_diverse(memory):
    memory.add_many([new(f"dropout of {p} improves accuracy of small convolutional networks") for p in (1, 2, 3)])
    kernel = memory.add(new("larger kernels improve accuracy of small networks")).concept.id
    query = "dropout improves accuracy of small convolutional networks"
    plain = [h.concept.id for h in memory.retrieve(query, k=2, diversity=0.0)]
    diverse = [h.concept.id for h in memory.retrieve(query, k=2, diversity=0.6)]
    assert kernel not in plain and kernel in diverse


def test_concepts_untested_in_the_run_are_favoured(memory):
    query = "gelu activations improve accuracy of convolutional networks"
    tested = memory.add(new(query + " on small inputs")).concept.id  # similarity 0.86 to the query
    untested = memory.add(new(query + " on long inputs")).concept.id  # 0.84
    memory.add_evidence(result(tested, "c1", run_id="run-a"))
    assert [h.concept.id for h in memory.retrieve(query, k=2, diversity=0.0)][0] == tested
    hits = memory.retrieve(query, k=2, diversity=0.0, favour_untested_in="run-a")
    assert [h.concept.id for h in hits] == [untested, tested] and hits[0].untested and not hits[1].untested
    assert memory.retrieve(query, k=2, diversity=0.0, favour_untested_in="run-b")[0].concept.id == tested


def test_retrievals_for_agents_are_logged_with_the_step(memory, engine):
    cid = memory.add(new("batch normalisation speeds up training of convolutional networks")).concept.id
    memory.retrieve("batch normalisation")  # not made for an agent: not logged
    memory.retrieve("batch normalisation", filters=Filters(task="mnist1d"),
                    log_as=LogContext(run_id="run-a", step=4, attempt=1, agent="planner"))
    with Session(engine) as s:
        logs = s.exec(select(RetrievalLog)).all()
    assert len(logs) == 1
    entry = logs[0]
    assert (entry.run_id, entry.step, entry.attempt, entry.agent) == ("run-a", 4, 1, "planner")
    assert entry.concept_ids == [cid] and entry.filters == {"task": "mnist1d"} and entry.query == "batch normalisation"


def test_a_second_memory_on_the_same_store_sees_new_concepts(engine):
    writer, reader = ConceptMemory(engine, HashingEmbedder()), ConceptMemory(engine, HashingEmbedder())
    writer.add(new("layer normalisation before attention stabilises training"))
    assert reader.retrieve("layer normalisation attention")  # reader's index built now
    cid = writer.add(new("rotary position embeddings help length generalisation")).concept.id
    assert reader.retrieve("rotary position embeddings")[0].concept.id == cid


def test_a_new_embedder_embeds_the_stored_concepts(engine):
    ConceptMemory(engine, HashingEmbedder(512)).add(new("squeeze and excitation blocks reweight channels"))
    other = ConceptMemory(engine, HashingEmbedder(64))
    assert other.retrieve("squeeze and excitation")[0].concept.claim.startswith("squeeze")


# --- export / import and seeds

def populated(memory):
    a = memory.add(new("Depthwise convolutions save parameters on mnist1d", task="mnist1d", tags=["conv"])).concept
    memory.add(new("depthwise convolutions save the parameters on mnist1d", task="mnist1d"))
    b = memory.add(new("Depthwise convolutions save parameters", kind=ConceptKind.design_principle)).concept
    memory.add_evidence(result(a.id, "c1", evaluation_id=3))
    for i in range(4):  # a design principle's prior (0.5) takes a fourth contradiction to refute
        memory.add_evidence(result(b.id, f"d{i}", direction="contradicts"))
    return a, b


def test_export_import_round_trip(memory, tmp_path):
    populated(memory)
    lines = list(export_lines(memory))
    target = ConceptMemory(open_store(sqlite_url(tmp_path / "other" / "archlab.db")), HashingEmbedder())
    summary = import_records(target, parse_lines(lines, "export.jsonl"))
    assert (summary.created, summary.evidence, summary.links) == (2, 5, 1)
    assert list(export_lines(target)) == lines
    again = import_records(target, parse_lines(lines, "export.jsonl"))
    assert (again.created, again.existing, again.evidence) == (0, 2, 0)
    retired = target.get(summary.ids[json.loads(lines[1])["uid"]]).concept
    assert retired.status == "retired" and "refuted" in retired.retired_reason


def test_a_bad_import_line_stores_nothing(memory, engine):
    good = json.dumps({"uid": "a", "claim": "a perfectly fine claim about kernels"})
    bad = json.dumps({"uid": "b", "claim": "another fine claim about kernels", "kind": "rumour"})
    with pytest.raises(ConfigError, match=r"in\.jsonl:3: kind: Input should be"):
        parse_lines([good, "", bad], "in.jsonl")
    with pytest.raises(ConfigError, match=r"in\.jsonl:1: "):
        parse_lines(["{not json"], "in.jsonl")
    assert count(engine) == 0


def test_seeds_are_claims_with_numbers_and_sources(memory):
    records = seed_records()
    assert len(records) >= 60 and all(r.kind == "literature_finding" and r.source for r in records)
    # About a third of the abstracts quote no figure; the others' claims carry theirs.
    assert sum(any(ch.isdigit() for ch in r.claim) for r in records) >= 0.6 * len(records)
    assert ensure_seeded(memory).created == len(records)
    assert ensure_seeded(memory) is None  # only an empty memory is seeded
    assert load_seeds(memory).existing == len(records)
    assert memory.count() == len(records)


def test_the_seed_file_is_package_data():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert any(fnmatch(SEED_FILE, pattern) for pattern in data["archlab.memory"])
    assert (ROOT / "src" / "archlab" / "memory" / SEED_FILE).is_file()


def test_the_first_use_hook_runs_once_before_the_first_add_or_retrieval(engine):
    calls = []
    memory = ConceptMemory(engine, HashingEmbedder(), first_use=lambda m: calls.append(m.count()))
    assert calls == []  # opening the memory loads nothing
    memory.retrieve("anything at all")
    memory.add(new("a claim about anything at all"))
    assert calls == [0]


# --- the vector index: faiss in process, or pgvector inside a PostgreSQL server that has it

def test_pgvector_finds_what_faiss_finds_on_the_same_store(fresh_pgvector_url):
    engine = open_store(fresh_pgvector_url)
    # Written by a faiss memory (no mirror rows): the pgvector memory mirrors them on first use.
    from archlab.memory.pgvector_index import table_name

    faiss_memory = ConceptMemory(engine, HashingEmbedder(), vector_index="faiss")
    faiss_memory.add_many([new(f"{op} blocks with {n} channels improve accuracy ({kind.name})", task=task,
                               space="seq1d", kind=kind)
                           for op in ("residual", "depthwise", "attention", "recurrent")
                           for n, task in ((16, "mnist1d"), (32, None), (64, "digits"))
                           for kind in (ConceptKind.hypothesis, ConceptKind.design_principle)])
    pg_memory = ConceptMemory(engine, HashingEmbedder(), vector_index="pgvector")
    assert pg_memory.index_kind == "pgvector" and faiss_memory.index_kind == "faiss"
    added = pg_memory.add(new("gated recurrent blocks need fewer channels", task="mnist1d")).concept.id
    for query, filters in (("residual blocks improve accuracy", Filters()),
                           ("attention with 32 channels", Filters(task="mnist1d")),
                           ("depthwise blocks", Filters(task="digits", kind="design_principle")),
                           ("gated recurrent blocks", Filters(space="seq1d", min_confidence=0.45))):
        # Every passing concept (k above the store's size): claims that differ only in words the query lacks
        # tie, and ties may come in either order.
        expected = {(h.concept.id, round(h.similarity, 5)) for h in faiss_memory.retrieve(query, k=40, filters=filters)}
        found = pg_memory.retrieve(query, k=40, filters=filters, diversity=0.0)
        assert {(h.concept.id, round(h.similarity, 5)) for h in found} == expected and expected
        assert [h.similarity for h in found] == sorted((h.similarity for h in found), reverse=True)
    assert pg_memory.retrieve("gated recurrent blocks need channels", k=1)[0].concept.id == added
    assert faiss_memory.retrieve("gated recurrent blocks", k=1)[0].concept.id == added  # the faiss one sees it too
    with Session(engine) as s:
        mirrored = s.exec(select(func.count()).select_from(text(table_name(HashingEmbedder().name)))).one()
    assert mirrored == count(engine)
    engine.dispose()


def test_the_pgvector_mirror_is_no_schema_drift(fresh_pgvector_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    from archlab.store.db import migrated

    engine = open_store(fresh_pgvector_url)
    ConceptMemory(engine, HashingEmbedder()).add(new("depthwise convolutions save parameters"))
    with engine.connect() as conn:
        unfiltered = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        # The session's database may hold other embedders' mirrors from earlier tests: all of them, only them.
        assert {d[0] for d in unfiltered} == {"remove_index", "remove_table"}
        assert all(d[1].name.startswith("concept_pgvector_") for d in unfiltered)
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": migrated})
        assert compare_metadata(context, SQLModel.metadata) == []
    engine.dispose()


def test_asking_for_pgvector_where_there_is_none_is_a_clear_error(tmp_path):
    engine = open_store(sqlite_url(tmp_path / "ws" / "archlab.db"))
    memory = ConceptMemory(engine, HashingEmbedder(), vector_index="pgvector")
    with pytest.raises(ConfigError, match="no pgvector extension"):
        memory.add(new("depthwise convolutions save parameters"))
    assert count(engine) == 0
    with pytest.raises(ConfigError, match="vector_index must be one of auto, faiss, pgvector"):
        ConceptMemory(engine, HashingEmbedder(), vector_index="annoy")
    engine.dispose()


def test_a_database_without_the_extension_falls_back_to_faiss_unless_pgvector_is_asked_for(pgvector_url):
    import uuid

    from sqlalchemy import create_engine

    name = f"archlab_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pgvector_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:  # template0: no extension; the test role may not create one
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE template0'))
    engine = open_store(pgvector_url.rsplit("/", 1)[0] + f"/{name}")
    try:
        auto = ConceptMemory(engine, HashingEmbedder())
        assert auto.index_kind == "faiss"
        cid = auto.add(new("depthwise convolutions save parameters")).concept.id
        assert auto.retrieve("depthwise convolutions")[0].concept.id == cid
        with pytest.raises(ConfigError, match="a superuser must run CREATE EXTENSION vector"):
            ConceptMemory(engine, HashingEmbedder(), vector_index="pgvector").retrieve("depthwise")
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
