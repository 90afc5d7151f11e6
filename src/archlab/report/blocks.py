"""The report's tables as data: a section's sub-sections (LLM roles, concept memory, rank fidelity) are
`Block`s of a `Table` and a few lines of text, rendered by the same Jinja macros to HTML and to Markdown
(templates/report/macros.{html,md}.j2). Nothing here is Markdown or HTML: every value is escaped by the
renderer that shows it."""

from __future__ import annotations

from dataclasses import dataclass, field


class Code(str):
    """A cell shown as inline code (a candidate id)."""

    __slots__ = ()


Cell = str | int | float | None


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: list[tuple[Cell, ...]]
    numeric: frozenset[int] = frozenset()  # column positions aligned right

    @classmethod
    def of(cls, columns: str, rows: list[tuple[Cell, ...]]) -> Table:
        """Columns as "name, count:, ..." where a trailing colon marks a numeric column."""
        names = [c.strip() for c in columns.split(",")]
        return cls(tuple(n.rstrip(":") for n in names), rows,
                   frozenset(i for i, n in enumerate(names) if n.endswith(":")))


@dataclass(frozen=True)
class Block:
    """A sub-section: its heading, a table (or, when it has no rows, the sentence that says so), notes."""

    title: str
    table: Table | None = None
    intro: str = ""  # a paragraph before the table
    empty: str = ""  # shown instead of the table when it has no rows
    notes: list[str] = field(default_factory=list)  # paragraphs after the table
    items: list[str] = field(default_factory=list)  # a bullet list after the notes


def clip(text: str, limit: int) -> str:
    """One line of at most `limit` characters, an ellipsis where it was cut."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[:limit - 1] + "…"
