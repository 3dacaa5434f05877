"""The quiz's commands (`dlsteps quiz`, `dlsteps progress`), registered on the app by the CLI."""

import typer


def register(app: typer.Typer) -> None:
    """Add the quiz commands to `app` (they import SymPy and NumPy only when run)."""
