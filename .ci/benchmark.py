"""Benchmark: wall time and peak memory of generate and prepare, beside plain baselines.

    python .ci/benchmark.py [--rows 1000000]

Each step runs in its own subprocess so its peak RSS is its own. Baselines: pandas
`DataFrame.to_csv` of the same portfolio (for generate) and a plain `pandas.read_csv`
(for prepare, which additionally parses, validates and types every value).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

STEPS = {
    "generate (ours, streamed)": "from loan_recovery.synthetic import write_portfolio; write_portfolio({rows}, 1, '{csv}')",
    "generate baseline (to_csv)": ("from loan_recovery.synthetic import generate_portfolio; "
                                   "generate_portfolio({rows}, 1).to_csv('{csv}.base', index=False)"),
    "prepare (ours: read+parse+validate)": ("from loan_recovery.ingest import read_raw_table, prepare_loans; "
                                            "kept, rej, m = prepare_loans(read_raw_table('{csv}')); assert m['rows_kept'] == {rows}"),
    "prepare baseline (pd.read_csv)": "import pandas as pd; assert len(pd.read_csv('{csv}')) == {rows}",
}

TIMER = """
import resource, time, sys
sys.path.insert(0, {stages!r})
start = time.perf_counter()
{code}
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def measure(code: str) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", TIMER.format(stages=str(ROOT / "stages"), code=code)],
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv = str(Path(tmp) / "portfolio.csv")
        results = {name: measure(code.format(rows=args.rows, csv=csv)) for name, code in STEPS.items()}
    print(f"rows: {args.rows:,}")
    print(f"{'step':40s} {'seconds':>9s} {'peak MiB':>9s}")
    for name, (seconds, mib) in results.items():
        print(f"{name:40s} {seconds:9.2f} {mib:9.0f}")
    gen, gen_base = results["generate (ours, streamed)"], results["generate baseline (to_csv)"]
    prep, prep_base = results["prepare (ours: read+parse+validate)"], results["prepare baseline (pd.read_csv)"]
    ratios = {"generate_time_ratio": round(gen[0] / gen_base[0], 2), "generate_memory_ratio": round(gen[1] / gen_base[1], 2),
              "prepare_time_ratio": round(prep[0] / prep_base[0], 2), "prepare_memory_ratio": round(prep[1] / prep_base[1], 2)}
    print(json.dumps(ratios))


if __name__ == "__main__":
    main()
