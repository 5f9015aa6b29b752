"""Unit tests of loan_recovery.evaluation on tiny hand-made scores and small synthetic frames."""
import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline

from loan_recovery import evaluation as ev
from loan_recovery.evaluation import (MAX_CURVE_POINTS, baseline_scores, calibration_table, classification_metrics,
                                      cross_validated_metrics, ks_statistic, leakage_audit, lift_table,
                                      out_of_fold_scores, permutation_importances, precision_recall_points,
                                      roc_points, score_metrics, univariate_auc)

Y = np.array([0, 0, 1, 1])
S = np.array([0.1, 0.4, 0.35, 0.8])


def _random(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2, n), rng.random(n)


# --- score_metrics / classification_metrics ---------------------------------------------------------

def test_score_metrics_by_hand():
    m = score_metrics(Y, S)
    # positive/negative pairs: 0.35 beats 0.1 but not 0.4; 0.8 beats both -> AUC 3/4
    assert m["roc_auc"] == 0.75
    assert m["gini"] == 0.5 == round(2 * m["roc_auc"] - 1, 4)
    # CDF gap after 0.8: tpr .5 - fpr 0; after 0.35: tpr 1 - fpr .5 -> KS .5
    assert m["ks"] == 0.5
    assert m["brier"] == round((0.1 ** 2 + 0.4 ** 2 + 0.65 ** 2 + 0.2 ** 2) / 4, 4) == 0.1581
    assert m["pr_auc"] == round(0.5 * 1 + 0.5 * 2 / 3, 4)
    assert m["log_loss"] == round(-np.mean(np.log([0.9, 0.6, 0.35, 0.8])), 4)
    assert m["loans"] == 4 and m["positive_rate"] == 0.5
    assert all(type(v) in (int, float) for v in m.values())  # plain JSON types


def test_ks_statistic_equals_two_sample_ks_of_the_class_scores():
    y, s = _random(500, seed=3)
    s = s + 0.2 * y
    assert ks_statistic(y, s) == pytest.approx(ks_2samp(s[y == 1], s[y == 0]).statistic, abs=1e-12)


def test_score_metrics_perfect_inverted_and_random():
    y = np.array([0, 0, 0, 1, 1, 1])
    perfect = score_metrics(y, np.array([0.0, 0.1, 0.2, 0.8, 0.9, 1.0]))
    assert perfect["roc_auc"] == 1.0 and perfect["gini"] == 1.0 and perfect["ks"] == 1.0
    assert perfect["pr_auc"] == 1.0 and perfect["brier"] == round(0.1 / 6, 4)
    inverted = score_metrics(y, np.array([1.0, 0.9, 0.8, 0.2, 0.1, 0.0]))
    assert inverted["roc_auc"] == 0.0 and inverted["gini"] == -1.0  # not direction-free
    y, s = _random(4000, seed=0)
    rand = score_metrics(y, s)
    assert abs(rand["roc_auc"] - 0.5) < 0.03 and abs(rand["gini"]) < 0.06 and rand["ks"] < 0.05


def test_score_metrics_clips_scores_for_log_loss():
    m = score_metrics(np.array([0, 1]), np.array([1.0, 0.0]))  # confidently wrong, exactly 0 and 1
    assert np.isfinite(m["log_loss"]) and m["log_loss"] == pytest.approx(-np.log(1e-6), abs=1e-3)


@pytest.mark.parametrize("value", [0, 1])
def test_score_metrics_single_class(value):
    m = score_metrics(np.full(5, value), np.linspace(0, 1, 5))
    assert m == {"loans": 5, "positive_rate": float(value)}
    c = classification_metrics(np.full(5, value), np.linspace(0, 1, 5))
    assert "roc_auc" not in c and c["loans"] == 5
    assert c["accuracy"] == pytest.approx(np.mean((np.linspace(0, 1, 5) > 0.5) == value))


def test_classification_metrics_threshold_is_strict():
    y = np.array([0, 1, 1, 0])
    s = np.array([0.5, 0.5, 0.6, 0.2])  # the two 0.5 scores are NOT positive predictions
    m = classification_metrics(y, s)
    assert m["precision"] == 1.0 and m["recall"] == 0.5 and m["accuracy"] == 0.75
    assert m["f1"] == round(2 / 3, 4)
    assert m["roc_auc"] == score_metrics(y, s)["roc_auc"]
    lower = classification_metrics(y, s, threshold=0.4999)
    assert lower["precision"] == round(2 / 3, 4) and lower["recall"] == 1.0


