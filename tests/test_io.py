"""Atomic outputs: a failed or killed writer leaves the previous good file or none."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from loan_recovery.errors import UserError
from loan_recovery.io import atomic_path, load_params, param, write_json

from conftest import PROJECT_ROOT


def test_failure_inside_the_block_keeps_the_previous_output(tmp_path):
    target = tmp_path / "out.json"
    write_json({"good": 1}, target)
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text('{"half":')
            raise RuntimeError("stage crashed mid-write")
    assert target.read_text() == '{\n  "good": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_killed_writer_leaves_previous_output(tmp_path):
    target = tmp_path / "model.bin"
    target.write_bytes(b"previous good output")
    child = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(PROJECT_ROOT / 'stages')!r})
        from loan_recovery.io import atomic_path
        with atomic_path({str(target)!r}) as tmp:
            with open(tmp, "wb") as fh:
                fh.write(b"x" * 1_000_000)
                fh.flush()
                print("writing", flush=True)
                time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert target.read_bytes() == b"previous good output"


def test_outputs_get_ordinary_file_permissions(tmp_path):
    write_json({}, tmp_path / "m.json")
    assert (tmp_path / "m.json").stat().st_mode & 0o044  # readable by group/others, unlike mkstemp's 0600


def test_missing_param_key_names_the_key(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("segment:\n  k: 4\n")
    with pytest.raises(UserError, match=r"missing key 'segment.n_init'"):
        param(load_params(params), "segment.n_init")
    with pytest.raises(UserError, match="params file not found"):
        load_params(tmp_path / "nope.yaml")
