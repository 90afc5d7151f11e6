"""`archlab memory ...` through typer's CliRunner, on a real workspace with the hashing embedder."""

import json

import pytest
from typer.testing import CliRunner

from archlab.cli.main import app
from archlab.memory.seeds import seed_records


@pytest.fixture
def cli(tmp_path):
    runner = CliRunner()

    def invoke(*args: str, ws: str = "ws"):
        env = {"ARCHLAB_WORKSPACE": str(tmp_path / ws), "ARCHLAB_EMBEDDER": "hashing", "COLUMNS": "250"}
        return runner.invoke(app, ["memory", *args], env=env)

    return invoke


def exported(cli, ws="ws"):
    result = cli("export", ws=ws)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_a_new_workspace_starts_with_the_seeds(cli):
    result = cli("search", "zero-cost proxies that rank architectures", "-k", "3", "--json")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert len(hits) == 3 and any("Zero-cost" in h["claim"] for h in hits)
    assert len(exported(cli)) == len(seed_records())
    again = cli("seed")
    assert again.exit_code == 0 and f"0 added, 0 merged, {len(seed_records())} already here" in again.stdout


def test_add_merges_paraphrases_and_show_prints_the_concept(cli):
    first = cli("add", "Wider convolutions improve validation accuracy on mnist1d", "--task", "mnist1d",
                "--tag", "width", "--source", "a colleague")
    assert first.exit_code == 0, first.output
    cid = int(first.stdout.split()[-1])
    again = cli("add", "wider convolutions improve the validation accuracy on mnist1d.", "--task", "mnist1d")
    assert again.exit_code == 0 and f"merged into concept {cid}" in again.stdout
    shown = cli("show", str(cid))
    assert shown.exit_code == 0
    for text in ("claim: Wider convolutions improve validation accuracy on mnist1d", "task mnist1d, space any",
                 "source: a colleague", "confidence: 0.40", "also phrased: wider convolutions", "evidence: none"):
        assert text in shown.stdout
    detail = json.loads(cli("show", str(cid), "--json").stdout)
    assert detail["id"] == cid and detail["tags"] == ["width"] and detail["evidence"] == []


def test_bad_input_gives_a_clear_error_and_stores_nothing(cli, tmp_path):
    before = len(exported(cli))
    short = cli("add", "tiny")
    assert short.exit_code == 2 and "claim: a claim needs at least a few words" in short.output
    kind = cli("add", "a claim of enough words here", "--kind", "rumour")
    assert kind.exit_code == 2 and "rumour" in kind.output
    missing = cli("show", "99999")
    assert missing.exit_code == 1 and "no concept 99999" in missing.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"uid": "x1", "claim": "a fine claim about pooling layers"}) + "\n"
                   + json.dumps({"uid": "x2", "claim": "a fine claim about kernels", "fidelity": 3}) + "\n")
    imported = cli("import", str(bad))
    assert imported.exit_code == 2 and "bad.jsonl:2: fidelity: Extra inputs are not permitted" in imported.output
    assert "nothing was imported" in imported.output
    assert cli("import", str(tmp_path / "absent.jsonl")).exit_code == 2
    assert len(exported(cli)) == before


def test_export_and_import_between_workspaces(cli, tmp_path):
    cli("add", "Depthwise separable convolutions cut parameters on mnist1d", "--task", "mnist1d")
    path = tmp_path / "team.jsonl"
    written = cli("export", str(path))
    assert written.exit_code == 0 and path.is_file()
    imported = cli("import", str(path), ws="other")
    assert imported.exit_code == 0, imported.output
    seeds = len(seed_records())
    assert f"1 new, 0 merged into paraphrases, {seeds} already here" in imported.stdout
    assert exported(cli, "other") == exported(cli)
