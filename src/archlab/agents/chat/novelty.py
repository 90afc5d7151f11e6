"""Is a draft new? Stored candidates (any run, `archlab eval`, a chat) with the same derivation — by the
space's canonical form — or the same source syntax tree (comments and formatting do not count)."""

from __future__ import annotations

from collections.abc import Collection

from sqlmodel import col, select

from archlab.agents.context import RunContext
from archlab.agents.roles.critic.llm import source_key
from archlab.store import Candidate
from archlab.store.records import SETTLED

KNOWN = (*SETTLED, "rejected")  # a rejected twin is news too: the reply says why it was rejected


def derivation_twins(ctx: RunContext, hashes: Collection[str]) -> dict[str, Candidate]:
    """Stored candidates by derivation hash, for those of `hashes` that are stored (the first of each)."""
    if not hashes:
        return {}
    query = (select(Candidate).where(col(Candidate.derivation_hash).in_(list(hashes)),
                                     col(Candidate.status).in_(KNOWN))
             .order_by(col(Candidate.created_at)))
    with ctx.session() as session:
        rows = session.exec(query).all()
    found: dict[str, Candidate] = {}
    for cand in rows:
        found.setdefault(cand.derivation_hash, cand)
    return found


def source_twin(ctx: RunContext, source: str) -> Candidate | None:
    """The first stored candidate whose source has the same syntax tree."""
    key = source_key(source)
    if key is None:
        return None
    query = select(Candidate).where(col(Candidate.status).in_(KNOWN)).order_by(col(Candidate.created_at))
    with ctx.session() as session:
        return next((c for c in session.exec(query) if source_key(c.source) == key), None)


def twin(ctx: RunContext, source: str, derivation_hash: str | None) -> Candidate | None:
    if derivation_hash:
        found = derivation_twins(ctx, [derivation_hash]).get(derivation_hash)
        if found is not None:
            return found
    return source_twin(ctx, source)
