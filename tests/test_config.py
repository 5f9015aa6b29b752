"""conf/ is the source of truth: params.yaml must be its exact composition; every option builds."""
from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml
from dvc.utils.hydra import compose_and_dump

from loan_recovery.errors import UserError
from loan_recovery.ingest import to_typed_frame
from loan_recovery.modeling import build_estimator, build_pipeline, build_target, check_feature_set
from loan_recovery.synthetic import generate_portfolio

from conftest import PROJECT_ROOT

CONF = PROJECT_ROOT / "conf"
MODEL_OPTIONS = sorted(p.stem for p in (CONF / "model").glob("*.yaml"))
FEATURE_OPTIONS = sorted(p.stem for p in (CONF / "features").glob("*.yaml"))


def compose(tmp_path: Path, overrides: list[str]) -> dict:
    out = tmp_path / "params.yaml"
    compose_and_dump(out, str(CONF), None, "config", str(PROJECT_ROOT), overrides)
    return yaml.safe_load(out.read_text())


def test_params_yaml_is_exactly_the_composition_of_conf(tmp_path):
    out = tmp_path / "params.yaml"
    compose_and_dump(out, str(CONF), None, "config", str(PROJECT_ROOT), [])
    committed = (PROJECT_ROOT / "params.yaml").read_text()
    assert committed == out.read_text(), "params.yaml differs from conf/: run `make params` and commit"


def test_public_keys_keep_their_names_and_seed_defaults():
    params = yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text())
    assert params["segment"]["k"] == 4 and params["segment"]["n_init"] == 10
    assert params["model"]["name"] == "random_forest" and params["model"]["n_estimators"] == 100
    assert params["strategy"]["thresholds"] == {"high": 0.75, "medium": 0.5}
    assert params["train"]["test_size"] == 0.2 and params["train"]["random_state"] == 42
    assert params["data"]["raw"] == params["generate"]["output"]


def test_every_dvc_yaml_param_key_exists_in_params():
    params = yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text())
    stages = yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        for key in stage.get("params", []):
            node = params
            for part in key.split("."):
                assert part in node, f"stage {name}: param {key} not in params.yaml"
                node = node[part]


@pytest.mark.parametrize("model,features", list(itertools.product(MODEL_OPTIONS, FEATURE_OPTIONS)))
def test_every_model_and_feature_option_composes_and_fits(tmp_path, model, features):
    params = compose(tmp_path, [f"model={model}", f"features={features}"])
    loans = to_typed_frame(generate_portfolio(200, seed=3))
    feats = params["features"]
    check_feature_set(feats["numeric"], feats["categorical"], feats["leaky"], list(loans.columns))
    small = dict(params["model"]) | ({"n_estimators": 10} if "n_estimators" in params["model"] else {})
    pipeline = build_pipeline(small, feats["numeric"], feats["categorical"])
    target = build_target(loans, None, "not_fully_recovered")
    pipeline.fit(loans[feats["numeric"] + feats["categorical"]], target)
    assert params["model"]["random_state"] == params["train"]["random_state"]


def test_only_the_leaky_feature_set_holds_collection_columns(tmp_path):
    for option in FEATURE_OPTIONS:
        feats = compose(tmp_path, [f"features={option}"])["features"]
        chosen = set(feats["numeric"]) | set(feats["categorical"])
        assert "Gender" not in chosen
        assert bool(chosen & {"Collection_Attempts", "Collection_Method", "Legal_Action_Taken"}) == feats["leaky"]


def test_estimator_targets_outside_the_allow_list_are_refused():
    with pytest.raises(UserError, match="must start with one of"):
        build_estimator({"_target_": "os.system", "command": "echo pwned"})
