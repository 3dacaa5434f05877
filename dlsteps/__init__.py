"""dlsteps: step-by-step derivations of deep-learning math, checked symbolically and numerically."""

import sys

if sys.version_info < (3, 11):  # pragma: no cover - the message is for an old interpreter
    raise SystemExit(f"dlsteps needs Python 3.11 or newer; this is Python {sys.version.split()[0]}")

__version__ = "0.1.0"
