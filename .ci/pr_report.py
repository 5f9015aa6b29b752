"""Markdown review report: params, metrics and plots of a DVC repo between two revisions.

    python .ci/pr_report.py --base <git ref> [--head <git ref>] [--output report.md]
                            [--plots-dir <dir>]

Runs on the repository in the current directory. `--head` defaults to the workspace.
Everything is computed locally with git and dvc; no remote service or network is needed.
User errors (unknown ref, failing git/dvc command) print one stderr line and exit 2.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

WORKSPACE = "workspace"  # the label dvc gives the working tree
NO_CHANGES = "No changes."
EXIT_USER_ERROR = 2


class ReportError(Exception):
    """A failure the user can fix; shown as one stderr line with exit code 2."""


# ---------------------------------------------------------------- pure functions


def format_title(base: str, base_sha: str, head: str | None, head_sha: str) -> str:
    """Title line naming both sides with their short commit ids."""
    head_text = f"`{WORKSPACE}` (on {head_sha})" if head is None else f"`{head}` ({head_sha})"
    return f"PR report: `{base}` ({base_sha}) → {head_text}"


def table_or_no_changes(markdown: str) -> str:
    """A dvc `--md` table, or NO_CHANGES when it has a header but no rows (or is empty)."""
    rows = [line for line in markdown.splitlines() if line.startswith("|")]
    return markdown.strip() if len(rows) > 2 else NO_CHANGES


def build_report(title: str, params_md: str, metrics_md: str, plots_md: str) -> str:
    """Assemble the report; a blank section reads NO_CHANGES."""
    sections = [("Params", params_md), ("Metrics", metrics_md), ("Plots", plots_md)]
    parts = [f"# {title}"]
    for name, body in sections:
        parts.append(f"## {name}\n\n{body.strip() or NO_CHANGES}")
    return "\n\n".join(parts) + "\n"


def plot_fingerprints(plots_data: dict) -> dict[str, dict[str, str]]:
    """Map plot name -> revision -> canonical text of that revision's data.

    `plots_data` is the "data" object of `dvc plots diff --json`: vega entries carry their
    datapoints (each tagged with "rev"); image entries carry one revision and a "url"
    (replaced by a content digest before this is called, see `_digest_images`).
    """
    fingerprints: dict[str, dict[str, str]] = {}
    for name, entries in plots_data.items():
        by_rev: dict[str, list] = {}
        for entry in entries:
            if entry.get("type") == "image":
                for rev in entry.get("revisions", []):
                    by_rev.setdefault(rev, []).append(entry.get("url"))
                continue
            for point in entry.get("content", {}).get("data", {}).get("values", []):
                rest = {key: value for key, value in point.items() if key != "rev"}
                by_rev.setdefault(point.get("rev"), []).append(rest)
        fingerprints[name] = {rev: json.dumps(points, sort_keys=True) for rev, points in by_rev.items()}
    return fingerprints


def classify_plot_changes(
    fingerprints: dict[str, dict[str, str]], base_label: str, head_label: str
) -> list[tuple[str, str]]:
    """(plot name, "added" | "removed" | "modified") for every plot that differs, sorted by name."""
    changes = []
    for name in sorted(fingerprints):
        old = fingerprints[name].get(base_label)
        new = fingerprints[name].get(head_label)
        if old == new:
            continue
        status = "added" if old is None else "removed" if new is None else "modified"
        changes.append((name, status))
    return changes


def format_plots_section(
    changes: list[tuple[str, str]], errors: list[str], index_link: str | None
) -> str:
    """Bullet list of changed plots, load errors, and an optional link to the rendered HTML."""
    lines = [f"- `{name}`: {status}" for name, status in changes] or [NO_CHANGES]
    if errors:
        lines += ["", "Could not load:"] + [f"- {error}" for error in errors]
    if index_link:
        lines += ["", f"Rendered plots: [index.html]({index_link})"]
    return "\n".join(lines)


def format_plot_errors(errors: list[dict]) -> list[str]:
    """One line per error object of `dvc plots diff --json`."""
    return [
        f"`{error.get('name', error.get('source', '?'))}` at `{error.get('rev', '?')}`: "
        f"{error.get('type', 'error')} {error.get('msg', '')}".rstrip()
        for error in errors
    ]


def _first_error_line(text: str) -> str:
    """The most telling line of a tool's stderr: dvc's "ERROR:" line, else the last line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("ERROR:"):
            return line.removeprefix("ERROR:").strip()
    return lines[-1] if lines else "no error output"


def _rev_args(base: str, head: str | None) -> list[str]:
    return [base] if head is None else [base, head]


# ---------------------------------------------------------------- edges: processes and files


def _tool_prefix(tool: str) -> list[str]:
    # Prefer the dvc installed beside this interpreter (a venv need not be on PATH).
    if tool == "dvc" and importlib.util.find_spec("dvc") is not None:
        return [sys.executable, "-m", "dvc"]
    return [tool]


