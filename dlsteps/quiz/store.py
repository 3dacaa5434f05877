"""The progress store: one SQLite file under the user's data directory (or $DLSTEPS_HOME).

Tables (schema version in SQLite's ``user_version``):

- ``sessions``: one quiz each: lesson, the lesson's version, the seed, the inputs as
  typed (JSON name -> [text, origin]), the steps asked, the plan of questions (step ids
  and entries), the precision, when it started and finished. Never the values: they are
  recomputed from the inputs and the seed.
- ``answers``: every action as it is taken (an answer typed and whether it was right,
  a hint, a reveal, a skip), each committed at once.
- ``results``: one per settled question: lesson, step, entry, concept, outcome, hints,
  tries and the FSRS rating; committed in one transaction with the concept's card.
- ``cards``: per concept, our versioned record of the FSRS card and its due time.
- ``reviews``: the log of every review given to a card (schema 2).

Each write is its own transaction (WAL journal; synchronous=NORMAL, so a commit is in the
file before it returns, though not yet flushed to disk), so Ctrl-C, a closed
terminal or a killed process loses nothing already answered, and two quizzes at once
wait for each other (busy timeout) instead of failing or losing an update. An older
schema is migrated in one transaction; a corrupt, unreadable, foreign or newer store is
left untouched and reported as one line (`StoreError`, exit status 2).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dlsteps.errors import InputError
from dlsteps.i18n import _
from dlsteps.quiz import schedule

FILENAME = "progress.sqlite3"
BUSY_SECONDS = 30.0

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: sessions, every action, settled questions, cards
        """CREATE TABLE sessions (id INTEGER PRIMARY KEY, lesson TEXT NOT NULL, version TEXT NOT NULL,
           seed INTEGER NOT NULL, inputs TEXT NOT NULL, steps TEXT NOT NULL, plan TEXT NOT NULL,
           precision INTEGER NOT NULL, started TEXT NOT NULL, finished TEXT)""",
        """CREATE TABLE answers (id INTEGER PRIMARY KEY, session INTEGER NOT NULL REFERENCES sessions(id),
           question INTEGER NOT NULL, kind TEXT NOT NULL, text TEXT, right INTEGER, at TEXT NOT NULL)""",
        """CREATE TABLE results (id INTEGER PRIMARY KEY, session INTEGER NOT NULL REFERENCES sessions(id),
           question INTEGER NOT NULL, lesson TEXT NOT NULL, step TEXT NOT NULL, position TEXT NOT NULL,
           concept TEXT NOT NULL, outcome TEXT NOT NULL, hints INTEGER NOT NULL, tries INTEGER NOT NULL,
           at TEXT NOT NULL, UNIQUE (session, question))""",
        "CREATE TABLE cards (concept TEXT PRIMARY KEY, record TEXT NOT NULL, due TEXT NOT NULL)",
    ),
    (  # 2: the rating of each result and a log of reviews, filled in from the results so far
        "ALTER TABLE results ADD COLUMN rating INTEGER",
        """UPDATE results SET rating = CASE outcome WHEN 'right' THEN 3 WHEN 'after_help' THEN 2
           WHEN 'wrong' THEN 1 WHEN 'revealed' THEN 1 END""",
        """CREATE TABLE reviews (id INTEGER PRIMARY KEY, concept TEXT NOT NULL, result INTEGER REFERENCES results(id),
           rating INTEGER NOT NULL, reviewed TEXT NOT NULL, due TEXT)""",
        """INSERT INTO reviews (concept, result, rating, reviewed)
           SELECT concept, id, rating, at FROM results WHERE rating IS NOT NULL ORDER BY at, id""",
        "CREATE INDEX results_concept ON results (concept)",
        "CREATE INDEX answers_session ON answers (session, question)",
    ),
)
SCHEMA = len(MIGRATIONS)


class StoreError(InputError):
    """The store cannot be used; the text is the one line shown (exit status 2)."""


def default_path() -> Path:
    """$DLSTEPS_HOME/progress.sqlite3, else the user's data directory (platformdirs)."""
    home = os.environ.get("DLSTEPS_HOME")
    if home:
        return Path(home).expanduser() / FILENAME
    from platformdirs import user_data_dir

    return Path(user_data_dir("dlsteps", appauthor=False)) / FILENAME


