"""The `dlsteps` command: choose the language, then run the command line.

The language comes first because Typer reads some of its own texts (Options, Commands)
when it is imported, and the command line's help is built from translated strings.
"""

import gc
import os
import sys


def main() -> int:
    """Entry point of `dlsteps` and `python -m dlsteps`; returns the exit status.

    The cyclic garbage collector is off from the start: importing Typer, Rich, SymPy and
    NumPy makes hundreds of thousands of objects and no garbage, and the collector's
    passes over them cost 8% of the imports (30 ms). The command line turns it back on
    for the commands that run long (quiz, check, export; see `cli.invoked`); a lesson
    runs without it."""
    gc.disable()
    from dlsteps import i18n

    try:
        lang = i18n.settle(i18n.typed_language(sys.argv[1:]), os.environ, sys.stdout.encoding)
    except i18n.LanguageError as error:
        print(f"dlsteps: {error}", file=sys.stderr)
        return 2
    i18n.use_in_framework(lang)
    from dlsteps.cli import main as run

    return run()
