"""Prompts are data: Jinja templates in agents/prompts/, rendered strictly (a missing variable raises)."""

from __future__ import annotations

import functools
from importlib import resources

import jinja2

PACKAGE = "archlab.agents.prompts"


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader(PACKAGE, ""), undefined=jinja2.StrictUndefined,
                              autoescape=False, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)


def render(name: str, **variables) -> str:
    """The template `name` with `variables`; jinja2.UndefinedError names a missing one."""
    return _environment().get_template(name).render(**variables)


def template_names() -> list[str]:
    return sorted(f.name for f in resources.files(PACKAGE).iterdir() if f.name.endswith(".j2"))