def run_command(args: list[str]) -> str:
    """Run one git/dvc command in the current directory and return its stdout.

    Any failure becomes a one-line ReportError naming the command and its error.
    """
    command = _tool_prefix(args[0]) + args[1:]
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    except FileNotFoundError:
        raise ReportError(f"`{args[0]}` is not installed or not on PATH; install it and retry") from None
    if done.returncode != 0:
        reason = _first_error_line(done.stderr or done.stdout)
        raise ReportError(f"`{' '.join(args)}` failed (exit {done.returncode}): {reason}")
    return done.stdout


def resolve_short_sha(ref: str, option: str) -> str:
    """Short commit id of `ref`, or a ReportError saying how to make the ref available."""
    run_command(["git", "rev-parse", "--show-toplevel"])  # clear error outside a git repo
    try:
        args = ["git", "rev-parse", "--verify", "--quiet", "--short", f"{ref}^{{commit}}"]
        return run_command(args).strip()
    except ReportError:
        raise ReportError(
            f"{option} {ref!r} is not a commit in this repository; "
            "fetch it (e.g. `git fetch origin`) or pass an existing branch, tag or commit"
        ) from None


def _digest_images(plots_data: dict) -> dict:
    """Copy of plots_data with each image "url" (a file dvc wrote) replaced by its sha256."""
    digested = {}
    for name, entries in plots_data.items():
        digested[name] = [
            {**entry, "url": hashlib.sha256(Path(entry["url"]).read_bytes()).hexdigest()}
            if entry.get("type") == "image" and entry.get("url") and Path(entry["url"]).is_file()
            else entry
            for entry in entries
        ]
    return digested


def load_plots(base: str, head: str | None) -> dict:
    """Parsed `dvc plots diff --json`; images go to a throwaway dir, never the workspace."""
    with tempfile.TemporaryDirectory(prefix="pr-report-plots-") as scratch:
        stdout = run_command(["dvc", "plots", "diff", *_rev_args(base, head), "--json", "-o", scratch])
        try:
            parsed = json.loads(stdout or "{}")
        except json.JSONDecodeError as error:
            raise ReportError(f"`dvc plots diff --json` printed invalid JSON: {error}") from None
        return {"data": _digest_images(parsed.get("data", {})), "errors": parsed.get("errors", [])}


def _check_plots_dir(target: Path) -> None:
    reusable = target.is_dir() and (not any(target.iterdir()) or (target / "index.html").is_file())
    if target.exists() and not reusable:
        raise ReportError(
            f"--plots-dir {str(target)!r} exists and is not an earlier plots render "
            "(no index.html); pass a new or empty directory"
        )


def render_plots(base: str, head: str | None, plots_dir: Path) -> Path:
    """Render `dvc plots diff` HTML into a temp dir beside plots_dir, then move it into place."""
    target = plots_dir.resolve()
    _check_plots_dir(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        run_command(["dvc", "plots", "diff", *_rev_args(base, head), "-o", str(staging)])
        if not (staging / "index.html").is_file():
            raise ReportError(f"`dvc plots diff -o {plots_dir}` wrote no index.html")
        if target.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{target.name}-old-", dir=target.parent))
            os.replace(target, retired / "plots")
            shutil.rmtree(retired)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target / "index.html"


def write_text_atomic(path: Path, text: str) -> None:
    """Write beside the target, then os.replace, so readers never see half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _link_from(output: Path | None, index: Path) -> str:
    start = output.resolve().parent if output else Path.cwd()
    return Path(os.path.relpath(index, start)).as_posix()


def make_report(base: str, head: str | None, output: Path | None, plots_dir: Path | None) -> str:
    """Run git/dvc for each section and assemble the Markdown report."""
    if plots_dir is not None:
        _check_plots_dir(plots_dir.resolve())  # fail before the slow dvc calls
    base_sha = resolve_short_sha(base, "--base")
    head_sha = resolve_short_sha(head or "HEAD", "--head")
    revs = _rev_args(base, head)
    params_md = table_or_no_changes(run_command(["dvc", "params", "diff", *revs, "--md"]))
    metrics_md = table_or_no_changes(
        run_command(["dvc", "metrics", "diff", *revs, "--md", "--precision", "4"])
    )
    plots = load_plots(base, head)
    changes = classify_plot_changes(plot_fingerprints(plots["data"]), base, head or WORKSPACE)
    link = None
    if plots_dir is not None and plots["data"]:
        link = _link_from(output, render_plots(base, head, plots_dir))
    plots_md = format_plots_section(changes, format_plot_errors(plots["errors"]), link)
    title = format_title(base, base_sha, head, head_sha)
    return build_report(title, params_md, metrics_md, plots_md)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="git ref to compare against (e.g. origin/main)")
    parser.add_argument("--head", default=None, help="git ref to report on (default: the workspace)")
    parser.add_argument("--output", type=Path, default=None, help="Markdown file (default: stdout)")
    parser.add_argument("--plots-dir", type=Path, default=None, help="render plots HTML here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        report = make_report(args.base, args.head, args.output, args.plots_dir)
    except ReportError as error:
        print(f"pr_report: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    if args.output is None:
        sys.stdout.write(report)
    else:
        write_text_atomic(args.output, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
