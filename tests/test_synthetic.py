"""Unit tests of loan_recovery.synthetic: determinism, schema, internal relations, chunking, and the
distribution of a 20,000-row sample against the real 500-loan file (skipped when that file is absent)."""
import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

from loan_recovery import synthetic
from loan_recovery.ingest import prepare_loans, read_raw_table, to_typed_frame
from loan_recovery.schema import CATEGORIES, COLUMNS, FLOAT_RANGES, INTEGER_RANGES, build_loan_schema
from loan_recovery.synthetic import monthly_instalment, generate_chunk, generate_portfolio, iter_portfolio, write_portfolio

CATEGORY_COLUMNS = list(CATEGORIES)
NUMERIC_COLUMNS = list(INTEGER_RANGES) + list(FLOAT_RANGES)
KS_COLUMNS = ["Age", "Monthly_Income", "Num_Dependents", "Loan_Amount", "Loan_Tenure", "Interest_Rate",
              "Collateral_Value", "Outstanding_Loan_Amount", "Monthly_EMI", "Num_Missed_Payments",
              "Days_Past_Due", "Collection_Attempts"]
# The EMI is a ratio with a long right tail: 20,000 synthetic loans reach values a 500-row sample does not.
TAIL_COLUMNS = {"Monthly_EMI"}


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return generate_portfolio(5000, seed=3)


# --- determinism, schema ------------------------------------------------------------------------

def test_same_n_and_seed_give_the_same_portfolio():
    pd.testing.assert_frame_equal(generate_portfolio(300, seed=5), generate_portfolio(300, seed=5))


def test_different_seeds_differ():
    a, b = generate_portfolio(300, seed=5), generate_portfolio(300, seed=6)
    assert a["Loan_ID"].equals(b["Loan_ID"])  # ids are positional
    for col in ["Age", "Loan_Amount", "Interest_Rate", "Outstanding_Loan_Amount"]:
        assert (a[col] != b[col]).mean() > 0.9


def test_columns_and_dtypes(sample):
    assert list(sample.columns) == COLUMNS
    assert len(sample) == 5000
    assert sample.index.equals(pd.RangeIndex(5000))
    for col in INTEGER_RANGES:
        assert sample[col].dtype == np.int64, col
    for col in FLOAT_RANGES:
        assert sample[col].dtype == np.float64, col
    for col in CATEGORY_COLUMNS + ["Borrower_ID", "Loan_ID"]:
        assert pd.api.types.is_string_dtype(sample[col]), col
    assert not sample.isna().any().any()


def test_passes_the_loan_schema_and_types(sample):
    build_loan_schema().validate(sample, lazy=True)
    typed = to_typed_frame(sample)
    for col, allowed in CATEGORIES.items():
        assert set(sample[col]) <= set(allowed), col
        assert not typed[col].isna().any(), col


def test_ids_are_sequential_and_unique(sample):
    n = len(sample)
    assert sample["Loan_ID"].tolist() == [f"LN_{i}" for i in range(1, n + 1)]
    assert sample["Borrower_ID"].tolist() == [f"BRW_{i}" for i in range(1, n + 1)]


def test_rejects_non_positive_row_counts():
    with pytest.raises(ValueError, match=r"generate\.n_rows must be >= 1, got 0"):
        generate_portfolio(0, seed=1)


# --- relations (exact, every row) -------------------------------------------------------------------

def test_emi_is_the_outstanding_amount_over_the_tenure(sample):
    expected = monthly_instalment(sample["Outstanding_Loan_Amount"].to_numpy(), sample["Loan_Tenure"].to_numpy())
    assert np.abs(sample["Monthly_EMI"].to_numpy() - expected).max() <= 0.005 + 1e-6  # rounded to cents


def test_monthly_instalment_by_hand():
    assert monthly_instalment(np.array([12_000.0]), np.array([12]))[0] == pytest.approx(1000.0)


def test_collateral_only_on_secured_loans(sample):
    personal = sample["Loan_Type"] == "Personal"
    assert personal.any() and (~personal).any()
    assert (sample.loc[personal, "Collateral_Value"] == 0).all()
    ratio = sample.loc[~personal, "Collateral_Value"] / sample.loc[~personal, "Loan_Amount"]
    assert ratio.min() >= 0.5 - 1e-6 and ratio.max() <= 1.5 + 1e-6


def test_outstanding_is_a_share_of_the_loan(sample):
    ratio = sample["Outstanding_Loan_Amount"] / sample["Loan_Amount"]
    assert ratio.min() >= 0.1 - 1e-6 and ratio.max() <= 1.0 + 1e-6


def test_days_past_due_only_after_a_missed_payment(sample):
    missed, dpd = sample["Num_Missed_Payments"], sample["Days_Past_Due"]
    assert ((dpd == 0) == (missed == 0)).all()
    assert dpd[missed > 0].between(1, 180).all()
    assert (missed == 0).any() and (missed > 0).any()


def test_missed_payments_by_payment_history(sample):
    by_history = sample.groupby("Payment_History")["Num_Missed_Payments"]
    assert by_history.max()["On-Time"] <= 3 and by_history.max()["Delayed"] <= 3
    assert by_history.max()["Missed"] <= 12 and by_history.max()["Missed"] > 3


def test_legal_action_only_on_write_offs(sample):
    legal = sample["Legal_Action_Taken"] == "Yes"
    assert legal.any()
    assert (sample.loc[legal, "Recovery_Status"] == "Written Off").all()


