"""Out-of-sample evaluation: scores, curves for DVC plots, CV, baselines, leakage audit."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.inspection import permutation_importance
from sklearn.metrics import (accuracy_score, average_precision_score, brier_score_loss, f1_score,
                             log_loss, precision_recall_curve, precision_score, recall_score,
                             roc_auc_score, roc_curve)
from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline

MAX_CURVE_POINTS = 1000  # curves are thinned to this many points for large test sets
MAX_CONFUSION_ROWS = 20_000  # DVC's confusion template needs one row per loan: sample beyond this


def _round(value: float, digits: int = 4) -> float:
    return float(round(float(value), digits))


def ks_statistic(y_true: np.ndarray, score: np.ndarray) -> float:
    """Kolmogorov–Smirnov: max gap between the score CDFs of positives and negatives."""
    fpr, tpr, _ = roc_curve(y_true, score)
    return float(np.max(tpr - fpr))


def score_metrics(y_true: np.ndarray, score: np.ndarray) -> dict:
    """Ranking and probability quality of a score in [0, 1]."""
    y_true = np.asarray(y_true)
    if len(np.unique(y_true)) < 2:
        return {"loans": int(len(y_true)), "positive_rate": _round(np.mean(y_true))}
    auc = roc_auc_score(y_true, score)
    clipped = np.clip(score, 1e-6, 1 - 1e-6)
    return {
        "loans": int(len(y_true)),
        "positive_rate": _round(np.mean(y_true)),
        "roc_auc": _round(auc),
        "gini": _round(2 * auc - 1),
        "ks": _round(ks_statistic(y_true, score)),
        "pr_auc": _round(average_precision_score(y_true, score)),
        "brier": _round(brier_score_loss(y_true, clipped)),
        "log_loss": _round(log_loss(y_true, clipped, labels=[0, 1])),
    }


def classification_metrics(y_true: np.ndarray, score: np.ndarray, threshold: float = 0.5) -> dict:
    """score_metrics plus accuracy/precision/recall/F1 of `score > threshold` (the seed's predict())."""
    predicted = (np.asarray(score) > threshold).astype(int)
    return {
        "accuracy": _round(accuracy_score(y_true, predicted)),
        "precision": _round(precision_score(y_true, predicted, zero_division=0)),
        "recall": _round(recall_score(y_true, predicted, zero_division=0)),
        "f1": _round(f1_score(y_true, predicted, zero_division=0)),
    } | score_metrics(y_true, score)


def positive_scores(pipeline: Pipeline, features: pd.DataFrame) -> np.ndarray:
    return pipeline.predict_proba(features)[:, 1]


def cross_validated_metrics(pipeline: Pipeline, features: pd.DataFrame, target: pd.Series,
                            folds: int, repeats: int, random_state: int) -> dict:
    """Repeated stratified k-fold on the training part: mean and spread of each metric."""
    splitter = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=random_state)
    rows = []
    for train_idx, valid_idx in splitter.split(features, target):
        model = clone(pipeline).fit(features.iloc[train_idx], target.iloc[train_idx])
        rows.append(score_metrics(target.iloc[valid_idx].to_numpy(),
                                  positive_scores(model, features.iloc[valid_idx])))
    table = pd.DataFrame(rows).drop(columns=["loans", "positive_rate"])
    summary = {"folds": folds * repeats}
    for name in table.columns:
        summary[f"{name}_mean"] = _round(table[name].mean())
        summary[f"{name}_std"] = _round(table[name].std(ddof=1) if len(table) > 1 else 0.0)
    return summary


def out_of_fold_scores(pipeline: Pipeline, features: pd.DataFrame, target: pd.Series,
                       folds: int, random_state: int) -> np.ndarray:
    """Each loan scored by a model that never saw it."""
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
    return cross_val_predict(clone(pipeline), features, target, cv=splitter, method="predict_proba")[:, 1]


def baseline_scores(train_target: pd.Series, test_days_past_due: pd.Series) -> dict[str, np.ndarray]:
    """Base rate (a constant) and a days-past-due rule (more days past due, more risk)."""
    n = len(test_days_past_due)
    dpd = test_days_past_due.to_numpy(dtype="float64")
    return {
        "base_rate": np.full(n, float(train_target.mean())),
        "dpd_rule": np.clip(dpd / 180.0, 0.0, 1.0),
    }


def _thin(frame: pd.DataFrame) -> pd.DataFrame:
    if len(frame) <= MAX_CURVE_POINTS:
        return frame
    keep = np.unique(np.linspace(0, len(frame) - 1, MAX_CURVE_POINTS).round().astype(int))
    return frame.iloc[keep]


def roc_points(y_true: np.ndarray, score: np.ndarray) -> pd.DataFrame:
    fpr, tpr, thresholds = roc_curve(y_true, score)
    frame = pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": np.clip(thresholds, 0, 1)})
    return _thin(frame).round(6)


def precision_recall_points(y_true: np.ndarray, score: np.ndarray) -> pd.DataFrame:
    precision, recall, _ = precision_recall_curve(y_true, score)
    return _thin(pd.DataFrame({"recall": recall, "precision": precision})).round(6)


