"""Read a user's loan CSV robustly and split it into typed rows and rejected rows.

File-level problems (missing, empty, undecodable, missing columns) raise UserError.
Row-level problems never vanish: every bad row gets a reason and goes to rejects.
"""
from __future__ import annotations

import codecs
import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pyarrow_lib
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from .errors import UserError
from .io import param
from .schema import CATEGORIES, COLUMNS, FLOAT_RANGES, INTEGER_RANGES, build_loan_schema

SEPARATOR_CANDIDATES = [",", ";", "\t", "|"]
_BOMS = [
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]
_CHUNK_BYTES = 16 * 1024 * 1024
_HEAD_BYTES = 64 * 1024


@dataclass
class RawTable:
    """The CSV as strings, plus what could not even be split into fields."""

    frame: pd.DataFrame                 # one str column per header field
    lines: np.ndarray                   # 1-based file line of each frame row
    structural_rejects: pd.DataFrame    # line, reasons, raw_text
    blank_lines: int = 0
    header_notes: dict = field(default_factory=dict)


def detect_encoding(head: bytes, configured: str) -> str:
    """'auto' -> codec from the BOM, else utf-8; an explicit codec name is checked and returned."""
    if configured != "auto":
        try:
            "".encode(configured)  # LookupError for unknown names and non-text codecs (rot13)
        except (LookupError, TypeError) as err:
            raise UserError(f"prepare.encoding: unknown text encoding {configured!r} "
                            f"(use auto, utf-8, utf-8-sig, utf-16, cp1252, latin-1, ...)") from err
        return configured
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    return "utf-8"


def check_decodable(path: Path, encoding: str) -> None:
    """Stream-decode the file; name the line of the first undecodable byte."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    newlines_before = 0
    offset = 0
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK_BYTES):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as err:
                line = newlines_before + chunk[: err.start].count(b"\n") + 1
                raise UserError(
                    f"{path}: line {line} (byte {offset + err.start}) is not valid {encoding}; "
                    f"set prepare.encoding to the file's encoding (e.g. cp1252)"
                ) from err
            newlines_before += chunk.count(b"\n")
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as err:
            raise UserError(f"{path}: ends inside a multi-byte character; is it truncated?") from err


def detect_separator(header_line: str, configured: str) -> str:
    """'auto' -> the candidate whose split of the header yields the most known column names."""
    if configured != "auto":
        sep = "\t" if configured in ("\\t", "tab") else configured
        if not isinstance(sep, str) or len(sep) != 1 or sep in "\"\r\n":
            raise UserError(f"prepare.sep: expected auto, tab or one character such as , ; | (got {configured!r})")
        return sep
    known = {name.lower() for name in COLUMNS}

    def score(sep: str) -> tuple[int, int]:
        fields = next(csv.reader([header_line], delimiter=sep))
        return sum(f.strip().lower() in known for f in fields), len(fields)

    return max(SEPARATOR_CANDIDATES, key=score)


def match_header(names: list[str]) -> tuple[dict[str, str], list[str], list[str]]:
    """Map file header -> canonical names (case/space-insensitive).

    Returns (rename map for changed names, missing canonical names, extra file names).
    """
    canonical = {name.lower(): name for name in COLUMNS}
    rename: dict[str, str] = {}
    seen: set[str] = set()
    extra: list[str] = []
    for name in names:
        key = name.strip().lower()
        if key in canonical and canonical[key] not in seen:
            seen.add(canonical[key])
            if name != canonical[key]:
                rename[name] = canonical[key]
        else:
            extra.append(name)
    missing = [name for name in COLUMNS if name not in seen]
    return rename, missing, extra


def read_raw_table(path: str | Path, encoding: str = "auto", sep: str = "auto",
                   optional: tuple[str, ...] = ()) -> RawTable:
    """Read every field as a string (I/O edge). Raises UserError for file-level problems.

    `optional` columns may be absent (a new portfolio has no outcome or collection columns yet).
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: file not found (set data.raw to your CSV: dvc exp run -S data.raw=path/to.csv)")
    if path.is_dir():
        raise UserError(f"{path}: is a directory, expected a CSV file")
    with path.open("rb") as fh:
        head = fh.read(_HEAD_BYTES)
    codec = detect_encoding(head, encoding)
    check_decodable(path, codec)
    text_head = head.decode(codec, errors="replace").lstrip("\ufeff")
    if not text_head.strip():
        raise UserError(f"{path}: file is empty (expected a header and at least one row)")
    header_line, after_header = (re.split(r"\r\n|\r|\n", text_head, maxsplit=1) + [""])[:2]
    delimiter = detect_separator(header_line, sep)
    header = [h.strip() for h in next(csv.reader([header_line], delimiter=delimiter))]
    rename, missing, extra = match_header(header)
    check_header(path, header, [c for c in missing if c not in optional], f"separator {delimiter!r}, encoding {codec}")
    if len(head) < _HEAD_BYTES and not after_header.strip():
        raise UserError(f"{path}: has a header but no data rows")

    table, bad_rows = _read_records(path, "utf-8" if codec == "utf-8-sig" else codec, delimiter, header)
    frame = table.to_pandas(types_mapper=lambda _t: pd.StringDtype(na_value=np.nan)).rename(columns=rename)
    frame = frame.astype("str")
    bad_records = np.array([b[0] for b in bad_rows], dtype=np.int64)
    lines, bad_lines = record_start_lines(
        _data_row_lines(len(frame), np.sort(bad_records)), _newlines_per_row(table),
        bad_records, np.array([b[2].count("\n") for b in bad_rows], dtype=np.int64),
    )
    structural = pd.DataFrame(
        [(line, reason, text) for line, (_, reason, text) in zip(bad_lines, bad_rows) if reason],
        columns=["line", "reasons", "raw_text"],
    )
    blank_lines = sum(1 for _, reason, _ in bad_rows if not reason)
    notes = {"columns_renamed": len(rename), "columns_extra": len(extra), "extra_columns": extra,
             "separator": delimiter, "encoding": codec}
    return RawTable(frame, lines, structural, blank_lines, notes)


