"""`dlsteps check`: marking a hand calculation with follow-through (error carried forward).

The hand calculation is written out here in NumPy, apart from dlsteps: softmax of the
lecture's logits o = (2, 1, 0.1) with target class 0, where the sum of the exponentials
is miscopied as S = 1.6 (it is 1 + 0.3679 + 0.1496 = 1.5175), and every later value is
then worked correctly from that wrong S, rounded to four digits as on paper.
"""

import json
import random

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from dlsteps import catalogue, engine
from dlsteps.errors import InputError
from dlsteps.marking import answers, mark
from dlsteps.quiz import grading

LESSONS = list(catalogue.catalogue())
SOFTMAX = engine.run("softmax")
O, T = np.array([2.0, 1.0, 0.1]), np.array([1.0, 0.0, 0.0])


def four(x):
    """Rounded to 4 significant digits, as a learner writes it."""
    return np.vectorize(lambda v: float(f"{v:.4g}"))(np.asarray(x, dtype=float)).tolist()


def hand_calculation(slip=1.6):
    """Softmax by hand, with S miscopied as `slip`, then worked on correctly from it."""
    m = O.max()
    u = np.exp(O - m)
    y = np.array(four(u)) / slip  # the learner divides their rounded u by their S
    log_y = O - m - np.log(slip)
    loss = -(T * log_y).sum()
    return {"shift": m, "exp": four(u), "sum": slip, "softmax": four(y), "log_softmax": four(log_y),
            "loss": four(loss), "gradient": four(y - T)}


def write(tmp_path, data, name="answers.json"):
    path = tmp_path / name
    if name.endswith(".json"):
        path.write_text(json.dumps(data))
    else:
        path.write_text("".join(f"{key} = {json.dumps(value)}\n" for key, value in data.items()))
    return path


