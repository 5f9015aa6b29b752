"""Exploratory views of the prepared loan table: Plotly figures, the numbers behind them, HTML.

Pure functions, no I/O. Aggregates (histogram, density, bar counts, box statistics, the
metrics JSON) use every row; point-level traces (scatters, violin, box points) use a
deterministic sample of at most `max_points` rows, so a portfolio of millions of loans
still gives small HTML files that a browser can open.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import plotly.offline
from plotly.subplots import make_subplots

from .errors import UserError
from .schema import CATEGORIES

EDA_COLUMNS = ["Loan_Amount", "Monthly_Income", "Payment_History", "Recovery_Status", "Num_Missed_Payments"]
PLOTLYJS_FILE = "plotly.min.js"
TEMPLATE = "plotly_white"  # explicit, so a changed global default cannot change the files
RECOVERY_COLOURS = {"Fully Recovered": "#2ca02c", "Partially Recovered": "#ff7f0e", "Written Off": "#d62728"}
MAX_MARKER_PX = 18
_DIV_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def to_eda_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Validate once at the boundary; return the EDA columns with the schema's fixed categories."""
    missing = [c for c in EDA_COLUMNS if c not in frame.columns]
    if missing:
        raise UserError(f"eda input: missing column(s) {', '.join(missing)} (expected the prepare stage's Parquet)")
    if frame.empty:
        raise UserError("eda input: no rows (the prepare stage kept none; see metrics/prepare.json)")
    eda = frame[EDA_COLUMNS].copy()
    for column in ("Payment_History", "Recovery_Status"):
        allowed = CATEGORIES[column]
        unknown = eda[column][~eda[column].isin(allowed)]  # blanks included: isin is False for NaN
        if len(unknown):
            raise UserError(f"eda input: {column} has value {unknown.iloc[0]!r} in {len(unknown)} row(s); "
                            f"allowed: {', '.join(allowed)} (re-run prepare)")
        eda[column] = eda[column].astype(pd.CategoricalDtype(allowed))
    return eda


def sample_rows(frame: pd.DataFrame, max_points: int, seed: int) -> pd.DataFrame:
    """At most `max_points` rows drawn with default_rng(seed), kept in their original order."""
    if isinstance(max_points, bool) or not isinstance(max_points, (int, np.integer)) or max_points < 1:
        raise ValueError(f"max_points must be a positive integer, got {max_points!r}")
    if len(frame) <= max_points:
        return frame
    positions = np.random.default_rng(seed).choice(len(frame), size=max_points, replace=False)
    # Sorted: the sample reads like the table, and plotting order does not depend on the draw.
    return frame.iloc[np.sort(positions)]


def describe_rows(n_shown: int, n_total: int) -> str:
    """'all 300 loans' or 'sample of 5,000 of 1,234,567 loans', for figure titles."""
    if n_shown >= n_total:
        return f"all {n_total:,} loans"
    return f"sample of {n_shown:,} of {n_total:,} loans"


