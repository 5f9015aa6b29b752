"""Unit tests of loan_recovery.scoring: score placement, reference loan, reasons, outcome check."""
import re

import numpy as np
import pandas as pd
import pytest

from loan_recovery.ingest import to_typed_frame
from loan_recovery.modeling import build_pipeline
from loan_recovery.scoring import (MIN_REASON_EFFECT, combine_scores, outcome_check, reason_columns,
                                   reference_values, score_increases)
from loan_recovery.synthetic import generate_portfolio

RF = {"name": "random_forest", "_target_": "sklearn.ensemble.RandomForestClassifier", "n_estimators": 20,
      "random_state": 0, "scale_numeric": False}
NUMERIC = ["Days_Past_Due", "Monthly_Income", "Interest_Rate"]
CATEGORICAL = ["Loan_Type"]
REASON = re.compile(r"^(?P<col>\w+)=(?P<value>[^ ]+) \(\+(?P<effect>\d+\.\d\d)\)$")


@pytest.fixture(scope="module")
def loans() -> pd.DataFrame:
    return to_typed_frame(generate_portfolio(400, seed=1))


@pytest.fixture(scope="module")
def planted(loans):
    """A model whose target is driven only by Days_Past_Due (> 90 days: positive)."""
    features = loans[NUMERIC + CATEGORICAL]
    target = (loans["Days_Past_Due"] > 90).astype(int)
    model = build_pipeline(RF, NUMERIC, CATEGORICAL).fit(features, target)
    return model, features, target


# --- combine_scores / reference_values -----------------------------------------------------------

def test_combine_scores_places_each_score_by_split():
    is_test = np.array([True, True, False, True, False, False])
    out = combine_scores(is_test, np.array([0.1, 0.2, 0.3]), np.array([0.9, 0.8, 0.7]))
    assert out.tolist() == [0.9, 0.8, 0.1, 0.7, 0.2, 0.3]
    assert out.dtype == np.float64


def test_combine_scores_all_train_or_all_test():
    assert combine_scores(np.zeros(2, bool), np.array([0.4, 0.5]), np.array([])).tolist() == [0.4, 0.5]
    assert combine_scores(np.ones(2, bool), np.array([]), np.array([0.6, 0.7])).tolist() == [0.6, 0.7]


def test_combine_scores_refuses_mismatched_lengths():
    with pytest.raises(ValueError):
        combine_scores(np.array([False, True, False, False]), np.array([0.1, 0.2]), np.array([0.9]))


def test_combine_scores_does_not_broadcast_a_single_score():
    with pytest.raises(ValueError):
        combine_scores(np.array([False, True, False]), np.array([0.1]), np.array([0.9]))


def test_reference_values_median_and_mode():
    frame = pd.DataFrame({"x": [1, 2, 3, 10], "kind": pd.Categorical(["b", "a", "b", "a"]),
                          "text": ["u", "v", "v", "w"]})
    ref = reference_values(frame, categorical=["kind", "text"])
    assert ref == {"x": 2.5, "kind": "a", "text": "v"}  # a tie goes to the first in sorted order
    assert type(ref["x"]) is float and type(ref["kind"]) is str


def test_reference_values_from_typed_loans(loans):
    ref = reference_values(loans[NUMERIC + CATEGORICAL], CATEGORICAL)
    assert ref["Loan_Type"] == loans["Loan_Type"].value_counts().idxmax() == "Personal"
    assert ref["Monthly_Income"] == float(loans["Monthly_Income"].median())


# --- score_increases / reason_columns ------------------------------------------------------------

def test_score_increases_shape_and_no_mutation(planted):
    model, features, _ = planted
    before = features.copy()
    ref = reference_values(features, CATEGORICAL)
    effects = score_increases(model, features, ref)
    assert effects.shape == features.shape
    assert list(effects.columns) == list(features.columns)
    assert effects.index.equals(features.index)
    pd.testing.assert_frame_equal(features, before)


def test_score_increases_zero_for_a_loan_at_the_reference(planted):
    model, features, _ = planted
    ref = reference_values(features, CATEGORICAL)
    typical = features.iloc[:1].copy()
    for col in features.columns:
        typical[col] = pd.Series([ref[col]], index=typical.index).astype(features[col].dtype)
    assert np.allclose(score_increases(model, typical, ref).to_numpy(), 0.0)


def test_top_reason_is_the_planted_driver(planted):
    model, features, target = planted
    effects = score_increases(model, features, reference_values(features, CATEGORICAL))
    reasons = reason_columns(effects, features, n_reasons=2)
    assert list(reasons.columns) == ["reason_1", "reason_2"]
    assert reasons.index.equals(features.index)
    risky = target == 1
    assert risky.sum() > 20
    top = reasons.loc[risky, "reason_1"]
    assert top.str.startswith("Days_Past_Due=").mean() > 0.95
    for text, dpd, effect in zip(top, features.loc[risky, "Days_Past_Due"], effects.loc[risky, "Days_Past_Due"]):
        if text.startswith("Days_Past_Due="):
            assert text == f"Days_Past_Due={dpd} (+{effect:.2f})"
            assert REASON.match(text)


def test_reason_columns_format_order_and_threshold():
    features = pd.DataFrame({"A": [1, 2, 3], "B": ["x", "y", "z"], "C": [0.5, 1.5, 2.5]}, index=[7, 8, 9])
    effects = pd.DataFrame({"A": [0.30, 0.004, -0.2], "B": [0.10, 0.0051, -0.1], "C": [0.20, MIN_REASON_EFFECT, 0.0]},
                           index=features.index)
    reasons = reason_columns(effects, features, n_reasons=3)
    assert reasons.loc[7].tolist() == ["A=1 (+0.30)", "C=0.5 (+0.20)", "B=x (+0.10)"]
    # 0.0051 passes; exactly MIN_REASON_EFFECT and below it are not reasons
    assert reasons.loc[8].tolist() == ["B=y (+0.01)", "", ""]
    assert reasons.loc[9].tolist() == ["", "", ""]  # nothing pushes the score up


def test_reason_columns_caps_reasons_at_column_count_and_ties_are_stable():
    features = pd.DataFrame({"A": [1], "B": [2]})
    effects = pd.DataFrame({"A": [0.1], "B": [0.1]})
    reasons = reason_columns(effects, features, n_reasons=5)
    assert list(reasons.columns) == ["reason_1", "reason_2"]
    assert reasons.iloc[0].tolist() == ["A=1 (+0.10)", "B=2 (+0.10)"]


# --- outcome_check --------------------------------------------------------------------------------

def test_outcome_check_keys_and_values():
    status = pd.Series(pd.Categorical(["Fully Recovered", "Written Off", "Partially Recovered", "Fully Recovered"]))
    score = np.array([0.1, 0.9, 0.5, 0.2])
    flag = np.array([0, 1, 0, 1])
    out = outcome_check(score, flag, status)
    assert out == {"risk_score_auc_written_off": 1.0, "segment_flag_auc_written_off": round(2.5 / 3, 4),
                   "risk_score_auc_not_fully_recovered": 1.0, "segment_flag_auc_not_fully_recovered": 0.5}


def test_outcome_check_drops_an_outcome_with_one_class():
    status = pd.Series(["Fully Recovered", "Partially Recovered", "Fully Recovered"])
    out = outcome_check(np.array([0.1, 0.9, 0.3]), np.array([0, 1, 0]), status)
    assert set(out) == {"risk_score_auc_not_fully_recovered", "segment_flag_auc_not_fully_recovered"}
    assert out["risk_score_auc_not_fully_recovered"] == 1.0
