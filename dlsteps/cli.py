"""The command line: `dlsteps list` and one command per lesson, built from the catalogue.

Lesson commands are generated from each lesson's cheap META (see `dlsteps.catalogue`),
so `dlsteps --help` and `dlsteps list` never import SymPy or NumPy. Every bad value is
one line on stderr and exit status 2; a lesson whose checks fail exits with status 1.
"""

from __future__ import annotations

import gc
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any, NoReturn
from collections.abc import Callable

import typer

from dlsteps import catalogue
from dlsteps.formats import BOOKLET_FORMATS, FORMATS, LIST_FORMATS
from dlsteps.catalogue import LessonInfo
from dlsteps.i18n import N_, _
from dlsteps.errors import InputError, LessonError
from dlsteps.options import Command, Group, language_option, lesson_callback, typed_inputs


_app = typer.Typer(  # `app` (below) is this with every command registered
    name="dlsteps",
    help=_("Step-by-step derivations of deep-learning math: every formula and every number, checked.\n\n"
           "Try: dlsteps list, then dlsteps softmax, or dlsteps softmax --logits 1,2,3 --target 2."),
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help as plain text (dlsteps.helptext), without Typer's Rich help module
    context_settings={"help_option_names": ["-h", "--help"]},
    cls=Group,
)


@_app.callback()
def _everything(lang: str | None = language_option()) -> None:
    """Options of `dlsteps` itself, before the command (``dlsteps --lang ko list``)."""


@_app.command("list", rich_help_panel=_("Commands"), cls=Command, help=_("List every lesson with its title and the lecture it follows."))
def list_lessons(
    format: str = typer.Option("terminal", "--format", "-f", metavar="FORMAT", help=_("terminal or json")),
    lang: str | None = language_option(),
) -> None:
    """List every lesson with its title and the lecture it follows."""
    lessons = catalogue.catalogue().values()
    try:
        _check_format(format, LIST_FORMATS)
    except InputError as error:
        _fail("list", str(error))
    if format == "json":
        rows = [{"name": i.name, "title": i.title, "lecture": i.lecture, "summary": i.summary} for i in lessons]
        import json

        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        _print_list(lessons)


def _print_list(lessons) -> None:
    """The lessons as a table on a terminal; as plain lines (command, title, lecture) when
    piped, which is what a script or grep wants, and quicker."""
    if not sys.stdout.isatty():
        width = max(len(info.name) for info in lessons) + 2
        typer.echo("\n".join(f"{info.name:<{width}}{_(info.title)}  ({info.lecture})" for info in lessons))
        return
    from rich.table import Table

    from dlsteps.output import show

    table = Table(title=_("dlsteps lessons"), title_justify="left")
    for header in (_("command"), _("title"), _("lecture")):
        table.add_column(header)
    for info in lessons:
        table.add_row(info.name, _(info.title), info.lecture)
    show(table, paging=False)


