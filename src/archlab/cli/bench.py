"""`archlab bench`: the search benchmarks. Each prints its table, stores its raw results as JSON (with the
command that reproduces them) and, for NAS-Bench-201, a plot of all strategies side by side."""

from __future__ import annotations

import json
import shlex
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from archlab.errors import ArchlabError
from archlab.run.settings import Environment, load_config, parse_duration

bench_app = typer.Typer(help="Benchmarks of the search strategies.", no_args_is_help=True)
console = Console(stderr=True)
out = Console()

ALL_STRATEGIES = "random,evolution,local,bananas,pareto"
JsonOpt = Annotated[Path | None, typer.Option("--json", help="Where to write the raw results "
                                                             "(default: <workspace>/bench/<name>-<time>.json).")]


def _command(*words: object) -> str:
    """The command line that reproduces a bench run, every setting spelled out."""
    return shlex.join(["archlab", "bench", *map(str, words)])


def _default_path(name: str) -> Path:
    return Environment().workspace / "bench" / f"{name}-{datetime.now():%Y%m%d-%H%M%S}.json"


def _write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))


@bench_app.command("nb201")
def nb201(
    dataset: Annotated[str, typer.Option(help="cifar10, cifar100, imagenet16, or all.")] = "cifar10",
    budget: Annotated[int, typer.Option(help="Queries per search (table lookups).")] = 100,
    seeds: Annotated[int, typer.Option(help="Searches per strategy (seeds 0..N-1).")] = 20,
    strategies: Annotated[str, typer.Option(help="Comma-separated strategies.")] = ALL_STRATEGIES,
    epochs: Annotated[int, typer.Option(help="Validation accuracy to select on: 200 or 12 (low fidelity).")] = 200,
    members: Annotated[str, typer.Option(help="Predictor ensemble members: gp, gbt, ridge.")] = "ridge",
    acquisition: Annotated[str, typer.Option(help="ucb, ei or mean.")] = "ucb",
    llm: Annotated[bool, typer.Option(help="Also run the LLM planner, where an endpoint is configured.")] = True,
    llm_seeds: Annotated[int, typer.Option(help="Searches of the LLM planner (one LLM call per query).")] = 3,
    llm_base_url: Annotated[str | None, typer.Option(help="The LLM endpoint (default: OPENAI_BASE_URL).")] = None,
    llm_model: Annotated[str | None, typer.Option(help="The planner's model (default: ARCHLAB_LLM__MODEL).")] = None,
    json_path: JsonOpt = None,
    plot: Annotated[Path | None, typer.Option(help="Plot file (default: beside the JSON, .png).")] = None,
) -> None:
    """Strategies on the NAS-Bench-201 table: select on validation, report the selected cell's test accuracy.
    With an LLM endpoint configured, the LLM planner is a contestant too (on --llm-seeds searches)."""
    from archlab.bench.nb201 import DATASETS, BenchSettings, Nb201Table, bench_dataset
    from archlab.bench.plot import plot_nb201
    from archlab.evaluator.tasks import get_task

    names = list(DATASETS) if dataset == "all" else [dataset]
    cfg = BenchSettings(budget=budget, seeds=seeds, epochs=epochs, strategies=tuple(strategies.split(",")),
                        members=tuple(members.split(",")), acquisition=acquisition, llm_seeds=llm_seeds)
    json_path = json_path or _default_path(f"nb201-{dataset}")
    results = []
    started = time.monotonic()
    client = None
    try:
        client = _llm_client(llm_base_url, llm_model) if llm else None
        for name in names:
            if name not in DATASETS or epochs not in (12, 200):
                raise typer.BadParameter(f"dataset {name!r} / epochs {epochs}: datasets are {', '.join(DATASETS)} "
                                         "(or all), epochs 200 or 12")
            table = Nb201Table.load(get_task(f"nb201-{name}", Environment().data_dir).table_path, name)
            result = bench_dataset(table, cfg, llm=_llm_contestant(client, cfg) if client else None)
            results.append(result)
            _print_nb201(result)
    except (ArchlabError, ValueError) as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        if client is not None:
            client.close()
    command = _command("nb201", "--dataset", dataset, "--budget", budget, "--seeds", seeds, "--strategies", strategies,
                       "--epochs", epochs, "--members", members, "--acquisition", acquisition,
                       *(["--llm-seeds", llm_seeds, *(["--llm-model", client.cfg.model] if client.cfg.model else [])]
                         if client else ["--no-llm"]))
    data = {"command": command, "settings": cfg.__dict__, "seconds": time.monotonic() - started,
            "llm": {"endpoint": client.cfg.base_url, "model": client.cfg.model, "tokens": client.used[0],
                    "usd": client.used[1]} if client else None,
            "results": results}
    _write(json_path, data)
    plot_path = plot_nb201(results, plot or json_path.with_suffix(".png"))
    out.print(f"raw results: {json_path}\nplot: {plot_path}\nreproduce: {data['command']}", highlight=False)


