"""The quiz in-process: grading, which steps are asked, hints, scheduling, the store.

References are written here apart from dlsteps: softmax by hand in NumPy, significant
digits with Python's format, FSRS due dates from the library called directly.
"""

import io
import json
import multiprocessing
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import fsrs
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from rich.console import Console

from dlsteps import catalogue, engine
from dlsteps.errors import InputError
from dlsteps.model import Derivation
from dlsteps.quiz import grading, hints, plan, schedule
from dlsteps.quiz.session import Quiz, Stopped, Terminal
from dlsteps.quiz.store import SCHEMA, Store

LOGITS = np.array([2.0, 1.0, 0.1])


def softmax_reference(o):
    u = np.exp(o - o.max())
    return u, u.sum(), u / u.sum()


def significant(x, digits):
    return float(f"{x:.{digits}g}")


# Grading ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, shape, expected", [
    ("0.62", (), 0.62), ("1/3", (), 1 / 3), (".5", (), 0.5), ("-2", (), -2.0), ("1e-3", (), 0.001),
    ("0.1,0.2", (2,), [0.1, 0.2]), ('"1,2;3,4"', (2, 2), [[1, 2], [3, 4]]), (" 1/4 ", (), 0.25), ("7", (1,), [7.0]),
])
def test_answers_use_the_input_syntax(text, shape, expected):
    assert np.array_equal(grading.parse_answer(text, shape), np.array(expected, dtype=float))


@pytest.mark.parametrize("text, shape, fragment", [
    ("abc", (), "'abc' is not a number"), ("1,2", (), "expected one number"), ("1,2", (3,), "expected 3 numbers"),
    ("1,2;3", (2, 2), "rows of different lengths"), ("1/0", (), "divides by zero"), ("", (), "nothing typed"),
    ("1e99999", (), "is not a number"), ("1e999", (), "too large"), ("-1e308/1e-300", (), "too large"),
])
def test_unreadable_answers_are_one_line(text, shape, fragment):
    with pytest.raises(InputError) as error:
        grading.parse_answer(text, shape)
    assert fragment in str(error.value) and "\n" not in str(error.value)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("0123456789.,;/-+eE \"'xµ٣"), max_size=20), st.sampled_from([(), (2,), (2, 2)]))
def test_any_answer_text_is_read_or_refused_in_one_line(text, shape):
    try:
        value = grading.parse_answer(text, shape)
    except InputError as error:
        assert "\n" not in str(error)
    else:
        assert value.shape == shape and np.isfinite(value).all()


def test_tolerance_follows_the_precision_and_is_said():
    # 4 significant digits: relative 5e-4, half a unit in the 4th digit of 1.000.
    value = 0.6590011
    tolerance = grading.Tolerance(4)
    assert grading.grade("0.659", value, tolerance).right
    assert grading.grade("0.6593", value, tolerance).right        # 4.5e-4 relative
    assert not grading.grade("0.6594", value, tolerance).right    # 6.1e-4 relative
    assert not grading.grade("0.66", value, tolerance).right
    assert grading.grade("0.66", value, grading.Tolerance(2)).right
    assert "0.05 %" in tolerance.describe() and "4 significant digits" in tolerance.describe()
    assert "5 %" in grading.Tolerance(2).describe()


def test_rounding_noise_is_zero_and_a_wrong_entry_is_located():
    assert grading.grade("0", 2.2e-17, grading.Tolerance(4, scale=0.34)).right
    verdict = grading.grade("1,2;3,5", [[1, 2], [3, 4]], grading.Tolerance(4))
    assert not verdict.right and verdict.wrong == ((1, 1),)
    assert grading.grade("1.1", 1.0, grading.Tolerance(4), others=(np.array(1.1),)).right
    assert not grading.grade("1.1", 1.0, grading.Tolerance(4)).right


