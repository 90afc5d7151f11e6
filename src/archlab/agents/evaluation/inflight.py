"""Candidates in flight: accepted candidates train in background threads while the next ones are proposed.

With `search.in_flight` above 1 (bounded by `sandbox.slots`), the evaluate node hands an accepted
candidate to the pipeline and returns at once, unless as many as allowed are already training; then it
waits for the first to finish. The analyst reads every candidate that finished, in the order they were
accepted. The graph state keeps the ids in flight (`pending`), so a resumed run hands them to the
sandbox again: an evaluation stored before the kill is reused, never repeated.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from langgraph.runtime import Runtime

from archlab.agents.context import RunContext
from archlab.agents.state import DiscoveryState, Insight, Verdict, verdict_of

log = logging.getLogger(__name__)

Node = Callable[[DiscoveryState, Runtime[RunContext]], dict]


def width(in_flight: int, slots: int | None) -> int:
    """Candidates a run keeps in flight: what the search asks for, at most the sandbox's slots (unset:
    this machine's CPU count)."""
    return max(1, min(in_flight, slots if slots is not None else os.cpu_count() or 1))


class Pipeline:
    """Training jobs in flight, one thread each; a job's exception is raised where its result is collected."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="archlab-train")
        self._futures: dict[str, Future] = {}

    def submit(self, candidate_id: str, train: Callable[[str], None]) -> None:
        """Start the candidate's training unless it is already running here (after a resume it is not)."""
        if candidate_id not in self._futures:
            self._futures[candidate_id] = self._pool.submit(train, candidate_id)

    def collect(self, pending: list[str], at_least: int) -> list[str]:
        """The pending candidates whose training ended, once at least `at_least` of them have."""
        futures = [self._futures[c] for c in pending]
        while sum(f.done() for f in futures) < min(at_least, len(futures)):
            wait([f for f in futures if not f.done()], return_when=FIRST_COMPLETED)
        finished = [c for c in pending if self._futures[c].done()]
        for candidate_id in finished:
            self._futures.pop(candidate_id).result()  # an infrastructure error stops the run, as in sequence
        return finished

    def close(self) -> None:
        """Wait for the threads (the sandbox, closed first, has ended their jobs)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def advance(ctx: RunContext, state: DiscoveryState, train: Callable[[str], None]) -> dict:
    """The evaluate node with candidates in flight: add the accepted one, wait only when the pipeline is
    full (or, once the run is done, for all), and pass on what finished."""
    pending = list(state.get("pending") or [])
    verdict = verdict_of(state)
    if verdict is not None and verdict.decision == "accept" and verdict.candidate_id not in pending:
        pending.append(verdict.candidate_id)
    for candidate_id in pending:
        ctx.pipeline.submit(candidate_id, train)
    if state.get("done"):
        at_least = len(pending)
    else:
        at_least = 1 if len(pending) >= ctx.pipeline.size else 0
    finished = ctx.pipeline.collect(pending, at_least)
    if finished:
        log.info("%d in flight; finished: %s", len(pending) - len(finished), ", ".join(finished))
    update: dict = {"pending": [c for c in pending if c not in finished], "finished": finished}
    if not finished:  # this step ends with its candidate training; the next proposal starts
        update.update(step=state.get("step", 0) + 1, attempt=0, plan=None, proposal=None, verdict=None)
    return update


def each_finished(node: Node) -> Node:
    """The analyst over every candidate that finished (in flight), or over the one just evaluated."""

    def analyst(state: DiscoveryState, runtime: Runtime[RunContext]) -> dict:
        finished = state.get("finished")
        if finished is None:
            return node(state, runtime)
        update: dict = {}
        insights: list[Insight] = []
        for candidate_id in finished:
            update = node({**state, "verdict": Verdict(decision="accept", candidate_id=candidate_id)}, runtime)
            insights += update.get("insights") or []
        return {**update, "insights": insights, "finished": None}

    analyst.__name__ = "analyst"
    return analyst
