"""Stage prepare: validate the raw loan CSV, write typed Parquet, rejects and data-quality metrics."""
import argparse

from loan_recovery.errors import UserError, run_stage
from loan_recovery.ingest import prepare_loans, read_raw_table
from loan_recovery.io import load_params, param, write_csv, write_json, write_parquet

BAD_ROW_MODES = ("reject", "stop")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--input", required=True, help="raw CSV (data.raw)")
    parser.add_argument("--output", required=True, help="typed Parquet of kept rows")
    parser.add_argument("--rejects", required=True, help="CSV of rejected rows with reasons")
    parser.add_argument("--metrics", required=True)
    args = parser.parse_args()
    params = load_params(args.params)
    mode = param(params, "prepare.on_bad_rows")
    if mode not in BAD_ROW_MODES:
        raise UserError(f"prepare.on_bad_rows must be one of {', '.join(BAD_ROW_MODES)}, got {mode!r}")
    max_share = float(param(params, "prepare.max_reject_share"))

    raw = read_raw_table(args.input, param(params, "prepare.encoding"), param(params, "prepare.sep"))
    kept, rejects, metrics = prepare_loans(raw, bool(param(params, "prepare.fix_category_case")))
    if len(rejects) and mode == "stop":
        first = rejects.iloc[0]
        raise UserError(f"{args.input}: line {first['line']}: {first['reasons']} "
                        f"(prepare.on_bad_rows=stop; use reject to collect bad rows in {args.rejects})")
    if metrics["rows_kept"] == 0:
        raise UserError(f"{args.input}: no valid rows ({metrics['rows_rejected']} rejected; see reasons with "
                        f"prepare.on_bad_rows=stop)")
    if metrics["reject_share"] > max_share:
        raise UserError(f"{args.input}: {metrics['rows_rejected']} of {metrics['rows_read']} rows are bad "
                        f"(> prepare.max_reject_share={max_share}); first: line {rejects.iloc[0]['line']}: "
                        f"{rejects.iloc[0]['reasons']}")
    write_parquet(kept, args.output)
    write_csv(rejects, args.rejects)
    write_json(metrics, args.metrics)


if __name__ == "__main__":
    run_stage(main)
