"""Unit tests of loan_recovery.strategy: tiers, tier metrics, histogram, age bands, fairness tables."""
import numpy as np
import pandas as pd
import pytest

from loan_recovery.errors import UserError
from loan_recovery.strategy import (STRATEGIES, TIERS, age_bands, assign_tiers, check_thresholds, group_fairness,
                                    score_histogram, strategy_metrics, strategy_names)


# --- assign_tiers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("score,tier", [(0.75, "medium"), (0.7500001, "high"), (0.5, "medium"), (0.4999, "low"),
                                        (1.0, "high"), (0.0, "low"), (0.6, "medium")])
def test_assign_tiers_seed_boundaries(score, tier):
    assert assign_tiers(np.array([score]), high=0.75, medium=0.5).tolist() == [tier]


def test_assign_tiers_vector_and_dtype():
    out = assign_tiers([0.9, 0.75, 0.5, 0.1], high=0.75, medium=0.5)
    assert out.tolist() == ["high", "medium", "medium", "low"]
    assert out.dtype == object
    assert set(STRATEGIES) == set(TIERS)


def test_assign_tiers_equal_thresholds_leave_no_room_for_medium_except_the_cut():
    assert assign_tiers([0.6, 0.5, 0.4], high=0.5, medium=0.5).tolist() == ["high", "medium", "low"]


@pytest.mark.parametrize("high,medium", [(0.5, 0.75), (1.5, 0.5), (0.75, -0.1), (float("nan"), 0.5)])
def test_thresholds_are_validated(high, medium):
    with pytest.raises(UserError, match=r"strategy\.thresholds: need 0 <= medium <= high <= 1, got "
                                        rf"medium={medium}, high={high}"):
        assign_tiers(np.array([0.5]), high=high, medium=medium)
    with pytest.raises(UserError, match=r"strategy\.thresholds"):
        check_thresholds(high, medium)


# --- strategy_metrics / score_histogram -------------------------------------------------------------

def test_strategy_metrics_by_hand():
    tier = np.array(["high", "medium", "low", "low", "high"], dtype=object)
    outstanding = np.array([100.0, 50.0, 25.0, 25.0, 0.0])
    is_test = np.array([True, False, True, True, False])
    m = strategy_metrics(tier, outstanding, is_test)
    assert m["loans"] == 5
    assert m["tier_high"] == {"loans": 2, "loan_share": 0.4, "outstanding": 100.0, "outstanding_share": 0.5,
                              "test_loans": 1}
    assert m["tier_medium"]["test_loans"] == 0 and m["tier_low"]["test_loans"] == 2
    assert m["tier_low"]["outstanding_share"] == 0.25


def test_strategy_metrics_sums():
    rng = np.random.default_rng(0)
    score = rng.random(500)
    tier = assign_tiers(score, 0.75, 0.5)
    outstanding = rng.uniform(1e3, 1e6, 500)
    is_test = rng.random(500) < 0.2
    m = strategy_metrics(tier, outstanding, is_test)
    parts = [m[f"tier_{t}"] for t in TIERS]
    assert sum(p["loans"] for p in parts) == 500
    assert sum(p["loan_share"] for p in parts) == pytest.approx(1.0, abs=2e-4)
    assert sum(p["outstanding_share"] for p in parts) == pytest.approx(1.0, abs=2e-4)
    assert sum(p["outstanding"] for p in parts) == pytest.approx(outstanding.sum(), abs=0.05)
    assert sum(p["test_loans"] for p in parts) == is_test.sum()


def test_strategy_metrics_zero_outstanding_and_empty():
    m = strategy_metrics(np.array(["low"], dtype=object), np.array([0.0]), np.array([False]))
    assert m["tier_low"]["outstanding_share"] == 0.0
    empty = strategy_metrics(np.array([], dtype=object), np.array([]), np.array([], dtype=bool))
    assert empty["loans"] == 0 and empty["tier_high"]["loan_share"] == 0.0