def test_classification_metrics_no_positive_predictions_has_zero_precision():
    m = classification_metrics(np.array([0, 1, 1, 0]), np.array([0.1, 0.2, 0.3, 0.4]))
    assert m["precision"] == 0.0 and m["recall"] == 0.0 and m["f1"] == 0.0


# --- curves -------------------------------------------------------------------------------------

def test_roc_points_small_curve_is_not_thinned():
    frame = roc_points(Y, S)
    fpr, _, _ = roc_curve(Y, S)
    assert len(frame) == len(fpr)
    assert list(frame.columns) == ["fpr", "tpr", "threshold"]
    assert frame["threshold"].between(0, 1).all()  # roc_curve's first threshold is inf
    assert frame["threshold"].iloc[0] == 1.0


def test_roc_and_pr_points_are_thinned_to_max_points():
    y, s = _random(6000, seed=1)
    roc = roc_points(y, s)
    pr = precision_recall_points(y, s)
    assert len(roc_curve(y, s)[0]) > MAX_CURVE_POINTS
    for frame in (roc, pr):
        assert 0.9 * MAX_CURVE_POINTS <= len(frame) <= MAX_CURVE_POINTS
    assert roc[["fpr", "tpr"]].iloc[0].tolist() == [0.0, 0.0] and roc[["fpr", "tpr"]].iloc[-1].tolist() == [1.0, 1.0]
    assert roc["fpr"].is_monotonic_increasing and roc["tpr"].is_monotonic_increasing
    assert list(pr.columns) == ["recall", "precision"]
    assert pr["recall"].iloc[0] == 1.0 and pr[["recall", "precision"]].iloc[-1].tolist() == [0.0, 1.0]


def test_thin_keeps_short_frames_whole_and_long_frames_evenly(monkeypatch):
    monkeypatch.setattr(ev, "MAX_CURVE_POINTS", 5)
    frame = pd.DataFrame({"x": range(101)})
    assert ev._thin(frame)["x"].tolist() == [0, 25, 50, 75, 100]
    assert ev._thin(frame.head(5)).equals(frame.head(5))


# --- calibration / lift ---------------------------------------------------------------------------

def test_calibration_table_bins_and_sums():
    score = np.array([0.0, 0.05, 0.1, 0.15, 0.95, 1.0])
    y = np.array([0, 0, 1, 0, 1, 1])
    table = calibration_table(y, score)
    assert list(table.columns) == ["bin", "mean_predicted", "observed_rate", "loans"]
    assert table["bin"].tolist() == [0, 1, 9]  # empty bins omitted; 0.1 opens bin 1; 1.0 closes bin 9
    assert table["loans"].tolist() == [2, 2, 2]
    assert table["mean_predicted"].tolist() == [0.025, 0.125, 0.975]
    assert table["observed_rate"].tolist() == [0.0, 0.5, 1.0]


def test_calibration_table_loans_sum_to_n():
    y, s = _random(1000, seed=2)
    table = calibration_table(y, s, bins=7)
    assert table["loans"].sum() == 1000 and table["bin"].between(0, 6).all() and len(table) == 7
    assert np.average(table["observed_rate"], weights=table["loans"]) == pytest.approx(y.mean(), abs=1e-5)


def test_lift_table_sums_and_gain():
    y, s = _random(1000, seed=4)
    s = s + 0.3 * y
    table = lift_table(y, s)
    assert list(table.columns) == ["decile", "loans", "positives", "rate", "lift", "cumulative_gain"]
    assert table["decile"].tolist() == list(range(1, 11))
    assert table["loans"].tolist() == [100] * 10
    assert table["positives"].sum() == y.sum()
    assert table["cumulative_gain"].iloc[-1] == 1.0
    assert table["cumulative_gain"].is_monotonic_increasing
    assert table["lift"].iloc[0] > 1.3 > table["lift"].iloc[-1]  # riskiest decile first


