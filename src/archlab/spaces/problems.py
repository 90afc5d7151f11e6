"""Located problems in a grammar text, gathered so one GrammarError can list them all."""

from __future__ import annotations

from dataclasses import dataclass

from archlab.errors import GrammarError
from archlab.spaces.syntax import Pos


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a grammar, at a 1-based line and column (of another grammar's text when
    source is set: an inherited or imported rule)."""

    message: str
    line: int
    column: int
    source: str | None = None

    @classmethod
    def at(cls, pos: Pos, message: str) -> Problem:
        return cls(message, pos.line, pos.column, pos.source)

    def located(self, source: str) -> str:
        return f"{self.source or source}:{self.line}:{self.column}: {self.message}"


class GrammarProblems(GrammarError):
    """A GrammarError that keeps every problem found, not only the first.

    The exception's own line and column are the first problem's, so a caller that only looks at
    those still points the user at the right place.
    """

    def __init__(self, problems: list[Problem], *, source: str) -> None:
        ordered = sorted(problems, key=lambda p: (p.source is not None, p.line, p.column))
        first, rest = ordered[0], ordered[1:]
        message = first.message
        if rest:
            others = "\n".join("  " + p.located(source) for p in rest)
            message += f"\n{len(rest)} more problem(s):\n{others}"
        super().__init__(message, line=first.line, column=first.column, source=first.source or source)
        self.problems: tuple[Problem, ...] = tuple(ordered)


def raise_if_any(problems: list[Problem], *, source: str) -> None:
    if problems:
        raise GrammarProblems(problems, source=source)
