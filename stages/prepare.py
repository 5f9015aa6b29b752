"""Stage prepare: validate the raw loan CSV, write typed Parquet, rejects and data-quality metrics."""
import argparse

import pandas as pd

from loan_recovery.errors import UserError, run_stage
from loan_recovery.ingest import prepare_loans, read_prepare_params, read_raw_table
from loan_recovery.io import load_params, param, write_csv, write_json, write_parquet

def check_bad_rows(source: str, rejects: pd.DataFrame, metrics: dict, cfg: dict, rejects_path: str) -> None:
    """Stop (UserError) when bad rows must not pass: stop mode, no good rows, or too many bad ones."""
    if metrics["rows_read"] == 0:
        raise UserError(f"{source}: has a header but no data rows ({metrics['blank_lines']} blank lines)")
    if len(rejects) == 0:
        return
    first = f"line {rejects.iloc[0]['line']}: {rejects.iloc[0]['reasons']}"
    if cfg["on_bad_rows"] == "stop":
        raise UserError(f"{source}: {first} (prepare.on_bad_rows=stop; use reject to collect bad rows in {rejects_path})")
    if metrics["rows_kept"] == 0:
        raise UserError(f"{source}: no valid rows, all {metrics['rows_rejected']} rejected; first: {first}")
    if metrics["reject_share"] > cfg["max_reject_share"]:
        raise UserError(f"{source}: {metrics['rows_rejected']} of {metrics['rows_read']} rows are bad "
                        f"(> prepare.max_reject_share={cfg['max_reject_share']}); first: {first}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--input", required=True, help="raw CSV (data.raw)")
    parser.add_argument("--output", required=True, help="typed Parquet of kept rows")
    parser.add_argument("--rejects", required=True, help="CSV of rejected rows with reasons")
    parser.add_argument("--metrics", required=True)
    args = parser.parse_args()
    cfg = read_prepare_params(load_params(args.params))

    raw = read_raw_table(args.input, cfg["encoding"], cfg["sep"])
    kept, rejects, metrics = prepare_loans(raw, cfg["fix_category_case"])
    check_bad_rows(args.input, rejects, metrics, cfg, args.rejects)
    write_parquet(kept, args.output)
    write_csv(rejects, args.rejects)
    write_json(metrics, args.metrics)


if __name__ == "__main__":
    run_stage(main)
