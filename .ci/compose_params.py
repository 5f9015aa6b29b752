"""Write params.yaml as the Hydra composition of conf/ — the same call `dvc exp run` makes."""
import sys
from pathlib import Path

from dvc.utils.hydra import compose_and_dump

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    overrides = sys.argv[1:]  # optional Hydra overrides, e.g. segment.k=5
    compose_and_dump(ROOT / "params.yaml", str(ROOT / "conf"), None, "config", str(ROOT), overrides)


if __name__ == "__main__":
    main()
