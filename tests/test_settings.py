from pathlib import Path

import pytest
import yaml

from archlab.errors import ConfigError
from archlab.run.settings import load_config, parse_duration


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("text,seconds", [("5m", 300), ("90s", 90), ("1h30m", 5400), ("300", 300),
                                          (45, 45), ("2.5m", 150)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["-5m", "five minutes", "5x", ""])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_precedence_cli_over_yaml_over_env_over_default(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHLAB_BUDGET", "7m")
    monkeypatch.setenv("ARCHLAB_SEARCH__TOURNAMENT_SIZE", "5")
    monkeypatch.setenv("ARCHLAB_EVALUATION__LR", "0.5")
    path = write(tmp_path, "budget: 2m\nevaluation:\n  lr: 0.02\n")
    assert load_config().budget == 420  # env over default
    assert load_config().search.tournament_size == 5
    cfg = load_config(path)
    assert cfg.budget == 120  # YAML over env
    assert cfg.evaluation.lr == 0.02
    assert cfg.search.tournament_size == 5  # env still fills what YAML leaves out
    assert load_config(path, {"budget": "30s"}).budget == 30  # CLI over YAML
    assert load_config(path, {"evaluation": {"steps": 10}}).evaluation.lr == 0.02  # nested merge keeps YAML


def test_defaults():
    cfg = load_config()
    assert (cfg.task, cfg.space, cfg.budget) == ("mnist1d", "auto", 300)  # the run picks seq1d
    assert isinstance(cfg.seed, int)  # drawn, so the resolved config can be replayed


def test_unknown_task_names_field_and_allowed_values():
    # A name no task card can have fails here; a card's name is looked up in the workspace when the run starts.
    with pytest.raises(ConfigError, match=r"task: unknown task 'Image Net'; built-in tasks: bytes-lm, digits, mnist1d"):
        load_config(None, {"task": "Image Net"})
    assert load_config(None, {"task": "imagenet"}).task == "imagenet"


def test_negative_budget():
    with pytest.raises(ConfigError, match="budget"):
        load_config(None, {"budget": "-5m"})
    with pytest.raises(ConfigError, match="budget: must be positive"):
        load_config(None, {"budget": -3})


def test_malformed_yaml_says_where(tmp_path):
    with pytest.raises(ConfigError, match=r"malformed YAML: line 2, column 10: mapping values are not allowed"):
        load_config(write(tmp_path, "task: mnist1d\nbudget: a: b\n"))


def test_unknown_key_and_bad_nested_value(tmp_path):
    with pytest.raises(ConfigError, match=r"bugdet: Extra inputs are not permitted"):
        load_config(write(tmp_path, "bugdet: 5m\n"))
    with pytest.raises(ConfigError, match=r"sandbox.backend: Input should be 'process'"):
        load_config(write(tmp_path, "sandbox:\n  backend: kubernetes\n"))


def test_top_level_must_be_mapping(tmp_path):
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(write(tmp_path, "- a\n- b\n"))


def test_one_source_for_the_predictor_ensemble():
    """The ensemble and its acquisition are set once (evaluation.predictor) for the strategies and the cascade;
    the keys that used to repeat it, with other defaults, are refused by name."""
    from archlab.errors import ConfigError
    from archlab.run.settings import load_config

    cfg = load_config(None, {"evaluation": {"predictor": {"kappa": 0.25, "members": ["ridge"]}}})
    assert cfg.evaluation.predictor.kappa == 0.25 and cfg.evaluation.predictor.members == ["ridge"]
    for old in ({"search": {"kappa": 0.5}}, {"search": {"predictor": ["gp"]}},
                {"evaluation": {"cascade": {"predictor": {"kappa": 1.0}}}}):
        with pytest.raises(ConfigError, match="kappa|predictor"):
            load_config(None, old)


def test_a_runs_stored_config_from_before_is_upgraded_not_refused(tmp_path):
    """A resumed or reproduced run keeps its ensemble settings: the strategies' where the cascade was off, the
    gate's where it was on."""
    from archlab.run.settings import upgrade_stored

    old = {"search": {"strategy": "local", "predictor": ["ridge"], "acquisition": "ei", "kappa": 0.5},
           "evaluation": {"cascade": {"enabled": False, "predictor": {"kappa": 1.0, "members": ["gp"],
                                                                      "min_points": 4}}}}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(old))
    cfg = load_config(path, stored=True)
    assert cfg.evaluation.predictor.members == ["ridge"] and cfg.evaluation.predictor.acquisition == "ei"
    assert cfg.evaluation.predictor.kappa == 0.5 and cfg.evaluation.cascade.predictor.min_points == 4
    old["evaluation"]["cascade"]["enabled"] = True
    assert upgrade_stored(old)["evaluation"]["predictor"] == {"kappa": 1.0, "members": ["gp"]}
    assert "kappa" in old["search"]  # the caller's dict is left as it was
    with pytest.raises(ConfigError, match="search.kappa|search.predictor"):
        load_config(path)  # a person's own YAML with the old keys: refused by name
