"""Shared fixtures: project paths, the optional real data file, a DVC-ready environment."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The real file sits beside the project in ../shared; LOAN_RECOVERY_REAL_DATA points elsewhere.
REAL_DATA = Path(os.environ.get("LOAN_RECOVERY_REAL_DATA",
                                PROJECT_ROOT.parent / "shared" / "data" / "loan-recovery.csv"))


@pytest.fixture(scope="session")
def real_data_path() -> Path:
    """The real 500-loan file, or a clean skip where it is absent (fresh clones)."""
    if not REAL_DATA.exists():
        pytest.skip(f"real data file not present at {REAL_DATA}")
    return REAL_DATA


@pytest.fixture(scope="session")
def dvc_env() -> dict:
    """Environment for running the project's stages and DVC in a subprocess."""
    env = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    env["DVC_NO_ANALYTICS"] = "1"
    env["PYTHONPATH"] = str(PROJECT_ROOT / "stages")
    for key, value in {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
                       "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com"}.items():
        env[key] = value
    return env
