"""Predictors, acquisition, promotion rules, the cascade's decisions and rank fidelity."""

import math
from dataclasses import dataclass, field

import numpy as np
import pytest
from scipy.stats import kendalltau

from archlab.evaluator.cascade import Cascade, HistoryEntry, StageResult, default_rungs
from archlab.evaluator.cascade.acquisition import acquire, expected_improvement, ucb
from archlab.evaluator.cascade.rules import promote_on_arrival, successive_halving
from archlab.evaluator.config import CascadeConfig, RungConfig
from archlab.evaluator.predictors import Ensemble, FeatureRecord, FeatureTable, OnlinePredictor, signed_log
from archlab.evaluator.rank import rank_fidelity, stage_pairs, stage_scores

# -- predictors ---------------------------------------------------------------------------------------


def synthetic(n: int, seed: int) -> tuple[list[FeatureRecord], np.ndarray]:
    rng = np.random.default_rng(seed)
    enc = rng.integers(0, 3, (n, 6)).astype(float)
    proxy = rng.normal(size=n)
    y = enc @ np.array([1.0, -0.5, 0.3, 0, 0, 0.2]) + 0.8 * proxy + 0.05 * rng.normal(size=n)
    records = [FeatureRecord(encoding=list(e), cost={"params": 1000 * (1 + e.sum())}, proxies={"p": float(p)})
               for e, p in zip(enc, proxy, strict=True)]
    return records, y


def test_features_have_stable_columns_and_missing_values():
    a = FeatureRecord(encoding=[1, 2], cost={"params": 99.0}, proxies={"synflow": 1e30, "nwot": None})
    b = FeatureRecord(encoding=[0, 1], proxies={"zen": -3.0}, curve={"loss@10": 1.5})
    table = FeatureTable.fit([a, b])
    assert table.names == ["enc0", "enc1", "cost:params", "curve:loss@10", "proxy:nwot", "proxy:synflow", "proxy:zen"]
    m = table.matrix([a, b])
    assert m[0, 5] == pytest.approx(math.log1p(1e30)) and math.isnan(m[0, 4]) and math.isnan(m[1, 2])
    assert signed_log(-math.e + 1) == pytest.approx(-1.0) and math.isnan(signed_log(math.inf))


@pytest.mark.parametrize("members", [["gp"], ["gbt"], ["ridge"], ["gp", "gbt", "ridge"]])
def test_each_predictor_ranks_held_out_points(members):
    train, y = synthetic(80, 0)
    test, y_test = synthetic(40, 1)
    table = FeatureTable.fit(train)
    model = Ensemble(members).fit(table.matrix(train), y)
    mean, std = model.predict(table.matrix(test))
    assert kendalltau(mean, y_test).statistic > 0.6
    assert np.all(std >= 0) and (members == ["gbt"] or np.all(std > 0))


def test_online_predictor_starts_from_the_proxy_prior():
    records, y = synthetic(12, 2)
    predictor = OnlinePredictor(min_points=8, prior_proxies=["p"])
    cold = predictor.predict(records[:3], y[:3], records[3:6])
    assert cold.source == "prior" and cold.n_train == 3 and np.all(cold.std == 1)
    # The prior is the proxy's z-score: it ranks the queries as the proxy does.
    proxies = [r.proxies["p"] for r in records[3:6]]
    assert list(np.argsort(cold.mean)) == list(np.argsort(proxies))
    warm = predictor.predict(records[:10], y[:10], records[10:])
    assert warm.source == "model" and warm.n_train == 10 and warm.mean.shape == (2,)


# -- acquisition and promotion -----------------------------------------------------------------------


def test_acquisition_rules():
    mean, std = np.array([0.5, 0.5, 0.6]), np.array([0.1, 0.3, 0.0])
    assert list(ucb(mean, std, 2.0)) == pytest.approx([0.7, 1.1, 0.6])
    ei = expected_improvement(mean, std, best=0.55)
    assert ei[1] > ei[0] > 0 and ei[2] == pytest.approx(0.05)  # no uncertainty: the plain gain
    assert list(acquire("ei", mean, std, best=None)) == list(mean)
    with pytest.raises(ValueError, match="unknown acquisition"):
        acquire("pi", mean, std, best=0.5)


