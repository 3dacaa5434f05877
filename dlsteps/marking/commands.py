"""`dlsteps check LESSON [inputs] --answers FILE`: one subcommand per lesson, registered
on the app by the CLI, taking the lesson's input options as the lesson command does.

Exit status 0 whatever the marks; 2 (one line on stderr) for a file that cannot be read,
an unknown step id or a value of the wrong shape; 1 for a failed internal check. A
Markdown worksheet records the inputs it was made with: when no input, --seed or
--params is given, those are used. Nothing here imports SymPy or NumPy until a check runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from dlsteps import catalogue
from dlsteps import options as shared
from dlsteps.catalogue import LessonInfo
from dlsteps.errors import InputError, LessonError
from dlsteps.i18n import N_, _

HELP = N_("Mark a hand calculation: right, wrong, or right given your own earlier values; names the first wrong step.")
FORMATS = ("terminal", "json")
OWN_OPTIONS = ("--answers", "--seed", "--params", "--format", "-f", "--precision", "-p", "--no-pager", "--lang", "--help", "-h")


def register(app: typer.Typer) -> None:
    """Add `dlsteps check` (a group with one command per lesson) to `app`."""
    check = typer.Typer(name="check", invoke_without_command=True, add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None,
                        help=_(HELP),
                        cls=shared.Group)
    check.callback()(_help)
    for info in catalogue.catalogue().values():
        command = lesson_check(info)
        check.command(info.name, help=command.__doc__, rich_help_panel=_("Lessons"), cls=shared.Command,
                      epilog=_("Example: dlsteps check {name} --answers my-answers.toml (or a filled-in worksheet from dlsteps {name} --worksheet -f markdown)").format(name=info.name))(command)
    app.add_typer(check, name="check", rich_help_panel=_("Commands"), cls=shared.Group)


def _help(ctx: typer.Context, lang: str | None = shared.language_option()) -> None:
    """Without a lesson: the help, listing the lessons."""
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())


def _check_options(
    check_answers: Path = typer.Option(..., "--answers", metavar="FILE", help=_("Your values by step id: TOML, JSON, or a filled-in Markdown worksheet."), rich_help_panel=_("Check")),
    check_format: str = typer.Option("terminal", "--format", "-f", metavar="FORMAT", help=_("terminal (a table) or json (for scripts)."), rich_help_panel=_("Check")),
    check_precision: str = typer.Option("4", "--precision", "-p", metavar="N", help=_("Significant digits expected (1-12): right within half a unit in the last."), rich_help_panel=_("Check")),
    check_no_pager: bool = typer.Option(False, "--no-pager", help=_("Never page."), rich_help_panel=_("Check")),
    check_seed: str | None = typer.Option(None, "--seed", metavar="N", help=_("The seed of the inputs (as for the lesson); a worksheet's own seed by default."), rich_help_panel=_("Inputs")),
    check_params: Path | None = typer.Option(None, "--params", metavar="FILE", help=_("Read inputs by name from a JSON or TOML file; options typed override it."), rich_help_panel=_("Inputs")),
) -> None:
    """Declares the options every check command has (never called)."""


def input_option(spec: Any) -> str:
    """`check`'s option for a lesson input: the lesson's own, or --input-NAME where it
    clashes with an option of check's own."""
    return shared.input_option(spec, OWN_OPTIONS)


def lesson_check(info: LessonInfo) -> Callable[..., None]:
    """The Typer callback of `dlsteps check LESSON`: the lesson's inputs, then check's options."""
    return shared.lesson_callback(info, run_check, _check_options,
                                  _("Mark your hand calculation of {name}: {title}. Inputs as for dlsteps {name}.").format(name=info.name, title=_(info.title)), OWN_OPTIONS)


def run_check(info: LessonInfo, options: dict[str, Any]) -> None:
    """Read the answers, run the lesson on the same inputs, mark, print; exit 0, 2 or 1."""
    try:
        _check(info, options)
    except InputError as error:
        typer.echo(f"dlsteps check {info.name}: {error}", err=True)
        raise typer.Exit(2) from None
    except LessonError as error:
        typer.echo(_("dlsteps check {lesson}: internal check failed: {error}").format(lesson=info.name, error=error), err=True)
        raise typer.Exit(1) from None


def _check(info: LessonInfo, options: dict[str, Any]) -> None:
    from dlsteps import engine
    from dlsteps.inputs import parse_whole
    from dlsteps.marking import answers, mark

    if options["check_format"] not in FORMATS:
        raise InputError(_("--format: '{value}' is not one of {formats}").format(value=options["check_format"], formats=", ".join(FORMATS)))
    precision = parse_whole(options["check_precision"], "--precision", 1, 12)
    seed = None if options["check_seed"] is None else parse_whole(options["check_seed"], "--seed", 0, 2**32 - 1)
    typed = shared.typed_inputs(info, options, options["check_params"])
    given = answers.read(options["check_answers"])
    typed, seed, notes = _from_sheet(info, given.sheet, typed, seed, options["check_params"] is not None)
    derivation = engine.run(info.name, typed, seed)
    marking = mark.mark(derivation, given.values, precision)
    _show(marking, options, notes)


def _from_sheet(info: LessonInfo, sheet: dict | None, typed: dict, seed: int | None, params: bool) -> tuple[dict, int | None, tuple[str, ...]]:
    """The inputs to mark against: a worksheet's own (lesson, seed, typed inputs) when the
    command line gives none; a note where the command line differs from the sheet."""
    if sheet is None:
        return typed, seed, ()
    if sheet.get("lesson") != info.name:
        raise InputError(_("--answers: this worksheet is for lesson '{sheet}', not '{lesson}' (run dlsteps check {sheet} ...)").format(
            sheet=sheet.get("lesson"), lesson=info.name))
    recorded = sheet.get("inputs") if isinstance(sheet.get("inputs"), dict) else {}
    recorded_seed = sheet.get("seed") if isinstance(sheet.get("seed"), int) and not isinstance(sheet.get("seed"), bool) else None
    if not typed and seed is None and not params:
        known = {spec.name for spec in info.inputs}
        inputs = {name: (str(text), "worksheet") for name, text in recorded.items() if name in known and isinstance(text, str)}
        note = _("Inputs as the worksheet records them ({seed}).").format(
            seed=_("seed {seed}").format(seed=recorded_seed) if recorded_seed is not None else _("no seed"))
        return inputs, recorded_seed, (note,)
    if seed != recorded_seed or {name: text for name, (text, _origin) in typed.items()} != recorded:
        return typed, seed, (_("Note: the worksheet was made with other inputs ({seed}); marking against the inputs given here.").format(
            seed=_("seed {seed}").format(seed=recorded_seed) if recorded_seed is not None else _("no seed")),)
    return typed, seed, ()


def _show(marking: Any, options: dict[str, Any], notes: tuple[str, ...]) -> None:
    from dlsteps import output
    from dlsteps.marking import report

    if options["check_format"] == "json":
        typer.echo(json.dumps(report.as_json(marking, notes), indent=2, ensure_ascii=False, allow_nan=False))
        return
    view = report.terminal(marking, width=output.console().width, notes=notes)
    output.show(view, paging=not options["check_no_pager"])
