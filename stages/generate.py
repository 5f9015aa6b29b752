"""Stage generate: write the seeded synthetic portfolio (the default input of a fresh clone)."""
import argparse

from loan_recovery.errors import UserError, run_stage
from loan_recovery.io import load_params, param
from loan_recovery.synthetic import write_portfolio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    params = load_params(args.params)
    n_rows, seed = param(params, "generate.n_rows"), param(params, "generate.seed")
    if not isinstance(n_rows, int) or n_rows < 1:
        raise UserError(f"generate.n_rows must be a positive integer, got {n_rows!r}")
    write_portfolio(n_rows, seed, args.output)


if __name__ == "__main__":
    run_stage(main)
