"""Bad params for segment/train/strategy: one stderr line naming the key, exit 2, no traceback."""
from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from loan_recovery.ingest import to_typed_frame
from loan_recovery.synthetic import generate_portfolio

from conftest import PROJECT_ROOT

BASE_PARAMS = yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text())


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, dvc_env):
    """A prepared table and its segments, made once."""
    work = tmp_path_factory.mktemp("stage_params")
    to_typed_frame(generate_portfolio(300, seed=11)).to_parquet(work / "loans.parquet", index=False)
    params = work / "params.yaml"
    params.write_text(yaml.safe_dump(BASE_PARAMS))
    proc = _run(work, dvc_env, "segment", params)
    assert proc.returncode == 0, proc.stderr
    return work


def _args(work, stage: str, params) -> list[str]:
    common = ["--params", str(params)]
    return {
        "segment": common + ["--input", str(work / "loans.parquet"), "--output", str(work / "segments.parquet"),
                             "--model", str(work / "segmenter.pkl"), "--metrics", str(work / "segment.json"),
                             "--plot-dir", str(work / "plots")],
        "train": common + ["--loans", str(work / "loans.parquet"), "--segments", str(work / "segments.parquet"),
                           "--model", str(work / "model.pkl"), "--split", str(work / "split.parquet"),
                           "--metrics", str(work / "train.json"), "--plots-dir", str(work / "train_plots")],
    }[stage]


def _run(work, env, stage: str, params) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(PROJECT_ROOT / "stages" / f"{stage}.py"), *_args(work, stage, params)],
                          env=env, capture_output=True, text=True)


def _with(work, **overrides) -> str:
    params = yaml.safe_load(yaml.safe_dump(BASE_PARAMS))
    for dotted, value in overrides.items():
        node = params
        *parents, last = dotted.split("__")
        for part in parents:
            node = node[part]
        node[last] = value
    path = work / "bad_params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


@pytest.mark.parametrize("stage,overrides,message", [
    ("segment", {"segment__k": "abc"}, "error: segment.k must be an integer >= 2, got 'abc'"),
    ("segment", {"segment__n_init": 0}, "error: segment.n_init must be an integer >= 1, got 0"),
    ("segment", {"segment__naming": "fancy"}, "error: segment.naming must be one of seed, profile, got 'fancy'"),
    ("train", {"train__cv_folds": 1}, "error: train.cv_folds must be an integer >= 2, got 1"),
    ("train", {"train__target": "default"}, "error: train.target must be one of"),
    ("train", {"model__n_estimators": -3}, "error: invalid estimator parameter"),
])
def test_bad_param_gives_one_line_and_exit_2(workdir, dvc_env, stage, overrides, message):
    proc = _run(workdir, dvc_env, stage, _with(workdir, **overrides))
    assert proc.returncode == 2
    assert proc.stderr.startswith(message), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
