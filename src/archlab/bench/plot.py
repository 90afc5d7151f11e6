"""Plots of benchmark results: best test accuracy against queries, every strategy on one axis."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_nb201(results: list[dict], path: Path) -> Path:
    """One panel per dataset: mean test accuracy of the selected cell (± standard error) vs queries."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5.5 * len(results), 4.2), squeeze=False)
    for ax, result in zip(axes[0], results, strict=True):
        for name, data in result["strategies"].items():
            curves = np.array(data["selected_test"])
            mean = curves.mean(axis=0)
            se = curves.std(axis=0, ddof=1) / np.sqrt(len(curves)) if len(curves) > 1 else np.zeros_like(mean)
            x = np.arange(1, len(mean) + 1)
            ax.plot(x, mean, label=f"{name} ({len(curves)} seeds)")
            ax.fill_between(x, mean - se, mean + se, alpha=0.2)
        ax.axhline(result["optimum"]["test_of_best_val"], color="grey", linestyle=":", label="best-validation cell")
        ax.set_xscale("log")
        ax.set_xlabel("queries")
        ax.set_ylabel(f"test acc. (%) of the best-val{result['epochs']} cell")
        ax.set_title(f"NAS-Bench-201 {result['dataset']}")
        means = [np.array(d["selected_test"]).mean(axis=0) for d in result["strategies"].values()]
        low = min(m[min(9, len(m) - 1)] for m in means)
        ax.set_ylim(low - 0.3, result["optimum"]["best_test"] + 0.1)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
