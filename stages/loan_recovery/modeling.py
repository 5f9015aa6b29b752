"""Targets, feature guards, estimator construction and the sklearn Pipeline.

Estimators come only from `_target_` nodes under allowed prefixes, so a config file
cannot import and run arbitrary code.
"""
from __future__ import annotations

import importlib
import inspect

import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .errors import UserError
from .schema import COLLECTION_COLUMNS, ID_COLUMNS, OUTCOME_COLUMNS, PROTECTED_COLUMNS

ALLOWED_ESTIMATOR_PREFIXES = ("sklearn.", "loan_recovery.")
MODEL_META_KEYS = {"name", "_target_", "scale_numeric"}  # model group keys that are not constructor kwargs
TARGETS = ("high_risk_flag", "written_off", "not_fully_recovered")
CALIBRATIONS = ("none", "sigmoid")


def build_target(loans: pd.DataFrame, high_risk_flag: pd.Series | None, target: str) -> pd.Series:
    """0/1 target by name: the seed's segment flag or a real recovery outcome."""
    if target == "high_risk_flag":
        if high_risk_flag is None:
            raise UserError("train.target=high_risk_flag needs the segment assignments")
        return pd.Series(np.asarray(high_risk_flag, dtype=np.int64), index=loans.index, name=target)
    status = loans["Recovery_Status"].astype(str)
    if target == "written_off":
        return (status == "Written Off").astype(np.int64).rename(target)
    if target == "not_fully_recovered":
        return (status != "Fully Recovered").astype(np.int64).rename(target)
    raise UserError(f"train.target must be one of {', '.join(TARGETS)}, got {target!r}")


def check_feature_set(numeric: list[str], categorical: list[str], leaky: bool, columns: list[str]) -> None:
    """Refuse protected, outcome and ID columns always; collection-stage columns unless opted in."""
    chosen = list(numeric) + list(categorical)
    if not chosen:
        raise UserError("features: no columns chosen (features.numeric and features.categorical are empty)")
    for col in chosen:
        if col in PROTECTED_COLUMNS:
            raise UserError(f"features: '{col}' is a protected attribute and never a model input; remove it")
        if col in OUTCOME_COLUMNS or col in ID_COLUMNS:
            raise UserError(f"features: '{col}' is an outcome or identifier column; remove it")
        if col in COLLECTION_COLUMNS and not leaky:
            raise UserError(f"features: '{col}' is recorded during collection (leakage); "
                            f"use features=with_collection (features.leaky=true) to opt in knowingly")
    missing = [c for c in chosen if c not in columns]
    if missing:
        raise UserError(f"features: column(s) {missing} not in the prepared table")
    if len(set(chosen)) != len(chosen):
        raise UserError(f"features: a column is listed twice in {chosen}")


def build_estimator(cfg: dict) -> ClassifierMixin:
    """Instantiate `cfg['_target_']` with the remaining keys, from allowed prefixes only."""
    target = cfg.get("_target_")
    if not isinstance(target, str) or not target.startswith(ALLOWED_ESTIMATOR_PREFIXES):
        raise UserError(f"model._target_ must start with one of {ALLOWED_ESTIMATOR_PREFIXES}, got {target!r}")
    module_name, _, class_name = target.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as err:
        raise UserError(f"model._target_: cannot import {target!r}") from err
    if not (inspect.isclass(cls) and issubclass(cls, ClassifierMixin)):
        raise UserError(f"model._target_: {target!r} is not a scikit-learn classifier class "
                        f"(e.g. sklearn.ensemble.RandomForestClassifier)")
    kwargs = {k: v for k, v in cfg.items() if k not in MODEL_META_KEYS}
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise UserError(f"model: {target} does not accept these params: {err}") from err


def build_pipeline(model_cfg: dict, numeric: list[str], categorical: list[str],
                   calibration: str = "none", random_state: int = 0) -> Pipeline:
    """One Pipeline: column preprocessing, the estimator, optional sigmoid calibration."""
    if calibration not in CALIBRATIONS:
        raise UserError(f"train.calibration must be one of {', '.join(CALIBRATIONS)}, got {calibration!r}")
    transformers = []
    if numeric:
        scale = bool(model_cfg.get("scale_numeric", False))
        transformers.append(("numeric", StandardScaler() if scale else "passthrough", list(numeric)))
    if categorical:
        transformers.append(("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                             list(categorical)))
    estimator = build_estimator(model_cfg)
    if calibration == "sigmoid":
        # Cut-offs 0.75/0.50 read scores as probabilities: calibrate inside the Pipeline.
        folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=random_state)
        estimator = CalibratedClassifierCV(estimator, method="sigmoid", cv=folds)
    return Pipeline([("preprocess", ColumnTransformer(transformers, remainder="drop")),
                     ("classifier", estimator)])


def split_train_test(target: pd.Series, test_size: float, random_state: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split as the seed does it: (train positions, test positions), in the seed's order.

    The order matters: a random forest's bootstrap draws depend on the row order it is fit on.
    """
    if not 0 < test_size < 1:
        raise UserError(f"train.test_size must be between 0 and 1, got {test_size}")
    counts = target.value_counts()
    if len(counts) < 2 or counts.min() < 2:
        raise UserError(f"train: target '{target.name}' needs at least 2 loans of each class, "
                        f"got {counts.to_dict()}")
    positions = np.arange(len(target))
    train_positions, test_positions = train_test_split(positions, test_size=test_size,
                                                       random_state=random_state, stratify=target.to_numpy())
    return train_positions, test_positions



def split_table(loan_ids: pd.Series, target: pd.Series, test_positions: np.ndarray) -> pd.DataFrame:
    """Per loan, in table order: Loan_ID, is_test, target."""
    is_test = np.zeros(len(loan_ids), dtype=bool)
    is_test[test_positions] = True
    return pd.DataFrame({"Loan_ID": loan_ids.to_numpy(), "is_test": is_test, "target": target.to_numpy()})
