"""A proposed grammar becomes a stored, searchable space only after every check, through a real sandbox."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest
from sqlmodel import Session

from archlab.agents.grammar_intake import accept_grammar, check_grammar, load_workspace_space, store_loader
from archlab.errors import ConfigError, GrammarError, StoreError
from archlab.evaluator.tasks import get_task
from archlab.sandbox.process import ProcessSandbox
from archlab.store import grammars as grammar_store
from archlab.store import open_store, sqlite_url

GATED = """\
grammar gated
extends seq1d
terminal gated_conv(channels: {16, 32}, kernel: {3, 5}) : seq -> seq changes channels = GatedConv
stage |= gated_conv(channels: {16, 32}, kernel: {3, 5}) act @ 30
"""

CODE = '''\
class GatedConv(nn.Module):
    """A conv whose output is gated by a second half of its channels."""

    def __init__(self, shape, outputs, channels, kernel):
        super().__init__()
        self.conv = nn.Conv1d(shape[0], 2 * channels, kernel, padding=kernel // 2)

    def forward(self, x):
        value, gate = self.conv(x).chunk(2, dim=1)
        return value * torch.sigmoid(gate)
'''

BROKEN_FOR_5 = CODE.replace("        super().__init__()\n",
                            "        super().__init__()\n        assert kernel != 5, 'kernel 5 unsupported'\n")


@pytest.fixture()
def session(tmp_path):
    with Session(open_store(sqlite_url(tmp_path / "archlab.db"))) as s:
        yield s


@pytest.fixture(scope="module")
def sandbox():
    with ProcessSandbox() as box:
        yield box


def check(text: str, code: str, sandbox, session, samples: int = 6):
    return check_grammar(text, code=code, task=get_task("mnist1d"), sandbox=sandbox,
                         loader=store_loader(session), samples=samples, seed=1)


def test_a_good_grammar_is_checked_stored_and_searchable(sandbox, session) -> None:
    checked = check(GATED, CODE, sandbox, session)
    stats = checked.stats
    assert stats["built"] == stats["samples"] == 6 and stats["build_share"] == 1.0
    assert 0 < stats["params_min"] <= stats["params_median"] <= stats["params_max"]
    assert stats["derivations_log10"] > 41  # seq1d's 10^41.5 and more
    assert any("gated_conv" in summary for summary in checked.summaries)
    record = accept_grammar(checked, session=session, proposed_by="planner (test)", task="mnist1d",
                            run_id="r1", rationale="gates help")
    assert (record.parent, record.parent_id, record.proposed_by, record.run_id) == ("seq1d", None, "planner (test)",
                                                                                      "r1")
    # a stored grammar is a space by name, and a parent for further grammars
    space = load_workspace_space(session, "gated")
    assert space.check(space.sample(random.Random(0))) == []
    child = check("grammar gated_more\nextends gated\nact = relu @ 1 | gelu @ 3\n", "", sandbox, session)
    child_record = accept_grammar(child, session=session, proposed_by="person", task="mnist1d")
    assert (child_record.parent, child_record.parent_id) == ("gated", record.id)
    assert [g.name for g in grammar_store.children(session=session, name="gated")] == ["gated_more"]
    # the same content again is the same record; another content under the name is refused
    assert accept_grammar(checked, session=session, proposed_by="x", task="mnist1d").id == record.id
    other = check(GATED.replace("@ 30", "@ 31"), CODE, sandbox, session, samples=2)
    with pytest.raises(StoreError, match="a different grammar named 'gated' is already stored"):
        accept_grammar(other, session=session, proposed_by="x", task="mnist1d")


def test_terminal_code_that_fails_is_located_and_nothing_is_stored(sandbox, session) -> None:
    with pytest.raises(GrammarError) as info:
        check(GATED, BROKEN_FOR_5, sandbox, session, samples=12)
    error = info.value
    assert (error.source, error.line) == ("terminal code", 6)  # the assert in __init__
    assert "sampled derivations do not build" in str(error) and "kernel 5 unsupported" in str(error)
    assert grammar_store.list_grammars(session=session) == []


@pytest.mark.parametrize(
    ("text", "code", "where", "fragment"),
    [
        ("grammar g\nextends seq1d\nstage |= gated_cnv(channels: 16) @ 3\n", "", ("proposed.grammar", 3),
         "unknown block 'gated_cnv'"),
        ("grammar g\nextends seq1d\nstage |= \n", "", ("proposed.grammar", 3), "expected an item"),
        (GATED, CODE.replace("class GatedConv", "class Gated"), ("proposed.grammar", 3),
         "the grammar's code defines no class 'GatedConv' (it defines Gated)"),
        (GATED, "import os\n" + CODE, ("terminal code", 1), "import of os is not allowed"),
        (GATED, CODE.replace("def forward(self, x):", "def forward(self, x)"), ("terminal code", 8),
         "the grammar's code does not parse"),
    ],
)
def test_bad_grammars_fail_before_the_sandbox_with_a_location(text, code, where, fragment, session) -> None:
    with pytest.raises(GrammarError) as info:
        check(text, code, sandbox=None, session=session)  # never reaches the sandbox
    assert (info.value.source, info.value.line) == where and fragment in str(info.value)
    assert grammar_store.list_grammars(session=session) == []


def test_built_in_names_and_unknown_parents(sandbox, session) -> None:
    checked = check("grammar seq1d\nextends seq1d\nact = relu\n", "", sandbox, session, samples=2)
    with pytest.raises(ConfigError, match="'seq1d' is a built-in space"):
        accept_grammar(checked, session=session, proposed_by="x", task="mnist1d")
    with pytest.raises(GrammarError, match="cannot use grammar 'nowhere': unknown grammar 'nowhere'"):
        check("extends nowhere\n", "", sandbox, session)


def test_grammar_commands_and_a_run_in_a_stored_space(tmp_path) -> None:
    env = {**os.environ, "ARCHLAB_WORKSPACE": str(tmp_path / "ws"), "ARCHLAB_EMBEDDER": "hashing"}
    (tmp_path / "g.grammar").write_text(GATED)
    (tmp_path / "g.py").write_text(CODE)
    (tmp_path / "bad.py").write_text("import socket\n" + CODE)

    def archlab(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "archlab", *args], env=env, capture_output=True, text=True,
                              timeout=300)

    refused = archlab("grammar", "add", str(tmp_path / "g.grammar"), "--code", str(tmp_path / "bad.py"))
    assert refused.returncode == 2 and "terminal code:1:1: line 1: import of socket is not allowed" in refused.stderr
    added = archlab("grammar", "add", str(tmp_path / "g.grammar"), "--code", str(tmp_path / "g.py"),
                    "--samples", "4", "--by", "tester")
    assert added.returncode == 0, added.stderr
    assert "stored as gated" in added.stdout
    rows = {row["name"]: row for row in json.loads(archlab("grammar", "list", "--json").stdout)}
    assert rows["gated"]["parent"] == "seq1d" and rows["gated"]["proposed_by"] == "tester"
    assert rows["seq1d"]["origin"] == "built-in"
    shown = archlab("grammar", "show", "gated").stdout
    assert "class GatedConv" in shown and "extends seq1d" in shown
    run = archlab("run", "--space", "gated", "--max-evals", "1", "--steps", "50", "--seed", "3")
    assert run.returncode == 0, run.stderr
    unknown = archlab("run", "--space", "nothing_here", "--max-evals", "1")
    assert unknown.returncode == 2 and "unknown grammar 'nothing_here'" in unknown.stderr
    mismatch = archlab("run", "--space", "nb201", "--max-evals", "1")
    assert mismatch.returncode == 2 and "builds networks for inputs (channels, height, width)" in mismatch.stderr
    language = archlab("run", "--space", "lmblocks", "--max-evals", "1")
    assert language.returncode == 2 and "space 'lmblocks' builds language models; task 'mnist1d'" in language.stderr
    (tmp_path / "auto.grammar").write_text("grammar auto\nnetwork : seq -> logits = gap_head\n")
    reserved = archlab("grammar", "add", str(tmp_path / "auto.grammar"), "--samples", "1")
    assert reserved.returncode == 2 and "'auto' names the built-in space chosen" in reserved.stderr
