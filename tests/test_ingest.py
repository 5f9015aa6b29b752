"""Unit tests of loan_recovery.ingest: one test per kind of bad input, on tiny tmp files.

Fixtures come from the seeded synthetic generator, so no real data file is needed.
"""
from __future__ import annotations

import codecs
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loan_recovery import ingest
from loan_recovery.errors import UserError
from loan_recovery.ingest import (
    check_decodable, detect_encoding, detect_separator, find_duplicate_ids, match_header,
    parse_loan_table, prepare_loans, read_raw_table, record_start_lines, validate_loan_table,
)
from loan_recovery.schema import COLUMNS
from loan_recovery.synthetic import generate_portfolio


# ---------------------------------------------------------------- helpers

@pytest.fixture(scope="module")
def loans() -> pd.DataFrame:
    """Eight valid loans, every value as a string (as read from a CSV)."""
    return generate_portfolio(8, seed=7).astype(str)


def to_csv(frame: pd.DataFrame, sep: str = ",") -> str:
    return frame.to_csv(index=False, sep=sep, lineterminator="\n")


def with_value(frame: pd.DataFrame, row: int, column: str, value: str) -> pd.DataFrame:
    changed = frame.copy()
    changed.loc[row, column] = value
    return changed


def write(tmp_path: Path, text: str | bytes, encoding: str = "utf-8", name: str = "loans.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return path


def prepare_text(tmp_path: Path, text: str | bytes, fix_case: bool = True, **read_kw):
    return prepare_loans(read_raw_table(write(tmp_path, text), **read_kw), fix_case)


def reject_lines(rejects: pd.DataFrame) -> list[int]:
    return [int(line) for line in rejects["line"]]


def raw_table(frame: pd.DataFrame) -> ingest.RawTable:
    """A RawTable as read_raw_table would build it from a clean file (header = line 1)."""
    empty = pd.DataFrame(columns=["line", "reasons", "raw_text"])
    return ingest.RawTable(frame.reset_index(drop=True), np.arange(2, len(frame) + 2), empty)


# ---------------------------------------------------------------- detect_encoding / check_decodable

@pytest.mark.parametrize("bom, expected", [
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"), (b"", "utf-8"),
])
def test_detect_encoding_from_bom(bom, expected):
    assert detect_encoding(bom + b"Borrower_ID,Age", "auto") == expected


def test_detect_encoding_explicit_codec_is_returned():
    assert detect_encoding(b"\xef\xbb\xbfabc", "cp1252") == "cp1252"


@pytest.mark.parametrize("codec", ["klingon", "rot13", 42])
def test_detect_encoding_rejects_unknown_or_non_text_codec(codec):
    with pytest.raises(UserError, match=r"prepare\.encoding: unknown text encoding .* \(use auto, utf-8,"):
        detect_encoding(b"abc", codec)


def test_check_decodable_names_line_and_byte_of_bad_byte(tmp_path):
    path = write(tmp_path, "a,b\nok,1\nJos\xe9,2\n", encoding="cp1252")
    with pytest.raises(UserError, match=r"loans\.csv: line 3 \(byte 12\) is not valid utf-8; set prepare\.encoding"):
        check_decodable(path, "utf-8")


def test_check_decodable_truncated_multibyte_character(tmp_path):
    path = write(tmp_path, "a,b\nJos\xe9".encode("utf-8")[:-1])
    with pytest.raises(UserError, match=r"loans\.csv: ends inside a multi-byte character; is it truncated\?"):
        check_decodable(path, "utf-8")


# ---------------------------------------------------------------- detect_separator

@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_detect_separator_finds_the_header_separator(sep):
    assert detect_separator(sep.join(COLUMNS), "auto") == sep


@pytest.mark.parametrize("configured, expected", [("tab", "\t"), ("\\t", "\t"), (";", ";")])
def test_detect_separator_configured(configured, expected):
    assert detect_separator(",".join(COLUMNS), configured) == expected


@pytest.mark.parametrize("configured", [";;", "", '"', 5])
def test_detect_separator_rejects_bad_configured_value(configured):
    with pytest.raises(UserError, match=r"prepare\.sep: expected auto, tab or one character"):
        detect_separator(",".join(COLUMNS), configured)


# ---------------------------------------------------------------- match_header

def test_match_header_reordered_recased_extra_and_missing():
    names = list(reversed(COLUMNS[1:])) + ["notes", "AGE"]
    names[0] = " legal_action_taken "
    rename, missing, extra = match_header(names)
    assert rename == {" legal_action_taken ": "Legal_Action_Taken"}
    assert missing == ["Borrower_ID"]
    assert extra == ["notes", "AGE"]  # a second 'Age' is not matched twice


# ---------------------------------------------------------------- file-level problems (read_raw_table)

def test_missing_file(tmp_path):
    with pytest.raises(UserError, match=r"nope\.csv: file not found \(set data\.raw"):
        read_raw_table(tmp_path / "nope.csv")


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(UserError, match=r": is a directory, expected a CSV file"):
        read_raw_table(tmp_path)


@pytest.mark.parametrize("content", [b"", b"  \n\n \n", codecs.BOM_UTF8, codecs.BOM_UTF16_LE + " \n".encode("utf-16-le")])
def test_empty_file(tmp_path, content):
    with pytest.raises(UserError, match=r"loans\.csv: file is empty \(expected a header and at least one row\)"):
        read_raw_table(write(tmp_path, content))


@pytest.mark.parametrize("tail", ["", "\n", "\r\n", "\n\n  \n"])
def test_header_only_file(tmp_path, tail):
    with pytest.raises(UserError, match=r"loans\.csv: has a header but no data rows$"):
        read_raw_table(write(tmp_path, ",".join(COLUMNS) + tail))


def test_missing_column_is_named(tmp_path, loans):
    with pytest.raises(UserError, match=r"loans\.csv: missing column\(s\) Monthly_Income, Loan_Type \(found 19 columns"):
        read_raw_table(write(tmp_path, to_csv(loans.drop(columns=["Monthly_Income", "Loan_Type"]))))


def test_blank_first_line_is_not_a_header(tmp_path, loans):
    with pytest.raises(UserError, match=r"line 1 is not the loan-table header \(read a blank line with separator ','"):
        read_raw_table(write(tmp_path, "\n" + to_csv(loans)))


def test_foreign_header_names_what_was_read(tmp_path):
    with pytest.raises(UserError, match=r"line 1 is not the loan-table header \(read 2 column\(s\) 'foo', 'bar' .*prepare\.sep"):
        read_raw_table(write(tmp_path, "foo,bar\n1,2\n"))


def test_utf16_without_bom_gets_a_hint(tmp_path, loans):
    with pytest.raises(UserError, match=r"NUL bytes suggest UTF-16: set prepare\.encoding to utf-16-le"):
        read_raw_table(write(tmp_path, to_csv(loans), encoding="utf-16-le"))


def test_duplicate_header_names_are_named(tmp_path, loans):
    text = to_csv(loans.assign(extra="1")).replace(",extra\n", ",age\n", 1)
    with pytest.raises(UserError, match=r"duplicate column name\(s\) in header: 'age' \(names are case-insensitive"):
        read_raw_table(write(tmp_path, text))


def test_cp1252_file_stops_unless_configured(tmp_path, loans):
    path = write(tmp_path, to_csv(with_value(loans, 2, "Borrower_ID", "BRW_José")), encoding="cp1252")
    with pytest.raises(UserError, match=r"loans\.csv: line 4 \(byte \d+\) is not valid utf-8; set prepare\.encoding .*cp1252"):
        read_raw_table(path)
    assert read_raw_table(path, encoding="cp1252").frame.loc[2, "Borrower_ID"] == "BRW_José"


# ---------------------------------------------------------------- encodings, separators, layouts that are fine

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-be-bom"])
def test_encodings_and_boms_read_every_row(tmp_path, loans, encoding):
    text = to_csv(with_value(loans, 0, "Borrower_ID", "BRW_Zoë"))
    data = codecs.BOM_UTF16_BE + text.encode("utf-16-be") if encoding == "utf-16-be-bom" else text.encode(encoding)
    kept, rejects, metrics = prepare_text(tmp_path, data)
    assert (metrics["rows_kept"], len(rejects)) == (8, 0)
    assert kept.loc[0, "Borrower_ID"] == "BRW_Zoë"
    assert list(kept.columns) == COLUMNS


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_other_separators(tmp_path, loans, sep):
    kept, rejects, _ = prepare_text(tmp_path, to_csv(loans, sep=sep))
    assert len(kept) == 8 and rejects.empty
    assert kept["Loan_ID"].tolist() == loans["Loan_ID"].tolist()


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_windows_and_old_mac_line_endings(tmp_path, loans, newline):
    kept, rejects, _ = prepare_text(tmp_path, to_csv(loans).replace("\n", newline))
    assert len(kept) == 8 and rejects.empty


def test_reordered_and_recased_columns_keep_values(tmp_path, loans):
    shuffled = loans[list(reversed(COLUMNS))].rename(columns=str.upper)
    kept, _, metrics = prepare_text(tmp_path, to_csv(shuffled))
    assert list(kept.columns) == COLUMNS
    assert kept["Age"].tolist() == loans["Age"].astype(int).tolist()
    assert metrics["columns_renamed"] == 21


def test_extra_column_is_kept_as_text_and_counted(tmp_path, loans):
    kept, _, metrics = prepare_text(tmp_path, to_csv(loans.assign(Branch="North")))
    assert kept["Branch"].tolist() == ["North"] * 8
    assert metrics["columns_extra"] == 1


# ---------------------------------------------------------------- row-level problems (parse / validate)

def test_thousands_separators_are_parsed_and_counted(tmp_path, loans):
    text = to_csv(with_value(with_value(loans, 0, "Loan_Amount", "1,234,567"), 1, "Collateral_Value", "2,500.75"))
    kept, rejects, metrics = prepare_text(tmp_path, text)
    assert rejects.empty
    assert kept.loc[0, "Loan_Amount"] == 1_234_567 and kept.loc[1, "Collateral_Value"] == 2500.75
    assert metrics["values_with_thousands_separators"] == 2


@pytest.mark.parametrize("column", ["Age", "Gender", "Loan_ID"])
def test_blank_cell_is_rejected_as_blank(loans, column):
    _, problems, _ = parse_loan_table(with_value(loans, 3, column, "  "))
    assert problems[["row", "kind", "reason"]].values.tolist() == [[3, "blank_value", f"{column}: blank"]]


@pytest.mark.parametrize("value", ["abc", "inf", "-Infinity", "NaN", "NA", "null", "0x20", "1,23,4567", "12,5"])
def test_unparseable_number_is_rejected_with_its_value(loans, value):
    _, problems, _ = parse_loan_table(with_value(loans, 2, "Monthly_Income", value))
    assert problems[["row", "kind", "reason"]].values.tolist() == [
        [2, "not_a_number", f"Monthly_Income: '{value}' is not a number"]]


def test_fraction_in_whole_number_column(loans):
    _, problems, _ = parse_loan_table(with_value(loans, 1, "Num_Dependents", "2.5"))
    assert problems["reason"].tolist() == ["Num_Dependents: '2.5' is not a whole number"]


@pytest.mark.parametrize("value", ["1e30", "99999999999999999999", "-9007199254740992", "9007199254740993"])
def test_whole_number_too_large_is_not_coerced(loans, value):
    typed, problems, _ = parse_loan_table(with_value(loans, 0, "Loan_Amount", value))
    assert problems[["kind", "reason"]].values.tolist() == [
        ["out_of_range", f"Loan_Amount: '{value}' is too large (at most 9007199254740991 in absolute value)"]]
    assert np.isnan(typed.loc[0, "Loan_Amount"])


def test_unknown_category(loans):
    _, problems, _ = parse_loan_table(with_value(loans, 4, "Loan_Type", "Mortgage"))
    assert problems[["row", "kind", "reason"]].values.tolist() == [
        [4, "unknown_category", "Loan_Type: 'Mortgage' is not one of Auto, Business, Home, Personal"]]


def test_miscased_category_is_recased_and_counted(loans):
    typed, problems, counters = parse_loan_table(with_value(loans, 0, "Gender", " male"), fix_category_case=True)
    assert problems.empty
    assert typed.loc[0, "Gender"] == "Male" and counters["values_recased"] == 1


def test_miscased_category_is_rejected_when_case_fixing_is_off(loans):
    _, problems, counters = parse_loan_table(with_value(loans, 0, "Gender", "male"), fix_category_case=False)
    assert problems["reason"].tolist() == [
        "Gender: 'male' is not one of Female, Male (set prepare.fix_category_case: true to accept it)"]
    assert counters["values_recased"] == 0


def test_reason_stays_on_one_line_whatever_the_cell_holds(loans):
    _, problems, _ = parse_loan_table(with_value(loans, 0, "Age", "5\n9"))
    assert problems["reason"].tolist() == ["Age: '5\\n9' is not a number"]


def test_parse_does_not_modify_its_input(loans):
    raw = with_value(loans, 0, "Gender", "male")
    before = raw.copy()
    parse_loan_table(raw)
    pd.testing.assert_frame_equal(raw, before)


@pytest.mark.parametrize("column, value, check", [
    ("Age", "250", r"Age: 250(\.0)? is outside in_range\(18, 100\)"),
    ("Loan_Amount", "-5", r"Loan_Amount: -5(\.0)? is outside greater_than_or_equal_to\(1\)"),
    ("Interest_Rate", "101.5", r"Interest_Rate: 101\.5 is outside in_range\(0\.0, 100\.0\)"),
    ("Outstanding_Loan_Amount", "-0.5", r"Outstanding_Loan_Amount: -0\.5 is outside greater_than_or_equal_to\(0\.0\)"),
])
def test_impossible_value_fails_validation(loans, column, value, check):
    typed, problems, _ = parse_loan_table(with_value(loans, 5, column, value))
    assert problems.empty
    found = validate_loan_table(typed[COLUMNS])
    assert found["row"].tolist() == [5] and found["kind"].tolist() == ["out_of_range"]
    assert found["reason"].str.fullmatch(check).all(), found["reason"].tolist()


def test_validate_returns_no_problems_for_clean_rows(loans):
    typed, _, _ = parse_loan_table(loans)
    assert validate_loan_table(typed[COLUMNS]).empty


# ---------------------------------------------------------------- duplicates

def test_find_duplicate_ids_names_the_first_line():
    ids = pd.Series(["LN_1", "LN_2", " LN_1", "LN_3", "LN_1", ""], dtype="str")
    found = find_duplicate_ids(ids, np.array([2, 3, 5, 6, 9, 10]))
    assert found[["row", "kind", "reason"]].values.tolist() == [
        [2, "duplicate_loan_id", "Loan_ID: 'LN_1' duplicates line 2"],
        [4, "duplicate_loan_id", "Loan_ID: 'LN_1' duplicates line 2"],
    ]


def test_duplicate_loan_id_first_kept_later_rejected(tmp_path, loans):
    text = to_csv(pd.concat([loans, loans.iloc[[1]]], ignore_index=True))
    kept, rejects, metrics = prepare_text(tmp_path, text)
    assert kept["Loan_ID"].tolist() == loans["Loan_ID"].tolist()
    assert reject_lines(rejects) == [10]
    assert rejects["reasons"].tolist() == [f"Loan_ID: '{loans.loc[1, 'Loan_ID']}' duplicates line 3"]
    assert metrics["rejected_duplicate_loan_id"] == 1


# ---------------------------------------------------------------- structure: field counts, blank lines, quoting

def test_rows_with_too_many_or_too_few_fields(tmp_path, loans):
    lines = to_csv(loans).splitlines()
    lines[2] += ",surplus"
    lines[5] = ",".join(lines[5].split(",")[:10])
    kept, rejects, metrics = prepare_text(tmp_path, "\n".join(lines) + "\n")
    assert len(kept) == 6 and reject_lines(rejects) == [3, 6]
    assert rejects["reasons"].tolist() == ["has 22 fields, expected 21", "has 10 fields, expected 21"]
    assert rejects.loc[0, "raw_text"].endswith(",surplus")
    assert metrics["rejected_wrong_field_count"] == 2


def test_blank_lines_are_counted_and_keep_line_numbers(tmp_path, loans):
    lines = to_csv(with_value(loans, 5, "Age", "x")).splitlines()
    text = "\n".join(lines[:3] + ["", "   ", "," * 20] + lines[3:]) + "\n\n"
    kept, rejects, metrics = prepare_text(tmp_path, text)
    assert len(kept) == 7 and metrics["blank_lines"] == 4
    assert reject_lines(rejects) == [10]  # data row 6: line 7, plus three blank lines before it
    assert metrics["rows_read"] == 8


def test_quoted_newline_keeps_later_line_numbers_right(tmp_path, loans):
    text = to_csv(with_value(with_value(loans, 1, "Borrower_ID", "BRW\nX\nY"), 6, "Age", "x"))
    kept, rejects, _ = prepare_text(tmp_path, text)
    assert kept.loc[1, "Borrower_ID"] == "BRW\nX\nY"
    assert reject_lines(rejects) == [10]  # data row 7 is on line 8, plus two line breaks above


def test_line_numbers_survive_small_read_blocks(tmp_path, monkeypatch):
    frame = generate_portfolio(120, seed=3).astype(str)
    frame.loc[10, "Borrower_ID"] = "multi\nline"
    frame.loc[100, "Age"] = "x"
    monkeypatch.setattr(ingest, "_CHUNK_BYTES", 1024)
    _, rejects, _ = prepare_text(tmp_path, to_csv(frame))
    assert reject_lines(rejects) == [103]


def test_unclosed_quote_is_one_reject_naming_the_span(tmp_path, loans):
    lines = to_csv(loans).splitlines()
    lines[6] = '"' + lines[6]
    kept, rejects, _ = prepare_text(tmp_path, "\n".join(lines) + "\n")
    assert len(kept) == 5 and reject_lines(rejects) == [7]
    assert rejects["reasons"].tolist() == ["has 1 fields, expected 21 (spans 3 lines: an unclosed quote?)"]


def test_record_start_lines_adds_breaks_of_earlier_records():
    lines, bad = record_start_lines(np.array([2, 3, 5]), np.array([2, 0, 0]), np.array([4]), np.array([1]))
    assert lines.tolist() == [2, 5, 8] and bad.tolist() == [6]


# ---------------------------------------------------------------- prepare_loans: whole split and metrics

def test_prepare_loans_splits_and_counts_every_row(loans):
    raw = with_value(with_value(with_value(loans, 0, "Age", "abc"), 3, "Gender", "Robot"), 6, "Age", "300")
    kept, rejects, metrics = prepare_loans(raw_table(raw))
    assert len(kept) == 5 and reject_lines(rejects) == [2, 5, 8]
    assert metrics["rows_read"] == metrics["rows_kept"] + metrics["rows_rejected"] == 8
    assert (metrics["rejected_not_a_number"], metrics["rejected_unknown_category"], metrics["rejected_out_of_range"]) == (1, 1, 1)
    assert metrics["reject_share"] == 0.375


def test_prepare_loans_types_of_kept_rows(loans):
    kept, _, _ = prepare_loans(raw_table(loans))
    assert kept["Age"].dtype == "int64" and kept["Interest_Rate"].dtype == "float64"
    assert isinstance(kept["Gender"].dtype, pd.CategoricalDtype)
    assert list(kept["Gender"].cat.categories) == ["Female", "Male"]


def test_row_with_several_problems_is_one_reject_with_all_reasons(loans):
    raw = with_value(with_value(loans, 2, "Age", "abc"), 2, "Loan_Type", "Boat")
    _, rejects, metrics = prepare_loans(raw_table(raw))
    assert len(rejects) == 1 and metrics["rows_rejected"] == 1
    assert rejects.loc[0, "reasons"] == (
        "Age: 'abc' is not a number; Loan_Type: 'Boat' is not one of Auto, Business, Home, Personal")


def test_optional_columns_may_be_absent_and_are_not_parsed(tmp_path):
    from loan_recovery.synthetic import generate_portfolio
    frame = generate_portfolio(20, seed=5).drop(columns=["Recovery_Status", "Collection_Method"])
    path = tmp_path / "new.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(UserError, match="missing column"):
        read_raw_table(path)
    kept, rejects, metrics = prepare_loans(read_raw_table(path, optional=("Recovery_Status", "Collection_Method")))
    assert len(kept) == 20 and len(rejects) == 0
    assert "Recovery_Status" not in kept.columns and kept["Loan_Type"].dtype == "category"
