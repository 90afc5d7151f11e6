"""The concept-memory section of a run's report: what the run learned, and what informed its proposals."""

from __future__ import annotations

from sqlmodel import Session, col, select

from archlab.agents.roles.critic.offline import candidate_id
from archlab.memory.concept_store import RunChange, run_changes
from archlab.report.blocks import Block, Code, Table, clip
from archlab.store.concepts import Concept
from archlab.store.retrieval_log import RetrievalLog, run_retrievals

CLAIM = 140  # characters of a claim shown in a table


def memory_section(*, session: Session, run_id: str) -> list[Block]:
    changes = run_changes(session=session, run_id=run_id)
    retrievals = run_retrievals(session=session, run_id=run_id)
    shown = sorted({cid for r in retrievals for cid in r.concept_ids})
    claims = {c.id: c.claim for c in session.exec(select(Concept).where(col(Concept.id).in_(shown)))}
    return [_changes(changes), _informed(run_id, retrievals, claims)]


def _changes(changes: list[RunChange]) -> Block:
    rows = []
    for ch in changes:
        c = ch.concept
        this_run = ("new; " if ch.created else "") + f"+{ch.supports} / −{ch.contradicts}"
        status = f"retired here: {c.retired_reason}" if ch.retired_here else str(c.status)
        rows.append((f"#{c.id}", clip(c.claim, CLAIM), c.kind, f"{c.confidence:.2f}", this_run, clip(status, CLAIM)))
    return Block("New and changed concepts", Table.of("concept, claim, kind, confidence:, this run, status", rows),
                 empty="The analyst found no effect larger than the noise threshold.",
                 notes=["+n / −n: results from this run that support / contradict the claim."] if rows else [])


def _informed(run_id: str, retrievals: list[RetrievalLog], claims: dict[int, str]) -> Block:
    # A resumed step may retrieve again: the latest retrieval of each (step, attempt, agent) counts.
    latest = {(r.step, r.attempt, r.agent): r for r in retrievals}
    rows = [(step, Code(candidate_id(run_id, step, attempt)), _ids(latest.get((step, attempt, "planner"))),
             _ids(latest.get((step, attempt, "critic"))))
            for step, attempt in sorted({(step, attempt) for step, attempt, _ in latest})]
    return Block("Concepts that informed proposals", Table.of("step:, proposal, planner, critic", rows),
                 empty="No retrievals were logged for this run.",
                 items=[f"#{cid}: {clip(claim, CLAIM)}" for cid, claim in sorted(claims.items())])


def _ids(entry: RetrievalLog | None) -> str:
    return ", ".join(f"#{cid}" for cid in entry.concept_ids) if entry and entry.concept_ids else "-"
