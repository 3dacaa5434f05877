"""The languages of dlsteps: English (written in the code) and Korean (a gettext catalogue).

All prose (titles, explanations, notes, hints, help and messages) is written in English
and passes through `_` when it is shown; a string kept in a table and translated later is
marked with `N_` so that the extractor (``tools/messages.py``, Babel) still finds it. The
Korean catalogue lives in ``dlsteps/locale/ko/LC_MESSAGES/dlsteps.mo`` (compiled from
``dlsteps.po``; the template is ``dlsteps/locale/dlsteps.pot``).

The language is chosen by `choose`: ``--lang`` on the command line, then the environment
variable ``DLSTEPS_LANG``, then the locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``), and
English otherwise. Math, symbols, code and JSON keys are never translated.
"""

from __future__ import annotations

import gettext
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

LANGUAGES = ("en", "ko")
DOMAIN = "dlsteps"
LOCALE_DIR = Path(__file__).parent / "locale"
HANGUL = "한국어"  # what a terminal must be able to encode to show Korean

_translation: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"
_noted = False  # the note that Korean fell back to English was printed


def N_(message: str) -> str:
    """Mark `message` for translation without translating it now (it is stored, then shown with `_`)."""
    return message


def _(message: str) -> str:
    """`message` in the current language (itself in English, or where no translation exists)."""
    return _translation.gettext(message) if message else message


def language() -> str:
    """The current language: ``en`` or ``ko``."""
    return _language


def use(lang: str) -> None:
    """Show every later message in `lang` (``en`` or ``ko``)."""
    global _translation, _language
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; dlsteps speaks {', '.join(LANGUAGES)}")
    _language = lang
    _translation = catalogue(lang)


def catalogue(lang: str) -> gettext.NullTranslations:
    """The translations of `lang` (none for English)."""
    if lang == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[lang])


@contextmanager
def speaking(lang: str | None) -> Iterator[None]:
    """Within the block, messages are in `lang` (None: the current language)."""
    before = _language
    if lang is not None:
        use(lang)
    try:
        yield
    finally:
        use(before)


class LanguageError(ValueError):
    """A language asked for that dlsteps does not have; the message names where it was asked."""


def settle(typed: str | None, environ: Mapping[str, str], encoding: str | None) -> str:
    """Speak the language asked for (`typed` by ``--lang``, else `choose` from `environ`),
    unless the output's `encoding` cannot show it: then English, with a one-line note on
    stderr (once). Returns the language now spoken."""
    global _noted
    lang = _known(typed, "--lang") if typed is not None else choose((), environ)
    if not can_show(lang, encoding):
        if not _noted:
            print(f"dlsteps: this terminal's encoding ({encoding}) cannot show Korean, so the output is in English; "
                  "a UTF-8 locale (e.g. LANG=ko_KR.UTF-8) shows it", file=sys.stderr)
            _noted = True
        lang = "en"
    use(lang)
    return lang


def choose(arguments: Sequence[str], environ: Mapping[str, str]) -> str:
    """The language asked for: ``--lang X`` (or ``--lang=X``) among `arguments`, then
    ``DLSTEPS_LANG``, then a Korean locale in ``LC_ALL``/``LC_MESSAGES``/``LANG``; else ``en``.
    An unknown value of ``--lang`` or ``DLSTEPS_LANG`` raises `LanguageError`."""
    typed = typed_language(arguments)
    if typed is not None:
        return _known(typed, "--lang")
    if environ.get("DLSTEPS_LANG"):
        return _known(environ["DLSTEPS_LANG"], "DLSTEPS_LANG")
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if environ.get(variable):
            return "ko" if environ[variable].lower().startswith("ko") else "en"
    return "en"


def typed_language(arguments: Sequence[str]) -> str | None:
    """The value of the last ``--lang`` among `arguments` (before a ``--``), or None."""
    typed = None
    for index, argument in enumerate(arguments):
        if argument == "--":
            break
        if argument == "--lang":
            typed = arguments[index + 1] if index + 1 < len(arguments) else ""
        elif argument.startswith("--lang="):
            typed = argument.split("=", 1)[1]
    return typed


def _known(value: str, where: str) -> str:
    """`value` as a language, or `LanguageError` naming `where` it was typed."""
    lang = value.strip().lower()
    if lang not in LANGUAGES:
        raise LanguageError(f"{where}: '{value}' is not one of {', '.join(LANGUAGES)} (e.g. --lang ko)")
    return lang


def can_show(lang: str, encoding: str | None) -> bool:
    """Whether text in `lang` can be written in `encoding` (Korean needs Hangul)."""
    if lang == "en":
        return True
    try:
        HANGUL.encode(encoding or "ascii")
    except (LookupError, UnicodeEncodeError):
        return False
    return True


def use_in_framework(lang: str) -> None:
    """Let Typer's own texts (Options, Commands, [default: …]) speak
    `lang`: they call `gettext.gettext`, whose catalogue is the global text domain in the
    language of the environment. Call before importing Typer (it reads some at import)."""
    if lang == "en":
        return
    gettext.bindtextdomain(DOMAIN, LOCALE_DIR)
    gettext.textdomain(DOMAIN)
    os.environ["LANGUAGE"] = lang


FRAMEWORK_TEXTS = (
    # Typer's own texts in a help page or an error, which it passes to `gettext.gettext`.
    N_("Arguments"), N_("Options"), N_("Commands"), N_("Error"), N_("Aborted."), N_("Aborted!"),
    N_("[default: {}]"), N_("[required]"), N_("[env var: {}]"), N_("(deprecated) "), N_("(dynamic)"),
    N_("default: {default}"), N_("required"), N_("env var: {var}"),
    N_("Try [blue]'{command_path} {help_option}'[/] for help."),
)