def check_header(path: Path, header: list[str], missing: list[str], how_read: str) -> None:
    """UserError when the header is not the loan table's: none, some or duplicated columns."""
    if len(missing) == len(COLUMNS):
        shown = ", ".join(repr(h[:24]) for h in header[:4]) + (", ..." if len(header) > 4 else "")
        read = f"{len(header)} column(s) {shown}" if header else "a blank line"
        utf16 = "; NUL bytes suggest UTF-16: set prepare.encoding to utf-16-le or utf-16-be" if "\x00" in "".join(header) else ""
        raise UserError(
            f"{path}: line 1 is not the loan-table header (read {read} with {how_read}); "
            f"the first line must name the 21 columns (Borrower_ID, Age, ...): check the file, prepare.sep and prepare.encoding{utf16}"
        )
    if missing:
        raise UserError(
            f"{path}: missing column(s) {', '.join(missing)} "
            f"(found {len(header)} columns with {how_read}; expected the 21-column loan table)"
        )
    lowered = pd.Series([h.lower() for h in header])
    duplicated = sorted(set(lowered[lowered.duplicated()]))
    if duplicated:
        raise UserError(f"{path}: duplicate column name(s) in header: {', '.join(repr(d) for d in duplicated)} "
                        f"(names are case-insensitive; rename or delete the repeats)")


def _read_records(path: Path, codec: str, delimiter: str, header: list[str]) -> tuple[pyarrow_lib.Table, list[tuple[int, str, str]]]:
    """All data records as strings; each unsplittable one as (record number, reason, text), reason '' if blank."""
    bad_rows: list[tuple[int, str, str]] = []

    def on_invalid(row: pa_csv.InvalidRow) -> str:
        text = row.text.strip()
        reason = f"has {row.actual_columns} fields, expected {row.expected_columns}" if text else ""
        breaks = text.count("\n")
        if breaks:
            reason += f" (spans {breaks + 1} lines: an unclosed quote?)"
        bad_rows.append((row.number, reason, row.text if text else ""))
        return "skip"

    try:
        table = pa_csv.read_csv(
            path,
            read_options=pa_csv.ReadOptions(
                encoding=codec, use_threads=False, column_names=header, skip_rows=1,
                block_size=_CHUNK_BYTES,
            ),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter, invalid_row_handler=on_invalid, ignore_empty_lines=False,
                newlines_in_values=True,  # a quoted value may span lines, also across blocks
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types={h: pyarrow_lib.string() for h in header},
                strings_can_be_null=False, quoted_strings_can_be_null=False,
            ),
        )
    except pyarrow_lib.ArrowInvalid as err:
        raise UserError(f"{path}: could not be parsed as CSV with separator {delimiter!r}: {str(err).splitlines()[0]}") from err
    return table, bad_rows


def _newlines_per_row(table: pyarrow_lib.Table) -> np.ndarray:
    """Line breaks inside each row's (quoted) values."""
    counts = np.zeros(table.num_rows, dtype=np.int64)
    for column in table.columns:
        counts += pc.count_substring(column, "\n").to_numpy().astype(np.int64)
    return counts


