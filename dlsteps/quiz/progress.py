"""`dlsteps progress`: per lesson and concept, attempts, accuracy and when each is due.

Attempts count settled questions that were not skipped; accuracy is the share of them
right at the first try without hints. "Today" ends at local midnight; times are stored
in UTC and shown in local time. Imports neither SymPy nor NumPy.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from dlsteps.i18n import _
from dlsteps.quiz.store import parse_stamp


def summary(report: dict[str, Any], moment: datetime) -> dict[str, Any]:
    """The report with accuracy, due flags, and the concepts to review now and today."""
    end_of_day = (moment.astimezone() + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    concepts = []
    for row in report["concepts"]:
        due = parse_stamp(row["due"]) if row["due"] else None
        concepts.append({**row, "accuracy": _ratio(row), "due_now": due is not None and due <= moment,
                         "due_today": due is not None and due < end_of_day})
    lessons = [{**row, "accuracy": _ratio(row), "due_now": sum(1 for c in concepts if c["due_now"] and row["lesson"] in c["lessons"])}
               for row in report["lessons"]]
    upcoming = sorted((c for c in concepts if c["due"] and not c["due_today"]), key=lambda c: c["due"])
    return {
        "lessons": lessons,
        "concepts": concepts,
        "due_now": [c["concept"] for c in concepts if c["due_now"]],
        "due_later_today": [c["concept"] for c in concepts if c["due_today"] and not c["due_now"]],
        "next": upcoming[0]["concept"] if upcoming else None,
    }


def _ratio(row: dict[str, Any]) -> float | None:
    return row["right"] / row["attempts"] if row["attempts"] else None


def when(text: str | None, moment: datetime) -> str:
    """A due time in words: now, in 9 min, in 3 h, in 2 days (2025-01-03)."""
    if not text:
        return "-"
    due = parse_stamp(text)
    seconds = (due - moment).total_seconds()
    if seconds <= 0:
        return _("now")
    if seconds < 3600:
        return _("in {n} min").format(n=max(1, round(seconds / 60)))
    if seconds < 86400:
        return _("in {n} h").format(n=round(seconds / 3600))
    return _("in {n} days ({date})").format(n=round(seconds / 86400), date=due.astimezone().strftime("%Y-%m-%d"))


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f} %"


def _local(text: str | None) -> str:
    return parse_stamp(text).astimezone().strftime("%Y-%m-%d %H:%M") if text else "-"


def render(data: dict[str, Any], moment: datetime) -> RenderableType:
    """Tables per lesson and per concept, then what to review today."""
    lessons = Table(title=_("Lessons"), title_justify="left", box=box.SIMPLE_HEAD)
    for header in (_("lesson"), _("sessions"), _("attempts"), _("accuracy"), _("due now"), _("last practised")):
        lessons.add_column(header, no_wrap=True)
    for row in data["lessons"]:
        lessons.add_row(row["lesson"], str(row["sessions"]), str(row["attempts"]), _percent(row["accuracy"]),
                        Text(str(row["due_now"]), "bold yellow" if row["due_now"] else ""), _local(row["last"]))
    concepts = Table(title=_("Concepts"), title_justify="left", box=box.SIMPLE_HEAD)
    for header in (_("concept"), _("lessons"), _("attempts"), _("accuracy"), _("next due")):
        concepts.add_column(header, no_wrap=True)
    for row in data["concepts"]:
        style = "bold yellow" if row["due_now"] else ""
        concepts.add_row(Text(row["concept"], style), ", ".join(row["lessons"]), str(row["attempts"]),
                         _percent(row["accuracy"]), Text(when(row["due"], moment), style))
    note = Text(_("accuracy: right at the first try, without hints."), "dim")
    return Group(lessons, concepts, note, Text(""), today(data, moment))


def today(data: dict[str, Any], moment: datetime) -> Text:
    """The short summary: what to review today."""
    now, later = data["due_now"], data["due_later_today"]
    if now:
        listed = ", ".join(now[:6]) + (", …" if len(now) > 6 else "")
        text = _("Review today: {n} due now ({listed}); run: dlsteps quiz").format(n=len(now), listed=listed)
        if later:
            text += _("; {n} more later today").format(n=len(later))
        return Text(text, "bold")
    if later:
        return Text(_("Nothing due right now; {n} due later today ({listed}).").format(n=len(later), listed=", ".join(later[:6])), "bold")
    if data["next"]:
        due = next(c["due"] for c in data["concepts"] if c["concept"] == data["next"])
        return Text(_("Nothing to review today; next: {concept} {when}.").format(concept=data["next"], when=when(due, moment)), "bold")
    return Text(_("Nothing to review yet."), "bold")
