"""Stage segment: StandardScaler + KMeans on the configured columns, named segments, High_Risk_Flag."""
import argparse
from pathlib import Path

import joblib

from loan_recovery.errors import UserError, run_stage
from loan_recovery.io import atomic_path, int_param, load_params, param, read_parquet, write_json, write_parquet, write_text
from loan_recovery import segmentation as seg
from loan_recovery.plotting import PLOTLYJS_FILE, plotlyjs_source, segment_scatter_html


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--input", required=True, help="prepared loans Parquet")
    parser.add_argument("--output", required=True, help="segment assignments Parquet")
    parser.add_argument("--model", required=True, help="fitted scaler + KMeans + names (for new portfolios)")
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--plot-dir", required=True, help="Plotly HTML of Monthly_Income vs Loan_Amount by segment")
    args = parser.parse_args()
    p = load_params(args.params)
    k, naming, features = int_param(p, "segment.k", 2), param(p, "segment.naming"), list(param(p, "segment.features"))
    random_state = param(p, "segment.random_state")
    if naming not in seg.NAMING_MODES:
        raise UserError(f"segment.naming must be one of {', '.join(seg.NAMING_MODES)}, got {naming!r}")
    if naming == "seed":
        names, high_risk = seg.name_segments_seed(k)  # fails fast, before fitting, for k != 4

    loans = read_parquet(args.input)
    labels, pipeline = seg.fit_segments(loans, features, k, int_param(p, "segment.n_init", 1), random_state)
    if naming == "profile":
        names, high_risk = seg.name_segments_by_profile(seg.centroid_profiles(pipeline, features))
    assignments = seg.assign_segments(loans["Loan_ID"], labels, names, high_risk)
    scaled = pipeline.named_steps["scale"].transform(loans[features].to_numpy(dtype="float64"))
    metrics = {"k": k, "naming_seed_map": int(naming == "seed"), "rows": int(len(loans))}
    metrics |= seg.segment_metrics(scaled, labels, pipeline.named_steps["kmeans"].inertia_, assignments,
                                   loans["Recovery_Status"], param(p, "segment.silhouette_sample"), random_state)

    write_parquet(assignments, args.output)
    with atomic_path(args.model) as tmp:
        joblib.dump({"pipeline": pipeline, "features": features, "names": names, "high_risk": sorted(high_risk)}, tmp)
    write_json(metrics, args.metrics)
    plot_dir = Path(args.plot_dir)
    write_text(plotlyjs_source(), plot_dir / PLOTLYJS_FILE)
    write_text(segment_scatter_html(loans, assignments, param(p, "segment.max_points"), random_state),
               plot_dir / "income_vs_loan.html")


if __name__ == "__main__":
    run_stage(main)