def _common_options(
    format: str = typer.Option("terminal", "--format", "-f", metavar="FORMAT", help="; ".join(f"{name}: {_(text)}" for name, text in FORMATS.items()) + ".", rich_help_panel=_("Output")),
    output: Path | None = typer.Option(None, "--output", "-o", metavar="FILE", help=_("Write to this file instead of the screen."), rich_help_panel=_("Output")),
    precision: str = typer.Option("4", "--precision", "-p", metavar="N", help=_("Significant digits shown (1-17); JSON always has full float64."), rich_help_panel=_("Output")),
    code: bool = typer.Option(False, "--code", help=_("Show the NumPy line behind each value."), rich_help_panel=_("Output")),
    element: list[str] | None = typer.Option(None, "--element", metavar="INDEX", help=_("The entry of each vector or matrix worked out with its numbers, counting from 0: --element 1 for vectors, --element 0,2 for matrices (give both to choose both; default: the first entry that is not 0)."), rich_help_panel=_("Output")),
    expand: bool = typer.Option(False, "--expand", help=_("Work out every entry of arrays of at most 16 entries, and show formulas in full where a compact form is printed."), rich_help_panel=_("Output")),
    fragment: bool = typer.Option(False, "--fragment", help=_("With --format latex: the body alone, to paste into your own document."), rich_help_panel=_("Output")),
    worksheet: bool = typer.Option(False, "--worksheet", help=_("With --format markdown or latex: a worksheet, the values blank (the inputs and seed at the top)."), rich_help_panel=_("Worksheets")),
    answer_key: bool = typer.Option(False, "--answer-key", help=_("With --format markdown or latex: the worksheet's answer key, every value filled in."), rich_help_panel=_("Worksheets")),
    blanks: str | None = typer.Option(None, "--blanks", metavar="values|formulas", help=_("With --worksheet: values (hide the numbers only, the default) or formulas (hide the formulas too)."), rich_help_panel=_("Worksheets")),
    no_pager: bool = typer.Option(False, "--no-pager", help=_("Never page, even when the output is taller than the screen."), rich_help_panel=_("Output")),
    seed: str | None = typer.Option(None, "--seed", metavar="N", help=_("Draw the inputs you did not type at random, reproducibly."), rich_help_panel=_("Inputs")),
    params: Path | None = typer.Option(None, "--params", metavar="FILE", help=_("Read inputs by name from a JSON or TOML file; options typed override it."), rich_help_panel=_("Inputs")),
) -> None:
    """Declares the options every lesson command has (never called)."""


def lesson_command(info: LessonInfo) -> Callable[..., None]:
    """The Typer callback for a lesson: its inputs as options, then the common options."""
    return lesson_callback(info, run_lesson, _common_options, lesson_help(info))


def lesson_help(info: LessonInfo) -> str:
    """A lesson command's help: title (lecture): summary."""
    return f"{_(info.title)} ({info.lecture}): {_(info.summary)}."


def run_lesson(info: LessonInfo, options: dict[str, Any]) -> None:
    """Run a lesson with parsed options and print it; bad input exits 2, a failed check 1."""
    from dlsteps import engine
    from dlsteps.inputs import check_element, parse_element, parse_whole

    try:
        _check_format(options["format"], FORMATS)
        if options["fragment"] and options["format"] != "latex":
            raise InputError(_("--fragment: only with --format latex"))
        precision = parse_whole(options["precision"], "--precision", 1, 17)
        _check_worksheet(options)
        seed = None if options["seed"] is None else parse_whole(options["seed"], "--seed", 0, 2**32 - 1)
        elements = tuple(parse_element(text) for text in options["element"] or ())
        derivation = engine.run(info.name, typed_inputs(info, options, options["params"]), seed)
        for element in elements:
            check_element(element, derivation)
        _emit(derivation, options, {"precision": precision, "show_code": options["code"], "elements": elements, "expand": options["expand"]})
    except InputError as error:
        _fail(info.name, str(error))
    except LessonError as error:
        typer.echo(_("dlsteps {lesson}: internal check failed, nothing printed: {error}").format(lesson=info.name, error=error), err=True)
        raise typer.Exit(1) from None


def _check_format(value: str, formats: tuple[str, ...]) -> None:
    if value not in formats:
        raise InputError(_("--format: '{value}' is not one of {formats}").format(value=value, formats=", ".join(formats)))


def _check_worksheet(options: dict[str, Any]) -> None:
    """--worksheet and --answer-key: one of them, in Markdown or LaTeX; --blanks only with a worksheet."""
    from dlsteps.formats import SHEET_FORMATS

    sheet = "--worksheet" if options["worksheet"] else "--answer-key" if options["answer_key"] else None
    if options["worksheet"] and options["answer_key"]:
        raise InputError(_("--worksheet and --answer-key: choose one (dlsteps export --worksheet writes both)"))
    if sheet is not None and options["format"] not in SHEET_FORMATS:
        raise InputError(_("{option}: only with --format markdown or --format latex (not {format})").format(option=sheet, format=options["format"]))
    if options["blanks"] is not None:
        _check_blanks(options["blanks"])
        if sheet is None:
            raise InputError(_("--blanks: only with --worksheet"))


