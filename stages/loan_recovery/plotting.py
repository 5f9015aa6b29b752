"""Exploratory Plotly views outside EDA (segment scatter), reusing EDA's sampling and rendering."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from .eda import PLOTLYJS_FILE, describe_rows, plotlyjs_source, render_html, sample_rows


def plot_segments(loans: pd.DataFrame, assignments: pd.DataFrame, max_points: int, seed: int) -> go.Figure:
    """Monthly_Income vs Loan_Amount coloured by segment (a deterministic sample when large)."""
    frame = pd.DataFrame({"Monthly_Income": loans["Monthly_Income"].to_numpy(),
                          "Loan_Amount": loans["Loan_Amount"].to_numpy(),
                          "segment": assignments["segment"].to_numpy(),
                          "High_Risk_Flag": assignments["High_Risk_Flag"].to_numpy()})
    sample = sample_rows(frame, max_points, seed)
    fig = go.Figure()
    for name, part in sample.groupby("segment", sort=True):
        risk = " (high risk)" if part["High_Risk_Flag"].iloc[0] else ""
        fig.add_trace(go.Scattergl(x=part["Monthly_Income"], y=part["Loan_Amount"], mode="markers",
                                   name=f"{name}{risk}", marker={"size": 5, "opacity": 0.6}))
    fig.update_layout(title=f"Monthly income vs loan amount by segment — {describe_rows(len(sample), len(frame))}",
                      xaxis_title="Monthly_Income", yaxis_title="Loan_Amount", template="plotly_white")
    return fig


def segment_scatter_html(loans: pd.DataFrame, assignments: pd.DataFrame, max_points: int, seed: int) -> str:
    # Loads plotly.min.js from its own folder (identical bytes to EDA's: DVC's cache stores it once).
    return render_html(plot_segments(loans, assignments, max_points, seed), "segment-scatter")