def test_evaluate_with_replaces_earlier_values():
    d = engine.run("softmax", {"logits": ("2,1,0.1", "test"), "target": ("0", "test")})
    u, S, y = softmax_reference(LOGITS)
    assert np.allclose(grading.evaluate_with(d, d["softmax"], {"sum": 2.0}), u / 2)
    assert np.allclose(grading.evaluate_with(d, d["softmax"], {}), y)
    # Worked from the values as shown (4 significant digits), as a learner would.
    shown = grading.shown_reference(d, d["softmax"], 4)
    assert np.allclose(shown, [significant(x, 4) for x in u] / np.float64(significant(S, 4)), rtol=1e-12)
    shown3 = grading.shown_reference(d, d["softmax"], 2)
    assert np.allclose(shown3, [significant(x, 2) for x in u] / np.float64(significant(S, 2)), rtol=1e-12)


# Which steps are asked ---------------------------------------------------------------

def test_forward_and_backward_steps_of_softmax():
    d = engine.run("softmax")
    assert [s.id for s in plan.select_steps(d, "forward")] == ["shift", "exp", "sum", "softmax", "log_softmax", "loss"]
    assert [s.id for s in plan.select_steps(d, "backward")] == [
        "jacobian_quotient", "jacobian", "dL_dy", "chain_terms", "gradient_sum", "gradient"]
    assert [s.id for s in plan.select_steps(d, "sum, exp")] == ["exp", "sum"]
    with pytest.raises(InputError, match="--steps: 'sideways'"):
        plan.select_steps(d, "sideways")


def test_the_backward_rule_on_steps_built_here():
    import sympy as sp

    d = Derivation(lesson="t", title="t", lecture="t")
    L, w = sp.Symbol("L"), sp.Symbol("w")
    d.given("w", w, 1.0)
    d.section("s")
    cases = {
        "loss": ({}, False), "by_w": ({"lhs": sp.Derivative(L, w)}, True), "out.delta": ({}, True),
        "dL_dz": ({}, True), "grads": ({}, True), "update_w": ({}, False), "after.linear": ({}, False),
        "x": ({"concept": "dense.chain_terms"}, True), "y": ({"concept": "activations.sigmoid_derivative"}, True),
    }
    for id, (fields, backward) in cases.items():
        step = d.step(id, id, symbol=sp.Symbol(f"v_{len(d.steps())}"), formula=2 * w, value=2.0, code=f"v_{len(d.steps())} = 2 * w", **fields)
        assert plan.is_backward(step) == backward, id


def test_entries_asked_are_all_of_a_small_array_else_three_drawn_with_the_seed():
    d = engine.run("softmax")
    assert plan.positions(d["loss"], 1) == [()]
    assert plan.positions(d["exp"], 1) == [(0,), (1,), (2,)]
    asked = plan.positions(d["jacobian"], 1)
    assert len(asked) == 3 and asked[0] == (0, 0) and asked == plan.positions(d["jacobian"], 1)
    assert len({tuple(plan.positions(d["jacobian"], seed)) for seed in range(20)}) > 1
    assert [q.as_json() for q in plan.plan(d, "shift,exp", 1)] == [["shift", []], ["exp", [0]], ["exp", [1]], ["exp", [2]]]


def test_lesson_version_names_the_program_and_is_stable():
    version = plan.lesson_version("softmax")
    assert version.startswith("0.") and "+" in version and version == plan.lesson_version("softmax")
    assert version != plan.lesson_version("kl")


# Hints -----------------------------------------------------------------------------

def render(renderable):
    out = io.StringIO()
    Console(file=out, width=100, color_system=None).print(renderable)
    return out.getvalue()


def test_hints_substitute_the_asked_entry_then_list_the_values_used():
    d = engine.run("softmax", {"logits": ("2,1,0.1", "test"), "target": ("0", "test")})
    printer = hints.make_printer(d, 4, 100)
    first = render(hints.formula_hint(d, d["exp"], (2,), printer, 100))
    assert "u₂" in first and "0.1 - 2" in first
    shift = render(hints.formula_hint(d, d["shift"], (), printer, 100))
    assert "max(2, 1, 0.1)" in shift
    second = render(hints.values_hint(d, d["softmax"], printer))
    assert "[1, 0.3679, 0.1496]" in second and "1.517" in second
    assert hints.entry_text(d, d["jacobian"], (0, 1)) == "∂y₀/∂o₁"


