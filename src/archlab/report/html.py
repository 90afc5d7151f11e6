"""The HTML run report: one self-contained file (inline CSS and SVG, no script, no external resource),
rendered by Jinja2 with autoescaping from report/templates/report.html.j2.

Only our own SVG (matplotlib's, with every label escaped by its XML writer, and the model diagram's, escaped
in archlab.report.diagram) is marked safe; every other value, whoever wrote it, is escaped by the template
engine.
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from archlab.report.blocks import Code
from archlab.report.cards import slug
from archlab.report.data import Report


@cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("archlab.report", "templates"), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["num"] = lambda value, digits=4: "-" if value is None else f"{value:.{digits}f}"
    env.filters["signed"] = lambda value: "-" if value is None else f"{value:+.4f}"
    env.filters["thousands"] = lambda value: "-" if value is None else f"{value:,}"
    env.filters["svg"] = Markup  # only for SVG built by archlab.report.plots / archlab.report.diagram
    env.filters["slug"] = slug
    env.tests["code"] = lambda value: isinstance(value, Code)
    return env


def render_html(report: Report) -> str:
    return environment().get_template("report.html.j2").render(report=report, run=report.view.run,
                                                                s=report.summary)
