"""The workspace store: runs, candidates, evaluations (and, later, concepts with their evidence)."""

from archlab.knowledge import store
from archlab.knowledge.db import open_store, sqlite_url
from archlab.knowledge.models import Candidate, Evaluation, Run

__all__ = ["Candidate", "Evaluation", "Run", "open_store", "sqlite_url", "store"]
