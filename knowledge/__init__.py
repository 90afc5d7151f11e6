"""The workspace store: runs, candidates, evaluations, and the concept memory.

The memory's modules are imported where used (the vector index loads faiss): concepts, evidence,
confidence, paraphrase, embedder, index, retrieve, retrieval_log, concept_store, memory, transfer, seeds.
"""

from archlab.knowledge import store
from archlab.knowledge.db import open_store, sqlite_url
from archlab.knowledge.models import Candidate, Evaluation, Run

__all__ = ["Candidate", "Evaluation", "Run", "open_store", "sqlite_url", "store"]
