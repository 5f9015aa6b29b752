"""File I/O at the edges: atomic writes, params loading, Parquet/CSV/JSON helpers.

Every writer goes to a temp file beside the target and os.replace()s it into place,
so a killed stage leaves the previous good output or none, never half a file.
"""
from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
import yaml

from .errors import UserError


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path beside `target`; move it into place only if the block succeeds."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.chmod(0o666 & ~_current_umask())  # mkstemp makes 0600; outputs get normal file permissions
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(obj: Any, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def write_text(text: str, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_csv(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n")


def write_parquet(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    # No pandas index metadata and a fixed writer: same frame -> same bytes.
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False, engine="pyarrow", compression="zstd")


def read_parquet(path: str | os.PathLike, columns: list[str] | None = None) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: file not found (run the upstream stage: dvc repro)")
    return pd.read_parquet(path, columns=columns)


def load_params(path: str | os.PathLike = "params.yaml") -> dict:
    """Load params.yaml once; stages then pick their sections with `param()`."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: params file not found (regenerate it with: make params)")
    with path.open(encoding="utf-8") as fh:
        params = yaml.safe_load(fh)
    if not isinstance(params, dict):
        raise UserError(f"{path}: expected a mapping of params, got {type(params).__name__}")
    return params


def param(params: dict, dotted_key: str) -> Any:
    """Return params['a']['b'] for 'a.b', or a UserError naming the missing key."""
    node: Any = params
    for part in dotted_key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise UserError(f"params.yaml: missing key '{dotted_key}' (is params.yaml composed from conf/? run: make params)")
        node = node[part]
    return node


def int_param(params: dict, dotted_key: str, minimum: int) -> int:
    """An integer param of at least `minimum`, or a UserError naming key, value and range."""
    value = param(params, dotted_key)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UserError(f"{dotted_key} must be an integer >= {minimum}, got {value!r}")
    return value
