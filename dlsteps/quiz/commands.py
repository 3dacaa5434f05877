"""The quiz's commands (`dlsteps quiz`, `dlsteps progress`), registered on the app by the CLI.

`dlsteps quiz LESSON [inputs] [--seed N] [--steps forward|backward|all|IDS]` is one
subcommand per lesson, built from the catalogue like the lesson commands, so it takes
the same input options. `dlsteps quiz` alone resumes an unfinished quiz, else asks the
concepts that are due. Nothing here imports SymPy or NumPy until a quiz runs.
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

HELP = N_("Quiz yourself on a lesson, step by step; without a lesson, resume an unfinished quiz or review what is due.")
PROGRESS_HELP = N_("Your quiz progress per lesson and concept: attempts, accuracy, when each is due.")
FORMATS = ("terminal", "json")
SEEDS = 1_000_000
"""Fresh seeds are drawn below this, so they are short to type when replaying."""


def register(app: typer.Typer) -> None:
    """Add the quiz commands to `app` (they import SymPy and NumPy only when run)."""
    quiz = typer.Typer(
        name="quiz", invoke_without_command=True, add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None,
        help=_(HELP),
        cls=shared.Group,
    )
    quiz.callback()(due_command)
    for info in catalogue.catalogue().values():
        command = lesson_quiz(info)
        quiz.command(info.name, help=command.__doc__, epilog=_("Example: dlsteps quiz {name} --steps forward").format(name=info.name),
                     rich_help_panel=_("Lessons"), cls=shared.Command)(command)
    app.add_typer(quiz, name="quiz", rich_help_panel=_("Commands"), cls=shared.Group)
    app.command("progress", rich_help_panel=_("Commands"), cls=shared.Command,
                help=_(PROGRESS_HELP))(progress_command)


def _quiz_options(
    quiz_seed: str | None = typer.Option(None, "--seed", metavar="N", help=_("Draw the inputs you did not type from this seed (default: a fresh seed, printed)."), rich_help_panel=_("Quiz")),
    quiz_steps: str = typer.Option("all", "--steps", metavar="STEPS", help=_("forward, backward (the derivative steps), all, or step ids separated by commas."), rich_help_panel=_("Quiz")),
    quiz_precision: str = typer.Option("4", "--precision", "-p", metavar="N", help=_("Significant digits shown and expected (1-12)."), rich_help_panel=_("Quiz")),
    quiz_params: Path | None = typer.Option(None, "--params", metavar="FILE", help=_("Read inputs by name from a JSON or TOML file; options typed override it."), rich_help_panel=_("Inputs")),
) -> None:
    """Declares the options every quiz command has (never called)."""


QUIZ_OPTIONS = ("--seed", "--steps", "--precision", "-p", "--params", "--lang", "--help", "-h")


def input_option(spec: Any) -> str:
    """The quiz's option for a lesson input: the lesson's own, or --input-NAME where the
    lesson's clashes with a quiz option (regularization's --steps)."""
    return shared.input_option(spec, QUIZ_OPTIONS)


def lesson_quiz(info: LessonInfo) -> Callable[..., None]:
    """The Typer callback of `dlsteps quiz LESSON`: the lesson's inputs, then the quiz options."""
    return shared.lesson_callback(info, lambda lesson, chosen: _guard(lambda: start(lesson, chosen)), _quiz_options,
                                   _("Quiz: {title}. Inputs as for dlsteps {name}.").format(title=_(info.title), name=info.name), QUIZ_OPTIONS)


def due_command(ctx: typer.Context, lang: str | None = shared.language_option()) -> None:
    """Resume an unfinished quiz, else ask the concepts that are due (dlsteps progress lists them)."""
    if ctx.invoked_subcommand is None:
        _guard(resume_or_due)


def progress_command(
    format: str = typer.Option("terminal", "--format", "-f", metavar="FORMAT", help=_("terminal or json")),
    lang: str | None = shared.language_option(),
) -> None:
    """Your quiz progress per lesson and concept: attempts, accuracy, when each is due."""
    _guard(lambda: show_progress(format), command="progress")


def _guard(action: Callable[[], None], command: str = "quiz") -> None:
    """Bad input or an unusable store: one line, exit 2; a failed check: exit 1."""
    import sqlite3  # here, not at the top: `dlsteps --help` reads this module for its help texts

    try:
        action()
    except InputError as error:
        typer.echo(f"dlsteps {command}: {error}", err=True)
        raise typer.Exit(2) from None
    except sqlite3.Error as error:
        typer.echo(_("dlsteps {command}: the progress store failed: {error}").format(command=command, error=error), err=True)
        raise typer.Exit(2) from None
    except LessonError as error:
        typer.echo(_("dlsteps {command}: internal check failed: {error}").format(command=command, error=error), err=True)
        raise typer.Exit(1) from None