def _data_row_lines(n_rows: int, skipped_lines: np.ndarray) -> np.ndarray:
    """Record number of each parsed row: the header is record 1, skipped records shift the rest."""
    candidates = np.arange(2, n_rows + len(skipped_lines) + 2, dtype=np.int64)
    return np.setdiff1d(candidates, skipped_lines, assume_unique=True)[:n_rows]


def record_start_lines(row_records: np.ndarray, row_newlines: np.ndarray,
                       bad_records: np.ndarray, bad_newlines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """File line where each record starts, from record numbers (header = 1) and line breaks inside records.

    Record n starts on line n plus the line breaks inside quoted values of records before it.
    """
    inside = np.zeros(len(row_records) + len(bad_records) + 2, dtype=np.int64)
    inside[row_records] = row_newlines
    inside[bad_records] = bad_newlines
    before = np.cumsum(inside) - inside
    return row_records + before[row_records], bad_records + before[bad_records]


_THOUSANDS = r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?"
_MAX_WHOLE = 2**53 - 1  # float64 holds every whole number up to here exactly


def _quoted(values: pd.Series) -> pd.Series:
    """Values as Python literals ('x', 'a\\nb'): a reason stays on one line whatever the cell holds."""
    return values.map(repr).astype(object).reset_index(drop=True)


def _problem(rows: np.ndarray, kind: str, reasons: pd.Series | str) -> pd.DataFrame:
    reasons = reasons if isinstance(reasons, pd.Series) else pd.Series(reasons, index=range(len(rows)))
    return pd.DataFrame({"row": rows, "kind": kind, "reason": np.asarray(reasons, dtype=object)})


def _to_float(text: pd.Series) -> pd.Series:
    """Strings -> float64, NaN where unparseable.

    Fast path: Arrow's cast (about 30x faster than pd.to_numeric) when every value parses;
    any bad value in the column falls back to pandas, which marks just the bad ones NaN.
    """
    try:
        parsed = pc.cast(pyarrow_lib.array(text), pyarrow_lib.float64())
        return pd.Series(parsed.to_numpy(zero_copy_only=False), index=text.index, dtype="float64")
    except (pyarrow_lib.ArrowInvalid, pyarrow_lib.ArrowNotImplementedError, pyarrow_lib.ArrowTypeError):
        return pd.to_numeric(text, errors="coerce").astype("float64")


def _parse_numeric(values: pd.Series, column: str, whole: bool) -> tuple[pd.Series, list[pd.DataFrame], int]:
    """Strings -> float64 (NaN where bad); problems name the column and the value."""
    text = values.str.strip()
    grouped = text.str.fullmatch(_THOUSANDS)
    cleaned = text.where(~grouped, text.str.replace(",", "", regex=False))
    number = _to_float(cleaned)
    blank = (text == "").to_numpy()
    not_number = (~np.isfinite(number.to_numpy())) & ~blank
    problems = []
    if blank.any():
        problems.append(_problem(np.flatnonzero(blank), "blank_value", f"{column}: blank"))
    if not_number.any():
        idx = np.flatnonzero(not_number)
        problems.append(_problem(idx, "not_a_number", f"{column}: " + _quoted(text.iloc[idx]) + " is not a number"))
    usable = np.isfinite(number.to_numpy()) & ~blank
    if whole:
        usable, found = _check_whole(number, text, column, usable)
        problems.extend(found)
    return number.where(usable), problems, int(grouped.sum())


def _check_whole(number: pd.Series, text: pd.Series, column: str, usable: np.ndarray) -> tuple[np.ndarray, list[pd.DataFrame]]:
    """Problems of an integer column: fractions, and magnitudes int64/float64 cannot hold exactly."""
    values = np.where(usable, number.to_numpy(), 0.0)
    too_large = usable & (np.abs(values) > _MAX_WHOLE)
    fractional = usable & ~too_large & (np.mod(values, 1) != 0)
    problems = []
    if fractional.any():
        idx = np.flatnonzero(fractional)
        problems.append(_problem(idx, "not_whole_number", f"{column}: " + _quoted(text.iloc[idx]) + " is not a whole number"))
    if too_large.any():
        idx = np.flatnonzero(too_large)
        problems.append(_problem(idx, "out_of_range", f"{column}: " + _quoted(text.iloc[idx])
                                 + f" is too large (at most {_MAX_WHOLE} in absolute value)"))
    return usable & ~too_large & ~fractional, problems


def _parse_category(values: pd.Series, column: str, fix_case: bool) -> tuple[pd.Series, list[pd.DataFrame], int]:
    allowed = CATEGORIES[column]
    text = values.str.strip()
    exact = text.isin(allowed)
    # Case-folding only where needed: most values are exact, and .map over millions is slow.
    canonical = pd.Series(np.nan, index=text.index, dtype=object)
    if not exact.all():
        inexact = ~exact
        canonical[inexact] = text[inexact].str.lower().map({a.lower(): a for a in allowed})
    canonical = canonical.where(~exact, text)
    recased = (~exact & canonical.notna()).to_numpy() if fix_case else np.zeros(len(text), bool)
    parsed = text.where(exact, canonical if fix_case else np.nan)
    blank = (text == "").to_numpy()
    bad = parsed.isna().to_numpy() & ~blank
    problems = []
    if blank.any():
        problems.append(_problem(np.flatnonzero(blank), "blank_value", f"{column}: blank"))
    if bad.any():
        idx = np.flatnonzero(bad)
        hint = np.where(canonical.iloc[idx].notna(), " (set prepare.fix_category_case: true to accept it)", "")
        problems.append(_problem(
            idx, "unknown_category",
            f"{column}: " + _quoted(text.iloc[idx]) + f" is not one of {', '.join(allowed)}" + hint,
        ))
    return parsed, problems, int(recased.sum())


def parse_loan_table(raw: pd.DataFrame, fix_category_case: bool = True) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Parse the string table into typed columns.

    Returns (typed frame with NaN where a value was bad, problems[row, kind, reason], counters).
    The input is not modified.
    """
    typed = {}
    problems: list[pd.DataFrame] = []
    counters = {"values_with_thousands_separators": 0, "values_recased": 0}
    for column in [c for c in COLUMNS if c in raw.columns]:
        values = raw[column].reset_index(drop=True)
        if column in INTEGER_RANGES or column in FLOAT_RANGES:
            parsed, found, grouped = _parse_numeric(values, column, whole=column in INTEGER_RANGES)
            counters["values_with_thousands_separators"] += grouped
        elif column in CATEGORIES:
            parsed, found, recased = _parse_category(values, column, fix_category_case)
            counters["values_recased"] += recased
        else:  # identifiers
            parsed = values.str.strip()
            blank = (parsed == "").to_numpy()
            found = [_problem(np.flatnonzero(blank), "blank_value", f"{column}: blank")] if blank.any() else []
            parsed = parsed.where(~blank)
        typed[column] = parsed
        problems.extend(found)
    extras = [c for c in raw.columns if c not in COLUMNS]
    for column in extras:  # kept as text; the leakage audit looks at them too
        typed[column] = raw[column].reset_index(drop=True)
    frame = pd.DataFrame(typed)
    all_problems = pd.concat(problems, ignore_index=True) if problems else _problem(np.array([], dtype=np.int64), "", "")
    return frame, all_problems, counters


def validate_loan_table(typed: pd.DataFrame) -> pd.DataFrame:
    """Run the pandera schema on rows that parsed; return problems[row, kind, reason]."""
    casts = {c: "int64" for c in INTEGER_RANGES} | {c: "float64" for c in FLOAT_RANGES}
    frame = typed.astype({c: t for c, t in casts.items() if c in typed.columns})  # keeps row positions
    try:
        build_loan_schema(list(typed.columns)).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases.dropna(subset=["index"])
        rows = cases["index"].astype("int64").to_numpy()
        reasons = (cases["column"].astype(str) + ": " + cases["failure_case"].astype(str)
                   + " is outside " + cases["check"].astype(str))
        return pd.DataFrame({"row": rows, "kind": "out_of_range", "reason": reasons.to_numpy(dtype=object)})
    return _problem(np.array([], dtype=np.int64), "", "")


REJECT_KINDS = ["wrong_field_count", "blank_value", "not_a_number", "not_whole_number",
                "unknown_category", "out_of_range", "duplicate_loan_id"]


def to_typed_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Final dtypes of the prepared table: int64, float64, fixed categoricals, str IDs."""
    casts: dict = {c: "int64" for c in INTEGER_RANGES} | {c: "float64" for c in FLOAT_RANGES}
    casts |= {c: pd.CategoricalDtype(CATEGORIES[c]) for c in CATEGORIES}
    casts |= {c: "str" for c in ("Borrower_ID", "Loan_ID")}
    return frame.astype({c: t for c, t in casts.items() if c in frame.columns})


def find_duplicate_ids(loan_ids: pd.Series, lines: np.ndarray) -> pd.DataFrame:
    """Every repeat of a Loan_ID after its first occurrence, naming that first line."""
    ids = loan_ids.str.strip().reset_index(drop=True)
    repeat = (ids.duplicated(keep="first") & (ids != "")).to_numpy()
    if not repeat.any():
        return _problem(np.array([], dtype=np.int64), "", "")
    first_line = pd.Series(lines, index=ids.index).groupby(ids).transform("first")
    idx = np.flatnonzero(repeat)
    first = first_line.iloc[idx].astype(str).astype(object).reset_index(drop=True)
    reasons = "Loan_ID: " + _quoted(ids.iloc[idx]) + " duplicates line " + first
    return _problem(idx, "duplicate_loan_id", reasons)


def drop_blank_lines(raw: RawTable) -> RawTable:
    """Lines with no content at all are layout, not records: counted, then skipped."""
    blank = (raw.frame.apply(lambda col: col.str.strip() == "")).all(axis=1).to_numpy()
    if not blank.any():
        return raw
    return RawTable(raw.frame.loc[~blank].reset_index(drop=True), raw.lines[~blank],
                    raw.structural_rejects, raw.blank_lines + int(blank.sum()), raw.header_notes)


def prepare_loans(raw: RawTable, fix_category_case: bool = True) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Split a raw table into (typed kept rows, rejects[line, reasons, ...raw values], metrics)."""
    raw = drop_blank_lines(raw)
    typed, problems, counters = parse_loan_table(raw.frame, fix_category_case)
    problems = pd.concat([problems, find_duplicate_ids(raw.frame["Loan_ID"], raw.lines)], ignore_index=True)
    parsed_ok = np.ones(len(typed), dtype=bool)
    parsed_ok[problems["row"].to_numpy(dtype=np.int64)] = False
    schema_problems = validate_loan_table(typed.loc[parsed_ok, [c for c in COLUMNS if c in typed.columns]])
    problems = pd.concat([problems, schema_problems], ignore_index=True)
    rejected = np.zeros(len(typed), dtype=bool)
    rejected[problems["row"].to_numpy(dtype=np.int64)] = True

    kept = to_typed_frame(typed.loc[~rejected]).reset_index(drop=True)
    reasons = (problems.sort_values(["row", "kind"], kind="stable")
               .groupby("row", sort=True)["reason"].agg("; ".join))
    row_rejects = raw.frame.iloc[reasons.index.to_numpy()].reset_index(drop=True)
    row_rejects.insert(0, "reasons", reasons.to_numpy())
    row_rejects.insert(0, "line", raw.lines[reasons.index.to_numpy()])
    structural = raw.structural_rejects
    rejects = pd.concat([structural, row_rejects], ignore_index=True).sort_values("line", kind="stable")

    rows_read = len(typed) + len(structural)
    by_kind = problems.drop_duplicates(["row", "kind"])["kind"].value_counts()
    metrics = {
        "rows_read": rows_read,
        "rows_kept": int(len(kept)),
        "rows_rejected": int(len(rejects)),
        "reject_share": round(len(rejects) / rows_read, 6) if rows_read else 0.0,
    }
    for kind in REJECT_KINDS:
        count = len(structural) if kind == "wrong_field_count" else int(by_kind.get(kind, 0))
        metrics[f"rejected_{kind}"] = count
    metrics |= counters
    metrics["blank_lines"] = raw.blank_lines
    metrics["columns_renamed"] = raw.header_notes.get("columns_renamed", 0)
    metrics["columns_extra"] = raw.header_notes.get("columns_extra", 0)
    return kept, rejects.reset_index(drop=True), metrics


BAD_ROW_MODES = ("reject", "stop")


def read_prepare_params(params: dict) -> dict:
    """The prepare.* keys, checked once: a UserError names the key, the value and what is allowed."""
    mode = param(params, "prepare.on_bad_rows")
    if mode not in BAD_ROW_MODES:
        raise UserError(f"prepare.on_bad_rows must be one of {', '.join(BAD_ROW_MODES)}, got {mode!r}")
    fix_case = param(params, "prepare.fix_category_case")
    if not isinstance(fix_case, bool):
        raise UserError(f"prepare.fix_category_case must be true or false, got {fix_case!r}")
    share = param(params, "prepare.max_reject_share")
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
        raise UserError(f"prepare.max_reject_share must be a number from 0 to 1, got {share!r} "
                        f"(e.g. 0.5 stops the run when more than half the rows are bad)")
    return {"on_bad_rows": mode, "fix_category_case": fix_case, "max_reject_share": float(share),
            "encoding": param(params, "prepare.encoding"), "sep": param(params, "prepare.sep")}
