"""The workspace store: every table (runs, candidates, evaluations, LLM calls, chat, steering, grammars,
concepts and their evidence), the engine and its migrations, and the record functions (`records`).

The concept memory's logic (confidence, retrieval, the vector indexes) lives in archlab.memory.
"""

from archlab.store import records
from archlab.store.db import open_store, sqlite_url
from archlab.store.models import Candidate, Evaluation, Run

__all__ = ["Candidate", "Evaluation", "Run", "open_store", "records", "sqlite_url"]
