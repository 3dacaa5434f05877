"""The one translation function for all prose, in gettext style.

Titles, explanations, hints and messages are written in English and pass through `_`,
so a translated catalogue under ``dlsteps/locale/<lang>/LC_MESSAGES/dlsteps.mo`` can be
added later without touching lesson logic. Without a catalogue, `_` returns its argument.
"""

import gettext
from pathlib import Path

_translation = gettext.translation(
    "dlsteps", localedir=Path(__file__).parent / "locale", fallback=True
)


def _(message: str) -> str:
    """Return `message` in the user's language (English when no catalogue exists)."""
    return _translation.gettext(message) if message else message
