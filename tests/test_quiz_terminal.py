"""The installed `dlsteps quiz` and `dlsteps progress` in a real pseudo-terminal (pexpect),
then the SQLite file read directly: what a session leaves behind, Ctrl-C and resuming,
SIGKILL, two quizzes at once, reviews of what is due.

Expected values are softmax by hand in NumPy, written here.
"""

import json
import os
import re
import shutil
import signal
import sqlite3
import sys

import numpy as np
import pexpect
import pytest

from dlsteps.quiz import plan
from test_quiz import assert_card_is_its_reviews

DLSTEPS = shutil.which("dlsteps", path=os.path.dirname(sys.executable))
pytestmark = pytest.mark.skipif(DLSTEPS is None, reason="the dlsteps command is not installed next to this Python")
PROMPT = "› "


def spawn(home, *args):
    env = {key: value for key, value in os.environ.items() if key not in ("FORCE_COLOR", "COLUMNS", "LINES")}
    env.update(DLSTEPS_HOME=str(home), NO_COLOR="1", DLSTEPS_FUZZ="0", TERM="xterm", PAGER="cat")
    return pexpect.spawn(DLSTEPS, list(args), env=env, dimensions=(40, 120), encoding="utf-8", timeout=30)


def softmax(o):
    o = np.array(o, dtype=float)
    u = np.exp(o - o.max())
    return {"m": o.max(), "u": u, "S": u.sum(), "y": u / u.sum()}


def answer(child, question, text, reply):
    """Wait for the question and the prompt, type `text`, wait for `reply`."""
    if question:
        child.expect_exact(question)
    child.expect_exact(PROMPT)
    child.sendline(text)
    child.expect_exact(reply)


def database(home):
    db = sqlite3.connect(home / "progress.sqlite3")
    return db


def test_a_quiz_interrupted_and_resumed(tmp_path):
    ref = softmax([2, 1, 0.1])
    child = spawn(tmp_path, "quiz", "softmax", "--logits", "2,1,0.1", "--target", "0", "--steps", "shift,exp,sum,softmax")
    child.expect(r"Seed (\d+)\. Replay these inputs: dlsteps quiz softmax --seed \d+ --logits 2,1,0.1 --target 0 --steps shift,exp,sum,softmax")
    seed = int(child.match.group(1))
    child.expect_exact("8 questions. An answer is right within 0.05 % of the value")
    answer(child, "m = ?", "2", "✓ right: m = 2")
    # A wrong answer, both hints, a retry.
    answer(child, "u₀ = ?", "0.5", "✗ not right")
    answer(child, None, "h", "Hint: the formula with the numbers in place")
    child.expect_exact("2 - 2")
    answer(child, None, "h", "Hint: the values it uses")
    child.expect_exact("[2, 1, 0.1]")
    answer(child, None, "h", "No more hints")
    answer(child, None, "1", "✓ right: u₀ = 1")
    answer(child, "u₁ = ?", "r", "The value: u₁ = 0.3679")
    child.expect_exact("u₂ = ?")
    child.expect_exact(PROMPT)
    child.sendintr()  # Ctrl-C halfway
    child.expect_exact("Stopped. Every answer so far is saved")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130

    db = database(tmp_path)
    session = db.execute("SELECT lesson, version, seed, inputs, steps, finished FROM sessions").fetchall()
    assert session == [("softmax", plan.lesson_version("softmax"), seed,
                        json.dumps({"logits": ["2,1,0.1", "command line"], "target": ["0", "command line"]}), "shift,exp,sum,softmax", None)]
    assert db.execute("SELECT question, step, position, outcome, hints, tries, rating FROM results ORDER BY question").fetchall() == [
        (0, "shift", "[]", "right", 0, 0, 3), (1, "exp", "[0]", "after_help", 2, 1, 2), (2, "exp", "[1]", "revealed", 0, 0, 1)]
    assert db.execute("SELECT question, kind, text, right FROM answers ORDER BY id").fetchall() == [
        (0, "answer", "2", 1), (1, "answer", "0.5", 0), (1, "hint", None, None), (1, "hint", None, None),
        (1, "answer", "1", 1), (2, "reveal", None, None)]
    db.close()

    child = spawn(tmp_path, "quiz")  # resumes the unfinished session
    child.expect_exact("Resuming: 5 of 8 questions left.")
    answer(child, "u₂ = ?", f"{ref['u'][2]:.4g}", "✓ right")
    answer(child, "S = ?", "1.5175", "✓ right: S = 1.517")  # 1 + 0.3679 + 0.1496, from the values as shown
    for k in range(3):
        answer(child, f"y{'₀₁₂'[k]} = ?", f"{ref['y'][k]:.5f}", "✓ right")
    child.expect_exact("Scorecard")
    child.expect(r"right first time\s+6")
    child.expect(r"right after hints or tries\s+1")
    child.expect(r"revealed\s+1")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    db = database(tmp_path)
    assert db.execute("SELECT COUNT(*), MIN(finished IS NOT NULL) FROM sessions").fetchone() == (1, 1)
    outcomes = [row[0] for row in db.execute("SELECT outcome FROM results ORDER BY question")]
    assert outcomes == ["right", "after_help", "revealed", "right", "right", "right", "right", "right"]
    reviewed = {concept: assert_card_is_its_reviews(db, concept)
                for concept in ("softmax_ce.shift", "softmax_ce.exp", "softmax_ce.sum", "softmax_ce.softmax")}
    assert reviewed == {"softmax_ce.shift": 1, "softmax_ce.exp": 3, "softmax_ce.sum": 1, "softmax_ce.softmax": 3}
    dump = "\n".join(db.iterdump())
    for value in [*ref["u"][1:], ref["S"], *ref["y"]]:
        assert f"{value:.9f}"[:10] not in dump  # the store keeps inputs and the seed, not the values
    db.close()

    progress = spawn(tmp_path, "progress")
    progress.expect(pexpect.EOF)
    text = progress.before
    assert "softmax" in text and "softmax_ce.exp" in text and "33 %" in text and "accuracy" in text


