"""Risk scores for every loan, per-loan reasons, and the check of scores against real outcomes."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline

from .evaluation import positive_scores

MIN_REASON_EFFECT = 0.005  # score increases below this are not reasons


def combine_scores(is_test: np.ndarray, out_of_fold: np.ndarray, held_out: np.ndarray) -> np.ndarray:
    """Training loans keep their out-of-fold score; test loans the score of the model fit without them."""
    if len(out_of_fold) != int((~is_test).sum()) or len(held_out) != int(is_test.sum()):
        raise ValueError(f"score counts do not match the split: {len(out_of_fold)} out-of-fold for "
                         f"{int((~is_test).sum())} training loans, {len(held_out)} for {int(is_test.sum())} test loans")
    scores = np.empty(len(is_test), dtype="float64")
    scores[~is_test] = out_of_fold
    scores[is_test] = held_out
    return scores


def reference_values(train_features: pd.DataFrame, categorical: list[str]) -> dict:
    """A typical loan: median of numeric columns, most frequent category (from training loans)."""
    reference = {}
    for col in train_features.columns:
        if col in categorical:
            reference[col] = train_features[col].astype(str).value_counts().sort_index().idxmax()
        else:
            reference[col] = float(train_features[col].median())
    return reference


def score_increases(model: Pipeline, features: pd.DataFrame, reference: dict) -> pd.DataFrame:
    """How much each column's own value raises the score above a typical value (loans x columns)."""
    base = positive_scores(model, features)
    effects = {}
    for col in features.columns:
        swapped = features.copy()
        swapped[col] = pd.Series(reference[col], index=features.index).astype(features[col].dtype)
        effects[col] = base - positive_scores(model, swapped)
    return pd.DataFrame(effects, index=features.index)


def reason_columns(effects: pd.DataFrame, features: pd.DataFrame, n_reasons: int) -> pd.DataFrame:
    """Top `n_reasons` columns pushing each loan's score up, as 'Column=value (+0.12)'."""
    values = effects.to_numpy()
    order = np.argsort(-values, axis=1, kind="stable")
    rows = np.arange(len(values))
    reasons = {}
    for rank in range(min(n_reasons, values.shape[1])):
        column_idx = order[:, rank]
        effect = values[rows, column_idx]
        text = pd.Series("", index=features.index, dtype=object)
        for j, col in enumerate(effects.columns):
            hit = (column_idx == j) & (effect > MIN_REASON_EFFECT)
            if hit.any():
                shown = features.loc[hit, col].astype(str)
                text[hit] = col + "=" + shown + " (+" + pd.Series(effect[hit], index=shown.index).map("{:.2f}".format) + ")"
        reasons[f"reason_{rank + 1}"] = text.to_numpy()
    return pd.DataFrame(reasons, index=features.index)


def explain_scores(model: Pipeline, features: pd.DataFrame, reference: dict, n_reasons: int) -> pd.DataFrame:
    """reason_1..n for every loan, positionally indexed so it concatenates beside any output frame."""
    return reason_columns(score_increases(model, features, reference), features, n_reasons).reset_index(drop=True)


def _auc(outcome: np.ndarray, score: np.ndarray) -> float | None:
    return round(float(roc_auc_score(outcome, score)), 4) if len(np.unique(outcome)) == 2 else None


def outcome_check(risk_score: np.ndarray, high_risk_flag: np.ndarray, recovery_status: pd.Series) -> dict:
    """How well the model's score and the seed's segment flag rank real outcomes (AUC, 0.5 = none)."""
    status = recovery_status.astype(str).to_numpy()
    outcomes = {"written_off": (status == "Written Off").astype(int),
                "not_fully_recovered": (status != "Fully Recovered").astype(int)}
    result = {}
    for name, outcome in outcomes.items():
        result[f"risk_score_auc_{name}"] = _auc(outcome, risk_score)
        result[f"segment_flag_auc_{name}"] = _auc(outcome, high_risk_flag)
    return {k: v for k, v in result.items() if v is not None}