def _llm_client(base_url: str | None, model: str | None):
    """The LLM planner's client where an endpoint is configured (option or OPENAI_BASE_URL), else None. The
    `llm:` settings resolve as a run's do (its checks included: an endpoint without a model is refused)."""
    llm = {k: v for k, v in {"base_url": base_url, "model": model}.items() if v}
    cfg = load_config(None, {"llm": llm or None}).llm
    if not cfg.active:
        return None
    from archlab.agents.llm.client import LLMClient  # imports openai: only a bench with an endpoint pays for it

    key = Environment().openai_api_key
    return LLMClient(cfg, api_key=key.get_secret_value() if key else None)


def _llm_contestant(client, cfg):
    from archlab.bench.nb201_llm import LLMCellPlanner

    return lambda seed: LLMCellPlanner(client=client, budget=cfg.budget, epochs=cfg.epochs)


def _print_nb201(result: dict) -> None:
    budgets = result["budgets"]
    table = Table("strategy", "seeds", *[f"{b} q" for b in budgets], f"HV@{budgets[-1]}",
                  title=f"NAS-Bench-201 {result['dataset']}: test acc. (%) of the best-val{result['epochs']} cell, "
                        f"mean±s.e. (best-val cell {result['optimum']['test_of_best_val']:.2f})")
    for name, data in result["strategies"].items():
        cells = [f"{data['summary'][str(b)]['mean']:.2f}±{data['summary'][str(b)]['se']:.2f}" for b in budgets]
        table.add_row(name, str(len(data["seeds"])), *cells, f"{data['hypervolume'][str(budgets[-1])]:.4f}")
    out.print(table)
    if "llm" in result["strategies"]:
        calls = result["strategies"]["llm"]["llm"]
        out.print(f"llm planner: {calls['calls']} queries asked, {calls['fallbacks']} answered by a random cell "
                  "after invalid answers", highlight=False)
    for name, error in result.get("failed", {}).items():
        out.print(f"[bold red]{name} failed:[/] {error}", highlight=False)


@bench_app.command("mnist1d")
def mnist1d(
    budget: Annotated[str, typer.Option(help="Wall-clock search budget per strategy run: 30m, 5m.")] = "30m",
    seeds: Annotated[int, typer.Option(help="Training seeds for the final comparison.")] = 3,
    strategy: Annotated[str, typer.Option(help="The search strategy of the offline run.")] = "local",
    random_samples: Annotated[int, typer.Option(help="Random architectures of the space to average.")] = 8,
    steps: Annotated[int | None, typer.Option(help="Training steps of every model (default: the task's).")] = None,
    max_params: Annotated[str, typer.Option(help="The search's parameter cap: cnn (fewer than the hand-designed "
                                                 "CNN's), a number, or none.")] = "cnn",
    json_path: JsonOpt = None,
) -> None:
    """A real offline run on MNIST-1D, its best architecture against hand-designed baselines and random ones."""
    from archlab.bench.mnist1d import MnistBenchSettings, run_mnist1d_bench

    try:
        seconds = parse_duration(budget)
        cap = None if max_params == "none" else max_params if max_params == "cnn" else int(max_params)
    except ValueError as exc:
        raise typer.BadParameter(f"{exc} (--max-params: cnn, none or a number)") from None
    cfg = MnistBenchSettings(budget_s=seconds, seeds=seeds, strategy=strategy, random_samples=random_samples,
                             steps=steps, max_params=cap)
    json_path = json_path or _default_path("mnist1d")
    try:
        data = run_mnist1d_bench(cfg, say=lambda line: console.print(line, highlight=False))
    except ArchlabError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    data["command"] = _command("mnist1d", "--budget", budget, "--seeds", seeds, "--strategy", strategy,
                               "--random-samples", random_samples, "--max-params", max_params,
                               *(["--steps", steps] if steps else []))
    _write(json_path, data)
    _print_mnist1d(data)
    out.print(f"raw results: {json_path}\nreproduce: {data['command']}", highlight=False)


def _print_mnist1d(data: dict) -> None:
    table = Table("model", "params", "test acc (mean ± sd)", "per seed", "vs CNN", "architecture",
                  title=f"MNIST-1D: {data['seeds']} training seeds each, the same harness "
                        f"({data['steps']} steps); search: {data['strategy']}, {data['budget_s']:.0f}s"
                        + (f", at most {data['max_params']:,} params" if data.get("max_params") else ""))
    cnn = data["models"]["cnn"]["mean"]
    for name, m in data["models"].items():
        if "mean" not in m:
            table.add_row(name, f"{m['params']:,}", "failed", m["error"][:40], "", m.get("summary", ""))
            continue
        table.add_row(name, f"{m['params']:,}", f"{m['mean']:.4f} ± {m['sd']:.4f}",
                      " ".join(f"{a:.3f}" for a in m["test_acc"]), f"{(m['mean'] - cnn) / cnn * 100:+.1f}%",
                      m.get("summary", ""))
    out.print(table)
