"""Printers: one module per output format, each with a `render(derivation, **settings)`."""