def stamp(moment: datetime) -> str:
    """A UTC time as fixed-width ISO 8601 text (sorts as it compares)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def parse_stamp(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def now() -> datetime:
    return datetime.now(UTC)


class Store:
    """An open progress store; every method commits what it writes before returning."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path, self.db = path, connection

    @classmethod
    def open(cls, path: Path | None = None, create: bool = True) -> Store | None:
        """Open (creating or migrating) the store at `path`; StoreError if it cannot be
        used; None when it does not exist and `create` is False."""
        path = Path(path or default_path())
        if not create and not (path.exists() or path.is_symlink()):
            return None
        try:
            return cls(path, _connect(path))
        except sqlite3.Error as error:
            raise _error(path, str(error)) from None
        except OSError as error:
            raise _error(path, error.strerror or str(error)) from None

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction that holds the write lock from its start (BEGIN IMMEDIATE)."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise _error(self.path, str(error)) from None
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def start(self, lesson: str, version: str, seed: int, inputs: dict, steps: str, plan: list, precision: int) -> int:
        """Record a new session; returns its id."""
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO sessions (lesson, version, seed, inputs, steps, plan, precision, started) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (lesson, version, seed, json.dumps(inputs, ensure_ascii=False), steps, json.dumps(plan), precision, stamp(now())))
            return int(cursor.lastrowid)

    def session(self, id: int) -> dict[str, Any]:
        row = self.db.execute("SELECT * FROM sessions WHERE id = ?", (id,)).fetchone()
        return _session(row)

    def latest(self) -> dict[str, Any] | None:
        """The most recent session, or None."""
        row = self.db.execute("SELECT * FROM sessions ORDER BY id DESC LIMIT 1").fetchone()
        return None if row is None else _session(row)

    def settled(self, session: int) -> dict[int, str]:
        """The outcome of each settled question of a session, by its index in the plan."""
        rows = self.db.execute("SELECT question, outcome FROM results WHERE session = ?", (session,))
        return {question: outcome for question, outcome in rows}

    def act(self, session: int, question: int, kind: str, text: str | None = None, right: bool | None = None) -> None:
        """Record an action (answer, hint, reveal, skip) at once."""
        with self.transaction() as db:
            db.execute("INSERT INTO answers (session, question, kind, text, right, at) VALUES (?, ?, ?, ?, ?, ?)",
                       (session, question, kind, text, None if right is None else int(right), stamp(now())))

    def settle(self, session: int, question: int, lesson: str, step: str, position: tuple, concept: str,
               outcome: str, hints: int, tries: int, action: tuple[str, str | None, bool | None], fuzz: bool = True) -> datetime | None:
        """Record the action that settles a question (kind, text, right), the result and
        the review of its concept's card, in one transaction; returns when the concept is
        due next (None for a skipped question)."""
        grade = schedule.rating(outcome)
        with self.transaction() as db:
            moment = now()
            kind, text, right = action
            db.execute("INSERT INTO answers (session, question, kind, text, right, at) VALUES (?, ?, ?, ?, ?, ?)",
                       (session, question, kind, text, None if right is None else int(right), stamp(moment)))
            cursor = db.execute(
                "INSERT INTO results (session, question, lesson, step, position, concept, outcome, hints, tries, at, rating) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (session, question, lesson, step, json.dumps(list(position)), concept, outcome, hints, tries, stamp(moment),
                 None if grade is None else int(grade)))
            due = None
            if grade is not None:
                row = db.execute("SELECT record FROM cards WHERE concept = ?", (concept,)).fetchone()
                record = schedule.review(None if row is None else json.loads(row[0]), concept, outcome, moment, fuzz)
                due = schedule.due(record)
                db.execute("INSERT INTO cards (concept, record, due) VALUES (?, ?, ?) ON CONFLICT (concept) "
                           "DO UPDATE SET record = excluded.record, due = excluded.due", (concept, json.dumps(record), stamp(due)))
                db.execute("INSERT INTO reviews (concept, result, rating, reviewed, due) VALUES (?, ?, ?, ?, ?)",
                           (concept, cursor.lastrowid, int(grade), stamp(moment), stamp(due)))
            total = len(json.loads(db.execute("SELECT plan FROM sessions WHERE id = ?", (session,)).fetchone()[0]))
            count = db.execute("SELECT COUNT(*) FROM results WHERE session = ?", (session,)).fetchone()[0]
            if count >= total:
                db.execute("UPDATE sessions SET finished = ? WHERE id = ?", (stamp(moment), session))
            return due

    def due(self, moment: datetime) -> list[tuple[str, datetime]]:
        """Concepts due at `moment`, the most overdue first."""
        rows = self.db.execute("SELECT concept, due FROM cards WHERE due <= ? ORDER BY due, concept", (stamp(moment),))
        return [(concept, parse_stamp(due)) for concept, due in rows]

    def lessons_for(self, concepts: list[str]) -> list[tuple[str, int]]:
        """Lessons in which these concepts were practised, those with most of them first."""
        if not concepts:
            return []
        marks = ", ".join("?" * len(concepts))
        rows = self.db.execute(f"SELECT lesson, COUNT(DISTINCT concept) AS n, MAX(at) AS last FROM results WHERE concept IN ({marks}) "
                               "GROUP BY lesson ORDER BY n DESC, last DESC", concepts)
        return [(lesson, n) for lesson, n, _last in rows]

    def report(self) -> dict[str, list[dict[str, Any]]]:
        """Per lesson and per concept: attempts (settled questions, not skipped), right first
        time, last practised; per concept also when it is due and its card state."""
        lessons = self.db.execute(
            "SELECT s.lesson, COUNT(DISTINCT s.id), COUNT(r.id) FILTER (WHERE r.outcome != 'skipped'), "
            "COUNT(r.id) FILTER (WHERE r.outcome = 'right'), MAX(r.at) FROM sessions s LEFT JOIN results r ON r.session = s.id "
            "GROUP BY s.lesson ORDER BY s.lesson").fetchall()
        concepts = self.db.execute(
            "SELECT r.concept, group_concat(DISTINCT r.lesson), COUNT(r.id) FILTER (WHERE r.outcome != 'skipped'), "
            "COUNT(r.id) FILTER (WHERE r.outcome = 'right'), MAX(r.at), c.due FROM results r LEFT JOIN cards c ON c.concept = r.concept "
            "GROUP BY r.concept ORDER BY r.concept").fetchall()
        return {
            "lessons": [{"lesson": lesson, "sessions": sessions, "attempts": attempts, "right": right, "last": last}
                        for lesson, sessions, attempts, right, last in lessons],
            "concepts": [{"concept": concept, "lessons": sorted(set((names or "").split(","))), "attempts": attempts, "right": right,
                          "last": last, "due": due} for concept, names, attempts, right, last, due in concepts],
        }


