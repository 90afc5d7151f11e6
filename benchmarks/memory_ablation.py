"""Memory's effect on search: offline discovery runs on NAS-Bench-201 with the concept memory steering the
coder's mutations (search.memory_guided) against the same runs without it, at equal budget.

    python benchmarks/memory_ablation.py [--task nb201-cifar10] [--evals 30] [--seeds 3] [--json FILE]
    python benchmarks/memory_ablation.py --task mnist1d --space seq1d --steps 300 --evals 20 --seeds 2

With memory, the seeds run one after another in one workspace, so each run also reads what the runs
before it learned (how memory carries from run to run); without it, each seed is a fresh workspace and
the coder draws its mutations as usual. Both sides start from the same seeds, so the fresh samples of
each pair are the same. Reported: mean (and standard error) over seeds of the test accuracy of the
candidate with the best validation accuracy after 10, 20, ... trained candidates (selection on
validation, test for reporting only, as the bench harness does), and the share of mutations memory
steered.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from sqlmodel import Session, col, select

from archlab.store import Candidate, Run, open_store, sqlite_url
from archlab.store import records as store


def run(ws: Path, task: str, space: str, steps: int | None, evals: int, seed: int, guided: bool) -> None:
    config = ws.parent / f"run-{seed}-{guided}.yaml"
    config.write_text(f"search: {{memory_guided: {str(guided).lower()}}}\n")
    env = {**os.environ, "ARCHLAB_WORKSPACE": str(ws), "ARCHLAB_EMBEDDER": "hashing"}
    argv = [sys.executable, "-m", "archlab", "run", "-c", str(config), "--task", task, "--space", space,
            "--max-evals", str(evals), "--seed", str(seed), "--budget", "60m"]
    argv += ["--steps", str(steps)] if steps else []
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"seed {seed}: the run failed:\n{done.stderr[-2000:]}")


def curve(ws: Path, marks: list[int]) -> tuple[list[float], float]:
    """Test accuracy of the best-by-validation candidate at each mark; share of mutations memory steered."""
    with Session(open_store(sqlite_url(ws / "archlab.db"))) as s:
        run_id = s.exec(select(Run.id).order_by(col(Run.created_at).desc())).first()  # the one just run
        # The run's trained candidates in the order they were proposed; an evaluation reused from an
        # earlier run of the workspace counts for this one (the leaderboard joins on the fingerprint).
        board = sorted(store.leaderboard(session=s, run_id=run_id), key=lambda ce: ce[0].created_at)
        mutated = s.exec(select(Candidate).where(Candidate.run_id == run_id, Candidate.origin == "mutate")).all()
    best, out = None, []
    for n, (_, evaluation) in enumerate(board, start=1):
        if best is None or evaluation.metrics["val_acc"] > best.metrics["val_acc"]:
            best = evaluation
        if n in marks:
            out.append(best.metrics["test_acc"])
    steered = sum("memory rates" in c.rationale for c in mutated) / max(len(mutated), 1)
    return out, steered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="nb201-cifar10")
    parser.add_argument("--space", default="nb201")
    parser.add_argument("--steps", type=int, help="training steps per candidate (real training tasks)")
    parser.add_argument("--evals", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    marks = list(range(10, args.evals + 1, 10)) or [args.evals]
    results: dict[str, list] = {"with memory": [], "without": []}
    steered: list[float] = []
    with tempfile.TemporaryDirectory(prefix="archlab-ablation-") as tmp:
        shared = Path(tmp) / "shared" / "ws"
        shared.parent.mkdir()
        for seed in range(args.seeds):
            run(shared, args.task, args.space, args.steps, args.evals, seed, guided=True)
            accs, share = curve(shared, marks)
            results["with memory"].append(accs)
            steered.append(share)
            alone = Path(tmp) / f"alone-{seed}" / "ws"
            alone.parent.mkdir()
            run(alone, args.task, args.space, args.steps, args.evals, seed, guided=False)
            results["without"].append(curve(alone, marks)[0])
            print(f"seed {seed}: with memory {accs}, without {results['without'][-1]}, steered {share:.0%}",
                  flush=True)
    print(f"\n{args.task}, {args.evals} trained candidates per run, {args.seeds} seeds "
          f"(offline tournament planner, space {args.space}); "
          "test accuracy (%) of the best-by-validation candidate after N, mean ±standard error")
    print(f"{'':>12}" + "".join(f"{m:>16}" for m in marks))
    table = {}
    for name, rows in results.items():
        cells = []
        for i in range(len(marks)):
            values = [r[i] for r in rows if len(r) > i]
            mean = statistics.mean(values)
            se = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else 0.0
            cells.append({"mean": round(mean, 5), "se": round(se, 5)})
        table[name] = cells
        print(f"{name:>12}" + "".join(f"{100 * c['mean']:>10.2f} ±{100 * c['se']:<4.2f}" for c in cells))
    print(f"mutations steered by memory: {statistics.mean(steered):.0%} (per seed: "
          + ", ".join(f"{s:.0%}" for s in steered) + ")")
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "marks": marks,
                                         "table": table, "raw": results, "steered": steered}, indent=2))
    print("reproduce: python benchmarks/memory_ablation.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
