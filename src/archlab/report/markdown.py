"""The Markdown twin of the run report, rendered by Jinja from report/templates/report.md.j2: the same
sections and data as report.html, the plots linked as SVG files beside it (plots/), the reproduction
bundles under repro/.

The environment does not autoescape (Markdown has no single escape); every value that is not ours goes
through a filter: `text` keeps prose on one line with pipes escaped (tables) and `<` and `&` written as
entities, so it renders as text; `code` makes an inline code span no backtick inside can close; `fence`
puts code in a fence longer than any backtick run inside it.
"""

from __future__ import annotations

import re
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from archlab.report.blocks import Code
from archlab.report.data import Report

CELL = 300


@cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("archlab.report", "templates"), autoescape=False,  # noqa: S701 (Markdown)
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(text=text, code=code, fence=fence, num=_num, signed=_signed, thousands=_thousands)
    env.tests["code"] = lambda value: isinstance(value, Code)
    return env


def render_markdown(report: Report) -> str:
    return environment().get_template("report.md.j2").render(report=report, run=report.view.run, s=report.summary)


def text(value: object) -> str:
    """One line of prose or a table cell: pipes escaped, no newlines, `<` and `&` as entities."""
    line = " ".join(str(value).split()).replace("&", "&amp;").replace("<", "&lt;").replace("|", "\\|")
    return line if len(line) <= CELL else line[:CELL - 1] + "…"


def code(value: str) -> str:
    """An inline code span that no backtick inside the value can close early."""
    value = " ".join(str(value).split()).replace("|", "\\|")
    ticks = "`" * (1 + max((len(m) for m in re.findall(r"`+", value)), default=0))
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{ticks}{pad}{value}{pad}{ticks}"


def fence(source: str, lang: str) -> str:
    ticks = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", source)), default=0))
    return f"{ticks}{lang}\n{source.rstrip()}\n{ticks}"


def _num(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.4f}"


def _thousands(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"
