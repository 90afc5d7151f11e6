"""How much the coder's parameter estimate saves under a cap (agents/param_cap.py), on seq1d.

    python benchmarks/param_cap_seq1d.py [--cap 5209] [--built 20 40 80 160] [--draws 300] [--json FILE]

For each history size n: n fresh seq1d samples are "built" (their parameters counted by building the
compiled source here, as the critic's build job does), the estimate is fitted on them as in a run, and
--draws other fresh samples are judged. Figures: the share of plain draws under the cap; the share of
the draws the coder keeps (estimated chance of fitting >= LIKELY) that are under it; the share of the
under-cap draws it would skip; builds per accepted proposal with and without it (1 / share under).
"""

from __future__ import annotations

import argparse
import json
import math
import random
from pathlib import Path

import numpy as np
from scipy.stats import norm

from archlab.agents.param_cap import LIKELY
from archlab.evaluator.predictors import Ensemble
from archlab.evaluator.tasks import get_task
from archlab.spaces import load_space

SPACE = load_space("seq1d")
SPEC = get_task("mnist1d").spec


def params_of(tree) -> int:
    namespace: dict = {}
    exec(compile(SPACE.compile(tree), "candidate.py", "exec"), namespace)
    return sum(p.numel() for p in namespace["build_model"](SPEC).parameters())


def sample(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = random.Random(seed)
    trees = [SPACE.sample(rng) for _ in range(count)]
    return (np.array([SPACE.encode(t) for t in trees], dtype=np.float64),
            np.array([params_of(t) for t in trees], dtype=np.float64))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cap", type=int, default=5209, help="bench mnist1d's CNN has 5,210 parameters")
    parser.add_argument("--built", type=int, nargs="*", default=[20, 40, 80, 160])
    parser.add_argument("--draws", type=int, default=300)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    x_test, p_test = sample(args.draws, seed=1)
    under = p_test <= args.cap
    print(f"seq1d, cap {args.cap:,} parameters, {args.draws} fresh draws judged; LIKELY = {LIKELY}")
    print(f"plain draws under the cap: {under.mean():.3f} ({1 / max(under.mean(), 1e-9):.1f} builds per accepted)")
    rows = []
    x_all, p_all = sample(max(args.built), seed=0)
    for n in args.built:
        model = Ensemble(seed=0).fit(x_all[:n], np.log(p_all[:n]))
        mean, std = model.predict(x_test)
        kept = norm.cdf((math.log(args.cap) - mean) / np.maximum(std, 1e-6)) >= LIKELY
        fit = float(under[kept].mean()) if kept.any() else 0.0
        row = {"built": n, "kept": float(kept.mean()), "under_among_kept": fit,
               "under_cap_skipped": float((~kept[under]).mean()) if under.any() else 0.0,
               "builds_per_accepted": 1 / fit if fit else math.inf,
               "log_params_residual": float(np.std(np.log(p_test) - mean))}
        rows.append(row)
        print(f"fitted on {n:4d} builds: keeps {row['kept']:.3f} of draws, {fit:.3f} of those under the cap "
              f"({row['builds_per_accepted']:.1f} builds per accepted), skips {row['under_cap_skipped']:.3f} of "
              f"the under-cap draws; log-params residual {row['log_params_residual']:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"cap": args.cap, "draws": args.draws, "likely": LIKELY,
                                         "plain_under": float(under.mean()), "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