def test_few_collection_attempts_when_fully_recovered(sample):
    full = sample["Recovery_Status"] == "Fully Recovered"
    assert sample.loc[full, "Collection_Attempts"].max() <= 3
    assert sample.loc[~full, "Collection_Attempts"].max() > 3


def test_tenures_are_whole_years(sample):
    assert set(sample["Loan_Tenure"]) == {12, 24, 36, 48, 60, 72}


# --- chunking -----------------------------------------------------------------------------------

@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(synthetic, "CHUNK_ROWS", 100)
    return 100


def test_chunks_are_consistent_and_independent(small_chunks):
    whole = generate_portfolio(250, seed=9)
    chunks = list(iter_portfolio(250, seed=9))
    assert [len(c) for c in chunks] == [100, 100, 50]
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), whole)
    assert whole["Loan_ID"].tolist() == [f"LN_{i}" for i in range(1, 251)]
    # The first chunks do not depend on how many rows follow them.
    pd.testing.assert_frame_equal(generate_portfolio(200, seed=9), whole.iloc[:200])
    pd.testing.assert_frame_equal(generate_portfolio(100, seed=9), whole.iloc[:100])
    # Chunk i is generate_chunk with child seed i of SeedSequence(seed).
    child = np.random.SeedSequence(9).spawn(3)[2]
    last = generate_chunk(np.random.default_rng(child), start=200, n=50)
    pd.testing.assert_frame_equal(last.reset_index(drop=True), whole.iloc[200:].reset_index(drop=True))
    # Chunks draw from different streams, not one stream repeated.
    assert (whole["Loan_Amount"].iloc[:100].to_numpy() != whole["Loan_Amount"].iloc[100:200].to_numpy()).mean() > 0.9
    build_loan_schema().validate(whole)


def test_chunking_does_not_change_a_portfolio_within_one_chunk(small_chunks):
    inside = generate_portfolio(80, seed=2)
    chunk = generate_chunk(np.random.default_rng(np.random.SeedSequence(2).spawn(1)[0]), start=0, n=80)
    pd.testing.assert_frame_equal(inside, chunk)


def test_write_portfolio_round_trips_through_prepare(tmp_path, small_chunks):
    path = tmp_path / "out" / "portfolio.csv"
    write_portfolio(250, seed=4, path=path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(COLUMNS)  # header once, though three chunks were written
    assert len(lines) == 251
    assert [p.name for p in path.parent.iterdir()] == ["portfolio.csv"]  # no temp file left behind
    kept, rejects, _ = prepare_loans(read_raw_table(path))
    assert len(rejects) == 0
    expected = to_typed_frame(generate_portfolio(250, seed=4))
    pd.testing.assert_frame_equal(to_typed_frame(kept[COLUMNS]).reset_index(drop=True), expected,
                                  check_exact=False, rtol=1e-12)


# --- distribution against the real file -----------------------------------------------------------

@pytest.fixture(scope="module")
def real(real_data_path) -> pd.DataFrame:
    """The real file, read in place (never copied); conftest skips cleanly where it is absent."""
    return pd.read_csv(real_data_path)


@pytest.fixture(scope="module")
def big() -> pd.DataFrame:
    return generate_portfolio(20_000, seed=2024)


@pytest.mark.parametrize("column", CATEGORY_COLUMNS)
def test_category_shares_match_the_real_file(real, big, column):
    real_share = real[column].value_counts(normalize=True)
    synth_share = big[column].value_counts(normalize=True)
    assert set(synth_share.index) == set(real_share.index)
    gap = (real_share - synth_share.reindex(real_share.index)).abs()
    assert gap.max() <= 0.06, gap.to_dict()


@pytest.mark.parametrize("column", [c for c in NUMERIC_COLUMNS if c not in TAIL_COLUMNS])
def test_numeric_ranges_match_the_real_file(real, big, column):
    """Synthetic min/max within the real min/max widened by 10% of the real range on each side."""
    low, high = real[column].min(), real[column].max()
    slack = 0.1 * (high - low)
    assert big[column].min() >= low - slack, (big[column].min(), low)
    assert big[column].max() <= high + slack, (big[column].max(), high)


@pytest.mark.parametrize("column", KS_COLUMNS)
def test_numeric_distributions_match_the_real_file(real, big, column):
    statistic = ks_2samp(real[column].to_numpy(), big[column].to_numpy()).statistic
    assert statistic < 0.12, statistic


def test_real_file_emi_is_straight_line(real):
    """The real relation the generator follows (test_emi_is_the_outstanding_amount_over_the_tenure)."""
    ratio = real["Monthly_EMI"] / (real["Outstanding_Loan_Amount"] / real["Loan_Tenure"])
    assert ratio.between(0.9999, 1.0001).all()


def test_real_file_relations_that_the_generator_follows(real):
    personal = real["Loan_Type"] == "Personal"
    assert (real.loc[personal, "Collateral_Value"] == 0).all()
    assert (real.loc[real["Legal_Action_Taken"] == "Yes", "Recovery_Status"] == "Written Off").all()
    assert real.loc[real["Recovery_Status"] == "Fully Recovered", "Collection_Attempts"].max() <= 3
    assert real.loc[real["Payment_History"] != "Missed", "Num_Missed_Payments"].max() <= 3
    # Days past due only after a missed payment (one real loan has missed payments but 0 days past due).
    assert ((real["Num_Missed_Payments"] == 0) & (real["Days_Past_Due"] > 0)).sum() == 0