def _session(row: sqlite3.Row | tuple) -> dict[str, Any]:
    keys = ("id", "lesson", "version", "seed", "inputs", "steps", "plan", "precision", "started", "finished")
    session = dict(zip(keys, row))
    session["inputs"] = {name: tuple(pair) for name, pair in json.loads(session["inputs"]).items()}
    session["plan"] = json.loads(session["plan"])
    return session


def _error(path: Path, reason: str) -> StoreError:
    return StoreError(_("the progress store {path} cannot be used: {reason}; it was left as it is "
                        "(move it away, or set DLSTEPS_HOME to use another folder)").format(path=path, reason=reason))


def _connect(path: Path) -> sqlite3.Connection:
    """`_connect_once`, tried again while another process holds the lock for as long as
    the busy timeout: two quizzes starting at once on a new store both switch it to WAL,
    and SQLite answers one of them "database is locked" at once rather than wait (its
    busy handler is not called where waiting could deadlock)."""
    deadline = time.monotonic() + BUSY_SECONDS
    while True:
        try:
            return _connect_once(path)
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _connect_once(path: Path) -> sqlite3.Connection:
    """Connect, check an existing file without writing to it, then migrate it."""
    exists = path.exists() or path.is_symlink()
    if exists and not path.is_file():
        raise _error(path, _("it is not a file"))
    if not exists:
        path.parent.mkdir(parents=True, exist_ok=True)
    uri = f"{path.resolve().as_uri()}?mode={'rw' if exists else 'rwc'}"
    db = sqlite3.connect(uri, uri=True, timeout=BUSY_SECONDS, isolation_level=None)
    try:
        if exists:
            _check(path, db)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")  # WAL: a commit survives any crash of the process
        db.execute("PRAGMA foreign_keys = ON")
        _migrate(path, db)
    except BaseException:
        db.close()
        raise
    return db


def _check(path: Path, db: sqlite3.Connection) -> None:
    """Read-only checks: the file is an intact SQLite database holding a dlsteps store
    that this program's schema can read."""
    problems = [row[0] for row in db.execute("PRAGMA quick_check")]
    if problems != ["ok"]:
        raise _error(path, _("it is damaged ({problem})").format(problem=problems[0]))
    version = db.execute("PRAGMA user_version").fetchone()[0]
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if version > SCHEMA:
        raise _error(path, _("it was written by a newer dlsteps (schema {found}; this one reads up to {known})").format(found=version, known=SCHEMA))
    if version == 0 and tables:
        raise _error(path, _("it is an SQLite database but not a dlsteps progress store"))


def _migrate(path: Path, db: sqlite3.Connection) -> None:
    """Bring the schema up to SCHEMA, one migration after the other, in one transaction."""
    if db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA:
            raise _error(path, _("it was written by a newer dlsteps (schema {found}; this one reads up to {known})").format(found=version, known=SCHEMA))
        for statements in MIGRATIONS[version:]:
            for statement in statements:
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {SCHEMA}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