def _check_blanks(value: str) -> None:
    if value not in ("values", "formulas"):
        raise InputError(_("--blanks: '{value}' is not one of values, formulas").format(value=value))


def _emit(derivation, options: dict[str, Any], settings: dict[str, Any]) -> None:
    """Show the derivation on the terminal (paged) or write it in the chosen format, with
    the printers' `settings` (precision, show_code, elements, expand)."""
    from dlsteps import formats, output
    from dlsteps.printers import terminal

    paging = not options["no_pager"]
    if options["worksheet"] or options["answer_key"]:
        text = formats.as_sheet(derivation, options["format"], options["answer_key"], options["blanks"] or "values",
                                settings["precision"], settings["show_code"], options["fragment"])
        _write(text, options["output"], paging)
        return
    if options["format"] == "terminal" and options["output"] is None:
        view = terminal.render(derivation, width=output.console().width, ascii=not output.unicode_ok(), **settings)
        output.show(view, paging=paging)
        return
    text = formats.as_text(derivation, options["format"], fragment=options["fragment"], **settings)
    _write(text, options["output"], paging)


def _write(text: str, path: Path | None, paging: bool) -> None:
    """Text to the screen (paged), or to the file `path`."""
    from dlsteps import files, output

    if path is None:
        output.show(text, paging=paging)
    else:
        files.write(path, text)


@_app.command("export", rich_help_panel=_("Commands"), cls=Command, help=_(
    "Write a booklet of lessons at their default inputs, e.g. dlsteps export -f latex -o notes; "
    "or worksheets with keys, one per student: dlsteps export softmax --worksheet --seeds 1-30 -o sheets."))
def export_booklet(
    lessons: list[str] | None = typer.Argument(None, help=_("Lessons to include (default: all)."), show_default=False),
    format: str = typer.Option("latex", "--format", "-f", metavar="FORMAT", help=_("latex (one document, a chapter per lesson) or markdown (a file per lesson and an index).")),
    output: Path = typer.Option(..., "--output", "-o", metavar="FOLDER", help=_("The folder to write into (created if missing).")),
    precision: str = typer.Option("4", "--precision", "-p", metavar="N", help=_("Significant digits shown (1-17).")),
    force: bool = typer.Option(False, "--force", help=_("Replace files the folder already holds.")),
    worksheet: bool = typer.Option(False, "--worksheet", help=_("Worksheets and their answer keys instead of a booklet: one per seed, and an index."), rich_help_panel=_("Worksheets")),
    seeds: str | None = typer.Option(None, "--seeds", metavar="SEEDS", help=_("With --worksheet: one variant per seed, e.g. 1-30 or 1,4,9-12 (default: one at the default inputs)."), rich_help_panel=_("Worksheets")),
    blanks: str | None = typer.Option(None, "--blanks", metavar="values|formulas", help=_("With --worksheet: values (hide the numbers only, the default) or formulas (hide the formulas too)."), rich_help_panel=_("Worksheets")),
    lang: str | None = language_option(),
) -> None:
    """Write a booklet of lessons at their default inputs, e.g. dlsteps export -f latex -o notes;
    or worksheets with keys, one per student: dlsteps export softmax --worksheet --seeds 1-30 -o sheets."""
    try:
        written = _export(lessons or [], format, output, precision, force, worksheet, seeds, blanks)
    except InputError as error:
        _fail("export", str(error))
    except LessonError as error:
        typer.echo(_("dlsteps export: internal check failed: {error}").format(error=error), err=True)
        raise typer.Exit(1) from None
    for path in written:
        typer.echo(str(path))