def marks_of(cli, path, *args):
    result = cli("check", "softmax", "--answers", str(path), "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_slip_is_the_first_wrong_step_and_what_follows_from_it_is_right_given_it(cli, tmp_path):
    report = marks_of(cli, write(tmp_path, hand_calculation()))
    marks = {m["id"]: m["mark"] for m in report["marks"]}
    assert marks == {"shift": "right", "exp": "right", "sum": "wrong", "softmax": "right_given_earlier",
                     "log_softmax": "right_given_earlier", "loss": "right_given_earlier", "gradient": "right_given_earlier"}
    first = report["first_wrong"]
    assert first["id"] == "sum" and first["answer"] == 1.6 and first["wrong_inputs"] == []
    assert first["expected"] == pytest.approx(np.exp(O - 2).sum(), rel=1e-12)
    assert first["carried"] == pytest.approx(sum(four(np.exp(O - 2))), rel=1e-12)  # your u, added correctly
    assert "0.3679" in first["yours"] and "0.1496" in first["ours"]
    assert {m["id"]: m["wrong_inputs"] for m in report["marks"]}["softmax"] == ["sum"]
    assert report["summary"] == {"right": 2, "right_given_earlier": 4, "wrong": 1, "unanswered": 5}


def test_the_terminal_names_the_first_wrong_step_and_shows_both_workings(cli, tmp_path):
    result = cli("check", "softmax", "--answers", str(write(tmp_path, hand_calculation())), "--no-pager", env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "First wrong step: 1.3 Their sum (sum)" in text
    assert "With your numbers:" in text and "With ours:" in text and "S = 1.6" in text
    assert "right given your earlier values" in text and "0.05 %" in text  # the tolerance is said


def test_a_later_independent_slip_is_wrong_not_follow_through(cli, tmp_path):
    data = hand_calculation()
    data["loss"] = 0.5  # -log y_0 from the learner's own values is 0.47
    marks = {m["id"]: m["mark"] for m in marks_of(cli, write(tmp_path, data))["marks"]}
    assert marks["sum"] == "wrong" and marks["loss"] == "wrong" and marks["softmax"] == "right_given_earlier"


def test_answers_identical_to_ours_are_all_right(cli, run_json, tmp_path):
    for args in (("softmax",), ("lstm", "--seed", "7"), ("regularization",)):
        steps, _document = run_json(*args)
        path = write(tmp_path, {id: value.tolist() for id, value in steps.items()})
        result = cli("check", args[0], *args[1:], "--answers", str(path), "--format", "json")
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert report["summary"]["right"] == len(steps) and report["first_wrong"] is None


def test_a_shuffled_file_checks_the_same(cli, tmp_path):
    data = hand_calculation()
    expected = marks_of(cli, write(tmp_path, data))
    keys = list(data)
    random.Random(3).shuffle(keys)
    shuffled = marks_of(cli, write(tmp_path, {key: data[key] for key in keys}, "shuffled.toml"))
    assert shuffled["marks"] == expected["marks"] and shuffled["first_wrong"] == expected["first_wrong"]


@pytest.mark.parametrize("content, name, words", [
    ({"sum": 1.5, "sume": 2}, "answers.json", ["'sume'", "did you mean 'sum'"]),
    ({"sum": [1.5, 2]}, "answers.json", ["sum", "one number"]),
    ({"exp": [1, 2]}, "answers.json", ["exp", "3 numbers"]),
    ({"jacobian": "1,2;3,4"}, "answers.json", ["jacobian", "3 rows of 3"]),
    ({"exp": True}, "answers.json", ["exp", "true"]),
    ('{"sum": 1.5', "answers.json", ["not valid JSON"]),
    ("sum = [1,", "answers.toml", ["not valid TOML"]),
    ("just some notes\n", "answers.md", ["no answer(ID): lines"]),
    ("`answer(sum)`: 1.5\n`answer(sum)`: 1.6\n", "answers.md", ["sum twice"]),
    (None, "missing.toml", ["cannot read"]),
    (b"\xff\xfe\x00", "answers.md", ["not UTF-8"]),
])
def test_a_bad_file_is_one_line_and_exit_2(cli, tmp_path, content, name, words):
    path = tmp_path / name
    if isinstance(content, dict):
        path.write_text(json.dumps(content))
    elif isinstance(content, str):
        path.write_text(content)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    result = cli("check", "softmax", "--answers", str(path))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("dlsteps check softmax: --answers")
    for word in words:
        assert word in result.stderr


def test_lesson_inputs_are_taken_as_the_lesson_takes_them(cli, tmp_path):
    # o = (1, 2, 3): u = exp(o - 3) = (0.1353, 0.3679, 1), S = 1.503
    path = write(tmp_path, {"sum": float(np.exp(np.array([1.0, 2, 3]) - 3).sum())})
    report = marks_of(cli, path, "--logits", "1,2,3")
    assert report["marks"][0]["mark"] == "right" and report["inputs"]["logits"] == [1, 2, 3]
    assert marks_of(cli, path)["marks"][0]["mark"] == "wrong"
    params = tmp_path / "params.toml"
    params.write_text('logits = "1,2,3"\n')
    assert marks_of(cli, path, "--params", str(params))["marks"][0]["mark"] == "right"
    result = cli("check", "softmax", "--answers", str(path), "--logits", "1,x")
    assert result.exit_code == 2 and "--logits" in result.stderr


def test_matrix_answers_are_marked_entry_by_entry(cli, tmp_path):
    y = np.exp(O - 2) / np.exp(O - 2).sum()
    jacobian = np.diag(y) - np.outer(y, y)
    slipped = jacobian.copy()
    slipped[2, 1] = -0.03
    [result] = marks_of(cli, write(tmp_path, {"jacobian": slipped.tolist()}))["marks"]
    assert result["mark"] == "wrong" and result["entries"] == 9 and result["right_entries"] == 8
    assert result["wrong_entries"] == [[2, 1]]


def test_a_miscopied_input_is_where_the_mistake_started(cli, tmp_path):
    # the learner read o_2 as 0.2: u_2 = exp(0.2 - 2) = 0.1653, S = 1 + 0.3679 + 0.1653 = 1.533
    data = {"logits": [2, 1, 0.2], "exp": four(np.exp(np.array([2, 1, 0.2]) - 2)), "sum": four(np.exp(np.array([2, 1, 0.2]) - 2).sum())}
    report = marks_of(cli, write(tmp_path, data))
    assert [m["mark"] for m in report["marks"]] == ["wrong", "right_given_earlier", "right_given_earlier"]
    assert report["first_wrong"]["id"] == "logits" and report["first_wrong"]["position"] == [2]


def test_the_markdown_blanks_are_read_however_they_are_filled_in():
    text = "\n".join([
        "<!-- dlsteps worksheet {\"lesson\": \"softmax\", \"seed\": 4, \"inputs\": {}} -->",
        "`answer(shift)`: ____",
        "`answer(exp)`: 1, 0.3679 , 0.1496 ____",
        "- answer(sum): $1.517$",
        "`answer(softmax)`: [0.659, 0.2424, 0.09857]",
        "`answer(jacobian)`: 0.2247, -0.1598, −0.06496;",
        "   -0.1598, 0.1837, -0.0239;",
        "   -0.06496, -0.0239, 0.08885",
        "The answer(x) in prose is no blank.",
    ])
    read = answers.markdown(text)
    assert read.blank == ["shift"] and read.sheet["seed"] == 4
    assert read.values["exp"] == "1, 0.3679 , 0.1496" and read.values["sum"] == "1.517"
    assert read.values["softmax"] == [0.659, 0.2424, 0.09857]
    assert read.values["jacobian"].count(";") == 2 and "−" not in read.values["jacobian"]
    d = engine.run("softmax")
    marking = mark.mark(d, read.values, 4)
    assert [m.mark for m in marking.marks] == ["right"] * 4


def slipped_by_hand(d, slip_id):
    """A learner who slips at `slip_id` (x 1.02 + 0.01) and works every later step correctly
    from their own values: each formula re-evaluated on them, a recurrence row by row."""
    values = {step.id: np.asarray(step.value, dtype=float) for step in d.steps()}
    values[slip_id] = values[slip_id] * 1.02 + 0.01
    changed, done = {slip_id}, set()
    for step in d.steps():
        if step.id in done or step.formula is None or not changed & {*step.depends_on, *step.recurrence}:
            continue
        group = [d.find(id) for id in step.recurrence] or [step]
        for _row in range(1 + max(np.shape(s.value)[0] if np.ndim(s.value) else 1 for s in group)):
            for member in group:
                uses = {id: values[id] for id in (*member.depends_on, *member.recurrence) if id in values and d.find(id).symbol is not None}
                values[member.id] = grading.evaluate_with(d, member, uses)
        changed |= {s.id for s in group}
        done |= {s.id for s in group}
    return values


@pytest.mark.parametrize("name", LESSONS)
def test_follow_through_in_every_lesson(name):
    """In every lesson, a slip at one step is the first and only wrong step when the rest
    is worked from it (a simulated learner; the softmax test above has a hand-worked one)."""
    d = engine.run(name)
    candidates = [s for s in d.steps() if s.formula is not None and not s.recurrence and s.symbol is not None]
    middle = len(candidates) // 2
    for slip in sorted(candidates, key=lambda s: abs(candidates.index(s) - middle)):
        values = slipped_by_hand(d, slip.id)
        if all(np.isfinite(v).all() for v in values.values()):
            break  # a slip whose consequences stay finite (a slipped maximum can overflow an exp)
    marking = mark.mark(d, {id: v.tolist() for id, v in values.items()}, 4)
    assert marking.first_wrong is not None and marking.first_wrong.id == slip.id
    assert [m.id for m in marking.marks if m.mark == mark.WRONG] == [slip.id]
    assert marking.count(mark.RIGHT) + marking.count(mark.GIVEN) == len(d.steps()) - 1


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40), st.sampled_from(["sum", "exp", "jacobian"]))
def test_any_filled_in_text_is_marked_or_refused_in_one_line(text, id):
    try:
        read = answers.markdown(f"`answer({id})`: {text}")
        mark.mark(SOFTMAX, read.values, 4)
    except InputError as error:
        assert "\n" not in str(error)
