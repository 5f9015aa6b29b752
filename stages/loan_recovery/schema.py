"""The 21-column loan table: names, types, allowed categories and value ranges.

One place defines the schema; prepare validates against it (with pandera),
the synthetic generator writes to it and the feature guards read its column roles.
"""
from __future__ import annotations

import pandera.pandas as pa

ID_COLUMNS = ["Borrower_ID", "Loan_ID"]

CATEGORIES: dict[str, list[str]] = {
    "Gender": ["Female", "Male"],
    "Employment_Type": ["Business Owner", "Salaried", "Self-Employed"],
    "Loan_Type": ["Auto", "Business", "Home", "Personal"],
    "Payment_History": ["Delayed", "Missed", "On-Time"],
    "Recovery_Status": ["Fully Recovered", "Partially Recovered", "Written Off"],
    "Collection_Method": ["Calls", "Debt Collectors", "Legal Notice", "Settlement Offer"],
    "Legal_Action_Taken": ["No", "Yes"],
}

# (min, max) inclusive; None = unbounded. Wide enough for real portfolios,
# narrow enough to catch impossible values (negative money, age 300).
INTEGER_RANGES: dict[str, tuple[float | None, float | None]] = {
    "Age": (18, 100),
    "Monthly_Income": (0, None),
    "Num_Dependents": (0, 20),
    "Loan_Amount": (1, None),
    "Loan_Tenure": (1, 480),
    "Num_Missed_Payments": (0, 480),
    "Days_Past_Due": (0, 36500),
    "Collection_Attempts": (0, 1000),
}
FLOAT_RANGES: dict[str, tuple[float | None, float | None]] = {
    "Interest_Rate": (0.0, 100.0),
    "Collateral_Value": (0.0, None),
    "Outstanding_Loan_Amount": (0.0, None),
    "Monthly_EMI": (0.0, None),
}

COLUMNS = [
    "Borrower_ID", "Age", "Gender", "Employment_Type", "Monthly_Income", "Num_Dependents",
    "Loan_ID", "Loan_Amount", "Loan_Tenure", "Interest_Rate", "Loan_Type", "Collateral_Value",
    "Outstanding_Loan_Amount", "Monthly_EMI", "Payment_History", "Num_Missed_Payments",
    "Days_Past_Due", "Recovery_Status", "Collection_Attempts", "Collection_Method",
    "Legal_Action_Taken",
]

# Column roles the feature guards use.
OUTCOME_COLUMNS = ["Recovery_Status"]
# Recorded during collection, i.e. after the decision a risk score informs: leakage.
COLLECTION_COLUMNS = ["Collection_Attempts", "Collection_Method", "Legal_Action_Taken"]
# Never a credit-decision input.
PROTECTED_COLUMNS = ["Gender"]


def _range_checks(bounds: tuple[float | None, float | None]) -> list[pa.Check]:
    low, high = bounds
    if low is not None and high is not None:
        return [pa.Check.in_range(low, high)]
    if low is not None:
        return [pa.Check.ge(low)]
    return [pa.Check.le(high)] if high is not None else []


def build_loan_schema(only: list[str] | None = None) -> pa.DataFrameSchema:
    """pandera schema of a typed loan table (after string parsing), optionally of some columns only."""
    wanted = set(COLUMNS if only is None else only)
    columns: dict[str, pa.Column] = {
        "Borrower_ID": pa.Column(str, pa.Check.str_length(min_value=1)),
        "Loan_ID": pa.Column(str, pa.Check.str_length(min_value=1)),
    }
    for name, bounds in INTEGER_RANGES.items():
        columns[name] = pa.Column("int64", _range_checks(bounds))
    for name, bounds in FLOAT_RANGES.items():
        columns[name] = pa.Column("float64", _range_checks(bounds))
    for name, allowed in CATEGORIES.items():
        columns[name] = pa.Column(str, pa.Check.isin(allowed))
    ordered = {name: columns[name] for name in COLUMNS if name in wanted}
    # Loan_ID uniqueness is checked in ingest (it must name the first occurrence).
    # strict=False: extra columns are kept (and audited for leakage), not rejected.
    return pa.DataFrameSchema(ordered, strict=False, ordered=False)

# Never audited as candidate features: identifiers and the segmentation outputs.
AUDIT_EXCLUDED_COLUMNS = ID_COLUMNS + ["segment_id", "segment", "High_Risk_Flag"]
