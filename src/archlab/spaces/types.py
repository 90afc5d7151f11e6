"""Tensor types of the grammar: which kind of tensor a piece takes and gives, and what it may change.

A kind names a tensor layout and its dimensions, e.g. `seq` = (B, channels, length) or `hidden` =
(B, length, width); the block library declares its kinds. A `Signature` says what a block, a rule or
a sequence of items does: the kind it takes, the kind it gives, and the dimensions it may change. A
signature with no kinds is a pass-through (an activation, dropout, `empty`): it fits any tensor and
gives the same kind back. Composition and the join over alternatives are what the type check needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Kind:
    """A tensor layout: its name and the dimensions after the batch one, e.g. seq = (channels, length)."""

    name: str
    dims: tuple[str, ...]

    def render(self) -> str:
        return f"{self.name}(B, {', '.join(self.dims)})" if self.dims else f"{self.name}(B)"


@dataclass(frozen=True)
class Signature:
    """takes/gives are kind names, both None for a pass-through; changes lists dims it may alter."""

    takes: str | None = None
    gives: str | None = None
    changes: frozenset[str] = field(default_factory=frozenset)

    @property
    def passes_through(self) -> bool:
        return self.takes is None and self.gives is None

    def render(self) -> str:
        if self.passes_through:
            return "any -> same" + (f" (changes {', '.join(sorted(self.changes))})" if self.changes else "")
        text = f"{self.takes} -> {self.gives}"
        if self.takes == self.gives and self.changes:
            text += f" (changes {', '.join(sorted(self.changes))})"
        return text


PASS = Signature()


class KindMismatch(Exception):
    """Two signatures cannot be joined or composed; the message says which kinds met."""


def then(first: Signature, second: Signature) -> Signature:
    """first followed by second; KindMismatch when first gives a kind second does not take."""
    changes = first.changes | second.changes
    if second.passes_through:
        return Signature(first.takes, first.gives, changes)
    if first.passes_through:
        return Signature(second.takes, second.gives, changes)
    if first.gives != second.takes:
        raise KindMismatch(f"gives {first.gives} where {second.takes} is taken")
    return Signature(first.takes, second.gives, changes)


def join(a: Signature, b: Signature) -> Signature:
    """One signature for two interchangeable alternatives; KindMismatch when they differ in kind.

    A pass-through joins with any kind-keeping signature (X -> X), never with one that changes kind:
    `empty | gap_head` would give either a sequence or logits to whatever follows.
    """
    changes = a.changes | b.changes
    if a.passes_through or b.passes_through:
        other = b if a.passes_through else a
        if other.takes != other.gives:
            raise KindMismatch(f"one alternative passes the tensor through, another maps {other.render()}")
        return Signature(other.takes, other.gives, changes)
    if (a.takes, a.gives) != (b.takes, b.gives):
        raise KindMismatch(f"one alternative maps {a.takes} -> {a.gives}, another {b.takes} -> {b.gives}")
    return Signature(a.takes, a.gives, changes)


@dataclass(frozen=True)
class Requirement:
    """What a place demands of the derivation put there: kinds (None: any) and dimensions kept."""

    takes: str | None = None
    gives: str | None = None
    keeps: frozenset[str] = field(default_factory=frozenset)

    def render(self) -> str:
        kinds = f"{self.takes or 'any'} -> {self.gives or 'same'}"
        return kinds + (f" keeps {', '.join(sorted(self.keeps))}" if self.keeps else "")

    def kind_problem(self, sig: Signature) -> str | None:
        """Why sig's kinds do not fit (None when they do); kept dimensions are checked by the caller."""
        if sig.passes_through:
            if self.takes is not None and self.gives is not None and self.takes != self.gives:
                return f"passes the tensor through, but {self.takes} -> {self.gives} is required"
            return None
        if self.takes is not None and sig.takes != self.takes:
            return f"takes {sig.takes}, but {self.render()} is required"
        if self.gives is not None and sig.gives != self.gives:
            return f"gives {sig.gives}, but {self.render()} is required"
        return None
