"""User-facing errors and the wrapper that turns them into one stderr line."""
from __future__ import annotations

import sys
from typing import Callable


class UserError(ValueError):
    """A problem with the user's input or params: printed as one line, exit code 2."""


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's main(); a UserError becomes one stderr line and exit 2.

    Unexpected errors keep their traceback: they are bugs, not user mistakes.
    """
    try:
        main()
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except Exception as err:
        # scikit-learn validates estimator params at fit time; its message names the param and range.
        if type(err).__name__ != "InvalidParameterError":
            raise
        print(f"error: invalid estimator parameter (check model.* / segment.* in conf/): {err}", file=sys.stderr)
        sys.exit(2)