def test_score_histogram_totals_and_bins():
    score = np.array([0.0, 0.049, 0.05, 0.5, 0.76, 1.0])
    tier = assign_tiers(score, 0.75, 0.5)
    hist = score_histogram(score, tier)
    assert list(hist.columns) == ["score_bin", "high_tier_loans", "medium_tier_loans", "low_tier_loans"]
    assert len(hist) == 20
    assert hist["score_bin"].iloc[0] == 0.025 and hist["score_bin"].iloc[-1] == 0.975
    assert hist[["high_tier_loans", "medium_tier_loans", "low_tier_loans"]].to_numpy().sum() == 6
    assert hist["low_tier_loans"].tolist()[:2] == [2, 1]
    assert hist.loc[10, "medium_tier_loans"] == 1  # 0.5 opens bin [0.50, 0.55)
    assert hist.loc[19, "high_tier_loans"] == 1 and hist.loc[15, "high_tier_loans"] == 1  # 1.0 in the last bin


def test_score_histogram_totals_match_tiers():
    rng = np.random.default_rng(3)
    score = rng.random(1000)
    tier = assign_tiers(score, 0.8, 0.3)
    hist = score_histogram(score, tier, bins=10)
    for t in TIERS:
        assert hist[f"{t}_tier_loans"].sum() == int((tier == t).sum())


# --- age_bands / group_fairness ------------------------------------------------------------------

def test_age_bands_labels_and_edges():
    age = pd.Series([18, 29, 30, 44, 45, 59, 60, 99], index=range(10, 18))
    bands = age_bands(age, [30, 45, 60])
    assert bands.tolist() == ["<30", "<30", "30-44", "30-44", "45-59", "45-59", "60+", "60+"]
    assert bands.index.equals(age.index)


def test_age_bands_single_edge():
    assert age_bands(pd.Series([39, 40]), [40]).tolist() == ["<40", "40+"]


def test_group_fairness_by_hand():
    groups = pd.Series(["F", "F", "F", "F", "M", "M", "M", "M"])
    score = np.array([0.9, 0.8, 0.2, 0.1, 0.9, 0.6, 0.55, 0.1])
    tier = assign_tiers(score, 0.75, 0.5)
    outcome = np.array([1, 0, 1, 0, 1, 1, 0, 0])
    result = group_fairness(groups, tier, score, outcome)
    f, m = result["groups"]["F"], result["groups"]["M"]
    assert f == {"loans": 4, "mean_score": 0.5, "high_share": 0.5, "medium_share": 0.0, "low_share": 0.5,
                 "auc": 0.75}  # positives 0.9, 0.2 vs negatives 0.8, 0.1: 3 of 4 pairs
    assert m["high_share"] == 0.25 and m["medium_share"] == 0.5 and m["auc"] == 1.0
    assert m["mean_score"] == round(np.mean([0.9, 0.6, 0.55, 0.1]), 4)
    assert result["high_share_ratio_min_max"] == 0.5
    assert result["mean_score_ratio_min_max"] == round(0.5 / m["mean_score"], 4)
    assert result["auc_ratio_min_max"] == 0.75


def test_group_fairness_without_outcome_or_variation():
    groups = pd.Series(["a", "b", "b"])
    score = np.array([0.1, 0.2, 0.3])
    result = group_fairness(groups, assign_tiers(score, 0.75, 0.5), score, None)
    assert "auc" not in result["groups"]["a"] and "auc_ratio_min_max" not in result
    assert result["high_share_ratio_min_max"] == 1.0  # nobody high in any group: parity, key kept
    assert result["mean_score_ratio_min_max"] == round(0.1 / 0.25, 4)
    single = group_fairness(pd.Series(["a", "a"]), np.array(["high", "low"], dtype=object), np.array([0.9, 0.1]),
                            np.array([1, 0]))
    assert list(single) == ["groups"]  # one group: no ratios


def test_non_numeric_threshold_names_the_key():
    with pytest.raises(UserError, match=r"strategy.thresholds.high must be a number in \[0, 1\], got 'abc'"):
        assign_tiers(np.array([0.5]), "abc", 0.5)


def test_strategy_names_follow_the_seed_text():
    names = strategy_names(np.array(["high", "medium", "low"], dtype=object))
    assert list(names) == [STRATEGIES["high"], STRATEGIES["medium"], STRATEGIES["low"]]
