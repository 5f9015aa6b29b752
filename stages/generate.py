"""Stage generate: write the seeded synthetic portfolio (the default input of a fresh clone)."""
import argparse

from loan_recovery.errors import run_stage
from loan_recovery.io import int_param, load_params
from loan_recovery.synthetic import write_portfolio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    params = load_params(args.params)
    n_rows, seed = int_param(params, "generate.n_rows", 1), int_param(params, "generate.seed", 0)
    write_portfolio(n_rows, seed, args.output)


if __name__ == "__main__":
    run_stage(main)
