"""Command callbacks built from a lesson's inputs, shared by `dlsteps LESSON`, `dlsteps quiz
LESSON` and `dlsteps check LESSON`: each lesson input becomes an option (renamed
``--input-NAME`` where the command has an option of that name itself), followed by the
command's own options. Imports neither SymPy nor NumPy.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable
from typing import Any

import typer
import typer.core

from dlsteps import helptext, i18n
from dlsteps.catalogue import InputSpec, LessonInfo
from dlsteps.i18n import _


def input_option(spec: InputSpec, taken: tuple[str, ...] = ()) -> str:
    """The option of a lesson input in a command whose own options are `taken`."""
    return "--input-" + spec.option[2:] if spec.option in taken else spec.option


def input_parameter(spec: InputSpec, taken: tuple[str, ...] = ()) -> inspect.Parameter:
    """A lesson input as a keyword parameter with its Typer option (help with shape and default)."""
    from dlsteps.inputs import describe  # not for `dlsteps list`, which needs no inputs

    option = typer.Option(None, input_option(spec, taken), help=f"{_(spec.help)}: {describe(spec, {})}.",
                          show_default=spec.default, metavar=spec.kind.upper(), rich_help_panel=_("Inputs"))
    return inspect.Parameter(spec.name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=str | None)


def language_option() -> Any:
    """The ``--lang`` option every command has: the language of everything it prints."""
    return typer.Option(None, "--lang", help=_("Language of the output: en or ko (default: DLSTEPS_LANG, then the locale, then en)."),
                        callback=_speak, is_eager=True, metavar="en|ko", show_default=False)


def _speak(value: str | None) -> str | None:
    """Speak the language asked for; without ``--lang``, the one chosen at start
    (`dlsteps.launch`). An unknown one is a usage error."""
    if value is None:
        return value
    try:
        i18n.settle(value, os.environ, sys.stdout.encoding)
    except i18n.LanguageError as error:
        raise typer.BadParameter(str(error).removeprefix("--lang: ")) from None
    return value


def language_parameter() -> inspect.Parameter:
    """``--lang`` as a keyword parameter, for the callbacks built here."""
    return inspect.Parameter("lang", inspect.Parameter.KEYWORD_ONLY, default=language_option(), annotation=str | None)


class _TranslatedHelp:
    """``--help`` as plain text in sections (`dlsteps.helptext`), wrapped by terminal cells,
    with the help option's own line and the word "Usage:" in the user's language (Click
    writes them in English). Typer draws it with Rich only where a command asks for
    markup, and dlsteps' commands do not (``rich_markup_mode=None``)."""

    def format_help_text(self, ctx: Any, formatter: Any) -> None:
        helptext.write_paragraphs(formatter, inspect.cleandoc(self.help or ""))  # type: ignore[attr-defined]

    def format_options(self, ctx: Any, formatter: Any) -> None:
        helptext.options_help(self, ctx, formatter)
        if hasattr(self, "list_commands"):
            helptext.commands_help(self, ctx, formatter)

    def format_epilog(self, ctx: Any, formatter: Any) -> None:
        if self.epilog:  # type: ignore[attr-defined]
            helptext.write_paragraphs(formatter, self.epilog)  # type: ignore[attr-defined]

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        pieces = self.collect_usage_pieces(ctx)  # type: ignore[attr-defined]
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=_("Usage:") + " ")

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = _("Show this message and exit.")
        return option


class Command(_TranslatedHelp, typer.core.TyperCommand):
    """A dlsteps command (pass as ``cls=``)."""


class Group(_TranslatedHelp, typer.core.TyperGroup):
    """A dlsteps command group (pass as ``cls=``)."""


def lesson_callback(info: LessonInfo, run: Callable[[LessonInfo, dict[str, Any]], None], own: Callable[..., None],
                    doc: str, taken: tuple[str, ...] = ()) -> Callable[..., None]:
    """A Typer callback taking the lesson's inputs, then the options declared by `own`;
    it calls ``run(info, options)``."""

    def command(**options: Any) -> None:
        run(info, options)

    parameters = [input_parameter(spec, taken) for spec in info.inputs]
    parameters += [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in inspect.signature(own, eval_str=True).parameters.values()]
    parameters.append(language_parameter())
    command.__signature__ = inspect.Signature(parameters)
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    command.__doc__ = doc
    return command


def typed_inputs(info: LessonInfo, options: dict[str, Any], params: Any) -> dict[str, tuple[str, str]]:
    """Input texts by name: from the `params` file (if any), overridden by options typed."""
    from dlsteps.inputs import read_params

    typed = {}
    if params is not None:
        typed = {name: (text, "file") for name, text in read_params(params, info).items()}
    for spec in info.inputs:
        if options[spec.name] is not None:
            typed[spec.name] = (options[spec.name], "command line")
    return typed
