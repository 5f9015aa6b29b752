"""The prepare stage run as a script: exit codes, one-line errors, rejects and metrics files.

A few subprocess runs start together (module fixture) so the file stays fast; the other
file-level cases call run_stage(prepare.main) in-process, which is the same code path
minus interpreter start-up; params checks and the stop rules are tested on plain dicts.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml

import prepare
from loan_recovery.errors import UserError, run_stage
from loan_recovery.synthetic import generate_portfolio

REPO = Path(__file__).resolve().parents[1]
REAL_FILE = Path("/work/shared/data/loan-recovery.csv")
N_LOANS = 40


@dataclass
class StageRun:
    returncode: int
    stderr: str
    out: Path

    def metrics(self) -> dict:
        return json.loads((self.out / "prepare.json").read_text())

    def rejects(self) -> pd.DataFrame:
        return pd.read_csv(self.out / "rejects.csv", dtype=str, keep_default_na=False)


def _write_params(path: Path, **prepare_keys) -> Path:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["prepare"] = {"encoding": "auto", "sep": "auto", "on_bad_rows": "reject",
                         "fix_category_case": True, "max_reject_share": 0.5} | prepare_keys
    path.write_text(yaml.safe_dump(params))
    return path


def _mixed_csv() -> str:
    """40 loans (lines 2-41) with one bad row per kind, a blank line 42 and a short row on line 43."""
    frame = generate_portfolio(N_LOANS, seed=11).astype(str)
    frame.loc[0, "Age"] = "abc"                              # line 2: not_a_number
    frame.loc[3, "Gender"] = "Robot"                         # line 5: unknown_category
    frame.loc[5, "Loan_ID"] = frame.loc[1, "Loan_ID"]        # line 7: duplicate of line 3
    frame.loc[7, "Age"] = "250"                              # line 9: out_of_range
    frame.loc[9, "Monthly_Income"] = ""                      # line 11: blank_value
    frame.loc[11, "Gender"] = "male"                         # recased, kept
    frame.loc[13, "Loan_Amount"] = "1,234,567"               # thousands separators, kept
    return frame.to_csv(index=False, lineterminator="\n") + "\nBRW_X,30,Male\n"


def _cases(tmp: Path) -> dict[str, tuple[Path, Path]]:
    """name -> (input file, params file)."""
    (tmp / "mixed.csv").write_text(_mixed_csv())
    generate_portfolio(20, seed=5).to_csv(tmp / "good.csv", index=False)
    (tmp / "allbad.csv").write_text(_mixed_csv().split("\n", 1)[0] + "\nBRW_1,x\nBRW_2,y\n")
    (tmp / "empty.csv").write_text("")
    (tmp / "header_only.csv").write_text(_mixed_csv().split("\n", 1)[0] + "\n")
    (tmp / "no_age.csv").write_text(generate_portfolio(3, seed=1).drop(columns="Age").to_csv(index=False))
    (tmp / "cp1252.csv").write_bytes(_mixed_csv().replace("BRW_3,", "BRW_Jos\u00e9,", 1).encode("cp1252"))
    (tmp / "a_directory.csv").mkdir()
    default = _write_params(tmp / "default.yaml")
    lenient = _write_params(tmp / "lenient.yaml", max_reject_share=1.0)
    cases = {
        "good": ("good.csv", default),
        "mixed": ("mixed.csv", lenient),
        "mixed_stop": ("mixed.csv", _write_params(tmp / "stop.yaml", on_bad_rows="stop")),
        "mixed_strict_share": ("mixed.csv", _write_params(tmp / "strict.yaml", max_reject_share=0.1)),
        "missing_file": ("nope.csv", default),
        "cp1252": ("cp1252.csv", default),
        # in-process (see run_in_process)
        "mixed_no_case_fix": ("mixed.csv", _write_params(tmp / "nofix.yaml", fix_category_case=False, max_reject_share=1.0)),
        "all_bad": ("allbad.csv", lenient),
        "directory": ("a_directory.csv", default),
        "empty": ("empty.csv", default),
        "header_only": ("header_only.csv", default),
        "missing_column": ("no_age.csv", default),
        "bad_params": ("good.csv", _write_params(tmp / "badparams.yaml", fix_category_case="yes")),
    }
    if REAL_FILE.exists():
        cases["real"] = (REAL_FILE, default)
    return {name: (tmp / source, params) for name, (source, params) in cases.items()}


SUBPROCESS_CASES = ["good", "real", "mixed", "mixed_stop", "mixed_strict_share", "missing_file", "cp1252"]


def _stage_args(source: Path, params: Path, out: Path) -> list[str]:
    return ["--params", str(params), "--input", str(source), "--output", str(out / "loans.parquet"),
            "--rejects", str(out / "rejects.csv"), "--metrics", str(out / "prepare.json")]


def _run(name: str, source: Path, params: Path, tmp: Path) -> StageRun:
    out = tmp / "out" / name
    cmd = [sys.executable, "stages/prepare.py", *_stage_args(source, params, out)]
    env = {**os.environ, "PYTHONPATH": "stages"}
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    return StageRun(proc.returncode, proc.stderr, out)


@pytest.fixture(scope="module")
def stage_cases(tmp_path_factory) -> tuple[Path, dict[str, tuple[Path, Path]]]:
    tmp = tmp_path_factory.mktemp("prepare_stage")
    return tmp, _cases(tmp)


@pytest.fixture(scope="module")
def runs(stage_cases) -> dict[str, StageRun]:
    tmp, cases = stage_cases
    names = [name for name in SUBPROCESS_CASES if name in cases]
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(_run, name, *cases[name], tmp) for name in names}
        return {name: future.result() for name, future in futures.items()}


@pytest.fixture
def run_in_process(stage_cases, monkeypatch, capsys):
    """Run a case through run_stage(prepare.main) in this process; exit code 0 when it returns."""
    tmp, cases = stage_cases

    def run(name: str) -> StageRun:
        out = tmp / "out" / name
        monkeypatch.setattr(sys, "argv", ["prepare.py", *_stage_args(*cases[name], out)])
        try:
            run_stage(prepare.main)
            code = 0
        except SystemExit as stop:
            code = stop.code
        return StageRun(code, capsys.readouterr().err, out)

    return run


def assert_user_error(run: StageRun, pattern: str) -> None:
    """Exit 2, exactly one stderr line starting 'error: ', no traceback, no outputs written."""
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: ")
    assert pd.Series(lines).str.contains(pattern, regex=True).all(), lines[0]
    assert not (run.out / "loans.parquet").exists() and not (run.out / "rejects.csv").exists()


# ---------------------------------------------------------------- successful runs

def test_good_file_keeps_every_row(runs):
    run = runs["good"]
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    metrics = run.metrics()
    assert (metrics["rows_read"], metrics["rows_kept"], metrics["rows_rejected"]) == (20, 20, 0)
    assert len(pd.read_parquet(run.out / "loans.parquet")) == 20
    assert run.rejects().empty


def test_real_file_keeps_all_500_rows(runs):
    if "real" not in runs:
        pytest.skip(f"{REAL_FILE} not present")
    run = runs["real"]
    assert run.returncode == 0, run.stderr
    metrics = run.metrics()
    assert (metrics["rows_read"], metrics["rows_kept"], metrics["rows_rejected"]) == (500, 500, 0)


def test_bad_rows_go_to_rejects_with_line_and_reason(runs):
    run = runs["mixed"]
    assert run.returncode == 0, run.stderr
    rejects = run.rejects()
    assert rejects["line"].tolist() == ["2", "5", "7", "9", "11", "43"]
    reasons = rejects["reasons"].tolist()
    assert reasons[0] == "Age: 'abc' is not a number"
    assert reasons[1] == "Gender: 'Robot' is not one of Female, Male"
    assert reasons[2].endswith("duplicates line 3")
    assert reasons[3] == "Age: 250 is outside in_range(18, 100)"
    assert reasons[4] == "Monthly_Income: blank"
    assert reasons[5] == "has 3 fields, expected 21"
    assert rejects.loc[5, "raw_text"] == "BRW_X,30,Male"
    assert rejects.loc[0, "Age"] == "abc"  # the raw value, as the user wrote it


def test_metrics_count_every_row_and_every_kind(runs):
    metrics = runs["mixed"].metrics()
    assert metrics["rows_read"] == metrics["rows_kept"] + metrics["rows_rejected"] == N_LOANS + 1
    assert metrics["rows_rejected"] == 6
    kinds = {k: v for k, v in metrics.items() if k.startswith("rejected_") and v}
    assert kinds == {"rejected_wrong_field_count": 1, "rejected_blank_value": 1, "rejected_not_a_number": 1,
                     "rejected_unknown_category": 1, "rejected_out_of_range": 1, "rejected_duplicate_loan_id": 1}
    assert (metrics["values_recased"], metrics["values_with_thousands_separators"], metrics["blank_lines"]) == (1, 1, 1)
    assert metrics["reject_share"] == round(6 / 41, 6)
    assert len(pd.read_parquet(runs["mixed"].out / "loans.parquet")) == 35


def test_case_fixing_off_rejects_miscased_category(run_in_process):
    run = run_in_process("mixed_no_case_fix")
    assert run.returncode == 0, run.stderr
    rejects = run.rejects()
    assert rejects.loc[rejects["line"] == "13", "reasons"].tolist() == [
        "Gender: 'male' is not one of Female, Male (set prepare.fix_category_case: true to accept it)"]
    assert run.metrics()["values_recased"] == 0 and run.metrics()["rows_rejected"] == 7


# ---------------------------------------------------------------- runs that must stop

def test_stop_mode_names_the_first_bad_line(runs):
    assert_user_error(runs["mixed_stop"], r"mixed\.csv: line 2: Age: 'abc' is not a number \(prepare\.on_bad_rows=stop;")


def test_too_many_bad_rows_stop_the_run(runs):
    assert_user_error(runs["mixed_strict_share"],
                      r"mixed\.csv: 6 of 41 rows are bad \(> prepare\.max_reject_share=0\.1\); first: line 2: Age")


def test_no_valid_rows_stops_naming_the_first(run_in_process):
    assert_user_error(run_in_process("all_bad"), r"allbad\.csv: no valid rows, all 2 rejected; first: line 2: has 2 fields")


@pytest.mark.parametrize("case, pattern", [
    ("missing_file", r"nope\.csv: file not found"),
    ("cp1252", r"cp1252\.csv: line 4 \(byte \d+\) is not valid utf-8; set prepare\.encoding"),
])
def test_file_level_problem_is_one_line_exit_2(runs, case, pattern):
    assert_user_error(runs[case], pattern)


@pytest.mark.parametrize("case, pattern", [
    ("directory", r"a_directory\.csv: is a directory, expected a CSV file"),
    ("empty", r"empty\.csv: file is empty"),
    ("header_only", r"header_only\.csv: has a header but no data rows$"),
    ("missing_column", r"no_age\.csv: missing column\(s\) Age "),
    ("bad_params", r"^error: prepare\.fix_category_case must be true or false, got 'yes'$"),
])
def test_file_level_problem_in_process(run_in_process, case, pattern):
    assert_user_error(run_in_process(case), pattern)


# ---------------------------------------------------------------- in-process: params and stop rules

def _params(**prepare_keys) -> dict:
    return {"prepare": {"encoding": "auto", "sep": "auto", "on_bad_rows": "reject",
                        "fix_category_case": True, "max_reject_share": 0.5} | prepare_keys}


def test_read_prepare_params_accepts_the_defaults():
    assert prepare.read_prepare_params(_params()) == {
        "on_bad_rows": "reject", "fix_category_case": True, "max_reject_share": 0.5, "encoding": "auto", "sep": "auto"}


@pytest.mark.parametrize("key, value, pattern", [
    ("on_bad_rows", "Reject", r"prepare\.on_bad_rows must be one of reject, stop, got 'Reject'"),
    ("fix_category_case", "false", r"prepare\.fix_category_case must be true or false, got 'false'"),
    ("max_reject_share", "abc", r"prepare\.max_reject_share must be a number from 0 to 1, got 'abc'"),
    ("max_reject_share", 1.5, r"prepare\.max_reject_share must be a number from 0 to 1, got 1\.5"),
    ("max_reject_share", True, r"prepare\.max_reject_share must be a number from 0 to 1, got True"),
])
def test_read_prepare_params_rejects_bad_values(key, value, pattern):
    with pytest.raises(UserError, match=pattern):
        prepare.read_prepare_params(_params(**{key: value}))


def test_read_prepare_params_names_a_missing_key():
    params = _params()
    del params["prepare"]["max_reject_share"]
    with pytest.raises(UserError, match=r"missing key 'prepare\.max_reject_share'"):
        prepare.read_prepare_params(params)


def test_check_bad_rows_passes_when_share_is_at_the_limit():
    rejects = pd.DataFrame({"line": [2], "reasons": ["Age: blank"]})
    metrics = {"rows_read": 2, "rows_kept": 1, "rows_rejected": 1, "reject_share": 0.5, "blank_lines": 0}
    prepare.check_bad_rows("in.csv", rejects, metrics, prepare.read_prepare_params(_params()), "rejects.csv")


def test_check_bad_rows_no_data_rows():
    metrics = {"rows_read": 0, "rows_kept": 0, "rows_rejected": 0, "reject_share": 0.0, "blank_lines": 3}
    with pytest.raises(UserError, match=r"in\.csv: has a header but no data rows \(3 blank lines\)"):
        prepare.check_bad_rows("in.csv", pd.DataFrame(columns=["line", "reasons"]), metrics,
                               prepare.read_prepare_params(_params()), "rejects.csv")