# Scheduling ---------------------------------------------------------------------------

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def test_ratings_follow_the_outcome():
    assert [schedule.rating(o) for o in ("right", "after_help", "wrong", "revealed", "skipped")] == [
        fsrs.Rating.Good, fsrs.Rating.Hard, fsrs.Rating.Again, fsrs.Rating.Again, None]
    assert schedule.card_id("softmax_ce.exp") == schedule.card_id("softmax_ce.exp") != schedule.card_id("softmax_ce.sum")


def test_due_dates_are_the_library_s_for_a_fixed_clock():
    # FSRS learning steps (1 min, 10 min): Again is due in 1 minute, Good on a new card in 10.
    assert schedule.due(schedule.review(None, "c", "revealed", T0, fuzz=False)) == T0 + timedelta(minutes=1)
    first = schedule.review(None, "c", "right", T0, fuzz=False)
    assert schedule.due(first) == T0 + timedelta(minutes=10)
    second = schedule.review(first, "c", "right", T0 + timedelta(minutes=10), fuzz=False)
    third = schedule.review(second, "c", "after_help", schedule.due(second), fuzz=False)
    # The same reviews given to the library directly.
    scheduler = fsrs.Scheduler(enable_fuzzing=False)
    card = fsrs.Card(card_id=schedule.card_id("c"), due=T0)
    card, _ = scheduler.review_card(card, fsrs.Rating.Good, T0)
    card, _ = scheduler.review_card(card, fsrs.Rating.Good, T0 + timedelta(minutes=10))
    assert schedule.due(second) == card.due and card.due - T0 > timedelta(days=1)
    card, _ = scheduler.review_card(card, fsrs.Rating.Hard, card.due)
    assert schedule.due(third) == card.due
    assert third == {"format": 1, "library": "fsrs", "card": card.to_dict()}


def test_an_unknown_card_record_is_refused():
    with pytest.raises(schedule.RecordError):
        schedule.unwrap({"format": 99, "library": "fsrs", "card": {}})


# The store ---------------------------------------------------------------------------

def test_a_new_store_has_the_current_schema(tmp_path):
    store = Store.open(tmp_path / "deep" / "p.sqlite3")
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert Store.open(tmp_path / "missing.sqlite3", create=False) is None
    assert not (tmp_path / "missing.sqlite3").exists()


V1 = [  # Schema 1 as it was written, kept here apart from the program's migrations.
    "CREATE TABLE sessions (id INTEGER PRIMARY KEY, lesson TEXT NOT NULL, version TEXT NOT NULL, seed INTEGER NOT NULL, "
    "inputs TEXT NOT NULL, steps TEXT NOT NULL, plan TEXT NOT NULL, precision INTEGER NOT NULL, started TEXT NOT NULL, finished TEXT)",
    "CREATE TABLE answers (id INTEGER PRIMARY KEY, session INTEGER NOT NULL REFERENCES sessions(id), question INTEGER NOT NULL, "
    "kind TEXT NOT NULL, text TEXT, right INTEGER, at TEXT NOT NULL)",
    "CREATE TABLE results (id INTEGER PRIMARY KEY, session INTEGER NOT NULL REFERENCES sessions(id), question INTEGER NOT NULL, "
    "lesson TEXT NOT NULL, step TEXT NOT NULL, position TEXT NOT NULL, concept TEXT NOT NULL, outcome TEXT NOT NULL, "
    "hints INTEGER NOT NULL, tries INTEGER NOT NULL, at TEXT NOT NULL, UNIQUE (session, question))",
    "CREATE TABLE cards (concept TEXT PRIMARY KEY, record TEXT NOT NULL, due TEXT NOT NULL)",
]


def make_v1_store(path):
    db = sqlite3.connect(path)
    for statement in V1:
        db.execute(statement)
    plan_ = json.dumps([["shift", []], ["exp", [0]], ["exp", [1]]])
    db.execute("INSERT INTO sessions VALUES (1, 'softmax', 'old', 42, '{}', 'shift,exp', ?, 4, '2024-01-01T00:00:00.000000+00:00', NULL)", (plan_,))
    rows = [(0, "shift", "[]", "softmax_ce.shift", "right"), (1, "exp", "[0]", "softmax_ce.exp", "revealed")]
    for question, step, position, concept, outcome in rows:
        db.execute("INSERT INTO results (session, question, lesson, step, position, concept, outcome, hints, tries, at) "
                   "VALUES (1, ?, 'softmax', ?, ?, ?, ?, 0, 0, ?)", (question, step, position, concept, outcome, f"2024-01-01T00:0{question}:00.000000+00:00"))
    record = schedule.review(None, "softmax_ce.shift", "right", T0, fuzz=False)
    db.execute("INSERT INTO cards VALUES ('softmax_ce.shift', ?, '2024-01-01T00:10:00.000000+00:00')", (json.dumps(record),))
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()


