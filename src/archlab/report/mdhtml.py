"""The report's Markdown text sections as HTML, through markdown-it-py (CommonMark plus pipe tables).

The LLM and memory sections are written once, as Markdown (llm, memory); the HTML report
shows the same text through this instead of a second copy of those sections. Raw HTML in the text is
not passed through (`html: False`) and link targets are checked by the parser, so text from an LLM or a
person never becomes markup.
"""

from __future__ import annotations

from functools import cache

from markdown_it import MarkdownIt
from markupsafe import Markup


@cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def markdown_html(text: str) -> Markup:
    return Markup(_parser().render(text))