def test_promotion_rules():
    assert successive_halving([0.1, 0.9, 0.5, 0.7], keep=0.5) == [1, 3]
    assert promote_on_arrival(0.1, [0.5], keep=0.3, min_history=3).promote  # warm-up
    d = promote_on_arrival(0.6, [0.9, 0.5, 0.4, 0.3, 0.2], keep=1 / 3)
    assert (d.promote, d.rank, d.of) == (True, 2, 6)
    d = promote_on_arrival(0.45, [0.9, 0.5, 0.4, 0.3, 0.2], keep=1 / 3)
    assert (d.promote, d.rank) == (False, 3) and "outside the best 2" in d.reason


# -- the cascade with a scripted runner ---------------------------------------------------------------


@dataclass
class ScriptedRunner:
    """Runs nothing: each train call returns the scripted score for (steps, seed)."""

    scores: dict[tuple[int, int], float]
    screen_ok: bool = True
    proxies: dict = field(default_factory=lambda: {"synflow": 1.0})
    calls: list[str] = field(default_factory=list)
    predictions: list[dict] = field(default_factory=list)

    def screen(self) -> StageResult:
        self.calls.append("screen")
        return StageResult(ok=self.screen_ok, metrics={"params": 10, "flops": 20, "proxies": self.proxies},
                           error=None if self.screen_ok else "boom")

    def train(self, steps: int, seed: int) -> StageResult:
        self.calls.append(f"train@{steps}/{seed}")
        return StageResult(ok=True, metrics={}, score=self.scores[(steps, seed)])

    def record_prediction(self, metrics: dict) -> None:
        self.predictions.append(metrics)


RUNGS = [RungConfig(steps=10, keep=0.5), RungConfig(steps=50)]
CFG = CascadeConfig(enabled=True, min_history=2, confirm={"top": 1, "seeds": 2},
                    predictor={"min_points": 3, "prior_proxies": ["synflow"], "keep": 1.0})


def history(*scores: tuple[float, float | None]) -> list[HistoryEntry]:
    out = []
    for i, (low, high) in enumerate(scores):
        rungs = {10: low} if high is None else {10: low, 50: high}
        out.append(HistoryEntry(features=FeatureRecord(encoding=[i, 1], proxies={"synflow": float(i)}),
                                rung_scores=rungs))
    return out


def test_the_best_candidate_climbs_every_rung_and_is_confirmed():
    runner = ScriptedRunner({(10, 0): 0.8, (50, 0): 0.9, (50, 1): 0.88, (50, 2): 0.86})
    out = Cascade(CFG, RUNGS, chance=0.1).run(runner, FeatureRecord(encoding=[5, 1]),
                                              history((0.5, 0.6), (0.7, 0.75), (0.3, None)))
    assert runner.calls == ["screen", "train@10/0", "train@50/0", "train@50/1", "train@50/2"]
    assert out.scores == {10: 0.8, 50: 0.9} and out.confirmed == [0.9, 0.88, 0.86]
    assert runner.predictions[0]["source"] == "model" and runner.predictions[0]["promoted"]


def test_a_weak_result_stops_at_the_low_fidelity():
    runner = ScriptedRunner({(10, 0): 0.4})
    out = Cascade(CFG, RUNGS, chance=0.1).run(runner, FeatureRecord(), history((0.5, 0.6), (0.7, 0.75), (0.6, None)))
    assert runner.calls == ["screen", "train@10/0"] and out.trained
    assert out.stopped.startswith("stopped after 10 steps: rank 4 of 4")


def test_a_hopeless_result_stops_whatever_its_rank():
    runner = ScriptedRunner({(10, 0): 0.11})
    out = Cascade(CFG, RUNGS, chance=0.1).run(runner, FeatureRecord(), [])
    assert runner.calls == ["screen", "train@10/0"] and out.stopped.startswith("hopeless at 10 steps")


