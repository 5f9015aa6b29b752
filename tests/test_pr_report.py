"""Tests for .ci/pr_report.py: pure Markdown helpers, then the CLI on a tiny DVC repo."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import pr_report

SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "pr_report.py"
# The venv's bin first, so the stage's `python` is this interpreter (it has pyyaml).
ENV = {
    **os.environ,
    "DVC_NO_ANALYTICS": "1",
    "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
}

STAGE_SCRIPT = """\
import json, os, yaml
lr = yaml.safe_load(open("params.yaml"))["train"]["lr"]
os.makedirs("metrics", exist_ok=True)
os.makedirs("plots", exist_ok=True)
with open("metrics/m.json", "w") as f:
    json.dump({"score": round(1 - lr / 3, 6)}, f)
with open("plots/loss.csv", "w") as f:
    f.write("step,loss\\n" + "".join(f"{i},{round(lr * i, 4)}\\n" for i in range(3)))
"""

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [train.lr]
    outs:
      - plots/loss.csv: {cache: false}
    metrics:
      - metrics/m.json: {cache: false}
plots:
  - plots/loss.csv:
      x: step
      y: loss
  - static.csv:
      x: x
      y: y
"""


# ---------------------------------------------------------------- pure helpers


def test_build_report_puts_title_and_sections_in_order():
    report = pr_report.build_report("T", "params table", "metrics table", "- `p.csv`: modified")
    assert report == (
        "# T\n\n## Params\n\nparams table\n\n## Metrics\n\nmetrics table\n\n"
        "## Plots\n\n- `p.csv`: modified\n"
    )


def test_build_report_blank_section_reads_no_changes():
    report = pr_report.build_report("T", "", "  \n", "x")
    assert report.count(pr_report.NO_CHANGES) == 2
    assert "## Params\n\nNo changes." in report and "## Metrics\n\nNo changes." in report


def test_table_or_no_changes_drops_header_only_tables():
    header = "| Path | Param | a | b |\n|---|---|---|---|\n"
    assert pr_report.table_or_no_changes(header) == "No changes."
    assert pr_report.table_or_no_changes("") == "No changes."
    with_row = header + "| params.yaml | train.lr | 0.1 | 0.2 |\n"
    assert pr_report.table_or_no_changes(with_row) == with_row.strip()


def test_format_title_uses_short_ids_and_names_workspace():
    assert pr_report.format_title("main", "abc1234", "HEAD", "def5678") == (
        "PR report: `main` (abc1234) → `HEAD` (def5678)"
    )
    assert "`workspace` (on def5678)" in pr_report.format_title("main", "abc1234", None, "def5678")


def test_plot_changes_ignore_rev_tag_and_report_added_removed_modified():
    def vega(rows):
        return [{"type": "vega", "content": {"data": {"values": rows}}}]

    data = {
        "same.csv": vega([{"x": "1", "rev": "a"}, {"x": "1", "rev": "b"}]),
        "changed.csv": vega([{"x": "1", "rev": "a"}, {"x": "2", "rev": "b"}]),
        "new.csv": vega([{"x": "1", "rev": "b"}]),
        "gone.csv": vega([{"x": "1", "rev": "a"}]),
        "img.png": [
            {"type": "image", "revisions": ["a"], "url": "d1"},
            {"type": "image", "revisions": ["b"], "url": "d2"},
        ],
    }
    changes = pr_report.classify_plot_changes(pr_report.plot_fingerprints(data), "a", "b")
    assert changes == [
        ("changed.csv", "modified"),
        ("gone.csv", "removed"),
        ("img.png", "modified"),
        ("new.csv", "added"),
    ]


def test_format_plots_section_without_changes_says_so_and_links():
    text = pr_report.format_plots_section([], [], "plots/index.html")
    assert text.startswith("No changes.")
    assert "[index.html](plots/index.html)" in text


# ---------------------------------------------------------------- CLI on a temp DVC repo


def _run(args, cwd):
    return subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True, check=True)


def _dvc(*args, cwd):
    return _run([sys.executable, "-m", "dvc", *args], cwd)


def _commit(repo, message):
    _run(["git", "add", "-A"], repo)
    _run(["git", "commit", "-q", "-m", message], repo)


@pytest.fixture(scope="module")
def dvc_repo(tmp_path_factory):
    """Two commits: train.lr 0.1 then 0.2, each reproduced, so metrics and loss.csv change."""
    repo = tmp_path_factory.mktemp("repo")
    _run(["git", "init", "-q"], repo)
    _run(["git", "config", "user.name", "Test"], repo)
    _run(["git", "config", "user.email", "test@example.com"], repo)
    _dvc("init", "-q", cwd=repo)
    (repo / "train.py").write_text(STAGE_SCRIPT)
    (repo / "dvc.yaml").write_text(DVC_YAML)
    (repo / "static.csv").write_text("x,y\n1,2\n")
    (repo / "params.yaml").write_text("train:\n  lr: 0.1\n")
    _dvc("repro", "-q", cwd=repo)
    _commit(repo, "lr 0.1")
    (repo / "params.yaml").write_text("train:\n  lr: 0.2\n")
    _dvc("repro", "-q", cwd=repo)
    _commit(repo, "lr 0.2")
    return repo


def _report(repo, *args):
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=repo, env=ENV, capture_output=True, text=True
    )


def _row(*cells):
    return re.compile(r"\|\s*" + r"\s*\|\s*".join(re.escape(c) for c in cells) + r"\s*\|")


@pytest.mark.e2e
def test_report_shows_param_metric_and_plot_changes(dvc_repo):
    done = _report(dvc_repo, "--base", "HEAD~1", "--head", "HEAD")
    assert done.returncode == 0, done.stderr
    report = done.stdout
    print(report)
    short = [_run(["git", "rev-parse", "--short", r], dvc_repo).stdout.strip() for r in ("HEAD~1", "HEAD")]
    assert report.splitlines()[0] == f"# PR report: `HEAD~1` ({short[0]}) → `HEAD` ({short[1]})"
    params, rest = report.split("## Params", 1)[1].split("## Metrics")
    metrics, plots = rest.split("## Plots")
    assert _row("params.yaml", "train.lr", "0.1", "0.2").search(params)
    # 0.966667 -> 0.933333, shown with --precision 4
    assert _row("metrics/m.json", "score", "0.9667", "0.9333", "-0.0333").search(metrics)
    assert "- `plots/loss.csv`: modified" in plots
    assert "static.csv" not in plots  # unchanged plots are not listed


@pytest.mark.e2e
def test_report_against_same_revision_says_no_changes(dvc_repo):
    done = _report(dvc_repo, "--base", "HEAD", "--head", "HEAD")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("No changes.") == 3


@pytest.mark.e2e
def test_output_file_and_rendered_plots_link(dvc_repo, tmp_path):
    output = tmp_path / "out" / "report.md"
    plots_dir = tmp_path / "plots"
    done = _report(
        dvc_repo, "--base", "HEAD~1", "--output", str(output), "--plots-dir", str(plots_dir)
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert (plots_dir / "index.html").is_file()
    assert "[index.html](../plots/index.html)" in output.read_text()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp leftovers


@pytest.mark.e2e
def test_unknown_base_ref_exits_2_with_one_line_error(dvc_repo):
    done = _report(dvc_repo, "--base", "no-such-branch")
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "--base 'no-such-branch' is not a commit" in lines[0]
