"""Unit tests of loan_recovery.segmentation on a small synthetic portfolio and hand-made profiles."""
import numpy as np
import pandas as pd
import pytest

from loan_recovery.errors import UserError
from loan_recovery.ingest import to_typed_frame
from loan_recovery.segmentation import (SEED_HIGH_RISK_IDS, SEED_SEGMENT_NAMES, assign_segments,
                                        centroid_profiles, fit_segments, name_segments_by_profile,
                                        name_segments_seed, segment_metrics)
from loan_recovery.synthetic import generate_portfolio

FEATURES = ["Age", "Monthly_Income", "Loan_Amount", "Loan_Tenure", "Interest_Rate", "Collateral_Value",
            "Outstanding_Loan_Amount", "Monthly_EMI", "Num_Missed_Payments", "Days_Past_Due"]
PROFILE_COLUMNS = ["Monthly_Income", "Loan_Amount", "Outstanding_Loan_Amount", "Monthly_EMI",
                   "Num_Missed_Payments", "Days_Past_Due"]


@pytest.fixture(scope="module")
def loans() -> pd.DataFrame:
    return to_typed_frame(generate_portfolio(400, seed=1))


@pytest.fixture(scope="module")
def fitted(loans):
    labels, pipeline = fit_segments(loans, FEATURES, k=4, n_init=3, random_state=0)
    return labels, pipeline


def _profiles(k: int, seed: int) -> pd.DataFrame:
    """k well-separated centroid profiles in z units, ids 0..k-1."""
    rng = np.random.default_rng(seed)
    values = rng.normal(0.0, 1.0, size=(k, len(PROFILE_COLUMNS)))
    return pd.DataFrame(values, columns=PROFILE_COLUMNS).rename_axis("segment_id")


# --- fit_segments -----------------------------------------------------------------------------

def test_fit_segments_returns_one_label_per_row_and_k_clusters(loans, fitted):
    labels, pipeline = fitted
    assert labels.shape == (len(loans),)
    assert labels.dtype == np.int64
    assert set(np.unique(labels)) == {0, 1, 2, 3}
    assert pipeline.named_steps["kmeans"].cluster_centers_.shape == (4, len(FEATURES))


def test_fit_segments_is_deterministic(loans, fitted):
    again, _ = fit_segments(loans, FEATURES, k=4, n_init=3, random_state=0)
    np.testing.assert_array_equal(fitted[0], again)


def test_fit_segments_does_not_mutate_input(loans):
    before = loans.copy()
    fit_segments(loans, FEATURES, k=3, n_init=1, random_state=0)
    pd.testing.assert_frame_equal(loans, before)


def test_fit_segments_refuses_k_larger_than_rows(loans):
    with pytest.raises(UserError, match=r"segment\.k=6 needs at least 6 loans, the prepared table has 5"):
        fit_segments(loans.head(5), FEATURES, k=6, n_init=1, random_state=0)


@pytest.mark.parametrize("k", [1, 0, 2.5, "4"])
def test_fit_segments_refuses_bad_k(loans, k):
    with pytest.raises(UserError, match=r"segment\.k must be an integer >= 2, got"):
        fit_segments(loans, FEATURES, k=k, n_init=1, random_state=0)


def test_fit_segments_names_missing_columns(loans):
    with pytest.raises(UserError, match=r"segment\.features: column\(s\) \['Credit_Score'\] not in the prepared table"):
        fit_segments(loans, FEATURES + ["Credit_Score"], k=4, n_init=1, random_state=0)


# --- seed naming --------------------------------------------------------------------------------

def test_name_segments_seed_k4_is_the_seed_map():
    names, high_risk = name_segments_seed(4)
    assert names == SEED_SEGMENT_NAMES
    assert names[0] == "Moderate Income, High Loan Burden"
    assert names[3] == "High Loan, Higher Default Risk"
    assert high_risk == {0, 3} == SEED_HIGH_RISK_IDS
    names[0] = "changed"
    high_risk.add(1)
    assert name_segments_seed(4) == (SEED_SEGMENT_NAMES, {0, 3})  # returned copies, module constants intact


