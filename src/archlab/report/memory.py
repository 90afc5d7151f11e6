"""The concept-memory section of a run's report: what the run learned, and what informed its proposals."""

from __future__ import annotations

from sqlmodel import Session, col, select

from archlab.agents.roles.critic.offline import candidate_id
from archlab.memory.concept_store import RunChange, run_changes
from archlab.store.concepts import Concept
from archlab.store.retrieval_log import RetrievalLog, run_retrievals

CLAIM = 140  # characters of a claim shown in a table


def memory_section(*, session: Session, run_id: str) -> str:
    changes = run_changes(session=session, run_id=run_id)
    retrievals = run_retrievals(session=session, run_id=run_id)
    shown = sorted({cid for r in retrievals for cid in r.concept_ids})
    claims = {c.id: c.claim for c in session.exec(select(Concept).where(col(Concept.id).in_(shown)))}
    return "\n\n".join(["## Concept memory", _changes(changes), _informed(run_id, retrievals, claims)])


def _changes(changes: list[RunChange]) -> str:
    if not changes:
        return "### New and changed concepts\n\nThe analyst found no effect larger than the noise threshold."
    rows = ["### New and changed concepts", "",
            "| concept | claim | kind | confidence | this run | status |", "|---|---|---|---:|---|---|"]
    for ch in changes:
        c = ch.concept
        this_run = ("new; " if ch.created else "") + f"+{ch.supports} / −{ch.contradicts}"
        status = f"retired here: {c.retired_reason}" if ch.retired_here else str(c.status)
        rows.append(f"| #{c.id} | {_cell(c.claim)} | {c.kind} | {c.confidence:.2f} | {this_run} | {_cell(status)} |")
    rows += ["", "+n / −n: results from this run that support / contradict the claim."]
    return "\n".join(rows)


def _informed(run_id: str, retrievals: list[RetrievalLog], claims: dict[int, str]) -> str:
    if not retrievals:
        return "### Concepts that informed proposals\n\nNo retrievals were logged for this run."
    # A resumed step may retrieve again: the latest retrieval of each (step, attempt, agent) counts.
    latest = {(r.step, r.attempt, r.agent): r for r in retrievals}
    keys = sorted({(step, attempt) for step, attempt, _ in latest})
    rows = ["### Concepts that informed proposals", "", "| step | proposal | planner | critic |", "|---:|---|---|---|"]
    for step, attempt in keys:
        planner, critic = latest.get((step, attempt, "planner")), latest.get((step, attempt, "critic"))
        rows.append(f"| {step} | `{candidate_id(run_id, step, attempt)}` | {_ids(planner)} | {_ids(critic)} |")
    rows += ["", *[f"- #{cid}: {_cell(claim)}" for cid, claim in sorted(claims.items())]]
    return "\n".join(rows)


def _ids(entry: RetrievalLog | None) -> str:
    return ", ".join(f"#{cid}" for cid in entry.concept_ids) if entry and entry.concept_ids else "-"


def _cell(text: str) -> str:
    text = text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")  # `<`: no markup from a cell
    return text if len(text) <= CLAIM else text[:CLAIM - 1] + "…"
