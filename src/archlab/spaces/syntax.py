"""The grammar's parts as plain data: rules, alternatives, items and parameter specs.

The parser builds these; resolution then turns bare names into Ref (a rule) or Call (a block), and a
single-name spec of a subtree parameter into SubRule. Every part keeps where it was written.
"""

from __future__ import annotations

from dataclasses import dataclass

Value = int | float | str


@dataclass(frozen=True)
class Pos:
    """1-based line and column; source names the grammar when the text is not the one being parsed
    (a rule inherited with `extends` or brought in with `import`)."""

    line: int
    column: int
    source: str | None = None


@dataclass(frozen=True)
class Choice:
    """Pick one of these values uniformly; a single literal is a one-value choice."""

    values: tuple[Value, ...]
    pos: Pos

    def render(self) -> str:
        inner = ", ".join(str(v) for v in self.values)
        return inner if len(self.values) == 1 else "{" + inner + "}"


@dataclass(frozen=True)
class IntRange:
    """Any int in lo..hi, both ends included."""

    lo: int
    hi: int
    pos: Pos

    def render(self) -> str:
        return f"{self.lo}..{self.hi}"


@dataclass(frozen=True)
class SubRule:
    """A parameter whose value is a derivation of this rule (the body of a combinator)."""

    rule: str
    pos: Pos

    def render(self) -> str:
        return self.rule


Spec = Choice | IntRange | SubRule


@dataclass(frozen=True)
class Ref:
    """A nonterminal: expand the named rule here."""

    name: str
    pos: Pos

    def render(self) -> str:
        return self.name


@dataclass(frozen=True)
class Call:
    """A terminal: one building block with a spec for each parameter written."""

    block: str
    args: tuple[tuple[str, Spec], ...]
    pos: Pos

    @property
    def arg_map(self) -> dict[str, Spec]:
        return dict(self.args)

    def render(self) -> str:
        if not self.args:
            return self.block
        inner = ", ".join(f"{name}: {spec.render()}" for name, spec in self.args)
        return f"{self.block}({inner})"


Item = Ref | Call


@dataclass(frozen=True)
class Alternative:
    items: tuple[Item, ...]  # empty for the `empty` alternative
    weight: float
    pos: Pos

    def render(self) -> str:
        return " ".join(item.render() for item in self.items) or "empty"


@dataclass(frozen=True)
class Annotation:
    """A rule's declared type, `name : seq -> seq keeps length`; the type check holds it to that."""

    takes: str
    gives: str
    keeps: tuple[str, ...]
    pos: Pos

    def render(self) -> str:
        return f"{self.takes} -> {self.gives}" + (f" keeps {', '.join(self.keeps)}" if self.keeps else "")


@dataclass(frozen=True)
class Rule:
    name: str
    alternatives: tuple[Alternative, ...]
    pos: Pos
    annotation: Annotation | None = None


@dataclass(frozen=True)
class Limits:
    """Bounds on a derivation: depth counts nodes on the longest root-to-leaf path, size all nodes."""

    max_depth: int = 16
    max_size: int = 120
