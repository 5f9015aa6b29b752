"""The real DVC pipeline in a temporary git repo: repro, no-op rerun, experiments rerun only
what their params touch, byte-identical forced reruns, remote round trip, seed fidelity."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import PROJECT_ROOT

pytestmark = pytest.mark.e2e


def run(cmd: list[str], cwd: Path, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def stages_run(proc: subprocess.CompletedProcess) -> set[str]:
    return set(re.findall(r"Running stage '([\w-]+)'", proc.stdout + proc.stderr))


def copy_project(dest: Path, env: dict) -> None:
    """Tracked and new (not ignored) project files, as a fresh clone would have them."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, check=True).stdout.splitlines()
    for rel in listed:
        src = PROJECT_ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    run(["git", "init", "-q", "-b", "main"], dest, env)


def set_conf(repo: Path, env: dict, section: str, key: str, value) -> None:
    conf = repo / "conf" / "config.yaml"
    data = yaml.safe_load(conf.read_text())
    text = conf.read_text()
    old = data[section][key]
    # Edit the one line so the rest of the file (comments, interpolations) stays as is.
    pattern = re.compile(rf"(^{section}:\n(?:[ ].*\n|\n)*?  {key}: ){re.escape(str(old))}", re.M)
    new_text, n = pattern.subn(lambda m: f"{m.group(1)}{value}", text)
    assert n == 1, f"could not set {section}.{key}"
    conf.write_text(new_text)


def commit_all(repo: Path, env: dict, message: str) -> None:
    run(["git", "add", "-A"], repo, env)
    run(["git", "commit", "-q", "-m", message], repo, env)


def reset_to_baseline(repo: Path, env: dict) -> None:
    run(["git", "reset", "-q", "--hard"], repo, env)
    run(["dvc", "checkout", "-q", "-f"], repo, env)


def lock_hashes(repo: Path) -> dict[str, str]:
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    return {out["path"]: out["md5"] for stage in lock["stages"].values() for out in stage.get("outs", [])}


def metrics(repo: Path, name: str) -> dict:
    return json.loads((repo / "metrics" / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def small_repo(tmp_path_factory, dvc_env) -> Path:
    """The project on a small synthetic portfolio, reproduced once and committed."""
    repo = tmp_path_factory.mktemp("pipeline")
    copy_project(repo, dvc_env)
    set_conf(repo, dvc_env, "generate", "n_rows", 1500)
    set_conf(repo, dvc_env, "train", "cv_repeats", 1)
    run(["python", ".ci/compose_params.py"], repo, dvc_env)
    commit_all(repo, dvc_env, "project")
    first = run(["dvc", "repro"], repo, dvc_env)
    assert stages_run(first) == {"generate", "prepare", "eda", "segment", "train", "score", "strategy"}
    commit_all(repo, dvc_env, "baseline run")
    return repo


def test_second_repro_is_a_no_op(small_repo, dvc_env):
    again = run(["dvc", "repro"], small_repo, dvc_env)
    assert stages_run(again) == set()
    status = run(["dvc", "status"], small_repo, dvc_env)
    assert "up to date" in status.stdout


def test_threshold_experiment_reruns_only_strategy(small_repo, dvc_env):
    reset_to_baseline(small_repo, dvc_env)
    before = metrics(small_repo, "strategy")
    exp = run(["dvc", "exp", "run", "-S", "strategy.thresholds.high=0.8"], small_repo, dvc_env)
    assert stages_run(exp) == {"strategy"}
    after = metrics(small_repo, "strategy")
    assert after["tier_high"]["loans"] < before["tier_high"]["loans"]
    assert after["tier_medium"]["loans"] > before["tier_medium"]["loans"]
    assert metrics(small_repo, "train") == json.loads(
        run(["git", "show", "HEAD:metrics/train.json"], small_repo, dvc_env).stdout)


def test_k5_with_seed_naming_stops_with_a_clear_message(small_repo, dvc_env):
    reset_to_baseline(small_repo, dvc_env)
    exp = run(["dvc", "exp", "run", "-S", "segment.k=5"], small_repo, dvc_env, check=False)
    assert exp.returncode != 0
    assert "segment.naming=seed names exactly 4 KMeans ids" in exp.stderr + exp.stdout
    assert "Traceback" not in exp.stderr + exp.stdout


def test_k5_profile_naming_reruns_segment_onward(small_repo, dvc_env):
    reset_to_baseline(small_repo, dvc_env)
    exp = run(["dvc", "exp", "run", "-S", "segment.k=5", "-S", "segment.naming=profile"], small_repo, dvc_env)
    assert stages_run(exp) == {"segment", "train", "score", "strategy"}
    seg = metrics(small_repo, "segment")
    assert seg["k"] == 5 and len(seg["segments"]) == 5 and seg["naming_seed_map"] == 0


def test_model_experiment_reruns_train_onward(small_repo, dvc_env):
    reset_to_baseline(small_repo, dvc_env)
    before = metrics(small_repo, "train")["test"]["roc_auc"]
    exp = run(["dvc", "exp", "run", "-S", "model=hist_gradient_boosting"], small_repo, dvc_env)
    assert stages_run(exp) == {"train", "score", "strategy"}
    assert metrics(small_repo, "train")["test"]["roc_auc"] != before


def test_forced_reruns_give_identical_output_hashes(small_repo, dvc_env):
    reset_to_baseline(small_repo, dvc_env)
    run(["dvc", "repro", "--force"], small_repo, dvc_env)
    first = lock_hashes(small_repo)
    run(["dvc", "repro", "--force"], small_repo, dvc_env)
    assert lock_hashes(small_repo) == first
    committed = yaml.safe_load(run(["git", "show", "HEAD:dvc.lock"], small_repo, dvc_env).stdout)
    assert first == {o["path"]: o["md5"] for s in committed["stages"].values() for o in s.get("outs", [])}
    assert run(["git", "status", "--porcelain", "metrics"], small_repo, dvc_env).stdout == ""


def test_remote_push_clone_pull_round_trip(small_repo, dvc_env, tmp_path):
    reset_to_baseline(small_repo, dvc_env)
    remote = tmp_path / "remote"
    run(["dvc", "remote", "add", "-d", "local", str(remote)], small_repo, dvc_env)
    run(["dvc", "push"], small_repo, dvc_env)
    commit_all(small_repo, dvc_env, "add remote")
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(small_repo), str(clone)], tmp_path, dvc_env)
    run(["dvc", "pull"], clone, dvc_env)
    assert "up to date" in run(["dvc", "status"], clone, dvc_env).stdout
    for rel in ["data/strategy/assignments.csv", "data/models/model.pkl", "plots/eda/plotly.min.js"]:
        assert (clone / rel).read_bytes() == (small_repo / rel).read_bytes()


