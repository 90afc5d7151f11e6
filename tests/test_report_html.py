"""The run report on a stored run (tests/report_run.py): report.html with every section, inline SVG and
no script; its Markdown twin with the same sections; lineage, cards, next steps; text an LLM wrote
(a script tag) shown as text; bad input is a clear error with exit code 2."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from report_run import EVIL, LLM_CHILD, MUTANT, REJECTED, RUN, SAMPLE, workspace
from typer.testing import CliRunner

from archlab.cli.main import app
from archlab.report.build import write_report_files
from archlab.report.data import SECTIONS
from archlab.report.run_view import lineage, load_run_view

ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


class Outline(HTMLParser):
    """Section ids, h2 titles, tags seen, and the text of the page."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.h2: list[str] = []
        self.tags: set[str] = set()
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        if tag == "section":
            self.sections.append(dict(attrs)["id"])
        self._in_h2 = tag == "h2"

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_h2 = False

    def handle_data(self, data):
        if self._in_h2:
            self.h2.append(data.strip())


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    ws = workspace(tmp_path_factory.mktemp("report"))
    files = write_report_files(ws, RUN)
    return ws, files, files.html.read_text(), files.markdown.read_text()


def test_html_has_every_section_in_order_inline_svg_and_no_script(report):
    _, files, html, _ = report
    outline = Outline()
    outline.feed(html)
    assert outline.sections == [s.id for s in SECTIONS]
    assert outline.h2 == [s.title for s in SECTIONS]
    assert "script" not in outline.tags and "<script" not in html.lower()
    assert html.count("<svg ") >= 7  # 3 Pareto fronts, 2 progress plots, 2 model diagrams
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing fetched from elsewhere
    assert 'rel="stylesheet"' not in html and "<style>" in html


def test_text_an_llm_wrote_is_escaped_everywhere(report):
    _, _, html, md = report
    assert EVIL not in html
    # The summary, rationale, critic's reason, plan, concept claim, SVG tooltips and source: all as text.
    assert html.count(ESCAPED) >= 8
    assert f"<title>{ESCAPED} (call_function, node 2)</title>" in html  # the model diagram's box
    assert EVIL not in md.replace(f"# {EVIL}", "")  # only inside the fenced source
    assert "&lt;script>alert(1)&lt;/script>" in md
    assert "\n````python\n# <script>alert(1)</script>\n" in md  # fence longer than the ``` inside


def test_markdown_twin_has_the_same_sections_and_links_its_plots(report):
    _, files, html, md = report
    assert re.findall(r"^## (.+)$", md, re.M) == [s.title for s in SECTIONS]
    folder = files.markdown.parent
    links = re.findall(r"!\[[^\]]*\]\((plots/[^)]+\.svg)\)", md)
    assert {"plots/pareto-params.svg", "plots/pareto-flops.svg", "plots/pareto-latency.svg",
            "plots/progress-evaluations.svg", "plots/progress-time.svg"} <= set(links)
    for link in links:
        assert (folder / link).read_text().startswith("<svg ")
    # Kept from the Markdown-only report: the LLM section's tables and the memory section.
    for heading in ("### Calls and cost", "### Plans", "### Verdicts", "### New and changed concepts",
                    "### Concepts that informed proposals", "```yaml"):
        assert heading in md


def test_lineage_hangs_each_child_under_its_parent_with_its_move(report):
    ws, _, html, md = report
    view = load_run_view(ws.engine, RUN)
    [root] = lineage(view, top=5)
    assert root.candidate.id == SAMPLE and root.parents == []
    [child] = root.children
    assert child.candidate.id == MUTANT and child.move == "regrow" and child.rank == 1
    [grandchild] = child.children
    assert grandchild.candidate.id == LLM_CHILD and grandchild.move == "write"
    assert REJECTED not in {n.candidate.id for n in (root, child, grandchild)}  # only ancestors of the top
    assert re.search(rf"^  - `{MUTANT}` via regrow, val 0\.7500 \*\*#1\*\*", md, re.M)
    assert re.search(rf"^    - `{LLM_CHILD}` via write", md, re.M)
    assert "← regrow" in html


def test_card_shows_every_evaluation_plan_verdict_parent_and_evidence(report):
    _, files, html, md = report
    card = md.split(f"### `{MUTANT}`")[1].split("\n### ")[0]
    assert "| train | 30 | 7 | ok | val_acc 0.7," in card
    assert "| train | 150 | 7 | ok | val_acc 0.75," in card and "| train | 150 | 8 | ok | val_acc 0.74," in card
    assert "latency, batch 1 0.4 ms" in card
    assert "mutation: regrow" in card and "final status: evaluated" in card
    assert f"Parent `{SAMPLE}`" in card and "| validation accuracy | 0.6 | 0.75 |" in card
    assert "supports #1: On mnist1d, regrowing the head" in card
    assert "no graph stored: it was built before build stages recorded one" in card  # an old evaluation
    llm_card = md.split(f"### `{LLM_CHILD}`")[1].split("\n### ")[0]
    assert "**LLM plan, step 2:** refine: a smaller head" in llm_card
    assert "accept by the llm critic: looks novel" in llm_card
    assert f"plots/graph-{LLM_CHILD}.svg" in llm_card
    assert 'id="card-' + MUTANT + '"' in html


