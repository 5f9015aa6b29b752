"""Unit tests of loan_recovery.modeling (targets, feature guards, estimators, pipelines, splits)
and of loan_recovery.training.train_model, on a small synthetic portfolio."""
import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from loan_recovery.errors import UserError
from loan_recovery.ingest import to_typed_frame
from loan_recovery.modeling import (build_estimator, build_pipeline, build_target, check_feature_set,
                                    split_table, split_train_test)
from loan_recovery.synthetic import generate_portfolio
from loan_recovery.training import FeatureSet, TrainResult, audit_columns, train_model

RF = {"name": "random_forest", "_target_": "sklearn.ensemble.RandomForestClassifier", "n_estimators": 20,
      "random_state": 0, "scale_numeric": False}
LOGIT = {"name": "logistic_regression", "_target_": "sklearn.linear_model.LogisticRegression", "C": 1.0,
         "max_iter": 500, "random_state": 0, "scale_numeric": True}
NUMERIC = ["Monthly_Income", "Loan_Amount", "Outstanding_Loan_Amount", "Monthly_EMI", "Num_Missed_Payments",
           "Days_Past_Due"]
CATEGORICAL = ["Loan_Type", "Payment_History"]


@pytest.fixture(scope="module")
def loans() -> pd.DataFrame:
    return to_typed_frame(generate_portfolio(400, seed=1))


@pytest.fixture(scope="module")
def target(loans) -> pd.Series:
    return build_target(loans, None, "not_fully_recovered")


# --- build_target -------------------------------------------------------------------------------

def test_build_target_outcomes_by_hand():
    loans = pd.DataFrame({"Recovery_Status": pd.Categorical(
        ["Fully Recovered", "Partially Recovered", "Written Off", "Fully Recovered"])}, index=[5, 6, 7, 8])
    written_off = build_target(loans, None, "written_off")
    not_full = build_target(loans, None, "not_fully_recovered")
    assert list(written_off) == [0, 0, 1, 0]
    assert list(not_full) == [0, 1, 1, 0]
    for series, name in [(written_off, "written_off"), (not_full, "not_fully_recovered")]:
        assert series.name == name
        assert series.dtype == np.int64
        assert list(series.index) == [5, 6, 7, 8]


def test_build_target_high_risk_flag_takes_the_segment_flag():
    loans = pd.DataFrame({"Recovery_Status": ["Fully Recovered"] * 3}, index=[3, 4, 5])
    out = build_target(loans, pd.Series([1, 0, 1], index=[0, 1, 2]), "high_risk_flag")
    assert list(out) == [1, 0, 1]
    assert list(out.index) == [3, 4, 5]  # positional, re-indexed like the loans
    assert out.name == "high_risk_flag"
    assert out.dtype == np.int64


def test_build_target_high_risk_flag_needs_assignments():
    loans = pd.DataFrame({"Recovery_Status": ["Fully Recovered"]})
    with pytest.raises(UserError, match=r"train\.target=high_risk_flag needs the segment assignments"):
        build_target(loans, None, "high_risk_flag")


def test_build_target_unknown():
    loans = pd.DataFrame({"Recovery_Status": ["Fully Recovered"]})
    with pytest.raises(UserError, match=r"train\.target must be one of high_risk_flag, written_off, "
                                        r"not_fully_recovered, got 'default'"):
        build_target(loans, None, "default")


# --- check_feature_set --------------------------------------------------------------------------

COLUMNS = ["Gender", "Recovery_Status", "Loan_ID", "Borrower_ID", "Collection_Attempts", "Collection_Method",
           "Legal_Action_Taken", "Age", "Monthly_Income", "Loan_Type"]


def test_check_feature_set_accepts_a_clean_set():
    check_feature_set(["Age", "Monthly_Income"], ["Loan_Type"], leaky=False, columns=COLUMNS)


