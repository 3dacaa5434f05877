"""The two errors every layer shares: bad input (exit status 2) and a bug (exit status 1).

This module imports nothing heavy, so the command line can catch both without loading
SymPy or NumPy.
"""


class InputError(ValueError):
    """A bad input; its text is the one line shown to the user (exit status 2).

    Characters that cannot be shown on one line (newlines, tabs, control codes) are
    written as escapes, so a message quoting what was typed stays one line.
    """

    def __init__(self, message: str) -> None:
        super().__init__("".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in message))


class LessonError(RuntimeError):
    """A bug in a lesson, a block or the engine (exit status 1): never shown as a result."""
