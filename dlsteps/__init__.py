"""dlsteps: step-by-step derivations of deep-learning math, checked symbolically and numerically."""

__version__ = "0.1.0"