def test_an_old_schema_is_migrated_not_discarded(tmp_path, cli, monkeypatch):
    path = tmp_path / "progress.sqlite3"
    make_v1_store(path)
    monkeypatch.setenv("DLSTEPS_HOME", str(tmp_path))
    result = cli("progress", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["lessons"] == [{"lesson": "softmax", "sessions": 1, "attempts": 2, "right": 1, "last": "2024-01-01T00:01:00.000000+00:00",
                                "accuracy": 0.5, "due_now": 1}]
    assert "softmax_ce.shift" in data["due_now"]
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA
    assert db.execute("SELECT step, rating FROM results ORDER BY question").fetchall() == [("shift", 3), ("exp", 1)]
    assert db.execute("SELECT concept, rating FROM reviews ORDER BY id").fetchall() == [("softmax_ce.shift", 3), ("softmax_ce.exp", 1)]
    assert db.execute("SELECT lesson, seed FROM sessions").fetchall() == [("softmax", 42)]


@pytest.mark.parametrize("kind", ["garbage", "newer", "foreign", "folder"])
def test_an_unusable_store_is_one_line_exit_2_and_left_untouched(tmp_path, cli, monkeypatch, kind):
    path = tmp_path / "progress.sqlite3"
    if kind == "garbage":
        path.write_bytes(b"this is not a database\n" * 200)
    elif kind == "folder":
        path.mkdir()
    else:
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE other (x)")
        db.execute(f"PRAGMA user_version = {99 if kind == 'newer' else 0}")
        db.commit()
        db.close()
    before = sorted(p.name for p in tmp_path.iterdir()), (path.read_bytes() if path.is_file() else None)
    monkeypatch.setenv("DLSTEPS_HOME", str(tmp_path))
    for args in (["progress"], ["quiz", "softmax", "--seed", "1"], ["quiz"]):
        result = cli(*args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.count("\n") == 1 and str(path) in result.stderr and "left as it is" in result.stderr
        assert "Traceback" not in result.output
    assert (sorted(p.name for p in tmp_path.iterdir()), path.read_bytes() if path.is_file() else None) == before


def _hammer(path, session, concept, count):
    store = Store.open(path)
    for question in range(count):
        store.settle(session, question, "softmax", "exp", (0,), concept, "right" if question % 3 else "after_help", 0, 0,
                     ("answer", "1", True), fuzz=False)
    store.close()


def test_two_processes_writing_at_once_lose_no_review(tmp_path):
    path = tmp_path / "p.sqlite3"
    store = Store.open(path)
    plan_ = [["exp", [0]]] * 40
    sessions = [store.start("softmax", "v", 1, {}, "exp", plan_, 4) for _ in range(2)]
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_hammer, args=(path, session, "softmax_ce.exp", 40)) for session in sessions]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    assert store.db.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 80
    assert store.db.execute("SELECT COUNT(*) FROM sessions WHERE finished IS NOT NULL").fetchone()[0] == 2
    assert_card_is_its_reviews(store.db, "softmax_ce.exp", 80)


def assert_card_is_its_reviews(db, concept, count=None):
    """Replaying the review log through the library gives the stored card: no update was
    lost (and, given `count`, that many reviews were logged); returns the number of reviews."""
    reviews = db.execute("SELECT rating, reviewed FROM reviews WHERE concept = ? ORDER BY id", (concept,)).fetchall()
    assert count is None or len(reviews) == count
    scheduler = fsrs.Scheduler(enable_fuzzing=False)
    card = fsrs.Card(card_id=schedule.card_id(concept), due=datetime.fromisoformat(reviews[0][1]))
    for rating, reviewed in reviews:
        card, _ = scheduler.review_card(card, fsrs.Rating(rating), datetime.fromisoformat(reviewed))
    stored = json.loads(db.execute("SELECT record FROM cards WHERE concept = ?", (concept,)).fetchone()[0])
    assert stored == {"format": 1, "library": "fsrs", "card": card.to_dict()}
    return len(reviews)


