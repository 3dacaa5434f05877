"""Command callbacks built from a lesson's inputs, shared by `dlsteps LESSON`, `dlsteps quiz
LESSON` and `dlsteps check LESSON`: each lesson input becomes an option (renamed
``--input-NAME`` where the command has an option of that name itself), followed by the
command's own options. Imports neither SymPy nor NumPy.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import typer

from dlsteps.catalogue import InputSpec, LessonInfo
from dlsteps.i18n import _
from dlsteps.inputs import describe, read_params


def input_option(spec: InputSpec, taken: tuple[str, ...] = ()) -> str:
    """The option of a lesson input in a command whose own options are `taken`."""
    return "--input-" + spec.option[2:] if spec.option in taken else spec.option


def input_parameter(spec: InputSpec, taken: tuple[str, ...] = ()) -> inspect.Parameter:
    """A lesson input as a keyword parameter with its Typer option (help with shape and default)."""
    option = typer.Option(None, input_option(spec, taken), help=f"{_(spec.help)}: {describe(spec, {})}.",
                          show_default=spec.default, metavar=spec.kind.upper(), rich_help_panel=_("Inputs"))
    return inspect.Parameter(spec.name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=str | None)


def lesson_callback(info: LessonInfo, run: Callable[[LessonInfo, dict[str, Any]], None], own: Callable[..., None],
                    doc: str, taken: tuple[str, ...] = ()) -> Callable[..., None]:
    """A Typer callback taking the lesson's inputs, then the options declared by `own`;
    it calls ``run(info, options)``."""

    def command(**options: Any) -> None:
        run(info, options)

    parameters = [input_parameter(spec, taken) for spec in info.inputs]
    parameters += [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in inspect.signature(own, eval_str=True).parameters.values()]
    command.__signature__ = inspect.Signature(parameters)
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    command.__doc__ = doc
    return command


def typed_inputs(info: LessonInfo, options: dict[str, Any], params: Any) -> dict[str, tuple[str, str]]:
    """Input texts by name: from the `params` file (if any), overridden by options typed."""
    typed = {}
    if params is not None:
        typed = {name: (text, "file") for name, text in read_params(params, info).items()}
    for spec in info.inputs:
        if options[spec.name] is not None:
            typed[spec.name] = (options[spec.name], "command line")
    return typed