@pytest.mark.parametrize("k", [3, 5])
def test_name_segments_seed_refuses_other_k_and_points_to_profile(k):
    with pytest.raises(UserError, match=rf"got segment\.k={k}; use -S segment\.naming=profile"):
        name_segments_seed(k)


# --- profile naming -----------------------------------------------------------------------------

@pytest.mark.parametrize("k", [3, 4, 5, 6])
def test_name_segments_by_profile_any_k(k):
    names, high_risk = name_segments_by_profile(_profiles(k, seed=k))
    assert sorted(names) == list(range(k))
    assert len(set(names.values())) == k
    assert len(high_risk) == k // 2
    assert high_risk <= set(range(k))


@pytest.mark.parametrize("k", [3, 5, 6])
def test_name_segments_by_profile_on_fitted_kmeans(loans, k):
    _, pipeline = fit_segments(loans, FEATURES, k=k, n_init=2, random_state=0)
    names, high_risk = name_segments_by_profile(centroid_profiles(pipeline, FEATURES))
    assert sorted(names) == list(range(k))
    assert len(set(names.values())) == k
    assert len(high_risk) == k // 2


def test_name_segments_by_profile_names_levels_from_z():
    profiles = pd.DataFrame({
        "Monthly_Income": [1.0, -1.0, 0.0],
        "Loan_Amount": [-1.0, 1.0, 0.1], "Outstanding_Loan_Amount": [-1.0, 1.0, 0.0], "Monthly_EMI": [-1.0, 1.0, -0.1],
        "Num_Missed_Payments": [-1.0, 1.0, 0.2], "Days_Past_Due": [-1.0, 1.0, 0.0],
    }).rename_axis("segment_id")
    names, high_risk = name_segments_by_profile(profiles)
    assert names == {0: "High Income, Low Loan Burden, Low Delinquency",
                     1: "Low Income, High Loan Burden, High Delinquency",
                     2: "Moderate Income, Medium Loan Burden, Medium Delinquency"}
    assert high_risk == {1}


def test_name_segments_by_profile_disambiguates_equal_names_by_risk_rank():
    profiles = pd.DataFrame({"Monthly_Income": [0.0, 0.0, 2.0, -2.0], "Days_Past_Due": [0.1, 0.2, -2.0, 2.0]})
    names, high_risk = name_segments_by_profile(profiles)
    # ids 0 and 1 are both "Moderate Income, Medium Loan Burden, Medium Delinquency"; 3 > 1 > 0 > 2 by risk
    assert names[1] == "Moderate Income, Medium Loan Burden, Medium Delinquency (risk rank 2)"
    assert names[0] == "Moderate Income, Medium Loan Burden, Medium Delinquency (risk rank 3)"
    assert high_risk == {3, 1}


def test_name_segments_by_profile_needs_a_delinquency_column():
    profiles = pd.DataFrame({"Monthly_Income": [1.0, -1.0], "Loan_Amount": [0.0, 1.0]})
    with pytest.raises(UserError, match=r"segment\.naming=profile needs one of "
                                        r"\['Num_Missed_Payments', 'Days_Past_Due'\]"):
        name_segments_by_profile(profiles)


@pytest.mark.parametrize("k", [3, 4, 5, 6])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_name_segments_by_profile_follows_profiles_not_ids(k, seed):
    profiles = _profiles(k, seed=100 * k + seed)
    names, high_risk = name_segments_by_profile(profiles)
    perm = np.random.default_rng(seed).permutation(k)
    # New id i carries the profile old id perm[i] had: as if KMeans had numbered its clusters differently.
    permuted = pd.DataFrame(profiles.to_numpy()[perm], columns=profiles.columns).rename_axis("segment_id")
    new_names, new_high_risk = name_segments_by_profile(permuted)
    assert new_names == {i: names[int(perm[i])] for i in range(k)}
    assert new_high_risk == {i for i in range(k) if int(perm[i]) in high_risk}


def test_name_segments_by_profile_shuffled_index_rows_are_the_same_mapping():
    profiles = _profiles(5, seed=7)
    names, high_risk = name_segments_by_profile(profiles)
    shuffled = profiles.iloc[[3, 0, 4, 2, 1]]  # same ids, different row order
    assert name_segments_by_profile(shuffled) == (names, high_risk)


# --- assign_segments / segment_metrics ----------------------------------------------------------