@pytest.mark.parametrize("leaky", [False, True])
def test_check_feature_set_refuses_gender_always(leaky):
    with pytest.raises(UserError, match=r"'Gender' is a protected attribute and never a model input"):
        check_feature_set(["Age"], ["Gender"], leaky=leaky, columns=COLUMNS)


@pytest.mark.parametrize("column", ["Recovery_Status", "Loan_ID", "Borrower_ID"])
@pytest.mark.parametrize("leaky", [False, True])
def test_check_feature_set_refuses_outcome_and_ids(column, leaky):
    with pytest.raises(UserError, match=rf"'{column}' is an outcome or identifier column; remove it"):
        check_feature_set(["Age"], [column], leaky=leaky, columns=COLUMNS)


@pytest.mark.parametrize("numeric,categorical", [(["Collection_Attempts"], []), ([], ["Collection_Method"]),
                                                 ([], ["Legal_Action_Taken"])])
def test_check_feature_set_collection_columns_only_when_leaky(numeric, categorical):
    column = (numeric + categorical)[0]
    with pytest.raises(UserError, match=rf"'{column}' is recorded during collection \(leakage\); "
                                        r"use features=with_collection"):
        check_feature_set(["Age"] + numeric, categorical, leaky=False, columns=COLUMNS)
    check_feature_set(["Age"] + numeric, categorical, leaky=True, columns=COLUMNS)


def test_check_feature_set_missing_columns():
    with pytest.raises(UserError, match=r"features: column\(s\) \['Credit_Score'\] not in the prepared table"):
        check_feature_set(["Age", "Credit_Score"], [], leaky=False, columns=COLUMNS)


def test_check_feature_set_empty_and_duplicates():
    with pytest.raises(UserError, match=r"features: no columns chosen"):
        check_feature_set([], [], leaky=False, columns=COLUMNS)
    with pytest.raises(UserError, match=r"features: a column is listed twice"):
        check_feature_set(["Age", "Age"], [], leaky=False, columns=COLUMNS)


# --- build_estimator ----------------------------------------------------------------------------

def test_build_estimator_passes_kwargs_but_not_meta_keys():
    est = build_estimator(RF)
    assert isinstance(est, RandomForestClassifier)
    assert est.n_estimators == 20 and est.random_state == 0


@pytest.mark.parametrize("target", ["os.system", "subprocess.run", "builtins.eval", "sklearnx.Evil", None, 42])
def test_build_estimator_refuses_targets_outside_the_allow_list(target):
    with pytest.raises(UserError, match=r"model\._target_ must start with one of \('sklearn\.', 'loan_recovery\.'\)"):
        build_estimator({"_target_": target, "command": "echo pwned"})


def test_build_estimator_unimportable_target():
    with pytest.raises(UserError, match=r"model\._target_: cannot import 'sklearn\.ensemble\.NoSuchForest'"):
        build_estimator({"_target_": "sklearn.ensemble.NoSuchForest"})


def test_build_estimator_bad_kwargs():
    with pytest.raises(UserError, match=r"model: sklearn\.ensemble\.RandomForestClassifier does not accept "
                                        r"these params: .*n_trees"):
        build_estimator(RF | {"n_trees": 3})


def test_build_estimator_refuses_callables_that_are_not_estimator_classes(tmp_path):
    made = tmp_path / "made_by_config"
    with pytest.raises(UserError, match=r"model\._target_"):
        build_estimator({"_target_": "sklearn.datasets.get_data_home", "data_home": str(made)})
    assert not made.exists()


def test_build_estimator_refuses_non_classifiers():
    with pytest.raises(UserError, match=r"model\._target_"):
        build_estimator({"_target_": "sklearn.linear_model.LinearRegression"})


# --- build_pipeline -----------------------------------------------------------------------------

