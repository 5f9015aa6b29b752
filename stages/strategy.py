"""Stage strategy: recovery tier per loan from Risk_Score, tier metrics, fairness tables, score histogram."""
import argparse

import pandas as pd

from loan_recovery.errors import run_stage
from loan_recovery.io import load_params, param, read_parquet, write_csv, write_json
from loan_recovery.strategy import (age_bands, assign_tiers, group_fairness, score_histogram, strategy_metrics,
                                    strategy_names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--scores", required=True)
    parser.add_argument("--loans", required=True)
    parser.add_argument("--output", required=True, help="assignments CSV")
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--fairness", required=True, help="fairness metrics JSON")
    parser.add_argument("--plot", required=True, help="score histogram per tier (CSV for a DVC plot)")
    args = parser.parse_args()
    p = load_params(args.params)
    scores = read_parquet(args.scores)
    loans = read_parquet(args.loans, columns=["Loan_ID", "Gender", "Age", "Outstanding_Loan_Amount"])
    if not scores["Loan_ID"].equals(loans["Loan_ID"]):
        raise ValueError("scores and loans are not row-aligned; rerun: dvc repro")  # a bug, not user error
    risk = scores["Risk_Score"].to_numpy()
    tier = assign_tiers(risk, param(p, "strategy.thresholds.high"), param(p, "strategy.thresholds.medium"))
    reasons = [c for c in scores.columns if c.startswith("reason_")]
    assignments = scores[["Borrower_ID", "Loan_ID", "segment", "Risk_Score"]].assign(
        tier=tier, Recovery_Strategy=strategy_names(tier),
        score_source=scores["is_test"].map({True: "held_out_test", False: "out_of_fold"}))
    assignments = pd.concat([assignments, scores[reasons]], axis=1)
    is_test, outcome = scores["is_test"].to_numpy(), scores["target"].to_numpy()
    fairness = {"gender": group_fairness(loans["Gender"].astype(str), tier, risk, outcome),
                "age_band": group_fairness(age_bands(loans["Age"], list(param(p, "strategy.fairness_age_edges"))),
                                           tier, risk, outcome)}

    write_csv(assignments, args.output)
    write_json(strategy_metrics(tier, loans["Outstanding_Loan_Amount"].to_numpy(), is_test), args.metrics)
    write_json(fairness, args.fairness)
    write_csv(score_histogram(risk, tier), args.plot)


if __name__ == "__main__":
    run_stage(main)
