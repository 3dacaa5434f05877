"""dlsteps: step-by-step derivations of deep-learning math, checked symbolically and numerically.

    import dlsteps
    d = dlsteps.run("softmax", logits=[2, 1, 0.1], target=0)
    d["softmax"].value        # a step: title, formula (SymPy), latex, value, shape, depends_on, check
    dlsteps.lessons()         # every lesson

`run` and `lessons` load lazily, so ``import dlsteps`` (and the command line's start)
stays cheap; see `dlsteps.api`.
"""

import sys

if sys.version_info < (3, 11):  # pragma: no cover - the message is for an old interpreter
    raise SystemExit(f"dlsteps needs Python 3.11 or newer; this is Python {sys.version.split()[0]}")

from dlsteps.errors import InputError, LessonError

__version__ = "0.1.0"
__all__ = ["InputError", "LessonError", "lessons", "run"]


def __getattr__(name: str):
    """`run` and `lessons` from `dlsteps.api`, imported on first use."""
    if name in ("run", "lessons"):
        from dlsteps import api

        return getattr(api, name)
    raise AttributeError(f"module 'dlsteps' has no attribute {name!r}")
