"""Stage eda: Plotly HTML views of the prepared loans (sharing one plotly.min.js) and their numbers."""
import argparse
from pathlib import Path

import pandas as pd
import pyarrow

from loan_recovery.eda import (EDA_COLUMNS, PLOTLYJS_FILE, build_eda_figures, plotlyjs_source, render_html,
                               summarise_eda, to_eda_frame)
from loan_recovery.errors import UserError, run_stage
from loan_recovery.io import int_param, load_params, read_parquet, write_json, write_text


def _read_loans(path: str) -> pd.DataFrame:
    # Only the columns eda uses: the ID strings of a large portfolio need not be in memory.
    try:
        return read_parquet(path, columns=EDA_COLUMNS)
    except pyarrow.ArrowInvalid as err:
        raise UserError(f"{path}: cannot read columns {', '.join(EDA_COLUMNS)}: {str(err).splitlines()[0]} "
                        f"(expected the prepare stage's Parquet; run: dvc repro prepare)") from err


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--input", required=True, help="prepared Parquet (data/prepared/loans.parquet)")
    parser.add_argument("--output-dir", required=True, help="folder of the HTML views and plotly.min.js")
    parser.add_argument("--metrics", required=True, help="JSON of the numbers behind the views")
    args = parser.parse_args()
    params = load_params(args.params)
    max_points, seed = int_param(params, "eda.max_points", 1), int_param(params, "eda.seed", 0)

    loans = to_eda_frame(_read_loans(args.input))
    figures = build_eda_figures(loans, max_points=max_points, seed=seed)
    output_dir = Path(args.output_dir)
    write_text(plotlyjs_source(), output_dir / PLOTLYJS_FILE)
    for name, fig in figures.items():
        write_text(render_html(fig, div_id=name, plotlyjs_src=PLOTLYJS_FILE), output_dir / f"{name}.html")
    write_json(summarise_eda(loans), args.metrics)


if __name__ == "__main__":
    run_stage(main)
