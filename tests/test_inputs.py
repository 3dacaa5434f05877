"""The input parser: syntax, shapes, domains, seeds, params files; Hypothesis for robustness."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlsteps import catalogue
from dlsteps.errors import InputError
from dlsteps.inputs import parse_grid, parse_number, read, resolve

SOFTMAX = catalogue.get("softmax")
KL = catalogue.get("kl")


@pytest.mark.parametrize("text, value", [
    ("0.5", 0.5), ("-2", -2.0), ("1e-3", 0.001), ("1/3", 1 / 3), (" -1/4 ", -0.25), (".5", 0.5),
    ("+3", 3.0), ("2.5E2", 250.0), ("-1e-3/2", -0.0005),
])
def test_numbers(text, value):
    assert parse_number(text, "--x") == value


@pytest.mark.parametrize("text", ["abc", "1/0", "nan", "inf", "1e999", "--1", "1..2", "", "0x10", "1/", "2e6"])
def test_bad_numbers_say_option_and_token(text):
    with pytest.raises(InputError) as error:
        parse_number(text, "--x")
    assert str(error.value).startswith("--x: ") and "\n" not in str(error.value)


def test_grids():
    assert parse_grid("0.5,0.1,0.2", "--x") == [[0.5, 0.1, 0.2]]
    assert parse_grid(" 0.1, 0.2 ; 0.3,0.4 ", "--W") == [[0.1, 0.2], [0.3, 0.4]]
    with pytest.raises(InputError, match="empty number"):
        parse_grid("1,,2", "--x")


def test_shapes_and_domains():
    dims = {}
    assert read(SOFTMAX.input("logits"), "1,2,3", dims) == [1.0, 2.0, 3.0] and dims == {"n": 3}
    assert read(SOFTMAX.input("target"), "2", dims) == 2
    with pytest.raises(InputError, match="class index from 0 to 2"):
        read(SOFTMAX.input("target"), "3", dims)
    with pytest.raises(InputError, match="got 2 entries.*3 probabilities"):
        read(SOFTMAX.input("target"), "0.5,0.5", dims)
    with pytest.raises(InputError, match="sum to 1"):
        read(KL.input("p"), "0.5,0.6", {})
    with pytest.raises(InputError, match=">= 0"):
        read(KL.input("p"), "1.5,-0.5", {})
    with pytest.raises(InputError, match="rows of different lengths"):
        read(catalogue.get("regularization").input("x"), "1,2;3", {})
    with pytest.raises(InputError, match="must be positive"):
        read(catalogue.get("regularization").input("lr"), "0", {})
    with pytest.raises(InputError, match="whole number from 1 to 100"):
        read(catalogue.get("regularization").input("steps"), "2.5", {})
    assert read(KL.input("p"), "1/3,1/3,1/3", {}) == [1 / 3, 1 / 3, 1 / 3]


def test_lengths_must_agree():
    with pytest.raises(InputError, match="--q: got 4 entries"):
        resolve(KL, {"p": ("0.5,0.5,0", "command line"), "q": ("0.25,0.25,0.25,0.25", "command line")}, None)


def test_seed_is_reproducible_and_follows_typed_sizes():
    first = resolve(KL, {"p": ("0.1,0.2,0.3,0.4", "command line")}, 5)
    again = resolve(KL, {"p": ("0.1,0.2,0.3,0.4", "command line")}, 5)
    assert first["q"].value == again["q"].value and len(first["q"].value) == 4
    assert first["q"].origin == "seed" and abs(sum(first["q"].value) - 1) < 1e-12
    assert first["base"].origin == "default"
    assert resolve(KL, {}, 6)["q"].value != first["q"].value


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789.,;/-+eE xn ")) | st.characters(), max_size=30))
def test_any_string_parses_or_is_a_one_line_error(text):
    dims = {}
    try:
        value = read(SOFTMAX.input("logits"), text, dims)
    except InputError as error:
        assert str(error).startswith("--logits: ") and "\n" not in str(error)
    else:
        assert all(isinstance(x, float) and abs(x) <= 1e6 for x in value)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.sampled_from(list("0123456789.,;/-e ")), min_size=1, max_size=14))
def test_any_string_on_the_command_line_exits_0_or_2(cli, text):
    result = cli("kl", "--p", text, "--q", "0.2,0.3,0.5", "--format", "json")
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert result.stderr.startswith(("dlsteps kl: --p: ", "dlsteps kl: --q: ")) and result.stderr.count("\n") == 1
    else:
        assert json.loads(result.stdout)["lesson"] == "kl"


def test_params_files(tmp_path, cli, run_json):
    toml = tmp_path / "in.toml"
    toml.write_text('logits = [1, 2, "1/2"]\ntarget = 1\n')
    steps, document = run_json("softmax", "--params", str(toml))
    assert document["inputs"][0]["value"] == [1, 2, 0.5] and document["inputs"][0]["origin"] == "file"
    data = tmp_path / "in.json"
    data.write_text(json.dumps({"x": [[1, 0], [0, 1]], "y": [1, 2], "w": "0,0", "lambda": 0.1}))
    steps, document = run_json("regularization", "--params", str(data), "--b", "1")
    given = {item["name"]: item for item in document["inputs"]}
    assert given["x"]["value"] == [[1, 0], [0, 1]] and given["lam"]["value"] == 0.1 and given["b"]["origin"] == "command line"
    data.write_text('{"nope": 1}')
    result = cli("softmax", "--params", str(data))
    assert result.exit_code == 2 and "'nope' is not an input of softmax" in result.stderr
    data.write_text("{broken")
    result = cli("softmax", "--params", str(data))
    assert result.exit_code == 2 and "not valid JSON" in result.stderr
    result = cli("softmax", "--params", str(tmp_path / "missing.json"))
    assert result.exit_code == 2 and "cannot read" in result.stderr


def test_optional_inputs_and_free_sizes():
    from dlsteps.catalogue import InputSpec, LessonInfo

    weights = InputSpec("w3", "matrix * *", "", "weights of layer 3", optional=True)
    sizes = InputSpec("x", "vector n", "1,2", "the input")
    info = LessonInfo("demo", "demo", "Demo", "none", "demo", "dlsteps demo", (sizes, weights))
    assert resolve(info, {}, None)["w3"].value is None
    assert resolve(info, {}, 3)["w3"].value is None  # a lesson draws its own optional inputs
    typed = resolve(info, {"w3": ("1,2,3;4,5,6", "test"), "x": ("1,2,3", "test")}, None)
    assert typed["w3"].value == [[1, 2, 3], [4, 5, 6]] and typed["x"].value == [1, 2, 3]
    with pytest.raises(InputError, match="rows of different lengths"):
        resolve(info, {"w3": ("1,2;3", "test")}, None)


def test_text_and_whole_number_vectors():
    from dlsteps.catalogue import InputSpec

    words = InputSpec("sentence", "text", "I love 피자", "a sentence")
    assert read(words, "  I love 피자 ", {}) == "I love 피자"
    for bad in ("", "a\nb", "x" * 1001):
        with pytest.raises(InputError, match="--sentence"):
            read(words, bad, {})
    classes = InputSpec("target", "vector T", "0,2,1", "a class per step", domain="0..2")
    assert read(classes, "2,0", {}) == [2, 0] and all(isinstance(x, int) for x in read(classes, "2,0", {}))
    for bad in ("1.5,0", "3", "-1"):
        with pytest.raises(InputError, match="whole numbers from 0 to 2"):
            read(classes, bad, {})