def test_build_pipeline_scaling_follows_scale_numeric():
    scaled = build_pipeline(LOGIT, NUMERIC, CATEGORICAL)
    plain = build_pipeline(RF, NUMERIC, [])
    assert isinstance(scaled.named_steps["preprocess"].transformers[0][1], StandardScaler)
    assert plain.named_steps["preprocess"].transformers[0][1] == "passthrough"
    assert [name for name, _, _ in plain.named_steps["preprocess"].transformers] == ["numeric"]
    assert isinstance(scaled.named_steps["classifier"], LogisticRegression)


def test_build_pipeline_unknown_calibration():
    with pytest.raises(UserError, match=r"train\.calibration must be one of none, sigmoid, got 'isotonic'"):
        build_pipeline(RF, NUMERIC, [], calibration="isotonic")


def test_build_pipeline_ignores_unseen_categories_at_predict_time(loans, target):
    train = loans["Loan_Type"] != "Business"
    pipeline = build_pipeline(RF, NUMERIC, CATEGORICAL).fit(loans.loc[train, NUMERIC + CATEGORICAL], target[train])
    unseen = loans.loc[~train, NUMERIC + CATEGORICAL]
    assert len(unseen) > 0
    proba = pipeline.predict_proba(unseen)[:, 1]
    assert np.all((proba >= 0) & (proba <= 1))
    # A string value never seen at all (not even a declared category) is ignored too.
    text = loans[NUMERIC + CATEGORICAL].astype({c: "str" for c in CATEGORICAL})
    fitted = build_pipeline(LOGIT, NUMERIC, CATEGORICAL).fit(text, target)
    text.loc[text.index[:3], "Loan_Type"] = "Crypto"
    assert fitted.predict_proba(text).shape == (len(text), 2)


def test_build_pipeline_sigmoid_calibration(loans, target):
    pipeline = build_pipeline(RF, NUMERIC, CATEGORICAL, calibration="sigmoid", random_state=3)
    classifier = pipeline.named_steps["classifier"]
    assert isinstance(classifier, CalibratedClassifierCV)
    assert classifier.method == "sigmoid"
    assert classifier.cv.random_state == 3 and classifier.cv.n_splits == 3
    proba = pipeline.fit(loans[NUMERIC + CATEGORICAL], target).predict_proba(loans[NUMERIC + CATEGORICAL])[:, 1]
    assert np.all((proba > 0) & (proba < 1))
    assert len(pipeline.named_steps["classifier"].calibrated_classifiers_) == 3


# --- split_train_test / split_table ---------------------------------------------------------------

def test_split_train_test_sizes_and_stratification(target):
    train, test = split_train_test(target, test_size=0.2, random_state=42)
    assert len(test) == 80 and len(train) == 320
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(len(target)))
    assert target.iloc[test].mean() == pytest.approx(target.mean(), abs=1 / len(test))


def test_split_train_test_matches_sklearn_in_order(target):
    train, test = split_train_test(target, test_size=0.25, random_state=7)
    ref_train, ref_test = train_test_split(np.arange(len(target)), test_size=0.25, random_state=7,
                                           stratify=target.to_numpy())
    np.testing.assert_array_equal(train, ref_train)  # same positions, same order (bootstrap depends on it)
    np.testing.assert_array_equal(test, ref_test)
    assert not np.array_equal(train, np.sort(train))


@pytest.mark.parametrize("size", [0, 1, 1.5, -0.1])
def test_split_train_test_bad_size(target, size):
    with pytest.raises(UserError, match=rf"train\.test_size must be between 0 and 1, got {size}"):
        split_train_test(target, test_size=size, random_state=0)


@pytest.mark.parametrize("values", [[0, 0, 0, 0], [0, 0, 0, 1]])
def test_split_train_test_needs_two_of_each_class(values):
    with pytest.raises(UserError, match=r"train: target 'written_off' needs at least 2 loans of each class"):
        split_train_test(pd.Series(values, name="written_off"), test_size=0.5, random_state=0)


