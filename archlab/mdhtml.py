"""The small Markdown subset the report's text sections use, turned into escaped HTML.

The LLM and memory sections are written once, as Markdown (llm_report, memory_report); the HTML report
shows the same text through this converter instead of a second copy of those sections. It knows
headings, pipe tables (with `\\|` inside cells), bullet lists, fenced code, paragraphs, `code` and **bold**.
Everything is escaped first, so text from an LLM or a person never becomes markup.
"""

from __future__ import annotations

import re
from html import unescape

from markupsafe import Markup, escape

_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*(.+?)\*\*")


def markdown_html(text: str) -> Markup:
    lines, out, i = text.splitlines(), [], 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            i = _fence(lines, i, out)
        elif line.startswith("#"):
            level = min(len(line) - len(line.lstrip("#")), 6)
            out.append(f"<h{level}>{inline(line.lstrip('#').strip())}</h{level}>")
            i += 1
        elif line.startswith("|"):
            i = _table(lines, i, out)
        elif line.startswith("- "):
            i = _list(lines, i, out)
        elif line.strip():
            i = _paragraph(lines, i, out)
        else:
            i += 1
    return Markup("\n".join(out))


def inline(text: str) -> str:
    """Escaped text with `code` and **bold** spans; an entity in the Markdown (`&lt;`) is the character."""
    html = str(escape(unescape(text)))
    html = _CODE.sub(lambda m: f"<code>{m.group(1)}</code>", html)
    return _BOLD.sub(lambda m: f"<strong>{m.group(1)}</strong>", html)


def _fence(lines: list[str], i: int, out: list[str]) -> int:
    fence = lines[i][:len(lines[i]) - len(lines[i].lstrip("`"))]
    end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith(fence)), len(lines))
    out.append(f"<pre><code>{escape(chr(10).join(lines[i + 1:end]))}</code></pre>")
    return end + 1


def _table(lines: list[str], i: int, out: list[str]) -> int:
    rows = []
    while i < len(lines) and lines[i].startswith("|"):
        rows.append([c.strip().replace("\\|", "|") for c in _CELL_SPLIT.split(lines[i].strip())[1:-1]])
        i += 1
    body = [r for r in rows[1:] if not all(set(c) <= set(":-") and c for c in r)]  # drop the |---| rule
    html = ["<table>", "<thead><tr>" + "".join(f"<th>{inline(c)}</th>" for c in rows[0]) + "</tr></thead>",
            "<tbody>", *("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in r) + "</tr>" for r in body),
            "</tbody></table>"]
    out.append("\n".join(html))
    return i


def _list(lines: list[str], i: int, out: list[str]) -> int:
    items = []
    while i < len(lines) and lines[i].startswith("- "):
        items.append(f"<li>{inline(lines[i][2:])}</li>")
        i += 1
    out.append("<ul>" + "".join(items) + "</ul>")
    return i


def _paragraph(lines: list[str], i: int, out: list[str]) -> int:
    start = i
    while i < len(lines) and lines[i].strip() and not lines[i].startswith(("#", "|", "- ", "```")):
        i += 1
    out.append(f"<p>{inline(' '.join(lines[start:i]))}</p>")
    return i