def _export(lessons: list[str], format: str, output: Path, precision: str, force: bool,
            worksheet: bool, seeds: str | None, blanks: str | None) -> list[Path]:
    """The booklet, or with `worksheet` the sheets and keys; returns the files written."""
    from dlsteps import export
    from dlsteps.inputs import parse_whole

    _check_format(format, BOOKLET_FORMATS)
    digits = parse_whole(precision, "--precision", 1, 17)
    if not worksheet:
        if seeds is not None or blanks is not None:
            raise InputError(_("{option}: only with --worksheet").format(option="--seeds" if seeds is not None else "--blanks"))
        return export.booklet(lessons, format, output, digits, force)
    if blanks is not None:
        _check_blanks(blanks)
    return export.worksheets(lessons, format, output, export.parse_seeds(seeds), blanks or "values", digits, force)


def _fail(command: str, message: str) -> None:
    typer.echo(f"dlsteps {command}: {message}", err=True)
    raise typer.Exit(2)


def _add_lesson(target: typer.Typer, info: LessonInfo) -> None:
    """Register lesson `info` as a command of `target`."""
    command = lesson_command(info)
    epilog = _("Example: {example}").format(example=info.example)
    target.command(info.name, help=command.__doc__, epilog=epilog, rich_help_panel=_("Lessons"), cls=Command)(command)


_complete = False


def complete() -> typer.Typer:
    """The whole command line, every lesson, quiz and check command registered (once): for
    `dlsteps --help`, the quiz and check groups, and tests (``from dlsteps.cli import app``)."""
    global _complete
    if not _complete:
        from dlsteps.marking import commands as check_commands
        from dlsteps.quiz import commands as quiz_commands

        for info in catalogue.catalogue().values():
            _add_lesson(_app, info)
        quiz_commands.register(_app)
        check_commands.register(_app)
        _complete = True
    return _app


def __getattr__(name: str) -> Any:
    """``app``: the whole command line (`complete`), built when first asked for."""
    if name == "app":
        return complete()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> int:
    """Entry point of the `dlsteps` command: usage errors become one line and status 2."""
    for stream in (sys.stdout, sys.stderr):
        # Where the terminal cannot show a character (latin-1, LC_ALL=C), escape it.
        stream.reconfigure(errors="backslashreplace")
    # A terminated run unwinds like Ctrl-C: a file being written is removed, not left half-made.
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))
    arguments = sys.argv[1:] or ["--help"]
    try:
        command, rest, name = invoked(arguments)
        status = command.main(rest, prog_name=name, standalone_mode=False)
    except Exception as error:
        message = _usage_message(error, arguments)
        if message is None:
            raise
        typer.echo(message, err=True)
        return 2
    status = status if isinstance(status, int) else 0
    if arguments[0] in catalogue.names():
        _leave(status)
    return status