def test_seed_fidelity_on_the_real_file(tmp_path, dvc_env, real_data_path):
    """Defaults on the real file reproduce the seed notebook's figures."""
    copy_project(tmp_path, dvc_env)
    commit_all(tmp_path, dvc_env, "project")
    run(["dvc", "exp", "run", "-S", f"data.raw={real_data_path}"], tmp_path, dvc_env)
    seg, train, strat = metrics(tmp_path, "segment"), metrics(tmp_path, "train"), metrics(tmp_path, "strategy")
    assert sorted(s["loans"] for s in seg["segments"].values()) == [51, 136, 141, 172]
    assert seg["high_risk_loans"] == 308
    assert train["test"]["loans"] == 100 and train["test"]["accuracy"] == 0.92
    assert train["test"]["roc_auc"] == pytest.approx(0.985, abs=0.001)
    assert [strat[f"tier_{t}"]["test_loans"] for t in ("high", "medium", "low")] == [50, 10, 40]
    assert metrics(tmp_path, "prepare")["rows_kept"] == 500


def test_plots_diff_renders_every_review_plot(small_repo, dvc_env, tmp_path):
    reset_to_baseline(small_repo, dvc_env)
    run(["dvc", "exp", "run", "-S", "model=logistic_regression"], small_repo, dvc_env)
    proc = run(["dvc", "plots", "diff", "HEAD", "--json"], small_repo, dvc_env)
    rendered = json.loads(proc.stdout)
    plot_ids = set(rendered.get("data", rendered))
    assert {"ROC", "Precision-recall", "Confusion matrix (test loans)", "Calibration (test loans)",
            "Risk-score distribution per strategy tier"} <= plot_ids
    out = tmp_path / "plots"
    run(["dvc", "plots", "diff", "HEAD", "-o", str(out)], small_repo, dvc_env)
    assert (out / "index.html").stat().st_size > 10_000


def test_new_portfolio_is_scored_with_the_saved_models(small_repo, dvc_env, tmp_path):
    reset_to_baseline(small_repo, dvc_env)
    portfolio = tmp_path / "new.csv"
    lines = (small_repo / "data/raw/synthetic_portfolio.csv").read_text().splitlines()
    bad = lines[2].replace(",Male,", ",Robot,").replace(",Female,", ",Robot,")
    portfolio.write_text("\n".join(lines[:2] + [bad] + lines[3:40]) + "\n")
    out, rejects = tmp_path / "scored.csv", tmp_path / "rejects.csv"
    run(["python", "stages/score.py", "--portfolio", str(portfolio), "--model", "data/models/model.pkl",
         "--segmenter", "data/models/segmenter.pkl", "--output", str(out), "--rejects", str(rejects)],
        small_repo, dvc_env)
    scored, rejected = pd.read_csv(out), pd.read_csv(rejects)
    assert len(scored) == 38 and len(rejected) == 1 and "Gender" in rejected["reasons"].iloc[0]
    assert scored["Risk_Score"].between(0, 1).all()
    assert set(scored["tier"]) <= {"high", "medium", "low"}
    assert {"segment", "Recovery_Strategy", "reason_1"} <= set(scored.columns)


def test_new_portfolio_without_outcome_columns_is_scored(small_repo, dvc_env, tmp_path):
    """A portfolio to be worked has no Recovery_Status or collection columns yet."""
    reset_to_baseline(small_repo, dvc_env)
    frame = pd.read_csv(small_repo / "data/raw/synthetic_portfolio.csv", nrows=25)
    frame = frame.drop(columns=["Recovery_Status", "Collection_Attempts", "Collection_Method", "Legal_Action_Taken"])
    portfolio = tmp_path / "to_work.csv"
    frame.to_csv(portfolio, index=False)
    out, rejects = tmp_path / "scored.csv", tmp_path / "rejects.csv"
    run(["python", "stages/score.py", "--portfolio", str(portfolio), "--model", "data/models/model.pkl",
         "--segmenter", "data/models/segmenter.pkl", "--output", str(out), "--rejects", str(rejects)],
        small_repo, dvc_env)
    scored = pd.read_csv(out)
    assert len(scored) == 25 and (scored["score_source"] == "saved_model").all()