# Every lesson, start to finish -------------------------------------------------------

@pytest.mark.parametrize("name", list(catalogue.catalogue()))
def test_every_lesson_can_be_taken_start_to_finish(tmp_path, name):
    d = engine.run(name, seed=3)
    questions = plan.plan(d, "all", 3)
    script, seen = [], set()
    for question in questions:
        step = d[question.step]
        if step.id not in seen:  # both hints, one more h, then the answer
            script += ["h", "h", "h"]
            seen.add(step.id)
        script.append(f"{float(np.asarray(step.value, dtype=float)[question.position]):.8g}")
    store = Store.open(tmp_path / "p.sqlite3")
    id = store.start(name, plan.lesson_version(catalogue.get(name).module), 3, {}, "all", [q.as_json() for q in questions], 4)
    answers = iter(script + ["q"])
    out = io.StringIO()
    quiz = Quiz(d, store, store.session(id), Terminal(Console(file=out, width=100), read=lambda prompt: next(answers)), fuzz=False)
    quiz.intro("dlsteps quiz ...", resumed=False)
    outcomes = quiz.run()
    assert sum(outcomes.values()) == len(questions) and set(outcomes) <= {"right", "after_help"}
    assert store.session(id)["finished"] is not None
    assert "Traceback" not in out.getvalue() and "Hint: the values it uses" in out.getvalue()


def test_quitting_keeps_what_was_answered(tmp_path):
    d = engine.run("softmax", {"logits": ("2,1,0.1", "test"), "target": ("0", "test")})
    store = Store.open(tmp_path / "p.sqlite3")
    questions = plan.plan(d, "shift,exp", 0)
    id = store.start("softmax", "v", 0, {}, "shift,exp", [q.as_json() for q in questions], 4)
    answers = iter(["2", "abc", "0.5", "s", "q"])
    quiz = Quiz(d, store, store.session(id), Terminal(Console(file=io.StringIO()), read=lambda prompt: next(answers)), fuzz=False)
    with pytest.raises(Stopped):
        quiz.run()
    assert store.settled(id) == {0: "right", 1: "wrong"}
    kinds = store.db.execute("SELECT kind, text, right FROM answers ORDER BY id").fetchall()
    assert kinds == [("answer", "2", 1), ("answer", "0.5", 0), ("skip", None, None)]  # 'abc' was not read: not an answer


PROBE = """
import sys
from typer.testing import CliRunner
from dlsteps.cli import app
for args in (["progress"], ["progress", "--format", "json"], ["quiz", "--help"], ["quiz", "softmax", "--help"]):
    assert CliRunner().invoke(app, args).exit_code == 0, args
print(sorted(m for m in ("sympy", "numpy") if m in sys.modules))
"""


def test_progress_and_quiz_help_import_neither_sympy_nor_numpy(tmp_path):
    make_v1_store(tmp_path / "progress.sqlite3")
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60,
                            env={**__import__("os").environ, "DLSTEPS_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_store_locked_while_another_quiz_opens_it_is_opened_once_the_lock_goes(tmp_path, monkeypatch):
    # Two quizzes starting at once on a new store both switch it to WAL; SQLite answers one
    # of them "database is locked" at once (it does not wait where waiting could deadlock).
    from dlsteps.quiz import store

    attempts = []
    real = store._connect_once

    def busy_then_free(path):
        attempts.append(path)
        if len(attempts) < 3:
            raise sqlite3.OperationalError("database is locked")
        return real(path)

    monkeypatch.setattr(store, "_connect_once", busy_then_free)
    opened = Store.open(tmp_path / "progress.sqlite")
    assert len(attempts) == 3 and opened.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA
    opened.close()
    monkeypatch.setattr(store, "_connect_once", lambda path: (_ for _ in ()).throw(sqlite3.OperationalError("disk I/O error")))
    with pytest.raises(InputError, match="disk I/O error"):
        Store.open(tmp_path / "other.sqlite")
