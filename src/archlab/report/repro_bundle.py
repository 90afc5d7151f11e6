"""A card's reproduction bundle, written under the report folder as repro/<candidate>/:

    source.py       the candidate, byte for byte
    config.yaml     what decides its results: task, space, the fidelities and seeds it was trained at,
                    the evaluation settings, the sandbox backend and limits, the sandbox image digest
    expected.json   the stored build and train results, to compare with
    reproduce.sh    the command: `archlab reproduce <candidate>` (re-runs, compares, stores nothing)
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import yaml

from archlab.report.run_view import RunView
from archlab.store import Candidate, Evaluation

STAGES = ("build", "train")


def write_bundle(folder: Path, view: RunView, cand: Candidate, *, workspace: Path, shared_store: bool) -> Path:
    rows = [e for e in view.evaluations_of(cand) if e.stage in STAGES]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "source.py").write_text(cand.source)
    (folder / "config.yaml").write_text(yaml.safe_dump(bundle_config(view, cand, rows), sort_keys=False))
    (folder / "expected.json").write_text(json.dumps([expected(e) for e in rows], indent=2) + "\n")
    (folder / "reproduce.sh").write_text(command(cand, workspace, shared_store))
    return folder


def bundle_config(view: RunView, cand: Candidate, rows: list[Evaluation]) -> dict[str, Any]:
    config, train = view.run.config or {}, [e for e in rows if e.stage == "train"]
    sandbox = config.get("sandbox") or {}
    return {"candidate": cand.id, "run": view.run.id, "task": config.get("task", view.run.task),
            "space": config.get("space", view.run.space), "fidelities": sorted({e.fidelity for e in train}),
            "seeds": sorted({e.seed for e in train}),
            "build_seed": next((e.seed for e in rows if e.stage == "build"), None),
            "evaluation": config.get("evaluation"),
            "sandbox": {"backend": sandbox.get("backend"), "limits": sandbox.get("limits"),
                        "images": sorted({e.sandbox_image for e in rows if e.sandbox_image})}}


def expected(ev: Evaluation) -> dict[str, Any]:
    metrics = {k: v for k, v in ev.metrics.items() if k != "curve"}  # the loss curve is long and not compared
    return {"stage": ev.stage, "fidelity": ev.fidelity, "seed": ev.seed, "status": ev.status, "metrics": metrics,
            "sandbox_image": ev.sandbox_image, "wall_s": ev.wall_s}


def command(cand: Candidate, workspace: Path, shared_store: bool) -> str:
    store = ("# The run's store is a database server: export ARCHLAB_DATABASE_URL as for the run.\n"
             if shared_store else "")
    return ("#!/bin/sh\n"
            f"# Re-runs {_comment(cand.id)}'s build and train stages in the sandbox at the fidelities and seeds in\n"
            "# config.yaml and compares the results with expected.json; nothing is written to the store.\n"
            f"{store}ARCHLAB_WORKSPACE={shlex.quote(str(workspace))} exec archlab reproduce \"$@\" -- "
            f"{shlex.quote(cand.id)}\n")


def _comment(text: str) -> str:
    return " ".join(text.split())