def test_lift_table_perfect_score_by_hand():
    y = np.array([1, 0, 0, 0, 1, 0, 0, 0, 0, 0])
    s = np.array([0.9, 0.1, 0.2, 0.3, 0.8, 0.0, 0.05, 0.15, 0.25, 0.35])
    table = lift_table(y, s, groups=5)
    assert table["positives"].tolist() == [2, 0, 0, 0, 0]
    assert table["lift"].tolist() == [5.0, 0.0, 0.0, 0.0, 0.0]
    assert table["cumulative_gain"].tolist() == [1.0] * 5


# --- univariate AUC / leakage audit ---------------------------------------------------------------

def test_univariate_auc_numeric_is_direction_free():
    target = pd.Series([0, 0, 1, 1, 0, 1])
    values = pd.Series([1.0, 2.0, 3.0, 5.0, 4.0, 6.0])
    expected = roc_auc_score(target, values)
    assert univariate_auc(values, target) == pytest.approx(expected)
    assert univariate_auc(-values, target) == pytest.approx(expected)
    assert univariate_auc(pd.Series([1, 1, 1, 1, 1, 1]), target) == 0.5


@pytest.mark.parametrize("dtype", ["category", "str", "object"])
def test_univariate_auc_categorical_is_scored_out_of_fold(dtype):
    rng = np.random.default_rng(1)
    target = pd.Series(rng.integers(0, 2, 300), index=range(10, 310))
    perfect = pd.Series(np.where(target == 1, "yes", "no"), index=target.index).astype(dtype)
    assert univariate_auc(perfect, target) == 1.0
    # A category that matters only a little stays near 0.5; an in-sample rate would overstate it.
    noise = pd.Series(rng.choice(list("abcdefghij"), 300), index=target.index).astype(dtype)
    assert univariate_auc(noise, target) < 0.62


def test_univariate_auc_reads_numbers_stored_as_text():
    target = pd.Series([0, 0, 1, 1, 0, 1])
    as_text = pd.Series(["1", "2", "30", "40", "3", "50"])
    assert univariate_auc(as_text, target) == 1.0


def test_univariate_auc_single_class_target():
    assert univariate_auc(pd.Series([1.0, 2.0, 3.0]), pd.Series([1, 1, 1])) == 0.5


def test_univariate_auc_missing_values_are_ranked_lowest():
    target = pd.Series([0, 0, 1, 1])
    values = pd.Series([np.nan, 1.0, 2.0, 3.0])
    assert univariate_auc(values, target) == 1.0


def test_leakage_audit_flags_copies_of_the_target_not_noise():
    rng = np.random.default_rng(0)
    target = pd.Series(rng.integers(0, 2, 400), index=range(1000, 1400))
    frame = pd.DataFrame({
        "copy": target.to_numpy(),
        "noisy_copy": target.to_numpy() + rng.normal(0, 0.3, 400),
        "status_text": np.where(target == 1, "Written Off", "Recovered"),
        "random": rng.normal(size=400),
        "random_cat": rng.choice(["a", "b", "c"], 400),
    }, index=target.index)
    table = leakage_audit(frame, target, list(frame.columns), threshold=0.8)
    assert list(table.columns) == ["column", "auc", "flagged"]
    flagged = dict(zip(table["column"], table["flagged"]))
    assert flagged == {"copy": True, "noisy_copy": True, "status_text": True, "random": False, "random_cat": False}
    auc = dict(zip(table["column"], table["auc"]))
    assert auc["copy"] == 1.0 and 0.85 < auc["noisy_copy"] < 1.0 and auc["random"] < 0.6


def test_leakage_audit_does_not_flag_random_high_cardinality_text():
    rng = np.random.default_rng(0)
    target = pd.Series(rng.integers(0, 2, 400))
    frame = pd.DataFrame({
        "branch_code": [f"B{i:04d}" for i in rng.permutation(400)],                 # unique per loan
        "credit_score_text": rng.normal(600, 50, 400).round().astype(int).astype(str),  # extra column as text
    })
    table = leakage_audit(frame, target, list(frame.columns), threshold=0.8)
    assert table["flagged"].tolist() == [False, False]
    assert (table["auc"] < 0.65).all()


