"""What the system would try next, read off the run's records, each with where it comes from:
the LLM planner's last plan, the mutation moves not yet tried on the best candidate (what the offline
coder draws from when it refines it), and the concepts retrieved most often that no result has tested."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from archlab.errors import ConfigError
from archlab.report.run_view import RunView, move_of
from archlab.spaces.mutate import MOVES, applicable_moves

SHOWN_CONCEPTS = 3
CLAIM = 160


@dataclass(frozen=True)
class NextStep:
    source: str  # where the suggestion comes from, said plainly
    text: str


def next_steps(view: RunView) -> list[NextStep]:
    steps = [last_plan(view), untried_moves(view), untested_concepts(view)]
    return [s for s in steps if s is not None]


def last_plan(view: RunView) -> NextStep | None:
    plans = [n for n in view.notes if n.kind == "plan"]
    if not plans:
        return None
    note = plans[-1]
    data = note.data
    parents = ", ".join(data.get("parents") or []) or "no parent"
    effect = f" Expected: {data['expected_effect']}" if data.get("expected_effect") else ""
    return NextStep(source=f"the LLM planner's last plan (step {note.step}), the direction it was following "
                           "when the run stopped",
                    text=f"{data.get('move', '?')} from {parents}: {data.get('hypothesis', '')}{effect}")


def untried_moves(view: RunView) -> NextStep | None:
    if not view.leaderboard or view.space is None:
        return None
    best = view.leaderboard[0][0]
    if best.derivation is None:
        return None
    try:
        moves = applicable_moves(view.space.load_tree(best.derivation), view.space.grammar, view.space.limits)
    except (ConfigError, KeyError, TypeError, ValueError):  # a derivation from another version of the space
        return None
    tried = {move_of(c) for c in view.children(best.id)} & set(MOVES)  # LLM edits are not grammar moves
    untried = [m for m in moves if m not in tried]
    done = f"; tried already: {', '.join(sorted(tried))}" if tried else ""
    text = (f"mutate {best.id} by {', '.join(untried)}{done}" if untried
            else f"every mutation move that applies to {best.id} has been tried ({', '.join(sorted(tried))})")
    return NextStep(source="mutation moves not yet tried on the best candidate (the offline coder refines "
                           "a tournament winner with one of them)", text=text)


def untested_concepts(view: RunView) -> NextStep | None:
    counts = Counter(cid for r in view.retrievals for cid in r.concept_ids)
    untested = [(cid, n) for cid, n in counts.most_common() if cid in view.concepts
                and view.concepts[cid].supports + view.concepts[cid].contradicts == 0]
    if not untested:
        return None
    shown = [f"#{cid} ({n}×): {_short(view.concepts[cid].claim)}" for cid, n in untested[:SHOWN_CONCEPTS]]
    return NextStep(source="concepts retrieved most often in this run that no result has tested yet",
                    text="; ".join(shown))


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= CLAIM else text[:CLAIM - 1] + "…"
