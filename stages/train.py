"""Stage train: target by config, stratified split, one sklearn Pipeline, out-of-sample metrics and plot data."""
import argparse
from pathlib import Path

import joblib
import pandas as pd

from loan_recovery.errors import run_stage
from loan_recovery.io import atomic_path, int_param, load_params, param, read_parquet, write_csv, write_json, write_parquet
from loan_recovery.modeling import build_pipeline, build_target, check_feature_set, split_table, split_train_test
from loan_recovery.scoring import reference_values
from loan_recovery.training import FeatureSet, train_model


def load_feature_set(params: dict) -> FeatureSet:
    return FeatureSet(param(params, "features.name"), list(param(params, "features.numeric")),
                      list(param(params, "features.categorical")), bool(param(params, "features.leaky")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--loans", required=True)
    parser.add_argument("--segments", required=True)
    parser.add_argument("--model", required=True, help="fitted Pipeline (joblib)")
    parser.add_argument("--split", required=True, help="Parquet: Loan_ID, is_test, target")
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--plots-dir", required=True, help="CSV data of the DVC plots")
    args = parser.parse_args()
    p = load_params(args.params)
    target_name, seed = param(p, "train.target"), param(p, "train.random_state")
    features = load_feature_set(p)

    loans = read_parquet(args.loans)
    segments = read_parquet(args.segments)
    check_feature_set(features.numeric, features.categorical, features.leaky, list(loans.columns))
    target = build_target(loans, segments["High_Risk_Flag"], target_name)
    train_positions, test_positions = split_train_test(target, param(p, "train.test_size"), seed)
    pipeline = build_pipeline(param(p, "model"), features.numeric, features.categorical,
                              param(p, "train.calibration"), seed)
    result = train_model(pipeline, loans, target, train_positions, test_positions, features,
                         int_param(p, "train.cv_folds", 2), int_param(p, "train.cv_repeats", 1),
                         param(p, "train.leakage_auc_threshold"), seed)

    with atomic_path(args.model) as tmp:
        joblib.dump({"pipeline": result.model, "target": target_name, "features": features.columns,
                     "categorical": features.categorical,
                     "reference": reference_values(loans[features.columns].iloc[train_positions],
                                                   features.categorical)},
                    tmp)
    write_parquet(split_table(loans["Loan_ID"], target, test_positions), args.split)
    write_json(result.metrics, args.metrics)
    for name, frame in result.plots.items():
        write_csv(frame, Path(args.plots_dir) / f"{name}.csv")


if __name__ == "__main__":
    run_stage(main)
