"""Recovery strategy tiers from Risk_Score, their metrics, and per-group (fairness) tables."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from .errors import UserError

TIERS = ("high", "medium", "low")
STRATEGIES = {
    "high": "Immediate legal notices & aggressive recovery attempts",
    "medium": "Settlement offers & repayment plans",
    "low": "Automated reminders & monitoring",
}


def check_thresholds(high: float, medium: float) -> None:
    for name, value in (("high", high), ("medium", medium)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UserError(f"strategy.thresholds.{name} must be a number in [0, 1], got {value!r}")
    if not 0.0 <= medium <= high <= 1.0:
        raise UserError(f"strategy.thresholds: need 0 <= medium <= high <= 1, got medium={medium}, high={high}")


def assign_tiers(risk_score: np.ndarray, high: float, medium: float) -> np.ndarray:
    """Seed rule: score > high -> high; medium <= score <= high -> medium; else low."""
    check_thresholds(high, medium)
    score = np.asarray(risk_score, dtype="float64")
    return np.where(score > high, "high", np.where(score >= medium, "medium", "low")).astype(object)


def strategy_names(tier: np.ndarray) -> np.ndarray:
    """The seed's Recovery_Strategy text of each tier."""
    return pd.Series(tier).map(STRATEGIES).to_numpy()


def strategy_metrics(tier: np.ndarray, outstanding: np.ndarray, is_test: np.ndarray) -> dict:
    """Loans and outstanding amount per tier (all loans), and tier counts on the test loans."""
    total_out = float(np.sum(outstanding)) or 1.0
    metrics: dict = {"loans": int(len(tier))}
    for name in TIERS:
        in_tier = tier == name
        metrics[f"tier_{name}"] = {
            "loans": int(in_tier.sum()),
            "loan_share": round(float(in_tier.mean()), 4) if len(tier) else 0.0,
            "outstanding": round(float(outstanding[in_tier].sum()), 2),
            "outstanding_share": round(float(outstanding[in_tier].sum()) / total_out, 4),
            "test_loans": int((in_tier & is_test).sum()),
        }
    return metrics


def score_histogram(risk_score: np.ndarray, tier: np.ndarray, bins: int = 20) -> pd.DataFrame:
    """Loans per score bin and tier, wide (one column per tier) for a DVC plot."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(risk_score, edges[1:-1]), 0, bins - 1)
    table = pd.DataFrame({"score_bin": np.round(edges[:-1] + 0.5 / bins, 3)})
    for name in TIERS:
        table[f"{name}_tier_loans"] = np.bincount(which[tier == name], minlength=bins)
    return table


def age_bands(age: pd.Series, edges: list[int]) -> pd.Series:
    """Bands like '<30', '30-44', '45-59', '60+' from cut points [30, 45, 60]."""
    labels = [f"<{edges[0]}"] + [f"{a}-{b - 1}" for a, b in zip(edges, edges[1:])] + [f"{edges[-1]}+"]
    return pd.cut(age, [-np.inf, *edges, np.inf], right=False, labels=labels).astype(str)


def group_fairness(groups: pd.Series, tier: np.ndarray, risk_score: np.ndarray,
                   outcome: np.ndarray | None) -> dict:
    """Per group: loans, tier shares, mean score, AUC against the outcome; ratios min/max across groups."""
    table = {}
    frame = pd.DataFrame({"group": groups.to_numpy(), "tier": tier, "score": risk_score,
                          "outcome": outcome if outcome is not None else np.nan})
    for name, part in frame.groupby("group", sort=True):
        row = {"loans": int(len(part)), "mean_score": round(float(part["score"].mean()), 4)}
        for t in TIERS:
            row[f"{t}_share"] = round(float((part["tier"] == t).mean()), 4)
        if outcome is not None and part["outcome"].nunique() == 2:
            row["auc"] = round(float(roc_auc_score(part["outcome"], part["score"])), 4)
        table[str(name)] = row
    ratios = {}
    for key in ["high_share", "mean_score", "auc"]:
        values = [row[key] for row in table.values() if key in row]
        if len(values) >= 2:
            # All groups at zero (e.g. nobody in the high tier) is parity: 1.0, so the key never vanishes.
            ratios[f"{key}_ratio_min_max"] = round(min(values) / max(values), 4) if max(values) > 0 else 1.0
    return {"groups": table, **ratios}