def test_reproduction_bundle_per_card(report):
    _, files, _, _ = report
    bundle = files.markdown.parent / "repro" / MUTANT
    assert (bundle / "source.py").read_text().startswith('"""Generated by archlab.spaces')
    config = (bundle / "config.yaml").read_text()
    assert "task: mnist1d" in config and "fidelities:\n- 30\n- 150\n" in config and "seeds:\n- 7\n- 8\n" in config
    assert "evaluation:" in config and "backend: process" in config
    assert '"fidelity": 150' in (bundle / "expected.json").read_text()
    assert f"archlab reproduce \"$@\" -- {MUTANT}" in (bundle / "reproduce.sh").read_text()


def test_summary_says_what_was_tried_worked_learned_cost_and_next(report):
    _, _, _, md = report
    summary = md.split("## Morning summary")[1].split("\n## ")[0]
    assert "5 candidates proposed: 3 evaluated, 1 rejected, 1 failed." in summary
    assert "| mutate | regrow | 1 | 1 | 0 | 0 | 0.7500 |" in summary
    assert f"Best: `{MUTANT}`, validation accuracy (higher is better) 0.7500" in summary
    assert "It is +0.1500 better than the first trained candidate" in summary
    assert "#1 (new, hypothesis): On mnist1d" in summary
    assert "build 4 (3 ok" in summary and "1 calls, 1,500 tokens, $0.0123" in summary
    assert "the LLM planner's last plan (step 2)" in summary
    assert f"mutate {MUTANT} by " in summary  # the best candidate's untried mutation moves
    assert "#2 (3×): Wider first convolutions" in summary  # retrieved three times, never tested


def test_report_command_prints_both_paths_and_rejects_an_unknown_run(report, monkeypatch):
    ws, files, _, _ = report
    monkeypatch.setenv("ARCHLAB_WORKSPACE", str(ws.root))
    done = CliRunner().invoke(app, ["report", RUN])
    assert done.exit_code == 0, done.output
    assert done.stdout.split() == [str(files.html), str(files.markdown)]
    assert files.html == ws.run_dir(RUN) / "report" / "report.html" and files.markdown.parent == files.html.parent
    unknown = CliRunner().invoke(app, ["report", "no-such-run"])
    assert unknown.exit_code == 2 and "no run 'no-such-run'" in unknown.output


def test_report_of_a_run_with_nothing_trained(tmp_path):
    from sqlmodel import Session

    from archlab.run.workspace import Workspace
    from archlab.store import Run
    from archlab.store import records as store

    ws = Workspace(root=tmp_path / "ws")
    with Session(ws.engine) as s:
        store.add_run(session=s, run=Run(id="empty", task="digits", space="seq1d", config={"task": "digits"}))
    files = write_report_files(ws, "empty")
    md = files.markdown.read_text()
    assert "No candidate was trained successfully." in md and "nothing to plot" in files.html.read_text()
    assert re.findall(r"^## (.+)$", md, re.M) == [s.title for s in SECTIONS]



def test_a_block_renders_the_same_table_to_html_and_markdown_and_never_passes_markup_through():
    from archlab.report.blocks import Block, Code, Table
    from archlab.report.html import environment as html_env
    from archlab.report.markdown import environment as md_env

    hostile = "a | b <script>x()</script>\nnext line"
    block = Block("Roles", Table.of("role, note, calls:", [(Code("c`1"), hostile, 3), ("critic", None, 0)]),
                  intro="**not bold** <img src=x onerror=y>", notes=["[click](javascript:alert(1))"], items=[hostile])
    html = html_env().from_string('{% import "report/macros.html.j2" as m %}{{ m.block(b) }}').render(b=block)
    md = md_env().from_string('{% import "report/macros.md.j2" as m %}{{ m.block(b) }}').render(b=block)
    assert "<h3>Roles</h3>" in html and "<td><code>c`1</code></td>" in html and '<td class="n">3</td>' in html
    assert "<td>a | b &lt;script&gt;x()&lt;/script&gt;\nnext line</td>" in html and "<td></td>" in html
    assert "<script>" not in html and "<img" not in html and 'href="javascript' not in html
    lines = md.splitlines()
    assert lines[:2] == ["### Roles", ""] and "| role | note | calls |" in lines and "|---|---|---:|" in lines
    assert "| ``c`1`` | a \\| b &lt;script>x()&lt;/script> next line | 3 |" in lines  # one row, pipe escaped
    assert "| critic |  | 0 |" in lines and "- a \\| b &lt;script>x()&lt;/script> next line" in lines
    assert "<script>" not in md and "<img" not in md
    empty = Block("Faults", Table.of("fault, count:", []), empty="None.")
    assert "<p>None.</p>" in html_env().from_string('{% import "report/macros.html.j2" as m %}{{ m.block(b) }}'
                                                    ).render(b=empty)