def confusion_counts(y_true: np.ndarray, predicted: np.ndarray) -> dict:
    """Exact counts on every test loan (the plot may show a sample)."""
    y_true, predicted = np.asarray(y_true), np.asarray(predicted)
    return {"tn": int(((y_true == 0) & (predicted == 0)).sum()), "fp": int(((y_true == 0) & (predicted == 1)).sum()),
            "fn": int(((y_true == 1) & (predicted == 0)).sum()), "tp": int(((y_true == 1) & (predicted == 1)).sum())}


def confusion_rows(y_true: np.ndarray, predicted: np.ndarray, random_state: int) -> pd.DataFrame:
    """actual/predicted per test loan for DVC's confusion plot; a fixed uniform sample when large."""
    frame = pd.DataFrame({"actual": np.asarray(y_true), "predicted": np.asarray(predicted)})
    if len(frame) <= MAX_CONFUSION_ROWS:
        return frame
    keep = np.sort(np.random.default_rng(random_state).choice(len(frame), MAX_CONFUSION_ROWS, replace=False))
    return frame.iloc[keep].reset_index(drop=True)


def calibration_table(y_true: np.ndarray, score: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Mean predicted vs observed positive rate in equal-width score bins (empty bins omitted)."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(score, edges[1:-1]), 0, bins - 1)
    frame = pd.DataFrame({"bin": which, "score": score, "positive": y_true})
    table = frame.groupby("bin").agg(mean_predicted=("score", "mean"), observed_rate=("positive", "mean"),
                                     loans=("positive", "size")).reset_index()
    return table.round(6)


def lift_table(y_true: np.ndarray, score: np.ndarray, groups: int = 10) -> pd.DataFrame:
    """Decile lift/gains: deciles by descending score (1 = riskiest)."""
    order = np.argsort(-np.asarray(score), kind="stable")
    decile = np.empty(len(order), dtype=int)
    decile[order] = np.arange(len(order)) * groups // len(order) + 1
    frame = pd.DataFrame({"decile": decile, "positive": y_true})
    table = frame.groupby("decile").agg(loans=("positive", "size"), positives=("positive", "sum")).reset_index()
    base = max(float(np.mean(y_true)), 1e-12)
    table["rate"] = table["positives"] / table["loans"]
    table["lift"] = table["rate"] / base
    table["cumulative_gain"] = table["positives"].cumsum() / max(int(np.sum(y_true)), 1)
    return table.round(6)


def out_of_fold_target_rate(values: pd.Series, target: pd.Series, folds: int = 5) -> np.ndarray:
    """Each row's category scored by the target rate of that category in the *other* folds.

    Out-of-fold, so an ID-like or random text column scores ~0.5 instead of a perfect in-sample fit.
    """
    text = values.astype(str).to_numpy()
    y = target.to_numpy()
    encoded = np.full(len(text), float(np.mean(y)))
    n_splits = min(folds, int(np.bincount(y).min()))
    if n_splits < 2:
        return encoded
    for fit_idx, enc_idx in StratifiedKFold(n_splits, shuffle=True, random_state=0).split(text, y):
        rates = pd.Series(y[fit_idx]).groupby(text[fit_idx]).mean()
        encoded[enc_idx] = pd.Series(text[enc_idx]).map(rates).fillna(float(np.mean(y[fit_idx]))).to_numpy()
    return encoded


def _as_numbers(values: pd.Series) -> pd.Series | None:
    """Numbers, also when a user's extra column arrives as text ('12', '3.5', blanks); else None."""
    if pd.api.types.is_numeric_dtype(values) and not isinstance(values.dtype, pd.CategoricalDtype):
        return pd.to_numeric(values)
    text = values.astype(str).str.strip()
    parsed = pd.to_numeric(text.where(text != ""), errors="coerce")
    return parsed if parsed.notna().sum() == (text != "").sum() and parsed.notna().any() else None


def univariate_auc(values: pd.Series, target: pd.Series) -> float:
    """How well one column alone ranks the target, direction-free (0.5 = no signal, 1 = perfect)."""
    if len(np.unique(target)) < 2:
        return 0.5
    numeric = _as_numbers(values)
    if numeric is None:
        numeric = pd.Series(out_of_fold_target_rate(values, target), index=values.index)
    finite = numeric.to_numpy(dtype="float64")
    # Missing values rank lowest (finite, so roc_auc_score accepts them).
    lowest = np.nanmin(finite) - 1 if np.isfinite(finite).any() else 0.0
    auc = roc_auc_score(target, np.where(np.isfinite(finite), finite, lowest))
    return max(auc, 1 - auc)


def leakage_audit(frame: pd.DataFrame, target: pd.Series, columns: list[str], threshold: float) -> pd.DataFrame:
    """Univariate AUC of every column against the target; flags those above `threshold`."""
    rows = [(col, univariate_auc(frame[col], target)) for col in columns]
    table = pd.DataFrame(rows, columns=["column", "auc"])
    table["flagged"] = table["auc"] >= threshold
    return table.round({"auc": 4})


def permutation_importances(pipeline: Pipeline, features: pd.DataFrame, target: pd.Series,
                            random_state: int, repeats: int = 5) -> dict[str, float]:
    """Drop in ROC AUC when each input column is shuffled (held-out data)."""
    result = permutation_importance(pipeline, features, target, scoring="roc_auc", n_repeats=repeats,
                                    random_state=random_state, n_jobs=1)
    return {col: _round(result.importances_mean[i]) for i, col in enumerate(features.columns)}