def _leave(status: int) -> NoReturn:
    """End a lesson's process once everything is written: flush, then exit without
    tearing the interpreter down. Freeing SymPy's objects and caches one by one at exit
    costs 0.05-0.15 s, up to a tenth of a lesson's run, and nothing is left to do (files
    are written and closed, the pager has returned, a lesson keeps no store)."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:
        pass  # a closed pipe (dlsteps lstm | head): nothing more can be written
    os._exit(status)


def invoked(arguments: list[str]) -> tuple[Any, list[str], str]:
    """The Click command for `arguments`, its arguments and its name. Only the command that
    runs is registered and built (Typer builds every option of every command it is given:
    about 100 ms for all lessons, quizzes and checks); `dlsteps --help` lists every command
    without building them (`_listing`); quiz and check build them all (`complete`)."""
    first = arguments[0]
    alone = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None,
                        context_settings=_app.info.context_settings, cls=Group)
    if _help_alone(arguments):
        return typer.main.get_command(_listing()), arguments, "dlsteps"
    if first in catalogue.names():
        # A lesson's run is short and ends with `_leave`; SymPy makes millions of objects
        # but few cycles (its peak memory is the same without the collector), and the
        # collector's passes cost 5-8% of the run.
        gc.disable()
        _add_lesson(alone, catalogue.get(first))
        return typer.main.get_command(alone), arguments[1:], f"dlsteps {first}"
    gc.enable()  # a quiz, a check or an export may run long: the collector is back on
    if first in {"list", "export"}:
        alone.registered_commands += [info for info in _app.registered_commands if info.name == first]
    else:
        return typer.main.get_command(complete()), arguments, "dlsteps"
    return typer.main.get_command(alone), arguments[1:], f"dlsteps {first}"


def _help_alone(arguments: list[str]) -> bool:
    """Whether `arguments` ask for `dlsteps --help` and nothing else (``--lang`` aside)."""
    rest = [a for n, a in enumerate(arguments) if a != "--lang" and not a.startswith("--lang=") and (n == 0 or arguments[n - 1] != "--lang")]
    return rest in (["--help"], ["-h"])


def _listing() -> typer.Typer:
    """`dlsteps` as its help page shows it: `list` and `export`, then every lesson, quiz,
    check and progress listed with its help and panel but not built (a command that
    does nothing), in the order `complete` registers them. The page is the complete
    app's (a test compares them)."""
    from dlsteps.marking import commands as check_commands
    from dlsteps.quiz import commands as quiz_commands

    listing = typer.Typer(help=_app.info.help, add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None,
                          context_settings=_app.info.context_settings, cls=Group)
    listing.callback()(_everything)
    listing.registered_commands += [info for info in _app.registered_commands if info.name in {"list", "export"}]
    listed = [(info.name, lesson_help(info), _("Lessons")) for info in catalogue.catalogue().values()]
    listed += [("progress", _(quiz_commands.PROGRESS_HELP), _("Commands")), ("quiz", _(quiz_commands.HELP), _("Commands")),
               ("check", _(check_commands.HELP), _("Commands"))]
    for name, text, panel in listed:
        listing.command(name, help=text, rich_help_panel=panel, cls=Command)(_nothing)
    return listing


def _nothing() -> None:
    """A listed command's stand-in: `dlsteps --help` only shows it."""


def _usage_message(error: Exception, arguments: list[str]) -> str | None:
    """One line for a usage error of the command-line parser (Click's, as Typer ships it),
    pointing at the help of the command it was typed for."""
    if getattr(error, "exit_code", None) != 2 or not hasattr(error, "format_message"):
        return None
    context = getattr(error, "ctx", None)
    path = context.command_path if context is not None else "dlsteps"
    if path == "dlsteps" and arguments[0] in {*catalogue.names(), "list", "export", "progress", "check"}:
        path = f"dlsteps {arguments[0]}"
    english = error.format_message()
    message = _parser_message(english)
    if english.startswith("No such command"):
        lessons = ", ".join(catalogue.names())
        return _("{path}: {message} Lessons: {lessons}; commands: list, export, quiz, check, progress.").format(path=path, message=message, lessons=lessons)
    return _("{path}: {message} (see '{path} --help')").format(path=path, message=message)


PARSER_MESSAGES = (
    # The parser's messages (Click's, in English only), read and said in the user's language;
    # patterns compiled when an error is read (re caches them), not at every start.
    (r"No such option: (?P<name>\S+)(?: \(Possible options: (?P<options>[^)]*)\))?", N_("No such option: {name}")),
    (r"No such command (?P<name>'[^']*')\.", N_("No such command {name}.")),
    (r"Option '(?P<name>[^']*)' requires an argument\.", N_("{name} needs a value after it.")),
    (r"Option '(?P<name>[^']*)' does not take a value\.", N_("{name} takes no value.")),
    (r"Got unexpected extra argument\(s\) \((?P<name>.*)\)", N_("Unexpected extra argument: {name}.")),
    (r"Missing option '(?P<name>[^']*)'\.", N_("{name} is required.")),
)


def _parser_message(message: str) -> str:
    """Click's usage message in the user's language (as it is when not one of the known ones)."""
    for pattern, text in PARSER_MESSAGES:
        match = re.fullmatch(pattern, message)
        if match:
            said = _(text).format(name=match["name"])
            return said + (_(" (did you mean {options}?)").format(options=match["options"]) if match.groupdict().get("options") else "")
    return message

