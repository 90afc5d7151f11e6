"""Search strategies on NAS-Bench-201, simulated on the table (what `archlab bench nb201` runs).

    python benchmarks/strategies_nb201.py [--dataset cifar10|cifar100|imagenet16|all] [--budget 300]
        [--seeds 20] [--epochs 200] [--members ridge] [--json FILE]

Protocol: each strategy sees only `<dataset>_val<epochs>`; after k queries the cell with the best
validation accuracy so far is selected and its `<dataset>_test200` reported (mean ± standard error over
seeds 0..N-1). A query of a cell isomorphic to one already queried is refused without counting (the
critic's duplicate check), for every strategy alike. Also printed: the issue's targets for CIFAR-10 and
whether the best offline strategy meets them and beats regularized evolution from 25 queries on.
The table is found under ARCHLAB_DATA_DIR (default ../shared/data beside the repository).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from archlab.bench.nb201 import DATASETS, BenchSettings, Nb201Table, bench_dataset
from archlab.evaluator.tasks import get_task
from archlab.run.settings import Environment

TARGETS = {"25": 93.9, "50": 94.15, "100": 94.25, "300": 94.33}  # CIFAR-10, validation selection


def print_result(result: dict) -> None:
    budgets = [str(b) for b in result["budgets"]]
    print(f"\nNAS-Bench-201 {result['dataset']} ({result['epochs']}-epoch validation selection); "
          f"best-validation cell: {result['optimum']['test_of_best_val']:.2f}")
    print(f"{'strategy':<11}" + "".join(f"{b + ' queries':>17}" for b in budgets) + f"{'HV@' + budgets[-1]:>10}")
    for name, data in result["strategies"].items():
        cells = "".join(f"{data['summary'][b]['mean']:>10.2f} ± {data['summary'][b]['se']:.2f}" for b in budgets)
        print(f"{name:<11}{cells}{data['hypervolume'][budgets[-1]]:>10.4f}")


def check_targets(result: dict) -> None:
    strategies = result["strategies"]
    rea = strategies.get("evolution")
    for name, data in strategies.items():
        met = [f"{b}: {data['summary'][b]['mean']:.2f} {'>=' if data['summary'][b]['mean'] >= t else '<'} {t}"
               for b, t in TARGETS.items() if b in data["summary"]]
        beats = rea is not None and all(data["summary"][b]["mean"] > rea["summary"][b]["mean"]
                                        for b in data["summary"] if int(b) >= 25)
        print(f"targets, {name}: {'; '.join(met)}; beats evolution from 25 on: {beats}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cifar10", choices=[*DATASETS, "all"])
    parser.add_argument("--budget", type=int, default=300)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=200, choices=[12, 200])
    parser.add_argument("--strategies", default="random,evolution,local,bananas,pareto")
    parser.add_argument("--members", default="ridge")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    cfg = BenchSettings(budget=args.budget, seeds=args.seeds, epochs=args.epochs,
                        strategies=tuple(args.strategies.split(",")), members=tuple(args.members.split(",")))
    results = []
    for name in DATASETS if args.dataset == "all" else [args.dataset]:
        table = Nb201Table.load(get_task(f"nb201-{name}", Environment().data_dir).table_path, name)
        results.append(bench_dataset(table, cfg))
        print_result(results[-1])
        if name == "cifar10" and args.epochs == 200:
            check_targets(results[-1])
    if args.json:
        args.json.write_text(json.dumps({"settings": cfg.__dict__, "results": results}, indent=1))


if __name__ == "__main__":
    main()
