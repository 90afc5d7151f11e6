"""The literature seeds: curated claims from the papers archlab grew from, shipped as JSON Lines.

Each seed is a literature_finding with its numbers and the paper's title as source. Seeds have stable
uids, so loading them again adds nothing; a new workspace's memory starts with them.
"""

from __future__ import annotations

import logging
from importlib.resources import files

from archlab.memory.concept_memory import ConceptMemory
from archlab.memory.transfer import ConceptRecord, ImportSummary, import_records, parse_lines
from archlab.store.db import exclusive

log = logging.getLogger(__name__)
SEED_FILE = "literature_seeds.jsonl"


def seed_records() -> list[ConceptRecord]:
    text = (files("archlab.memory") / SEED_FILE).read_text(encoding="utf-8")
    return parse_lines(text.splitlines(), SEED_FILE)


def load_seeds(memory: ConceptMemory) -> ImportSummary:
    return import_records(memory, seed_records())


def ensure_seeded(memory: ConceptMemory) -> ImportSummary | None:
    """Load the seeds into an empty memory; leave a memory that holds anything alone."""
    # Runs that start at once on one new store would all find it empty: one seeds, the others wait.
    with exclusive(memory.engine, "seeding"):
        if memory.count():
            return None
        summary = load_seeds(memory)
    log.info("concept memory seeded with %d literature findings", summary.created)
    return summary
