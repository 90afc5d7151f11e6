"""Figures for the LLM roles on the scripted server (tests/llm_server.py): a coder that proposes the same
network again and again. Prints the share of duplicate proposals rejected before any training (and
before any sandbox job), the tokens per evaluated candidate, and whether a queued idea reached the planner.

    python benchmarks/llm_duplicate_stream.py [--attempts 6]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from llm_server import ScriptedLLM  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

SOURCE = '''from torch import nn


def build_model(task):
    hidden = 32
    return nn.Sequential(nn.Flatten(), nn.Linear(task.input_shape[0] * task.input_shape[-1], hidden), nn.ReLU(),
                         nn.Linear(hidden, task.num_outputs))
'''


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--attempts", type=int, default=6, help="rejections in a row before the run gives up")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update({"ARCHLAB_WORKSPACE": str(Path(tmp) / "ws"), "ARCHLAB_EMBEDDER": "hashing"})
        from archlab.report.llm import usage_figures
        from archlab.run import lifecycle
        from archlab.run.settings import load_config
        from archlab.run.workspace import Workspace
        from archlab.store import Candidate, Evaluation, agent_log

        server = ScriptedLLM()
        server.add("archlab PLANNER", {"move": "explore", "hypothesis": "one more small MLP is worth a try"})
        server.add("archlab CODER", {"kind": "source", "rationale": "same again", "summary": "MLP-32",
                                     "source": SOURCE})
        server.add("archlab CRITIC", {"decision": "accept", "reason": "fine"})
        server.add("archlab ANALYST", {"insights": []})
        ws = Workspace.from_env()
        cfg = load_config(None, {"budget": 600, "max_evals": 50, "seed": 1, "evaluation": {"steps": 30},
                                 "search": {"max_attempts": args.attempts},
                                 "llm": {"base_url": server.url, "model": "scripted"}})
        run_id = lifecycle.start_run(ws, cfg)
        with Session(ws.engine) as s:
            agent_log.queue_idea(session=s, run_id=run_id, text="try a wider first layer")
        run = lifecycle.execute(ws, run_id, cfg)
        server.close()
        with Session(ws.engine) as s:
            cands = s.exec(select(Candidate).where(Candidate.run_id == run_id)).all()
            evals = s.exec(select(Evaluation).where(Evaluation.run_id == run_id)).all()
            calls = agent_log.run_calls(session=s, run_id=run_id)
        dups = [c for c in cands if (c.reason or "").startswith("duplicate of")]
        trained = {e.candidate_id for e in evals if e.stage == "train"}
        jobs = {e.candidate_id for e in evals}
        figures = usage_figures(calls, len(trained))
        print(f"run {run.id}: {run.status} ({run.stop_reason})")
        print(f"proposals {len(cands)}, duplicates {len(dups)}; rejected before training "
              f"{sum(c.id not in trained for c in dups)}/{len(dups)}; before any sandbox job "
              f"{sum(c.id not in jobs for c in dups)}/{len(dups)}")
        print(f"train evaluations {len(trained)}; LLM calls {figures['calls']}, tokens {figures['tokens']}, "
              f"tokens per evaluated candidate {figures['tokens_per_evaluated']:.0f}")
        print(f"idea seen by the planner: {any('try a wider first layer' in e.text for e in server.log)}")


if __name__ == "__main__":
    main()