def test_split_table():
    table = split_table(pd.Series(["a", "b", "c", "d"], index=[9, 8, 7, 6]), pd.Series([1, 0, 1, 0]),
                        np.array([2, 0]))
    assert list(table.columns) == ["Loan_ID", "is_test", "target"]
    assert list(table["Loan_ID"]) == ["a", "b", "c", "d"]
    assert table["is_test"].tolist() == [True, False, True, False]
    assert table["is_test"].dtype == bool
    assert table["target"].tolist() == [1, 0, 1, 0]


# --- training.train_model -------------------------------------------------------------------------

def test_audit_columns_excludes_ids_segments_and_the_targets_source(loans):
    frame = loans.assign(segment_id=0, segment="x", High_Risk_Flag=0)
    cols = audit_columns(frame, "written_off")
    for excluded in ["Loan_ID", "Borrower_ID", "segment_id", "segment", "High_Risk_Flag", "Recovery_Status"]:
        assert excluded not in cols
    assert "Collection_Attempts" in cols and "Gender" in cols
    assert "Recovery_Status" in audit_columns(frame, "high_risk_flag")


def test_train_model_metrics_and_plots(loans, target):
    features = FeatureSet("small", NUMERIC, CATEGORICAL, leaky=False)
    train, test = split_train_test(target, 0.25, 0)
    result = train_model(build_pipeline(RF, NUMERIC, CATEGORICAL), loans, target, train, test, features,
                         cv_folds=2, cv_repeats=1, leakage_threshold=0.8, random_state=0)
    assert isinstance(result, TrainResult)
    m = result.metrics
    assert {"test", "cv", "baseline_base_rate", "baseline_dpd_rule", "features_n", "features_leaky",
            "features_use_age", "leakage_flagged_columns", "leakage_flagged_features_used", "leakage_auc",
            "importance"} <= set(m)
    assert m["test"]["loans"] == len(test) == 100
    assert {"accuracy", "precision", "recall", "f1", "roc_auc", "gini", "ks", "brier"} <= set(m["test"])
    assert m["cv"]["folds"] == 2
    assert m["baseline_base_rate"]["roc_auc"] == 0.5
    assert m["features_n"] == 8 and m["features_leaky"] == 0 and m["features_use_age"] == 0
    assert set(m["importance"]) == set(NUMERIC + CATEGORICAL)
    assert "Recovery_Status" not in m["leakage_auc"] and "Collection_Attempts" in m["leakage_auc"]
    assert all(0.5 <= v <= 1.0 for v in m["leakage_auc"].values())
    plots = result.plots
    assert list(plots["roc"].columns) == ["fpr", "tpr", "threshold"]
    assert list(plots["precision_recall"].columns) == ["recall", "precision"]
    assert list(plots["confusion"].columns) == ["actual", "predicted"] and len(plots["confusion"]) == 100
    assert list(plots["calibration"].columns) == ["bin", "mean_predicted", "observed_rate", "loans"]
    assert list(plots["lift"].columns) == ["decile", "loans", "positives", "rate", "lift", "cumulative_gain"]
    assert plots["lift"]["loans"].sum() == 100
    assert result.model.predict_proba(loans[features.columns].iloc[:5]).shape == (5, 2)


def test_train_model_flags_a_planted_leak(loans, target):
    leaky = loans.assign(Leak=target.to_numpy() * 10.0)
    features = FeatureSet("leak", NUMERIC + ["Leak"], [], leaky=False)
    train, test = split_train_test(target, 0.25, 0)
    result = train_model(build_pipeline(RF, features.numeric, []), leaky, target, train, test, features,
                         cv_folds=2, cv_repeats=1, leakage_threshold=0.8, random_state=0)
    assert result.metrics["leakage_auc"]["Leak"] == 1.0
    assert result.metrics["leakage_flagged_features_used"] >= 1
    assert result.metrics["test"]["roc_auc"] == 1.0
