"""The committed dvc.lock (and so the committed metrics) must come from the committed code and params.

Otherwise `dvc metrics diff main` and `dvc exp show` compare against figures no one can reproduce.
Fix with: make repro && git commit dvc.lock metrics plots.
"""
from __future__ import annotations

import hashlib

import pytest
import yaml

from conftest import PROJECT_ROOT

LOCK = yaml.safe_load((PROJECT_ROOT / "dvc.lock").read_text())["stages"]
PARAMS = yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text())
PIPELINE = yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text())["stages"]
STALE = "dvc.lock is stale: run `make repro` and commit dvc.lock, metrics/ and plots/"


def _md5(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("stage", sorted(PIPELINE))
def test_code_deps_in_lock_match_the_files(stage):
    assert stage in LOCK, STALE
    locked = {dep["path"]: dep["md5"] for dep in LOCK[stage]["deps"]}
    code = [d for d in PIPELINE[stage]["deps"] if d.startswith("stages/")]
    assert sorted(code) == sorted(p for p in locked if p.startswith("stages/")), STALE
    for path in code:
        assert locked[path] == _md5(PROJECT_ROOT / path), f"{path}: {STALE}"


@pytest.mark.parametrize("stage", sorted(PIPELINE))
def test_params_in_lock_match_params_yaml(stage):
    for key, value in LOCK[stage].get("params", {}).get("params.yaml", {}).items():
        node = PARAMS
        for part in key.split("."):
            node = node[part]
        assert node == value, f"{stage}: {key} is {node!r} in params.yaml but {value!r} in dvc.lock; {STALE}"