def test_leakage_audit_threshold_is_inclusive():
    target = pd.Series([0, 0, 1, 1])
    frame = pd.DataFrame({"x": [1.0, 3.0, 2.0, 4.0]})  # AUC 0.75
    assert leakage_audit(frame, target, ["x"], threshold=0.75)["flagged"].tolist() == [True]
    assert leakage_audit(frame, target, ["x"], threshold=0.7501)["flagged"].tolist() == [False]


# --- cross validation / out of fold -------------------------------------------------------------------

@pytest.fixture(scope="module")
def signal_data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(5)
    x = pd.DataFrame({"a": rng.normal(size=240), "b": rng.normal(size=240)}, index=range(500, 740))
    y = pd.Series((x["a"] + 0.5 * rng.normal(size=240) > 0).astype(int), index=x.index, name="y")
    return x, y


def test_cross_validated_metrics_counts_and_summary(signal_data):
    x, y = signal_data
    summary = cross_validated_metrics(make_pipeline(LogisticRegression()), x, y, folds=3, repeats=2, random_state=0)
    assert summary["folds"] == 6
    for name in ["roc_auc", "gini", "ks", "pr_auc", "brier", "log_loss"]:
        assert f"{name}_mean" in summary and f"{name}_std" in summary
    assert "loans_mean" not in summary and "positive_rate_mean" not in summary
    assert summary["roc_auc_mean"] > 0.8 and summary["roc_auc_std"] > 0
    assert summary == cross_validated_metrics(make_pipeline(LogisticRegression()), x, y, 3, 2, 0)


def test_cross_validated_metrics_single_fold_std_is_zero(signal_data):
    x, y = signal_data
    summary = cross_validated_metrics(make_pipeline(LogisticRegression()), x, y, folds=2, repeats=1, random_state=0)
    assert summary["folds"] == 2 and summary["roc_auc_std"] >= 0


def test_out_of_fold_scores_never_come_from_a_model_that_saw_the_loan():
    rng = np.random.default_rng(1)
    n = 200
    x = pd.DataFrame({"id": np.arange(n) * 1000.0})  # every loan far from every other: 1-NN memorises
    y = pd.Series(rng.integers(0, 2, n))
    memoriser = make_pipeline(KNeighborsClassifier(n_neighbors=1))
    in_sample = memoriser.fit(x, y).predict_proba(x)[:, 1]
    assert np.array_equal(in_sample, y.to_numpy())  # a model that saw a loan reproduces its label
    oof = out_of_fold_scores(memoriser, x, y, folds=5, random_state=0)
    assert oof.shape == (n,)
    assert set(np.unique(oof)) <= {0.0, 1.0}
    assert roc_auc_score(y, oof) < 0.65  # labels are random: no leakage -> no skill
    assert memoriser[-1].n_samples_fit_ == n  # the pipeline passed in is cloned, not refit


def test_out_of_fold_scores_for_a_forest_are_worse_than_in_sample(signal_data):
    x, y = signal_data
    forest = make_pipeline(RandomForestClassifier(n_estimators=20, random_state=0))
    oof = out_of_fold_scores(forest, x, y, folds=4, random_state=0)
    in_sample = forest.fit(x, y).predict_proba(x)[:, 1]
    assert roc_auc_score(y, in_sample) > 0.99
    assert 0.6 < roc_auc_score(y, oof) < roc_auc_score(y, in_sample) - 0.02


# --- baselines / importance -----------------------------------------------------------------------

def test_baseline_scores():
    scores = baseline_scores(pd.Series([1, 0, 0, 0]), pd.Series([0, 90, 180, 400]))
    assert scores["base_rate"].tolist() == [0.25] * 4
    assert scores["dpd_rule"].tolist() == [0.0, 0.5, 1.0, 1.0]


def test_permutation_importances_rank_the_signal_first(signal_data):
    x, y = signal_data
    model = make_pipeline(LogisticRegression()).fit(x, y)
    imp = permutation_importances(model, x, y, random_state=0, repeats=3)
    assert list(imp) == ["a", "b"]
    assert imp["a"] > 0.2 > abs(imp["b"])
    assert all(type(v) is float for v in imp.values())
