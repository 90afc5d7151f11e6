"""`archlab bench nb201` on a synthetic table with the shape of nb201.csv (the real one may be absent)."""

from __future__ import annotations

import csv
import json
import random
import types

import numpy as np
import pytest
from typer.testing import CliRunner

from archlab.agents.strategies import make_strategy
from archlab.bench.nb201 import CELLS, CellDomain, Nb201Table, cell_index, simulate
from archlab.evaluator.task import TaskSpec
from archlab.spaces import load_space
from archlab.spaces.nb201 import OPS, canonical, cell_to_tree, format_arch_string

COLUMNS = ["index", "arch", "canonical", "cifar10_test200", "cifar100_test200", "imagenet16_test200",
           "cifar10_val200", "cifar100_val200", "imagenet16_val200", "cifar10_val12", "cifar10_test12",
           "cifar100_val12", "imagenet16_val12", "latency_fpga_ms", "latency_pixel2_ms"]
GOOD = {"nor_conv_3x3": 3.0, "nor_conv_1x1": 2.0, "skip_connect": 1.0, "avg_pool_3x3": 0.5, "none": 0.0}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """All 15,625 cells; accuracy grows with the convs, plus seeded noise (validation and test differ)."""
    root = tmp_path_factory.mktemp("data")
    (root / "nb201").mkdir()
    rng = np.random.default_rng(0)
    with (root / "nb201" / "nb201.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for i in range(CELLS):
            cell = tuple(OPS[(i // 5 ** (5 - e)) % 5] for e in range(6))
            base = 70 + sum(GOOD[op] for op in cell) + (2.0 if cell[3] == "skip_connect" else 0.0)
            val, test = base + rng.normal(0, 0.3), base + rng.normal(0, 0.3)
            writer.writerow([i, format_arch_string(cell), canonical(cell), test, test - 20, test - 40, val, val - 20,
                             val - 40, val - 5, test - 5, val - 25, val - 45, 1.0, 2.0])
    return root


@pytest.fixture(scope="module")
def table(data_dir):
    return Nb201Table.load(data_dir / "nb201" / "nb201.csv", "cifar10")


def test_cells_are_indexed_by_their_ops(table):
    cell = ("nor_conv_3x3", "none", "skip_connect", "avg_pool_3x3", "nor_conv_1x1", "nor_conv_3x3")
    i = cell_index(cell)
    assert tuple(OPS[k] for k in table.ops[i]) == cell
    neighbours = table.neighbour_table[i]
    assert len(set(neighbours.tolist())) == 24 and i not in neighbours
    assert all((table.ops[n] != table.ops[i]).sum() == 1 for n in neighbours)


def test_params_match_the_built_network(table):
    """The prior's parameter count is the one the build stage would measure."""
    space = load_space("nb201")
    cell = ("nor_conv_3x3", "nor_conv_1x1", "none", "skip_connect", "nor_conv_3x3", "avg_pool_3x3")
    module = types.ModuleType("candidate")
    exec(compile(space.compile(cell_to_tree(cell)), "candidate.py", "exec"), module.__dict__)  # noqa: S102
    model = module.build_model(TaskSpec(name="nb201-cifar10", input_shape=(3, 32, 32), num_outputs=10))
    assert table.params[cell_index(cell)] == sum(p.numel() for p in model.parameters())


def test_simulation_selects_on_validation_and_reports_test(table):
    trace = simulate(make_strategy("random"), table, budget=30, seed=1)
    assert len(trace.queried) == 30 and len({table.keys[c] for c in trace.queried}) == 30
    best = max(trace.queried[:20], key=lambda c: table.val[200][c])
    assert trace.at(20) == table.test[best]
    assert simulate(make_strategy("random"), table, budget=30, seed=1).queried == trace.queried


def test_local_search_beats_random_on_the_synthetic_table(table):
    def at(name: str) -> float:
        return float(np.mean([simulate(make_strategy(name, members=("ridge",), refit_fraction=0.2), table,
                                       budget=40, seed=s).at(40) for s in range(3)]))

    assert at("local") > at("random")


def test_cell_domain_mutates_one_edge(table):
    domain, rng = CellDomain(table), random.Random(0)
    x = domain.sample(rng)
    assert (table.ops[domain.mutate(x, rng)] != table.ops[x]).sum() == 1
    assert domain.features([x, x]).shape == (2, 31)


def test_bench_cli_prints_stores_and_plots(data_dir, tmp_path, monkeypatch):
    from archlab.cli.main import app

    monkeypatch.setenv("ARCHLAB_DATA_DIR", str(data_dir))
    monkeypatch.setenv("ARCHLAB_WORKSPACE", str(tmp_path / "ws"))
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(app, ["bench", "nb201", "--budget", "12", "--seeds", "2", "--strategies",
                                      "random,evolution,local", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "12 q" in result.output and "reproduce: archlab bench nb201" in result.output
    data = json.loads(out.read_text())
    assert data["command"].startswith("archlab bench nb201")
    strategies = data["results"][0]["strategies"]
    assert set(strategies) == {"random", "evolution", "local"}
    assert len(strategies["local"]["selected_test"]) == 2 and len(strategies["local"]["selected_test"][0]) == 12
    assert out.with_suffix(".png").stat().st_size > 0


def test_the_llm_planner_is_a_contestant_where_an_endpoint_is_configured(data_dir, table, tmp_path, monkeypatch):
    from llm_server import ScriptedLLM

    from archlab.cli.main import app

    cells = [["nor_conv_3x3"] * 6, ["skip_connect", "nor_conv_3x3", "nor_conv_1x1", "skip_connect", "none",
                                    "avg_pool_3x3"], ["nor_conv_1x1"] * 6, ["avg_pool_3x3"] * 6]
    answers = iter([{"cell": ["conv_5x5"] * 6},  # not an operation: re-asked
                    {"cell": cells[0], "rationale": "convolutions everywhere"},
                    {"cell": cells[1]}, {"cell": cells[0]},  # already evaluated: re-asked
                    {"cell": cells[2]}, {"cell": cells[3]}])
    server = ScriptedLLM().add("CHOOSE the next NAS-Bench-201 cell", lambda _: next(answers))
    monkeypatch.setenv("ARCHLAB_DATA_DIR", str(data_dir))
    monkeypatch.setenv("ARCHLAB_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    out = tmp_path / "bench.json"
    try:
        result = CliRunner().invoke(app, ["bench", "nb201", "--budget", "4", "--seeds", "2", "--strategies", "random",
                                          "--llm-seeds", "1", "--llm-model", "scripted", "--json", str(out)])
    finally:
        server.close()
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    llm = data["results"][0]["strategies"]["llm"]
    assert llm["queried"] == [[cell_index(c) for c in cells]] and llm["seeds"] == [0]
    assert llm["llm"] == {"calls": 4, "fallbacks": 0}
    assert len(data["results"][0]["strategies"]["random"]["seeds"]) == 2
    assert "--llm-seeds 1" in data["command"] and data["llm"]["tokens"] > 0
    asked = [e.text for e in server.log]
    assert len(asked) == 6
    assert "unknown operation(s) 'conv_5x5'" in asked[1] and "already evaluated" in asked[4]
    # Each query shows what the earlier ones found, best first.
    first = f"{', '.join(cells[0])}: {table.val[200][cell_index(cells[0])]:.2f}"
    assert "Nothing has been evaluated yet" in asked[0] and first in asked[2] and first in asked[3]
    assert "llm planner: 4 queries asked, 0 answered by a random cell" in result.output


def test_a_query_the_llm_never_answers_validly_falls_back_to_a_random_cell_and_is_counted(table):
    from llm_server import ScriptedLLM

    from archlab.agents.llm.client import LLMClient
    from archlab.agents.llm.config import LLMConfig
    from archlab.bench.nb201_llm import LLMCellPlanner

    server = ScriptedLLM().add("CHOOSE the next NAS-Bench-201 cell", {"cell": ["none"] * 5})
    client = LLMClient(LLMConfig(base_url=server.url, model="scripted", validation_retries=1), api_key=None)
    try:
        trace = simulate(LLMCellPlanner(client=client, budget=3), table, budget=3, seed=0)
        planner = LLMCellPlanner(client=client, budget=3)
        planner.suggest([], CellDomain(table), random.Random(0))
    finally:
        client.close()
        server.close()
    assert len(trace.queried) == 3 and len(set(trace.queried)) == 3
    assert planner.fallbacks == 1 and planner.calls == 1
    assert len(server.log) == 8 and "a cell has 6 operations, one per edge; got 5" in server.log[1].text
