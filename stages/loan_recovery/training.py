"""The train step as one pure function: fit on the training part, evaluate out of sample."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from . import evaluation as ev
from .schema import AUDIT_EXCLUDED_COLUMNS


@dataclass
class FeatureSet:
    name: str
    numeric: list[str]
    categorical: list[str]
    leaky: bool

    @property
    def columns(self) -> list[str]:
        return list(self.numeric) + list(self.categorical)


@dataclass
class TrainResult:
    model: Pipeline
    metrics: dict
    plots: dict[str, pd.DataFrame]


def audit_columns(frame: pd.DataFrame, target_name: str) -> list[str]:
    """Every column the audit looks at: all but identifiers and the target's own source."""
    excluded = set(AUDIT_EXCLUDED_COLUMNS)
    if target_name != "high_risk_flag":
        excluded.add("Recovery_Status")
    return [c for c in frame.columns if c not in excluded]


def train_model(pipeline: Pipeline, loans: pd.DataFrame, target: pd.Series, train_positions: np.ndarray,
                test_positions: np.ndarray, features: FeatureSet, cv_folds: int, cv_repeats: int,
                leakage_threshold: float, random_state: int) -> TrainResult:
    """Fit on the training part; test metrics, CV, baselines, leakage audit, importance, curves."""
    X, y = loans[features.columns], target
    X_train, y_train = X.iloc[train_positions], y.iloc[train_positions]
    X_test, y_test = X.iloc[test_positions], y.iloc[test_positions]
    cv = ev.cross_validated_metrics(pipeline, X_train, y_train, cv_folds, cv_repeats, random_state)
    model = pipeline.fit(X_train, y_train)
    test_score = ev.positive_scores(model, X_test)
    y_true = y_test.to_numpy()
    predicted = (test_score > 0.5).astype(int)  # the seed's predict(): positive above 0.5
    baselines = ev.baseline_scores(y_train, loans["Days_Past_Due"].iloc[test_positions])
    audit = ev.leakage_audit(loans.iloc[train_positions], y_train, audit_columns(loans, str(target.name)),
                             leakage_threshold)
    flagged = audit[audit["flagged"]]
    metrics = {
        "test": ev.classification_metrics(y_true, test_score),
        "test_confusion": ev.confusion_counts(y_true, predicted),
        "cv": cv,
        "baseline_base_rate": ev.score_metrics(y_true, baselines["base_rate"]),
        "baseline_dpd_rule": ev.score_metrics(y_true, baselines["dpd_rule"]),
        "features_n": len(features.columns),
        "features_leaky": int(features.leaky),
        "features_use_age": int("Age" in features.columns),
        "leakage_flagged_columns": int(len(flagged)),
        "leakage_flagged_features_used": int(flagged["column"].isin(features.columns).sum()),
        "leakage_auc": dict(zip(audit["column"], audit["auc"].astype(float))),
        "importance": ev.permutation_importances(model, X_test, y_test, random_state),
    }
    plots = {
        "roc": ev.roc_points(y_true, test_score),
        "precision_recall": ev.precision_recall_points(y_true, test_score),
        "confusion": ev.confusion_rows(y_true, predicted, random_state),
        "calibration": ev.calibration_table(y_true, test_score),
        "lift": ev.lift_table(y_true, test_score),
    }
    return TrainResult(model, metrics, plots)
