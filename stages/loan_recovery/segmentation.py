"""Borrower segmentation: StandardScaler + KMeans, segment naming, segment metrics.

KMeans ids are arbitrary (they permute with k, seed and data), so two naming modes:
- `seed`: the seed notebook's fixed id -> name map; only meaningful for k=4 on the
  seed's data and settings, and flagged as such in the metrics.
- `profile`: names and the high-risk set come from centroid profiles (see
  `name_segments_by_profile`), independent of KMeans ids and valid for any k.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from .errors import UserError

SEED_SEGMENT_NAMES = {
    0: "Moderate Income, High Loan Burden",
    1: "High Income, Low Default Risk",
    2: "Moderate Income, Medium Risk",
    3: "High Loan, Higher Default Risk",
}
SEED_HIGH_RISK_IDS = {0, 3}
NAMING_MODES = ("seed", "profile")

INCOME_COLUMNS = ["Monthly_Income"]
BURDEN_COLUMNS = ["Loan_Amount", "Outstanding_Loan_Amount", "Monthly_EMI"]
DELINQUENCY_COLUMNS = ["Num_Missed_Payments", "Days_Past_Due"]
LEVEL_CUT = 0.25  # |z| of a centroid below this is "moderate"/"medium"


def fit_segments(frame: pd.DataFrame, features: list[str], k: int, n_init: int,
                 random_state: int) -> tuple[np.ndarray, Pipeline]:
    """Scale the features, fit KMeans; return (cluster id per row, fitted pipeline)."""
    missing = [c for c in features if c not in frame.columns]
    if missing:
        raise UserError(f"segment.features: column(s) {missing} not in the prepared table")
    if not isinstance(k, int) or k < 2:
        raise UserError(f"segment.k must be an integer >= 2, got {k!r}")
    if len(frame) < k:
        raise UserError(f"segment.k={k} needs at least {k} loans, the prepared table has {len(frame)}")
    pipeline = Pipeline([("scale", StandardScaler()),
                         ("kmeans", KMeans(n_clusters=k, n_init=n_init, random_state=random_state))])
    # One thread: KMeans results can depend on the thread count; pin it for byte-identical reruns.
    with threadpool_limits(limits=1):
        labels = pipeline.fit_predict(frame[features].to_numpy(dtype="float64"))
    return labels.astype(np.int64), pipeline


def name_segments_seed(k: int) -> tuple[dict[int, str], set[int]]:
    """The seed's fixed names; refuses any k but 4."""
    if k != 4:
        raise UserError(f"segment.naming=seed names exactly 4 KMeans ids, got segment.k={k}; "
                        f"use -S segment.naming=profile for other k")
    return dict(SEED_SEGMENT_NAMES), set(SEED_HIGH_RISK_IDS)


def centroid_profiles(pipeline: Pipeline, features: list[str]) -> pd.DataFrame:
    """Centroids in standardised units (z), one row per KMeans id."""
    centres = pipeline.named_steps["kmeans"].cluster_centers_
    return pd.DataFrame(centres, columns=features).rename_axis("segment_id")


def _level(z: float, high: str, low: str, middle: str) -> str:
    return high if z > LEVEL_CUT else low if z < -LEVEL_CUT else middle


def name_segments_by_profile(profiles: pd.DataFrame) -> tuple[dict[int, str], set[int]]:
    """Name segments from centroid z-scores; any k, independent of KMeans ids.

    income = z(Monthly_Income); burden = mean z(Loan_Amount, Outstanding, EMI);
    delinquency = mean z(Num_Missed_Payments, Days_Past_Due) (the columns present).
    risk = delinquency + 0.5 * burden - 0.5 * income; the k // 2 riskiest segments
    are high risk (2 of 4, as in the seed). Names: "<income>, <burden>, <delinquency>".
    """
    def mean_z(columns: list[str]) -> pd.Series:
        present = [c for c in columns if c in profiles.columns]
        return profiles[present].mean(axis=1) if present else pd.Series(0.0, index=profiles.index)

    if not any(c in profiles.columns for c in DELINQUENCY_COLUMNS):
        raise UserError(f"segment.naming=profile needs one of {DELINQUENCY_COLUMNS} in segment.features")
    income, burden, delinquency = mean_z(INCOME_COLUMNS), mean_z(BURDEN_COLUMNS), mean_z(DELINQUENCY_COLUMNS)
    risk = delinquency + 0.5 * burden - 0.5 * income
    names = {}
    for seg in profiles.index:
        names[int(seg)] = ", ".join([
            _level(income[seg], "High Income", "Low Income", "Moderate Income"),
            _level(burden[seg], "High Loan Burden", "Low Loan Burden", "Medium Loan Burden"),
            _level(delinquency[seg], "High Delinquency", "Low Delinquency", "Medium Delinquency"),
        ])
    # Rank by risk (ties: by the profile values themselves, never by id).
    order = sorted(profiles.index, key=lambda s: (-risk[s], -delinquency[s], -burden[s], income[s]))
    high_risk = {int(s) for s in order[: max(1, len(order) // 2)]}
    return _disambiguate(names, order), high_risk


def _disambiguate(names: dict[int, str], risk_order: list) -> dict[int, str]:
    """Equal names get a risk-rank suffix, so every segment name is unique."""
    counts = pd.Series(names).value_counts()
    return {seg: (f"{name} (risk rank {risk_order.index(seg) + 1})" if counts[name] > 1 else name)
            for seg, name in names.items()}


def assign_segments(loan_ids: pd.Series, labels: np.ndarray, names: dict[int, str],
                    high_risk: set[int]) -> pd.DataFrame:
    """One row per loan: Loan_ID, segment_id, segment, High_Risk_Flag."""
    return pd.DataFrame({
        "Loan_ID": loan_ids.to_numpy(),
        "segment_id": labels,
        "segment": pd.Series(labels).map(names).to_numpy(),
        "High_Risk_Flag": np.isin(labels, sorted(high_risk)).astype(np.int64),
    })


def segment_metrics(scaled: np.ndarray, labels: np.ndarray, inertia: float, assignments: pd.DataFrame,
                    recovery_status: pd.Series, silhouette_sample: int, random_state: int) -> dict:
    """Inertia, silhouette (on a fixed sample when large), sizes and outcome mix per segment."""
    sample = min(len(labels), silhouette_sample)
    silhouette = silhouette_score(scaled, labels, sample_size=sample if sample < len(labels) else None,
                                  random_state=random_state)
    per_segment = {}
    status = pd.Series(recovery_status.to_numpy(), index=assignments.index).astype(str)
    for seg_id, group in assignments.groupby("segment_id", sort=True):
        mix = status.loc[group.index].value_counts(normalize=True)
        per_segment[str(group["segment"].iloc[0])] = {
            "loans": int(len(group)),
            "share": round(len(group) / len(assignments), 4),
            "high_risk": int(group["High_Risk_Flag"].iloc[0]),
            "fully_recovered_share": round(float(mix.get("Fully Recovered", 0.0)), 4),
            "partially_recovered_share": round(float(mix.get("Partially Recovered", 0.0)), 4),
            "written_off_share": round(float(mix.get("Written Off", 0.0)), 4),
        }
    return {
        "inertia": round(float(inertia), 4),
        "silhouette": round(float(silhouette), 4),
        "high_risk_loans": int(assignments["High_Risk_Flag"].sum()),
        "high_risk_share": round(float(assignments["High_Risk_Flag"].mean()), 4),
        "segments": per_segment,
    }
