"""Seeded generator of realistic synthetic loan portfolios (the 21-column schema).

Marginals and internal relations follow the real 500-loan file: uniform ages, incomes
and amounts over its ranges; its category shares; EMI = annuity of the outstanding
amount over the tenure (straight line, as in the real file); collateral only on secured loan types; missed
payments by payment history; days past due only after a missed payment; many
collection attempts only when recovery is incomplete; legal action only on write-offs.
Vectorised and generated in fixed-size chunks, so 10 million rows stream to disk.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pyarrow as pyarrow_lib
import pyarrow.csv as pa_csv

from .io import atomic_path
from .schema import COLUMNS

CHUNK_ROWS = 500_000  # fixed: the output depends on (n_rows, seed) only

_SHARES = {
    "Gender": (["Male", "Female"], [0.62, 0.38]),
    "Employment_Type": (["Salaried", "Self-Employed", "Business Owner"], [0.58, 0.31, 0.11]),
    "Loan_Type": (["Personal", "Home", "Auto", "Business"], [0.44, 0.29, 0.17, 0.10]),
    "Payment_History": (["On-Time", "Delayed", "Missed"], [0.61, 0.28, 0.11]),
    "Collection_Method": (["Calls", "Debt Collectors", "Legal Notice", "Settlement Offer"], [0.25] * 4),
}
_TENURES = np.array([12, 24, 36, 48, 60, 72])
_TENURE_SHARES = [0.09, 0.12, 0.19, 0.22, 0.22, 0.16]


def _choice(rng: np.random.Generator, name: str, n: int) -> np.ndarray:
    values, shares = _SHARES[name]
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=n, p=shares)]


def monthly_instalment(outstanding: np.ndarray, months: np.ndarray) -> np.ndarray:
    """The real file's EMI: outstanding amount spread evenly over the tenure (no interest term)."""
    return outstanding / months


def _recovery_status(rng: np.random.Generator, days_past_due: np.ndarray, missed: np.ndarray) -> np.ndarray:
    # Weak signal, as in the real file: deeper delinquency -> slightly more write-offs.
    stress = days_past_due / 180.0 + missed / 12.0
    p_written_off = np.clip(0.06 + 0.06 * stress, 0, 1)
    p_partial = np.full_like(p_written_off, 0.31)
    u = rng.random(len(stress))
    return np.where(u < p_written_off, "Written Off",
                    np.where(u < p_written_off + p_partial, "Partially Recovered", "Fully Recovered")).astype(object)


def generate_chunk(rng: np.random.Generator, start: int, n: int) -> pd.DataFrame:
    """`n` loans numbered from `start` + 1; pure given the generator state."""
    ids = np.arange(start + 1, start + n + 1).astype(str)
    loan_amount = rng.integers(50_000, 2_000_001, n)
    loan_type = _choice(rng, "Loan_Type", n)
    tenure = _TENURES[rng.choice(len(_TENURES), size=n, p=_TENURE_SHARES)]
    rate = np.round(rng.uniform(5.0, 18.0, n), 2)
    collateral = np.where(loan_type == "Personal", 0.0, np.round(loan_amount * rng.uniform(0.5, 1.5, n), 2))
    outstanding = np.round(loan_amount * rng.uniform(0.1, 1.0, n), 2)
    history = _choice(rng, "Payment_History", n)
    missed = np.where(history == "Missed", rng.integers(0, 13, n), rng.integers(0, 4, n))
    days_past_due = np.where(missed > 0, rng.integers(1, 181, n), 0)
    status = _recovery_status(rng, days_past_due, missed)
    incomplete = status != "Fully Recovered"
    attempts = np.where(incomplete, rng.integers(0, 11, n), rng.integers(0, 4, n))
    legal = np.where((status == "Written Off") & (rng.random(n) < 0.48), "Yes", "No").astype(object)
    frame = pd.DataFrame({
        "Borrower_ID": np.char.add("BRW_", ids),
        "Age": rng.integers(21, 65, n),
        "Gender": _choice(rng, "Gender", n),
        "Employment_Type": _choice(rng, "Employment_Type", n),
        "Monthly_Income": rng.integers(15_000, 250_001, n),
        "Num_Dependents": rng.integers(0, 4, n),
        "Loan_ID": np.char.add("LN_", ids),
        "Loan_Amount": loan_amount,
        "Loan_Tenure": tenure,
        "Interest_Rate": rate,
        "Loan_Type": loan_type,
        "Collateral_Value": collateral,
        "Outstanding_Loan_Amount": outstanding,
        "Monthly_EMI": np.round(monthly_instalment(outstanding, tenure), 2),
        "Payment_History": history,
        "Num_Missed_Payments": missed,
        "Days_Past_Due": days_past_due,
        "Recovery_Status": status,
        "Collection_Attempts": attempts,
        "Collection_Method": _choice(rng, "Collection_Method", n),
        "Legal_Action_Taken": legal,
    })
    return frame[COLUMNS]


def iter_portfolio(n_rows: int, seed: int) -> Iterator[pd.DataFrame]:
    """Chunks of a portfolio; chunk i uses its own child seed, so chunks are independent."""
    if n_rows < 1:
        raise ValueError(f"generate.n_rows must be >= 1, got {n_rows}")
    n_chunks = -(-n_rows // CHUNK_ROWS)
    for i, child in enumerate(np.random.SeedSequence(seed).spawn(n_chunks)):
        start = i * CHUNK_ROWS
        yield generate_chunk(np.random.default_rng(child), start, min(CHUNK_ROWS, n_rows - start))


def generate_portfolio(n_rows: int, seed: int) -> pd.DataFrame:
    """Whole portfolio in memory (tests, small runs)."""
    return pd.concat(iter_portfolio(n_rows, seed), ignore_index=True)


def write_portfolio(n_rows: int, seed: int, path: str | Path) -> None:
    """Stream the portfolio to CSV chunk by chunk (memory bounded by one chunk)."""
    with atomic_path(path) as tmp:
        tmp.write_text(",".join(COLUMNS) + "\n", encoding="utf-8")  # plain header, like the real file
        writer = None
        for chunk in iter_portfolio(n_rows, seed):
            table = pyarrow_lib.Table.from_pandas(chunk, preserve_index=False)
            if writer is None:
                sink = pyarrow_lib.OSFile(str(tmp), "ab")
                writer = pa_csv.CSVWriter(sink, table.schema, write_options=pa_csv.WriteOptions(
                    include_header=False, quoting_style="none"))
            writer.write_table(table)
        writer.close()
        sink.close()
