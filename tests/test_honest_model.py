"""Issue-level checks of the honest model on the real file (skipped where it is absent):
a planted outcome-encoding column is flagged, outcome targets train with baselines beside them."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loan_recovery.ingest import prepare_loans, read_raw_table
from loan_recovery.modeling import build_pipeline, build_target, check_feature_set, split_train_test
from loan_recovery.training import FeatureSet, audit_columns, train_model

PRE_COLLECTION = FeatureSet("pre_collection",
                            ["Monthly_Income", "Num_Dependents", "Loan_Amount", "Loan_Tenure", "Interest_Rate",
                             "Collateral_Value", "Outstanding_Loan_Amount", "Monthly_EMI",
                             "Num_Missed_Payments", "Days_Past_Due"],
                            ["Employment_Type", "Loan_Type", "Payment_History"], leaky=False)
FOREST = {"name": "random_forest", "_target_": "sklearn.ensemble.RandomForestClassifier",
          "n_estimators": 50, "random_state": 42, "n_jobs": 1}


@pytest.fixture(scope="module")
def real_with_planted_column(real_data_path, tmp_path_factory) -> pd.DataFrame:
    """The real file plus an extra column a careless export might carry: days since write-off."""
    frame = pd.read_csv(real_data_path)
    rng = np.random.default_rng(0)
    written_off = frame["Recovery_Status"] == "Written Off"
    frame["Days_Since_Writeoff"] = np.where(written_off, rng.integers(1, 400, len(frame)), 0)
    path = tmp_path_factory.mktemp("planted") / "loans.csv"
    frame.to_csv(path, index=False)
    kept, rejects, metrics = prepare_loans(read_raw_table(path))
    assert metrics["columns_extra"] == 1 and len(rejects) == 0
    return kept


def _train(loans: pd.DataFrame, target_name: str, features: FeatureSet):
    check_feature_set(features.numeric, features.categorical, features.leaky, list(loans.columns))
    target = build_target(loans, None, target_name)
    train_pos, test_pos = split_train_test(target, 0.2, 42)
    pipeline = build_pipeline(FOREST, features.numeric, features.categorical)
    return train_model(pipeline, loans, target, train_pos, test_pos, features, cv_folds=5, cv_repeats=1,
                       leakage_threshold=0.7, random_state=42)


def test_planted_outcome_column_is_audited_and_flagged(real_with_planted_column):
    result = _train(real_with_planted_column, "written_off", PRE_COLLECTION)
    auc = result.metrics["leakage_auc"]
    assert "Days_Since_Writeoff" in auc and auc["Days_Since_Writeoff"] >= 0.99
    assert result.metrics["leakage_flagged_columns"] >= 1
    assert result.metrics["leakage_flagged_features_used"] == 0  # not a feature: flagged, not used


def test_outcome_target_reports_weak_signal_beside_baselines(real_with_planted_column):
    metrics = _train(real_with_planted_column, "written_off", PRE_COLLECTION).metrics
    assert metrics["features_leaky"] == 0 and metrics["features_use_age"] == 0
    assert metrics["baseline_base_rate"]["roc_auc"] == 0.5
    assert "roc_auc" in metrics["baseline_dpd_rule"]
    # Honest figure on the real file: before-collection columns carry almost no signal.
    assert metrics["cv"]["roc_auc_mean"] < 0.65
    assert metrics["cv"]["folds"] == 5


def test_collection_columns_only_when_opted_in_and_then_labelled(real_with_planted_column):
    leaky = FeatureSet("with_collection", PRE_COLLECTION.numeric + ["Collection_Attempts"],
                       PRE_COLLECTION.categorical + ["Collection_Method", "Legal_Action_Taken"], leaky=True)
    metrics = _train(real_with_planted_column, "not_fully_recovered", leaky).metrics
    assert metrics["features_leaky"] == 1
    assert metrics["cv"]["roc_auc_mean"] > 0.7  # the leak shows as skill
    assert metrics["leakage_auc"]["Collection_Attempts"] >= 0.7


def test_audit_never_looks_at_ids_or_the_target_source(real_with_planted_column):
    columns = audit_columns(real_with_planted_column, "written_off")
    assert "Loan_ID" not in columns and "Recovery_Status" not in columns
    assert "Gender" in columns  # audited (proxy check) even though never a feature