def start(info: LessonInfo, options: dict[str, Any]) -> None:
    """`dlsteps quiz LESSON ...`: a new session on fresh (or seeded) inputs."""
    import secrets

    from dlsteps.inputs import parse_whole
    from dlsteps.quiz import plan
    from dlsteps.quiz.store import Store

    precision = parse_whole(options["quiz_precision"], "--precision", 1, 12)
    seed = secrets.randbelow(SEEDS) if options["quiz_seed"] is None else parse_whole(options["quiz_seed"], "--seed", 0, 2**32 - 1)
    typed = shared.typed_inputs(info, options, options["quiz_params"])
    steps = options["quiz_steps"].strip()
    store = Store.open()
    derivation = _run(info, typed, seed)
    questions = plan.plan(derivation, steps, seed)
    if not questions:
        raise InputError(_("--steps: '{steps}' asks nothing in {lesson}").format(steps=steps, lesson=info.name))
    id = store.start(info.name, plan.lesson_version(info.module), seed, typed, steps, [q.as_json() for q in questions], precision)
    take(store, derivation, store.session(id), resumed=False)


def _run(info: LessonInfo, typed: dict[str, tuple[str, str]], seed: int) -> Any:
    """The lesson's checked Derivation; an input error names the option as the quiz spells it."""
    from dlsteps import engine

    try:
        return engine.run(info.name, typed, seed)
    except InputError as error:
        message = str(error)
        for spec in info.inputs:
            if input_option(spec) != spec.option and message.startswith(f"{spec.option}:"):
                message = input_option(spec) + message[len(spec.option):]
        raise InputError(message) from None


def resume_or_due() -> None:
    """`dlsteps quiz`: resume the latest session if unfinished, else quiz the due concepts."""
    import secrets

    from dlsteps import engine
    from dlsteps.output import console
    from dlsteps.quiz import plan, progress
    from dlsteps.quiz.store import Store, now

    store = Store.open()
    latest = store.latest()
    if latest is not None and latest["finished"] is None and latest["lesson"] in catalogue.catalogue():
        info = catalogue.get(latest["lesson"])
        if plan.lesson_version(info.module) == latest["version"]:
            take(store, engine.run(info.name, latest["inputs"], latest["seed"]), latest, resumed=True)
            return
        console().print(_("Your unfinished {lesson} quiz was made with another version of the lesson; it stays as it was.").format(lesson=info.name))
    due = [concept for concept, _when in store.due(now())]
    for lesson, _count in store.lessons_for(due):
        if lesson not in catalogue.catalogue():
            continue
        seed = secrets.randbelow(SEEDS)
        derivation = engine.run(lesson, {}, seed)
        questions = plan.plan(derivation, "all", seed, concepts=set(due))
        if questions:
            steps = ",".join(dict.fromkeys(q.step for q in questions))
            info = catalogue.get(lesson)
            id = store.start(lesson, plan.lesson_version(info.module), seed, {}, steps, [q.as_json() for q in questions], 4)
            take(store, derivation, store.session(id), resumed=False)
            return
    data = progress.summary(store.report(), now())
    console().print(progress.today(data, now()))
    console().print(_("Start a lesson's quiz with, e.g., dlsteps quiz softmax (dlsteps list shows the lessons)."))


def take(store: Any, derivation: Any, session: dict[str, Any], resumed: bool) -> None:
    """Run the session in the terminal: intro, questions, then the scorecard.
    q or end of input stops with status 0, Ctrl-C with 130; both keep every answer."""
    from dlsteps.output import console
    from dlsteps.quiz import schedule
    from dlsteps.quiz.session import Quiz, Stopped, Terminal, replay_command, scorecard

    terminal = Terminal(console())
    info = catalogue.get(session["lesson"])
    quiz = Quiz(derivation, store, session, terminal, fuzz=schedule.fuzz_default())
    quiz.intro(replay_command(session, {spec.name: input_option(spec) for spec in info.inputs}), resumed)
    status = 0
    try:
        outcomes = quiz.run()
    except (Stopped, KeyboardInterrupt) as stop:
        from collections import Counter

        status = 130 if isinstance(stop, KeyboardInterrupt) else 0
        outcomes = Counter(store.settled(session["id"]).values())
        terminal.show("", _("Stopped. Every answer so far is saved; run dlsteps quiz to go on."))
    terminal.show(scorecard(outcomes, len(session["plan"])), _("See dlsteps progress for what is due and when."))
    if status:
        raise typer.Exit(status)


def show_progress(format: str) -> None:
    """Print the progress report (terminal tables, or JSON)."""
    from dlsteps.output import console
    from dlsteps.quiz import progress
    from dlsteps.quiz.store import Store, now

    if format not in FORMATS:
        raise InputError(_("--format: '{value}' is not one of {formats}").format(value=format, formats=", ".join(FORMATS)))
    store = Store.open(create=False)
    report = store.report() if store is not None else {"lessons": [], "concepts": []}
    moment = now()
    data = progress.summary(report, moment)
    if format == "json":
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
    elif store is None:
        console().print(_("No progress yet: take a quiz, e.g. dlsteps quiz softmax."))
    else:
        console().print(progress.render(data, moment))