def test_assign_segments_columns_and_flag():
    ids = pd.Series(["LN_1", "LN_2", "LN_3", "LN_4"], index=[10, 11, 12, 13])
    labels = np.array([0, 3, 1, 3])
    out = assign_segments(ids, labels, {0: "a", 1: "b", 3: "d"}, {3})
    assert list(out.columns) == ["Loan_ID", "segment_id", "segment", "High_Risk_Flag"]
    assert list(out["Loan_ID"]) == ["LN_1", "LN_2", "LN_3", "LN_4"]
    assert list(out["segment"]) == ["a", "d", "b", "d"]
    assert list(out["High_Risk_Flag"]) == [0, 1, 0, 1]
    assert out["High_Risk_Flag"].dtype == np.int64


def test_segment_metrics_sizes_and_shares(loans, fitted):
    labels, pipeline = fitted
    names, high_risk = name_segments_seed(4)
    assignments = assign_segments(loans["Loan_ID"], labels, names, high_risk)
    scaled = pipeline.named_steps["scale"].transform(loans[FEATURES].to_numpy(dtype="float64"))
    metrics = segment_metrics(scaled, labels, pipeline.named_steps["kmeans"].inertia_, assignments,
                              loans["Recovery_Status"], silhouette_sample=10_000, random_state=0)
    segments = metrics["segments"]
    assert set(segments) == set(SEED_SEGMENT_NAMES.values())
    assert sum(s["loans"] for s in segments.values()) == len(loans)
    assert sum(s["share"] for s in segments.values()) == pytest.approx(1.0, abs=1e-3)
    for s in segments.values():
        total = s["fully_recovered_share"] + s["partially_recovered_share"] + s["written_off_share"]
        assert total == pytest.approx(1.0, abs=2e-4)
    assert metrics["high_risk_loans"] == int(np.isin(labels, [0, 3]).sum())
    assert metrics["high_risk_share"] == pytest.approx(metrics["high_risk_loans"] / len(loans), abs=1e-4)
    assert segments[SEED_SEGMENT_NAMES[0]]["high_risk"] == 1
    assert segments[SEED_SEGMENT_NAMES[1]]["high_risk"] == 0
    assert metrics["inertia"] == pytest.approx(pipeline.named_steps["kmeans"].inertia_, abs=1e-3)
    assert -1.0 <= metrics["silhouette"] <= 1.0


def test_segment_metrics_outcome_shares_by_hand():
    assignments = assign_segments(pd.Series(["a", "b", "c", "d"]), np.array([0, 0, 1, 1]), {0: "x", 1: "y"}, {1})
    scaled = np.array([[0.0], [0.1], [5.0], [5.1]])
    status = pd.Series(["Fully Recovered", "Written Off", "Partially Recovered", "Partially Recovered"],
                       index=[7, 8, 9, 10])  # an index unrelated to the assignments'
    metrics = segment_metrics(scaled, np.array([0, 0, 1, 1]), 1.0, assignments, status, 10, 0)
    assert metrics["segments"]["x"] == {"loans": 2, "share": 0.5, "high_risk": 0, "fully_recovered_share": 0.5,
                                        "partially_recovered_share": 0.0, "written_off_share": 0.5}
    assert metrics["segments"]["y"]["partially_recovered_share"] == 1.0
    assert metrics["high_risk_loans"] == 2


def test_segment_metrics_silhouette_on_a_fixed_sample(loans, fitted):
    labels, pipeline = fitted
    assignments = assign_segments(loans["Loan_ID"], labels, *name_segments_seed(4))
    scaled = pipeline.named_steps["scale"].transform(loans[FEATURES].to_numpy(dtype="float64"))
    args = (scaled, labels, 1.0, assignments, loans["Recovery_Status"])
    full = segment_metrics(*args, silhouette_sample=10_000, random_state=0)["silhouette"]
    sample_a = segment_metrics(*args, silhouette_sample=150, random_state=0)["silhouette"]
    sample_b = segment_metrics(*args, silhouette_sample=150, random_state=0)["silhouette"]
    assert sample_a == sample_b  # a fixed sample: reproducible
    assert sample_a != full      # and really a sample of 150, not all 400 loans
    assert abs(sample_a - full) < 0.1
