"""Retrieval from the concept memory for an agent role: scoped to the run's task and space, logged
with the run step so the report can say which concepts informed which proposal."""

from __future__ import annotations

from archlab.agents.context import RunContext
from archlab.agents.state import DiscoveryState
from archlab.memory.retrieve import Filters
from archlab.store.concepts import ConceptKind
from archlab.store.retrieval_log import LogContext

K = 3  # concepts shown per retrieval


def recall(ctx: RunContext, state: DiscoveryState, *, agent: str, query: str,
           kind: ConceptKind | None = None) -> list[int]:
    """Ids of the concepts most relevant to `query`, untested ones in this run favoured; [] without a memory."""
    if ctx.memory is None or ctx.run_id is None:
        return []
    hits = ctx.memory.retrieve(
        query, k=K, filters=Filters(task=ctx.task.name, space=ctx.space.name, kind=kind),
        favour_untested_in=ctx.run_id,
        log_as=LogContext(run_id=ctx.run_id, step=state.get("step", 0), attempt=state.get("attempt", 0), agent=agent))
    return [hit.concept.id for hit in hits]