def kde_curve(values: np.ndarray, grid_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian KDE (Scott's bandwidth, as scipy's gaussian_kde) on a grid: (grid, density).

    Binned then convolved, so it costs O(rows + grid²) and can use every row of a large
    portfolio. Empty arrays when the density is undefined (fewer than 2 rows or no spread).
    """
    values = np.asarray(values, dtype=float)
    n_rows = len(values)
    spread = values.std(ddof=1) if n_rows > 1 else 0.0
    if spread == 0:
        return np.array([]), np.array([])
    bandwidth = spread * n_rows ** (-1 / 5)
    counts, edges = np.histogram(values, bins=grid_size,
                                 range=(values.min() - 4 * bandwidth, values.max() + 4 * bandwidth))
    step = edges[1] - edges[0]
    half = int(np.ceil(4 * bandwidth / step))
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) * step / bandwidth) ** 2)
    smoothed = np.convolve(counts, kernel / kernel.sum(), mode="full")[half:half + grid_size]
    return (edges[:-1] + edges[1:]) / 2, smoothed / (n_rows * step)


def count_recovery_by_payment_history(frame: pd.DataFrame) -> pd.DataFrame:
    """Loans per (Payment_History row, Recovery_Status column), all rows, every category kept."""
    counts = frame.groupby(["Payment_History", "Recovery_Status"], observed=False).size().unstack(fill_value=0)
    return counts.reindex(index=CATEGORIES["Payment_History"], columns=CATEGORIES["Recovery_Status"],
                          fill_value=0).astype("int64")


def _plain_number(value) -> int | float:
    """numpy scalar -> int, or float rounded to 4 decimals (what json and dvc metrics diff read well)."""
    if isinstance(value, (int, np.integer)):
        return int(value)
    return round(float(value), 4)


def describe_missed_payments(values: pd.Series) -> dict:
    """count/mean/median/q1/q3/min/max of Num_Missed_Payments; None for an empty group."""
    if values.empty:
        return {"count": 0} | dict.fromkeys(["mean", "median", "q1", "q3", "min", "max"])
    q1, median, q3 = values.quantile([0.25, 0.5, 0.75]).to_numpy()  # linear, as Plotly's box
    stats = {"count": len(values), "mean": values.mean(), "median": median, "q1": q1, "q3": q3,
             "min": values.min(), "max": values.max()}
    return {key: _plain_number(value) for key, value in stats.items()}


def summarise_eda(frame: pd.DataFrame) -> dict:
    """The numbers behind the bar and box views, from all rows, keys in category order."""
    counts = count_recovery_by_payment_history(frame)
    return {
        "n_loans": len(frame),
        "recovery_by_payment_history": {
            history: {status: int(counts.loc[history, status]) for status in counts.columns}
            for history in counts.index
        },
        "missed_payments_by_recovery": {
            status: describe_missed_payments(frame.loc[frame["Recovery_Status"] == status, "Num_Missed_Payments"])
            for status in CATEGORIES["Recovery_Status"]
        },
    }


def _size_marker(values: pd.Series, largest: float) -> dict:
    """Marker sized by area from `values`, scaled to the largest of ALL rows (same scale at any sample)."""
    return {"size": values.to_numpy(), "sizemode": "area", "sizemin": 2,
            "sizeref": 2.0 * max(float(largest), 1.0) / MAX_MARKER_PX ** 2}


def _loan_amount_histogram(frame: pd.DataFrame, bins: int) -> list[go.BaseTraceType]:
    """Histogram bars and KDE line of Loan_Amount over all rows, both in loans per bin."""
    amounts = frame["Loan_Amount"].to_numpy(dtype=float)
    counts, edges = np.histogram(amounts, bins=bins)
    width = edges[1] - edges[0]
    grid, density = kde_curve(amounts)
    return [
        go.Bar(x=(edges[:-1] + edges[1:]) / 2, y=counts, width=width, name="loans per bin",
               marker_color="#9ecae1"),
        # density × rows × bin width = expected loans per bin: the line sits on the bars.
        go.Scatter(x=grid, y=np.round(density * len(amounts) * width, 4), mode="lines",
                   name="density (KDE)", line={"color": "#08519c", "width": 2}),
    ]


def plot_loan_amount_distribution(frame: pd.DataFrame, sample: pd.DataFrame, bins: int = 40) -> go.Figure:
    """Histogram + KDE (all rows), violin and income-vs-amount scatter (sample) of Loan_Amount."""
    fig = make_subplots(rows=2, cols=2, specs=[[{}, {}], [{"colspan": 2}, None]], column_widths=[0.7, 0.3],
                        vertical_spacing=0.14, subplot_titles=(
                            f"Histogram and density ({describe_rows(len(frame), len(frame))})",
                            f"Violin ({describe_rows(len(sample), len(frame))})",
                            f"Monthly_Income vs Loan_Amount ({describe_rows(len(sample), len(frame))})"))
    for trace in _loan_amount_histogram(frame, bins):
        fig.add_trace(trace, row=1, col=1)
    fig.add_trace(go.Violin(y=sample["Loan_Amount"].to_numpy(), name="Loan_Amount", box_visible=True,
                            meanline_visible=True, points=False, showlegend=False), row=1, col=2)
    marker = _size_marker(sample["Loan_Amount"], frame["Loan_Amount"].max()) | {
        "color": sample["Loan_Amount"].to_numpy(), "colorscale": "Viridis", "opacity": 0.6,
        "colorbar": {"title": {"text": "Loan_Amount"}, "len": 0.42, "y": 0.21}}
    fig.add_trace(go.Scatter(x=sample["Monthly_Income"].to_numpy(), y=sample["Loan_Amount"].to_numpy(),
                             mode="markers", marker=marker, name="loan", showlegend=False), row=2, col=1)
    fig.update_xaxes(title_text="Loan_Amount", row=1, col=1)
    fig.update_yaxes(title_text="loans", row=1, col=1)
    fig.update_xaxes(title_text="Monthly_Income", row=2, col=1)
    fig.update_yaxes(title_text="Loan_Amount", row=2, col=1)
    sampled = describe_rows(len(sample), len(frame))
    fig.update_layout(title_text=f"Loan amount distribution and relation to income — points: {sampled}",
                      template=TEMPLATE, height=900, bargap=0, legend={"x": 0.55, "y": 1.0})
    return fig


def plot_recovery_by_payment_history(frame: pd.DataFrame) -> go.Figure:
    """Grouped bars: loans per Recovery_Status within each Payment_History, all rows."""
    counts = count_recovery_by_payment_history(frame)
    fig = go.Figure([
        go.Bar(x=list(counts.index), y=counts[status].tolist(), name=status, text=counts[status].tolist(),
               marker_color=RECOVERY_COLOURS.get(status))
        for status in counts.columns
    ])
    fig.update_layout(title_text=f"Recovery status by payment history ({describe_rows(len(frame), len(frame))})",
                      barmode="group", template=TEMPLATE, xaxis_title="Payment_History",
                      yaxis_title="loans", legend_title_text="Recovery_Status")
    return fig


def _tukey_whiskers(values: np.ndarray, q1: float, q3: float) -> tuple[float, float]:
    """Most extreme values within 1.5 IQR of the box: the whisker ends Plotly would draw."""
    reach = 1.5 * (q3 - q1)
    inside = values[(values >= q1 - reach) & (values <= q3 + reach)]
    return float(inside.min()), float(inside.max())


def _missed_payments_box(status: str, values: pd.Series, sample_values: pd.Series) -> go.Box:
    """One box with statistics from all rows and the sampled points beside it."""
    stats = describe_missed_payments(values)
    low, high = _tukey_whiskers(values.to_numpy(), stats["q1"], stats["q3"])
    # Precomputed q1/median/q3 keep the box exact; the 2-D y holds only the sampled points.
    return go.Box(x=[status], q1=[stats["q1"]], median=[stats["median"]], q3=[stats["q3"]],
                  mean=[stats["mean"]], lowerfence=[low], upperfence=[high],
                  y=[sample_values.tolist()], name=status, boxpoints="all", jitter=0.4, pointpos=0,
                  marker={"color": RECOVERY_COLOURS.get(status), "size": 3, "opacity": 0.5})


def plot_missed_payments_by_recovery(frame: pd.DataFrame, sample: pd.DataFrame) -> go.Figure:
    """Box of Num_Missed_Payments per Recovery_Status (stats: all rows) with sampled points."""
    boxes = []
    for status in CATEGORIES["Recovery_Status"]:
        values = frame.loc[frame["Recovery_Status"] == status, "Num_Missed_Payments"]
        if len(values):
            shown = sample.loc[sample["Recovery_Status"] == status, "Num_Missed_Payments"]
            boxes.append(_missed_payments_box(status, values, shown))
    fig = go.Figure(boxes)
    fig.update_layout(title_text=(f"Missed payments by recovery status — boxes: all {len(frame):,} loans; "
                                  f"points: {describe_rows(len(sample), len(frame))}"),
                      template=TEMPLATE, xaxis_title="Recovery_Status", yaxis_title="Num_Missed_Payments",
                      showlegend=False)
    return fig


def plot_income_vs_loan_by_recovery(frame: pd.DataFrame, sample: pd.DataFrame) -> go.Figure:
    """Scatter Monthly_Income vs Loan_Amount, one colour per Recovery_Status, sized by Loan_Amount."""
    largest = frame["Loan_Amount"].max()
    traces = []
    for status in CATEGORIES["Recovery_Status"]:
        rows = sample[sample["Recovery_Status"] == status]
        marker = _size_marker(rows["Loan_Amount"], largest) | {"color": RECOVERY_COLOURS.get(status),
                                                                "opacity": 0.6}
        traces.append(go.Scatter(x=rows["Monthly_Income"].to_numpy(), y=rows["Loan_Amount"].to_numpy(),
                                 mode="markers", marker=marker, name=status))
    fig = go.Figure(traces)
    fig.update_layout(title_text=(f"Monthly income vs loan amount by recovery status "
                                  f"({describe_rows(len(sample), len(frame))})"),
                      template=TEMPLATE, xaxis_title="Monthly_Income", yaxis_title="Loan_Amount",
                      legend_title_text="Recovery_Status")
    return fig


def build_eda_figures(frame: pd.DataFrame, *, max_points: int, seed: int) -> dict[str, go.Figure]:
    """The four seed views, keyed by output file stem; one sample shared by all point traces."""
    sample = sample_rows(frame, max_points, seed)
    return {
        "loan_amount_distribution": plot_loan_amount_distribution(frame, sample),
        "recovery_by_payment_history": plot_recovery_by_payment_history(frame),
        "missed_payments_by_recovery": plot_missed_payments_by_recovery(frame, sample),
        "income_vs_loan_by_recovery": plot_income_vs_loan_by_recovery(frame, sample),
    }


def render_html(fig: go.Figure, div_id: str, plotlyjs_src: str = PLOTLYJS_FILE) -> str:
    """Standalone HTML page, byte-identical across runs, loading plotly.js from `plotlyjs_src`.

    A fixed div id replaces Plotly's random uuid; a relative .js path (same folder) keeps
    each file small and offline instead of embedding the ~4.8 MB bundle every time.
    """
    if not _DIV_ID.match(div_id):
        raise ValueError(f"div_id must be letters, digits, '_' or '-' starting with a letter, got {div_id!r}")
    if not plotlyjs_src.endswith(".js") or "://" in plotlyjs_src:
        raise ValueError(f"plotlyjs_src must be a local relative path ending in .js, got {plotlyjs_src!r}")
    return pio.to_html(fig, include_plotlyjs=plotlyjs_src, full_html=True, div_id=div_id,
                       include_mathjax=False, auto_play=False)


def plotlyjs_source() -> str:
    """The plotly.js bundle matching the installed plotly, written once next to the pages."""
    return plotly.offline.get_plotlyjs()
