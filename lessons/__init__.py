"""The lessons: one module per command, each with a literal META and a `derive` function.

Shipped as ``dlsteps._lessons``. META is read by `dlsteps.catalogue` without importing the
module, so listing lessons never imports SymPy or NumPy.
"""
