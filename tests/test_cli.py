"""The command line: list, help, common options, errors, files, the installed command."""

import json
import os
import shutil
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from dlsteps import catalogue

LESSONS = list(catalogue.catalogue())


def test_list(cli):
    result = cli("list")
    assert result.exit_code == 0
    for info in catalogue.catalogue().values():
        assert info.name in result.stdout
    rows = json.loads(cli("list", "--format", "json").stdout)
    assert [row["name"] for row in rows] == LESSONS
    assert all(row["lecture"] and row["title"] for row in rows)


def test_lesson_help_lists_every_input_with_shape_and_default(cli):
    for info in catalogue.catalogue().values():
        result = cli(info.name, "--help", env={"COLUMNS": "200"})
        assert result.exit_code == 0
        for spec in info.inputs:
            assert spec.option in result.stdout
            assert spec.default in result.stdout
        for option in ("--format", "--output", "--precision", "--seed", "--params", "--no-pager"):
            assert option in result.stdout


@pytest.mark.parametrize("args, option, token", [
    (("softmax", "--logits", "1,x,3"), "--logits", "'x'"),
    (("softmax", "--target", "5"), "--target", "'5'"),
    (("kl", "--p", "0.5,0.6"), "--p", "0.5,0.6"),
    (("kl", "--base", "10"), "--base", "'10'"),
    (("softmax", "--precision", "zero"), "--precision", "'zero'"),
    (("softmax", "--seed", "-1"), "--seed", "'-1'"),
    (("softmax", "--format", "pdf"), "--format", "'pdf'"),
    (("regularization", "--x", "1,2;3,4", "--y", "1,2,3"), "--y", "1,2,3"),
])
def test_bad_input_is_one_line_and_exit_2(cli, args, option, token):
    result = cli(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert option in result.stderr and token in result.stderr


def test_precision_changes_digits_but_json_keeps_float64(cli):
    assert "0.65900114" in cli("softmax", "--precision", "8", "--no-pager").stdout
    three = cli("softmax", "--precision", "3", "--no-pager").stdout
    assert "0.0986" in three and "0.09857" not in three
    document = json.loads(cli("softmax", "--precision", "2", "--format", "json").stdout)
    values = {s["id"]: s["value"] for sec in document["sections"] for s in sec["steps"]}
    assert values["softmax"][0] == 0.6590011388859679


def test_seed_reproducible(cli):
    first = cli("kl", "--seed", "42", "--format", "json").stdout
    assert first == cli("kl", "--seed", "42", "--format", "json").stdout
    assert first != cli("kl", "--seed", "43", "--format", "json").stdout


def test_output_file(cli, tmp_path):
    target = tmp_path / "softmax.txt"
    result = cli("softmax", "-o", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    text = target.read_text()
    assert "Softmax" in text and "\x1b[" not in text
    assert [p.name for p in tmp_path.iterdir()] == ["softmax.txt"]
    result = cli("softmax", "-o", str(tmp_path / "missing" / "x.txt"))
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_code_option(cli):
    assert ">>> y = u / S" in cli("softmax", "--code", "--no-pager").stdout
    assert ">>>" not in cli("softmax", "--no-pager").stdout


def test_internal_check_failure_exits_1(cli, monkeypatch):
    from dlsteps.blocks import softmax_ce

    monkeypatch.setattr(softmax_ce, "cross_entropy_value", lambda logits, target: 0.5)  # a deliberately wrong trace
    result = cli("softmax", "--no-pager")
    assert result.exit_code == 1
    assert "internal check failed" in result.stderr and "Softmax" not in result.stdout


def _installed(name):
    path = shutil.which(name, path=os.path.dirname(sys.executable))
    if path is None:
        pytest.skip(f"{name} is not installed next to {sys.executable}")
    return path


def test_installed_command_runs_each_lesson():
    dlsteps = _installed("dlsteps")
    for name in LESSONS:
        result = subprocess.run([dlsteps, name, "--no-pager"], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "✓" in result.stdout and "\x1b[" not in result.stdout


def test_python_dash_m_and_bad_input():
    result = subprocess.run([sys.executable, "-m", "dlsteps", "softmax", "--logits", "1,,2"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "Traceback" not in result.stderr


IMPORT_PROBE = """
import sys
from typer.testing import CliRunner
from dlsteps.cli import app
for args in (["--help"], ["list"], ["list", "--format", "json"]):
    assert CliRunner().invoke(app, args).exit_code == 0, args
for args in (["softmax", "--logits", "1,x"], ["lstm", "--x", "1,2;3"], ["kl", "--p", "0.5,0.6"]):
    assert CliRunner().invoke(app, args).exit_code == 2, args  # refused before SymPy loads
print(sorted(m for m in ("sympy", "numpy") if m in sys.modules))
"""


def test_help_list_and_bad_input_import_neither_sympy_nor_numpy():
    result = subprocess.run([sys.executable, "-c", IMPORT_PROBE], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("args, expected", [
    (["nosuch", "--x", "0.5"], "No such command 'nosuch'"),
    (["softmax", "--bogus", "1"], "No such option: --bogus"),
    (["softmax", "--logits"], "--logits needs a value after it"),
    (["softmax", "extra"], "Unexpected extra argument: extra"),
    (["softmax", "--no-pager=1"], "--no-pager takes no value"),
    (["check", "softmax"], "--answers is required"),
])
def test_usage_errors_are_one_line(args, expected):
    result = subprocess.run([sys.executable, "-m", "dlsteps", *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and expected in result.stderr and "Traceback" not in result.stderr


def test_no_arguments_shows_help():
    result = subprocess.run([sys.executable, "-m", "dlsteps"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "Usage" in result.stdout and "softmax" in result.stdout


def test_list_rejects_an_unknown_format(cli):
    result = cli("list", "--format", "xml")
    assert result.exit_code == 2 and result.stderr == "dlsteps list: --format: 'xml' is not one of terminal, json\n"


@pytest.mark.parametrize("args, option", [
    (("softmax", "-p", "²"), "--precision"), (("kl", "--seed", "³"), "--seed"), (("export", "-o", "X", "-p", "²"), "--precision"),
    (("softmax", "--seed", "9" * 5000), "--seed"), (("softmax", "-p", "9" * 5000), "--precision"),
    (("softmax", "--logits", "1," + "9" * 5000), "--logits"), (("softmax", "--logits", "1,٣"), "--logits"),
])
def test_unicode_digits_and_huge_numbers_are_one_line_and_exit_2(cli, args, option):
    # Hardening: '²' passed isdigit() and then failed int(); 5,000 digits passed Python's
    # int-conversion limit. Both were tracebacks.
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and option in result.stderr and len(result.stderr) < 400


@pytest.mark.parametrize("content, suffix", [
    ('{"logits": ' + "[" * 100000 + "]" * 100000 + "}", ".json"), ("logits = " + "[" * 5000 + "]" * 5000, ".toml"),
    ('{"logits": [1, ' + "9" * 5000 + "]}", ".json"), ('{"logits": [[[1, 2]]]}', ".json"), ('{"logits": {"a": 1}}', ".json"),
])
def test_hostile_params_files_are_one_line_and_exit_2(cli, tmp_path, content, suffix):
    path = tmp_path / f"params{suffix}"
    path.write_text(content)
    result = cli("softmax", "--params", str(path))
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "--" in result.stderr and len(result.stderr) < 400


@pytest.mark.parametrize("environment", [{"PYTHONIOENCODING": "latin-1"}, {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""}])
@pytest.mark.parametrize("args", [("kl", "--no-pager"), ("list",), ("softmax", "--no-pager")])
def test_output_that_cannot_encode_unicode_falls_back_to_ascii(environment, args):
    # Hardening: PYTHONIOENCODING=latin-1 dlsteps kl raised KeyError: 'sum' (SymPy's pretty
    # printer followed stdout's encoding), dlsteps list a UnicodeEncodeError on Korean.
    env = {**os.environ, **environment}
    result = subprocess.run([_installed("dlsteps"), *args], capture_output=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    text = result.stdout.decode("latin-1")
    assert "Traceback" not in text and len(text) > 200
    if args[0] == "kl":
        assert "ok formula * code" in text and "h_i" in text


@pytest.mark.parametrize("args", [
    ("kl", "--p", "1,1e-310", "--q", "0.2,0.8"),
    ("softmax", "--logits", "10,0", "--target", "0.9999999,0"),
    ("regularization", "--x", "1e6,0.1;0.1,1", "--y", "-1e6,1", "--w", "0,1", "--b", "-1e6", "--lr", "1e-15", "--steps", "1", "--lambda", "0"),
])
def test_inputs_that_used_to_exit_1_now_answer(cli, args):
    # Hardening: valid inputs ended in "internal check failed". A subnormal probability is
    # now refused (numbers other than 0 are at least 1e-300), a target that does not sum to
    # exactly 1 too; the regularization case runs.
    result = cli(*args, "--format", "json")
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert result.stderr.count("\n") == 1 and any(word in result.stderr for word in args if word.startswith("--"))


def test_sizes_beyond_the_documented_limit_are_refused_at_once(cli):
    import time

    start = time.monotonic()
    result = cli("softmax", "--logits", ",".join(["1"] * 5000))
    assert result.exit_code == 2 and "at most 1000" in result.stderr and time.monotonic() - start < 5


def test_a_missing_value_points_to_the_lessons_own_help():
    result = subprocess.run([_installed("dlsteps"), "softmax", "--logits"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "dlsteps softmax --help" in result.stderr


def test_the_example_in_a_shape_error_has_the_expected_length(cli):
    # Hardening: a length-2 --q was told "such as 1/3,1/3,1/3".
    result = cli("kl", "--p", "0.5,0.5", "--q", "0.2,0.3,0.5")
    assert result.exit_code == 2 and "such as 1/2,1/2" in result.stderr


PYDANTIC_PROBE = """
import sys
from typer.testing import CliRunner
from dlsteps.cli import app
for args in (["--help"], ["list"], ["softmax", "--help"], ["softmax", "--logits", "1,x"], ["kl", "--format", "json"]):
    CliRunner().invoke(app, args)
print("pydantic" in sys.modules)
"""


def test_no_command_imports_pydantic():
    # Typer 0.29 validates every option with pydantic (about 100 ms of every command);
    # pyproject.toml keeps Typer below it, and this keeps it so.
    result = subprocess.run([sys.executable, "-c", PYDANTIC_PROBE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


HELP_PROBE = """
import io, sys
from dlsteps import cli
from dlsteps.cli import main
cli._leave = lambda status: None  # a lesson's command ends its process; this probe goes on
shown = sys.stdout
for args in (["--help"], ["softmax", "--help"], ["quiz", "--help"]):
    sys.argv = ["dlsteps", *args]
    sys.stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    main()
    sys.stdout.flush()
    page = sys.stdout.buffer.getvalue().decode()
    assert "Usage:" in page and "--lang" in page, args
sys.stdout = shown
print("typer.rich_utils" in sys.modules, "rich" in sys.modules)
"""


def test_help_is_plain_text_without_typer_rich_help():
    # Typer's Rich help module costs about 100 ms at start; the help is plain text in sections.
    result = subprocess.run([sys.executable, "-c", HELP_PROBE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


def test_the_help_page_lists_every_command_of_the_complete_app():
    from dlsteps import cli as commands

    runner = CliRunner()
    full = runner.invoke(commands.complete(), ["--help"], prog_name="dlsteps").stdout
    listed = runner.invoke(commands._listing(), ["--help"], prog_name="dlsteps").stdout
    assert listed == full
    for name in ("list", "export", "progress", "quiz", "check", *catalogue.catalogue()):
        assert f"\n  {name} " in full


def test_help_sections_follow_the_panels_and_fit_the_width(cli):
    from dlsteps import helptext

    page = cli("softmax", "--help").stdout
    titles = [line for line in page.splitlines() if line.endswith(":") and not line.startswith(" ")]
    assert titles == ["Options:", "Inputs:", "Output:", "Worksheets:"]
    assert helptext.wrapped("가나다 라마바 사아자 차카타", 14) == ["가나다 라마바", "사아자 차카타"]  # two cells a syllable


def test_a_lesson_process_ends_with_everything_written(cli):
    # The process ends with os._exit once its output is flushed (freeing SymPy's objects at
    # exit would cost up to a tenth of the run): the output must still be whole, and a reader
    # that stops early must not leave a broken-pipe message behind.
    whole = subprocess.run([sys.executable, "-m", "dlsteps", "kl", "--no-pager"], capture_output=True, text=True,
                           env={**os.environ, "COLUMNS": "100"}, timeout=120)
    assert whole.returncode == 0 and whole.stdout == cli("kl", "--no-pager", env={"COLUMNS": "100"}).stdout
    early = subprocess.run(f"'{sys.executable}' -m dlsteps transformer --no-pager | head -1", shell=True,
                           capture_output=True, text=True, timeout=120)
    assert early.stdout.count("\n") == 1 and early.stderr == ""


COLLECTOR_PROBE = """
import gc, sys
from dlsteps import cli, launch
sys.argv = ["dlsteps", sys.argv[1], "--help"]
cli.main = lambda: print(gc.isenabled()) or 0  # what launch leaves the command line
launch.main()
cli.invoked([sys.argv[1], "--help"])
print(gc.isenabled())
"""


@pytest.mark.parametrize("command, during", [("softmax", False), ("quiz", True), ("check", True), ("export", True)])
def test_the_collector_is_off_while_importing_and_for_a_lesson_only(command, during):
    # Off from the start (the imports make no garbage), back on for the commands that may run long.
    result = subprocess.run([sys.executable, "-c", COLLECTOR_PROBE, command], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", str(during)]