def test_sigkill_loses_no_committed_answer(tmp_path):
    child = spawn(tmp_path, "quiz", "softmax", "--logits", "2,1,0.1", "--target", "0", "--steps", "shift,exp")
    answer(child, "m = ?", "2", "✓ right")
    answer(child, "u₀ = ?", "1", "✓ right")
    answer(child, "u₁ = ?", "0.9", "✗ not right")
    child.expect_exact(PROMPT)
    child.kill(signal.SIGKILL)
    child.close(force=True)
    db = database(tmp_path)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("SELECT step, outcome FROM results ORDER BY question").fetchall() == [("shift", "right"), ("exp", "right")]
    assert db.execute("SELECT kind, text, right FROM answers ORDER BY id").fetchall()[-1] == ("answer", "0.9", 0)
    db.close()
    child = spawn(tmp_path, "quiz")
    child.expect_exact("Resuming: 2 of 4 questions left.")
    answer(child, "u₁ = ?", "q", "Stopped.")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_two_quizzes_at_once_on_one_store(tmp_path):
    logits = {"a": [2, 1, 0.1], "b": [1, 2, 3]}
    children = {name: spawn(tmp_path, "quiz", "softmax", "--logits", ",".join(map(str, o)), "--target", "0", "--steps", "shift,exp,sum")
                for name, o in logits.items()}
    for name, child in children.items():
        child.expect_exact("5 questions.")
    questions = [("m", None), ("u", 0), ("u", 1), ("u", 2), ("S", None)]
    for symbol, k in questions:
        for child in children.values():
            child.expect_exact(PROMPT)
        for name, child in children.items():  # both answer at once
            ref = softmax(logits[name])[symbol]
            value = ref if k is None else ref[k]
            child.sendline("1e5" if name == "b" and symbol == "u" else f"{value:.6g}")
        for name, child in children.items():
            if name == "b" and symbol == "u":
                child.expect_exact("✗ not right")
                ref = softmax(logits[name])[symbol]
                answer(child, None, f"{ref[k]:.6g}", "✓ right")
            else:
                child.expect_exact("✓ right")
    for child in children.values():
        child.expect_exact("Scorecard")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
    db = database(tmp_path)
    assert db.execute("SELECT COUNT(*), SUM(finished IS NOT NULL) FROM sessions").fetchone() == (2, 2)
    assert db.execute("SELECT COUNT(*) FROM results").fetchone() == (10,)
    assert db.execute("SELECT outcome, COUNT(*) FROM results GROUP BY outcome ORDER BY outcome").fetchall() == [("after_help", 3), ("right", 7)]
    counts = {concept: assert_card_is_its_reviews(db, concept) for concept in ("softmax_ce.shift", "softmax_ce.exp", "softmax_ce.sum")}
    assert counts == {"softmax_ce.shift": 2, "softmax_ce.exp": 6, "softmax_ce.sum": 2}


def test_fresh_inputs_without_a_seed_and_the_seed_replays_them(tmp_path):
    def inputs_of(*args):
        child = spawn(tmp_path, "quiz", "softmax", *args)
        child.expect(r"Seed (\d+)\.")
        seed = child.match.group(1)
        child.expect_exact("Inputs")
        child.expect(r"questions\.")
        table = re.sub(r"\s+", " ", child.before)
        answer(child, None, "q", "Scorecard")
        child.expect(pexpect.EOF)
        child.close()
        return seed, table

    first, second = inputs_of(), inputs_of()
    assert first[0] != second[0] and first[1] != second[1] and "seed" in first[1]
    assert inputs_of("--seed", first[0]) == first
    db = database(tmp_path)
    assert db.execute("SELECT seed, inputs FROM sessions ORDER BY id").fetchall() == [
        (int(first[0]), "{}"), (int(second[0]), "{}"), (int(first[0]), "{}")]


def test_quiz_alone_asks_what_is_due(tmp_path):
    child = spawn(tmp_path, "quiz", "softmax", "--logits", "2,1,0.1", "--target", "0", "--steps", "shift,sum")
    answer(child, "m = ?", "2", "✓ right")
    answer(child, "S = ?", "s", "Scorecard")
    child.expect(pexpect.EOF)
    child.close()
    db = database(tmp_path)
    db.execute("UPDATE cards SET due = '2000-01-01T00:00:00.000000+00:00'")  # as if the clock had moved on
    db.commit()
    db.close()
    child = spawn(tmp_path, "quiz")
    child.expect_exact("1 question.")
    answer(child, "m = ?", "r", "The value: m =")
    child.expect_exact("Scorecard")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    db = database(tmp_path)
    assert db.execute("SELECT steps, inputs FROM sessions ORDER BY id").fetchall()[-1] == ("shift", "{}")
    child = spawn(tmp_path, "quiz")
    child.expect_exact("Start a lesson's quiz")
    child.expect(pexpect.EOF)


@pytest.mark.parametrize("args, fragment", [
    (["softmax", "--steps", "sideways"], "--steps: 'sideways'"),
    (["softmax", "--seed", "x"], "--seed: 'x'"),
    (["softmax", "--logits", "1,,2"], "--logits"),
    (["softmax", "-p", "0"], "--precision"),
    (["regularization", "--input-steps", "0"], "--input-steps: '0'"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, cli, monkeypatch, args, fragment):
    monkeypatch.setenv("DLSTEPS_HOME", str(tmp_path))
    result = cli("quiz", *args)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and fragment in result.stderr, result.output
