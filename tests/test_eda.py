"""Unit tests of loan_recovery.eda on tiny in-memory frames, plus the eda stage run as a script."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.stats import gaussian_kde

from loan_recovery.eda import (EDA_COLUMNS, build_eda_figures, count_recovery_by_payment_history,
                               describe_rows, kde_curve, plot_missed_payments_by_recovery, plotlyjs_source,
                               render_html, sample_rows, summarise_eda, to_eda_frame)
from loan_recovery.errors import UserError
from loan_recovery.ingest import to_typed_frame
from loan_recovery.schema import CATEGORIES
from loan_recovery.synthetic import generate_portfolio

REPO = Path(__file__).resolve().parents[1]
OUTPUT_FILES = ["plotly.min.js", "loan_amount_distribution.html", "recovery_by_payment_history.html",
                "missed_payments_by_recovery.html", "income_vs_loan_by_recovery.html"]
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture(scope="module")
def loans() -> pd.DataFrame:
    return to_eda_frame(to_typed_frame(generate_portfolio(300, seed=1)))


def _tiny_loans() -> pd.DataFrame:
    """Six hand-made loans; no 'Missed' history and no 'Written Off' status at all."""
    frame = pd.DataFrame({
        "Loan_Amount": [100, 200, 300, 400, 500, 600],
        "Monthly_Income": [10, 20, 30, 40, 50, 60],
        "Payment_History": ["On-Time", "On-Time", "Delayed", "Delayed", "On-Time", "Delayed"],
        "Recovery_Status": ["Fully Recovered", "Fully Recovered", "Partially Recovered",
                            "Fully Recovered", "Partially Recovered", "Partially Recovered"],
        "Num_Missed_Payments": [0, 1, 4, 2, 3, 6],
    })
    return to_eda_frame(frame)


def test_summary_counts_match_crosstab(loans):
    summary = summarise_eda(loans)
    expected = pd.crosstab(loans["Payment_History"], loans["Recovery_Status"])
    for history, row in summary["recovery_by_payment_history"].items():
        for status, count in row.items():
            assert count == expected.loc[history, status]
    assert summary["n_loans"] == len(loans)
    assert sum(sum(row.values()) for row in summary["recovery_by_payment_history"].values()) == len(loans)


def test_summary_keeps_empty_categories_in_category_order():
    summary = summarise_eda(_tiny_loans())
    counts = summary["recovery_by_payment_history"]
    assert list(counts) == CATEGORIES["Payment_History"]
    assert list(counts["On-Time"]) == CATEGORIES["Recovery_Status"]
    assert counts["On-Time"] == {"Fully Recovered": 2, "Partially Recovered": 1, "Written Off": 0}
    assert counts["Missed"] == {"Fully Recovered": 0, "Partially Recovered": 0, "Written Off": 0}
    assert list(summary["missed_payments_by_recovery"]) == CATEGORIES["Recovery_Status"]
    assert summary["missed_payments_by_recovery"]["Written Off"]["count"] == 0


def test_missed_payment_stats_by_hand():
    stats = summarise_eda(_tiny_loans())["missed_payments_by_recovery"]["Partially Recovered"]
    # values 4, 3, 6 -> sorted 3, 4, 6: linear quartiles 3.5 and 5.0
    assert stats == {"count": 3, "mean": 4.3333, "median": 4.0, "q1": 3.5, "q3": 5.0, "min": 3, "max": 6}
    assert all(type(v) in (int, float) for v in stats.values())


def test_summary_is_plain_json(loans):
    summary = summarise_eda(loans)
    assert json.loads(json.dumps(summary)) == summary


def test_sample_caps_rows_keeps_order_and_is_deterministic(loans):
    first = sample_rows(loans, 50, seed=7)
    assert len(first) == 50
    assert first.index.is_monotonic_increasing
    pd.testing.assert_frame_equal(first, sample_rows(loans, 50, seed=7))
    assert not first.index.equals(sample_rows(loans, 50, seed=8).index)


def test_sample_returns_all_rows_when_under_cap(loans):
    assert len(sample_rows(loans, 10_000, seed=0)) == len(loans)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_sample_rejects_bad_max_points(loans, bad):
    with pytest.raises(ValueError, match="max_points must be a positive integer"):
        sample_rows(loans, bad, seed=0)


def test_point_traces_are_capped_and_titles_say_sampled(loans):
    figures = build_eda_figures(loans, max_points=40, seed=0)
    scatter = figures["income_vs_loan_by_recovery"]
    assert sum(len(trace.x) for trace in scatter.data) == 40
    assert "sample of 40 of 300 loans" in scatter.layout.title.text
    assert "sample of 40 of 300 loans" in figures["loan_amount_distribution"].layout.title.text
    violin = next(t for t in figures["loan_amount_distribution"].data if t.type == "violin")
    assert len(violin.y) == 40
    boxes = figures["missed_payments_by_recovery"].data
    assert sum(len(box.y[0]) for box in boxes) == 40


def test_bar_counts_use_all_rows(loans):
    bars = build_eda_figures(loans, max_points=10, seed=0)["recovery_by_payment_history"]
    expected = pd.crosstab(loans["Payment_History"], loans["Recovery_Status"])
    assert [trace.name for trace in bars.data] == CATEGORIES["Recovery_Status"]
    for trace in bars.data:
        assert list(trace.x) == CATEGORIES["Payment_History"]
        assert list(trace.y) == expected[trace.name].tolist()
    assert "all 300 loans" in bars.layout.title.text


def test_box_statistics_come_from_all_rows(loans):
    sample = sample_rows(loans, 10, seed=0)
    box = plot_missed_payments_by_recovery(loans, sample).data[0]
    values = loans.loc[loans["Recovery_Status"] == box.name, "Num_Missed_Payments"]
    assert box.q1[0] == values.quantile(0.25)
    assert box.median[0] == values.median()
    assert box.boxpoints == "all"


def test_histogram_counts_all_rows(loans):
    figure = build_eda_figures(loans, max_points=10, seed=0)["loan_amount_distribution"]
    bars = next(t for t in figure.data if t.type == "bar")
    assert sum(bars.y) == len(loans)


def test_kde_matches_scipy(loans):
    values = loans["Loan_Amount"].to_numpy(dtype=float)
    grid, density = kde_curve(values)
    reference = gaussian_kde(values)(grid)
    assert np.max(np.abs(density - reference)) < 0.01 * reference.max()


def test_kde_is_empty_without_spread():
    grid, density = kde_curve(np.array([5.0, 5.0, 5.0]))
    assert len(grid) == 0 and len(density) == 0


def test_describe_rows():
    assert describe_rows(5000, 1234567) == "sample of 5,000 of 1,234,567 loans"
    assert describe_rows(300, 300) == "all 300 loans"


def test_render_html_is_deterministic_and_references_shared_js(loans):
    figure = build_eda_figures(loans, max_points=50, seed=0)["income_vs_loan_by_recovery"]
    first = render_html(figure, "income_vs_loan_by_recovery", "plotly.min.js")
    second = render_html(figure, "income_vs_loan_by_recovery", "plotly.min.js")
    assert first == second
    assert 'id="income_vs_loan_by_recovery"' in first
    assert 'src="plotly.min.js"' in first
    assert plotlyjs_source()[:200] not in first
    assert len(first) < 200_000
    assert not UUID.search(first)


@pytest.mark.parametrize("div_id, js", [("has space", "plotly.min.js"), ("ok", "cdn"),
                                        ("ok", "https://cdn.plot.ly/plotly.min.js")])
def test_render_html_rejects_random_or_remote_options(loans, div_id, js):
    figure = build_eda_figures(loans, max_points=5, seed=0)["recovery_by_payment_history"]
    with pytest.raises(ValueError, match="div_id|plotlyjs_src"):
        render_html(figure, div_id, js)


def test_to_eda_frame_names_missing_column_and_unknown_category(loans):
    with pytest.raises(UserError, match="missing column.*Recovery_Status"):
        to_eda_frame(loans.drop(columns="Recovery_Status"))
    bad = loans.astype({"Payment_History": "str"})
    bad.loc[bad.index[3], "Payment_History"] = "Sometimes"
    with pytest.raises(UserError, match="Payment_History has value 'Sometimes' in 1 row"):
        to_eda_frame(bad)
    with pytest.raises(UserError, match="no rows"):
        to_eda_frame(loans.iloc[:0])


def _run_stage(tmp_path: Path, out_name: str, max_points: int = 100) -> subprocess.CompletedProcess:
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"eda": {"max_points": max_points, "seed": 0}}), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO / "stages")}
    return subprocess.run(
        [sys.executable, str(REPO / "stages" / "eda.py"), "--params", str(params),
         "--input", str(tmp_path / "loans.parquet"), "--output-dir", str(tmp_path / out_name / "plots"),
         "--metrics", str(tmp_path / out_name / "eda.json")],
        env=env, cwd=tmp_path, capture_output=True, text=True, check=False)


def test_stage_writes_views_and_metrics_identically_twice(tmp_path):
    to_typed_frame(generate_portfolio(300, seed=3)).to_parquet(tmp_path / "loans.parquet", index=False)
    for run in ("first", "second"):
        result = _run_stage(tmp_path, run)
        assert result.returncode == 0, result.stderr
    for name in OUTPUT_FILES:
        first = (tmp_path / "first" / "plots" / name).read_bytes()
        assert first == (tmp_path / "second" / "plots" / name).read_bytes(), name
    assert (tmp_path / "first" / "eda.json").read_bytes() == (tmp_path / "second" / "eda.json").read_bytes()
    assert sorted(p.name for p in (tmp_path / "first" / "plots").iterdir()) == sorted(OUTPUT_FILES)
    metrics = json.loads((tmp_path / "first" / "eda.json").read_text(encoding="utf-8"))
    assert metrics["n_loans"] == 300


def test_stage_reports_bad_param_and_missing_column_in_one_line(tmp_path):
    frame = to_typed_frame(generate_portfolio(20, seed=3))
    frame.to_parquet(tmp_path / "loans.parquet", index=False)
    result = _run_stage(tmp_path, "bad_param", max_points=0)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: eda.max_points must be an integer >= 1, got 0"
    frame.drop(columns=[EDA_COLUMNS[-1]]).to_parquet(tmp_path / "loans.parquet", index=False)
    result = _run_stage(tmp_path, "bad_input")
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "Num_Missed_Payments" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
