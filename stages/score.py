"""Stage score: a Risk_Score for every loan, none scored by a model that saw it, with reasons.

Pipeline mode (dvc.yaml): training loans get out-of-fold scores, test loans the saved model's.
Portfolio mode (--portfolio new.csv): validate a new file and score it with the saved models.
"""
import argparse

import joblib
import numpy as np
import pandas as pd

from loan_recovery.errors import UserError, run_stage
from loan_recovery.evaluation import out_of_fold_scores, positive_scores, score_metrics
from loan_recovery.ingest import prepare_loans, read_prepare_params, read_raw_table
from loan_recovery.io import int_param, load_params, param, read_parquet, write_csv, write_json, write_parquet
from loan_recovery.modeling import build_pipeline
from loan_recovery.schema import COLLECTION_COLUMNS, OUTCOME_COLUMNS
from loan_recovery.scoring import combine_scores, explain_scores, outcome_check
from loan_recovery.strategy import assign_tiers, strategy_names


def load_model(path: str) -> dict:
    try:
        return joblib.load(path)
    except FileNotFoundError as err:
        raise UserError(f"{path}: model not found (run: dvc repro)") from err


def score_pipeline(args: argparse.Namespace, p: dict) -> None:
    trained = load_model(args.model)
    loans, segments, split = read_parquet(args.loans), read_parquet(args.segments), read_parquet(args.split)
    if not (segments["Loan_ID"].equals(loans["Loan_ID"]) and split["Loan_ID"].equals(loans["Loan_ID"])):
        raise ValueError("loans, segments and split are not row-aligned; rerun: dvc repro")  # a bug, not user error
    features, is_test, target = loans[trained["features"]], split["is_test"].to_numpy(), split["target"]
    pipeline = build_pipeline(param(p, "model"), [c for c in trained["features"] if c not in trained["categorical"]],
                              trained["categorical"], param(p, "train.calibration"), param(p, "train.random_state"))
    oof = out_of_fold_scores(pipeline, features[~is_test], target[~is_test], int_param(p, "score.oof_folds", 2),
                             param(p, "train.random_state"))
    risk = combine_scores(is_test, oof, positive_scores(trained["pipeline"], features[is_test]))
    reasons = explain_scores(trained["pipeline"], features, trained["reference"], int_param(p, "score.n_reasons", 0))
    scores = pd.DataFrame({"Borrower_ID": loans["Borrower_ID"], "Loan_ID": loans["Loan_ID"],
                           "segment": segments["segment"], "High_Risk_Flag": segments["High_Risk_Flag"],
                           "is_test": is_test, "target": target, "Risk_Score": risk.round(6)})
    metrics = {"all_loans_out_of_sample": score_metrics(target.to_numpy(), risk),
               "outcome_check": outcome_check(risk, segments["High_Risk_Flag"].to_numpy(), loans["Recovery_Status"])}
    write_parquet(pd.concat([scores, reasons], axis=1), args.output)
    write_json(metrics, args.metrics)


def score_portfolio(args: argparse.Namespace, p: dict) -> None:
    """Score a new portfolio with the saved segmenter and model; rows failing validation go to --rejects."""
    segmenter, trained = load_model(args.segmenter), load_model(args.model)
    settings = read_prepare_params(p)
    used = set(trained["features"]) | set(segmenter["features"])
    not_needed = tuple(c for c in OUTCOME_COLUMNS + COLLECTION_COLUMNS if c not in used)
    loans, rejects, _ = prepare_loans(read_raw_table(args.portfolio, settings["encoding"], settings["sep"],
                                                     optional=not_needed), settings["fix_category_case"])
    labels = segmenter["pipeline"].predict(loans[segmenter["features"]].to_numpy(dtype="float64"))
    features = loans[trained["features"]]
    risk = positive_scores(trained["pipeline"], features)
    tier = assign_tiers(risk, param(p, "strategy.thresholds.high"), param(p, "strategy.thresholds.medium"))
    out = pd.DataFrame({"Borrower_ID": loans["Borrower_ID"], "Loan_ID": loans["Loan_ID"],
                        "segment": pd.Series(labels).map(segmenter["names"]).to_numpy(),
                        "Risk_Score": risk.round(6), "tier": tier,
                        "Recovery_Strategy": strategy_names(tier),
                        "score_source": "saved_model"})
    reasons = explain_scores(trained["pipeline"], features, trained["reference"], int_param(p, "score.n_reasons", 0))
    write_csv(pd.concat([out, reasons], axis=1), args.output)
    write_csv(rejects, args.rejects)
    print(f"scored {len(out)} loans -> {args.output}; {len(rejects)} rejected -> {args.rejects}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--model", required=True, help="trained model (data/models/model.pkl)")
    parser.add_argument("--output", required=True)
    parser.add_argument("--loans"), parser.add_argument("--segments"), parser.add_argument("--split")
    parser.add_argument("--metrics")
    parser.add_argument("--portfolio", help="new portfolio CSV to score with the saved models")
    parser.add_argument("--segmenter", default="data/models/segmenter.pkl")
    parser.add_argument("--rejects", help="portfolio mode: CSV of rows that failed validation")
    args = parser.parse_args()
    p = load_params(args.params)
    if args.portfolio:
        if not args.rejects:
            raise UserError("--portfolio needs --rejects (where rows that fail validation go)")
        score_portfolio(args, p)
    else:
        missing = [f"--{n}" for n in ("loans", "segments", "split", "metrics") if getattr(args, n) is None]
        if missing:
            raise UserError(f"pipeline mode needs {', '.join(missing)} (or use --portfolio)")
        score_pipeline(args, p)


if __name__ == "__main__":
    run_stage(main)