def test_the_predictor_gate_spends_no_training_on_a_poor_prediction():
    cfg = CFG.model_copy(update={"predictor": CFG.predictor.model_copy(update={"keep": 0.25})})
    past = history((0.5, 0.6), (0.7, 0.75), (0.9, 0.95), (0.6, None))  # synflow 0, 1, 2, 3
    runner = ScriptedRunner({}, proxies={"synflow": -1.0})
    # Cold start (min_points 5 > 4 results): the prior ranks by synflow, and -1 is the lowest of all five.
    cold = cfg.model_copy(update={"predictor": cfg.predictor.model_copy(update={"min_points": 5})})
    out = Cascade(cold, RUNGS, chance=0.1).run(runner, FeatureRecord(encoding=[0, 1]), past)
    assert runner.calls == ["screen"] and not out.trained and "rank 5 of 5, outside the best 2" in out.stopped
    assert runner.predictions[0]["promoted"] is False and runner.predictions[0]["source"] == "prior"


def test_a_failed_screen_is_a_failure():
    out = Cascade(CFG, RUNGS, chance=0.1).run(ScriptedRunner({}, screen_ok=False), FeatureRecord(), [])
    assert out.failed == "screen: boom" and not out.trained


def test_default_rungs():
    assert [r.steps for r in default_rungs(1000)] == [200, 1000]
    assert [r.steps for r in default_rungs(200, (12, 200))] == [12, 200]
    with pytest.raises(ValueError, match="must rise strictly"):
        CascadeConfig(rungs=[{"steps": 50}, {"steps": 10}])


# -- rank fidelity ----------------------------------------------------------------------------------


@dataclass
class Ev:
    candidate_id: str
    stage: str
    fidelity: int
    seed: int
    metrics: dict
    status: str = "ok"


def test_rank_fidelity_between_consecutive_stages():
    evs = []
    for i, (proxy, low, high) in enumerate([(1, 0.5, 0.6), (2, 0.6, 0.7), (3, 0.7, 0.65), (4, 0.8, 0.9)]):
        cid = f"c{i}"
        evs += [Ev(cid, "screen", 0, 0, {"proxies": {"synflow": proxy, "nwot": None}}),
                Ev(cid, "predict", 0, 0, {"score": -proxy}),
                Ev(cid, "train", 10, 0, {"val_acc": low}), Ev(cid, "train", 50, 0, {"val_acc": high})]
    evs += [Ev("c3", "train", 50, 1, {"val_acc": 0.8}), Ev("c1", "train", 50, 1, {"val_acc": 0.6}),
            Ev("c0", "train", 50, 1, {"val_acc": 0.7}), Ev("c2", "train", 10, 0, {}, status="timeout")]
    stages = stage_scores(evs, lambda m: m["val_acc"])
    assert stages["confirmed"] == {"c3": pytest.approx(0.85), "c1": pytest.approx(0.65), "c0": pytest.approx(0.65)}
    assert stage_pairs(stages) == [("proxy:synflow", "train@10"), ("predicted", "train@10"),
                                   ("train@10", "train@50"), ("train@50", "confirmed")]
    rows = {(r["from"], r["to"]): r for r in rank_fidelity(stages)}
    assert rows[("proxy:synflow", "train@10")]["kendall"] == pytest.approx(1.0)
    assert rows[("predicted", "train@10")]["spearman"] == pytest.approx(-1.0)
    assert rows[("train@10", "train@50")]["kendall"] == pytest.approx(2 / 3)
    assert rows[("train@50", "confirmed")]["candidates"] == 3


def test_cascade_settings_name_what_is_wrong():
    with pytest.raises(ValueError, match="proxies: unknown foo"):
        CascadeConfig(proxies=["synflow", "foo"])
    with pytest.raises(ValueError, match="prior_proxies: unknown bar"):
        CascadeConfig(predictor={"prior_proxies": ["bar"]})
    assert CascadeConfig().enabled is False  # a run trains every accepted candidate unless the config says so
