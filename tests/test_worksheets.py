"""Worksheets and answer keys: what a sheet hides and shows, `dlsteps export --worksheet`
with one variant per seed, a filled-in sheet marked by `dlsteps check`, and every
lesson's sheet and key compiled by a real pdflatex."""

import json
import re
import shutil

import numpy as np
import pytest

from dlsteps import catalogue, engine, worksheets
from dlsteps.errors import InputError
from dlsteps.export import _together, parse_seeds

LESSONS = list(catalogue.catalogue())
PDFLATEX = shutil.which("pdflatex")
KEY_LINE = re.compile(r"^`answer\((.+?)\)`: (.+)$", re.MULTILINE)


def sheet(name="softmax", key=False, blanks="values", format="markdown", seed=None, **settings):
    return worksheets.render(engine.run(name, {}, seed), format, key=key, blanks=blanks, **settings)


def key_values(text):
    """The answer lines of a key, read with a regex written here: {id: text}."""
    return dict(KEY_LINE.findall(text))


def fill(text, values):
    """A worksheet with its blanks filled in, as a learner would type them."""
    return re.sub(r"^(`answer\((.+?)\)`: )____$", lambda m: m.group(1) + values.get(m.group(2), "____"), text, flags=re.MULTILINE)


def test_a_worksheet_shows_the_inputs_and_seed_but_no_value():
    text = sheet(seed=4)
    d = engine.run("softmax", {}, 4)
    assert "Seed 4" in text and "--seed 4" in text and "dlsteps check softmax --seed 4 --answers" in text
    logits = d.find("logits").value
    assert all(f"{x:.4g}" in text for x in logits)  # the inputs with their values
    for id in ("sum", "loss"):
        assert f"{d.find(id).value:.4g}" not in text
    assert text.count("`answer(") == len(d.steps()) and text.count(": ____") == len(d.steps())
    assert "\\frac{{u}_{i}}{S}" in text and "⚠" not in text  # formulas shown, notes (which may give values away) not


def test_blanks_formulas_hides_the_formulas_too():
    text = sheet(blanks="formulas")
    assert "\\frac{{u}_{i}}{S}" not in text and "{y}_{i} = \\underline" in text
    assert "--blanks formulas" in text


def test_the_key_has_every_value_and_checks_as_all_right(cli, tmp_path):
    text = sheet(key=True, seed=4)
    d = engine.run("softmax", {}, 4)
    values = key_values(text)
    assert list(values) == [step.id for step in d.steps()]
    assert float(values["sum"]) == pytest.approx(np.exp(d.find("logits").value - max(d.find("logits").value)).sum(), rel=5e-4)
    path = tmp_path / "key.md"
    path.write_text(text)
    report = json.loads(cli("check", "softmax", "--answers", str(path), "--format", "json").stdout)
    assert report["summary"]["right"] == len(d.steps()) and report["seed"] == 4


def test_worksheet_options_are_common_options_and_their_errors_are_one_line(cli, tmp_path):
    result = cli("softmax", "--worksheet", "-f", "markdown", "-o", str(tmp_path / "sheet.md"))
    assert result.exit_code == 0 and "`answer(sum)`: ____" in (tmp_path / "sheet.md").read_text()
    assert "--answer-key" in cli("kl", "--help", env={"COLUMNS": "200"}).stdout
    for args, words in [(("--worksheet",), "--worksheet: only with --format markdown"),
                        (("--worksheet", "--answer-key", "-f", "latex"), "choose one"),
                        (("--blanks", "formulas", "-f", "markdown"), "--blanks: only with --worksheet"),
                        (("--worksheet", "--blanks", "numbers", "-f", "markdown"), "'numbers'")]:
        result = cli("softmax", *args)
        assert result.exit_code == 2 and result.stderr.count("\n") == 1 and words in result.stderr, result.stderr


def test_seeds_are_ranges_and_lists():
    assert parse_seeds("1-3,7, 9 - 10,2") == [1, 2, 3, 7, 9, 10]
    assert parse_seeds(None) == [None]
    for bad in ("3-1", "a", "1-", "", "1-5000"):
        with pytest.raises(InputError):
            parse_seeds(bad)


def test_export_writes_a_sheet_and_key_per_seed_and_an_index(cli, tmp_path):
    folder = tmp_path / "class"
    result = cli("export", "softmax", "--worksheet", "--seeds", "1-3", "-f", "markdown", "-o", str(folder))
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(["index.md", *(f"softmax-seed-{s}{k}.md" for s in (1, 2, 3) for k in ("", "-key"))])
    inputs = {(folder / f"softmax-seed-{s}.md").read_text().split("## Inputs")[1].split("## 1.")[0] for s in (1, 2, 3)}
    assert len(inputs) == 3  # different numbers, the same derivation
    assert "Seed 2" in (folder / "softmax-seed-2.md").read_text() and "--seed 2" in (folder / "softmax-seed-2-key.md").read_text()
    assert "dlsteps check softmax --seed 3 --answers softmax-seed-3.md" in (folder / "index.md").read_text()
    again = cli("export", "softmax", "--worksheet", "--seeds", "1-3", "-f", "markdown", "-o", str(folder))
    assert again.exit_code == 2 and "--force" in again.stderr
    assert cli("export", "softmax", "--seeds", "1-3", "-o", str(folder)).exit_code == 2


@pytest.mark.parametrize("name, slip", [("softmax", "sum"), ("lstm", None)])
def test_a_filled_in_sheet_round_trips_through_check(cli, tmp_path, name, slip):
    folder = tmp_path / "sheets"
    assert cli("export", name, "--worksheet", "--seeds", "4-5", "-f", "markdown", "-o", str(folder)).exit_code == 0
    values = key_values((folder / f"{name}-seed-5-key.md").read_text())
    if slip:
        # by hand, apart from dlsteps: S written 5 % too large, y = u / S worked from it
        u = np.array([float(x) for x in values["exp"].split(",")])
        wrong = float(values["sum"]) * 1.05
        values["sum"], values["softmax"] = f"{wrong:.4g}", ", ".join(f"{x:.4g}" for x in u / wrong)
    filled = folder / "filled.md"
    filled.write_text(fill((folder / f"{name}-seed-5.md").read_text(), values))
    result = cli("check", name, "--answers", str(filled), "--format", "json")  # the sheet says its seed
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["seed"] == 5 and report["summary"]["unanswered"] == 0
    marks = {m["id"]: m["mark"] for m in report["marks"]}
    if slip:
        assert report["first_wrong"]["id"] == "sum" and marks["softmax"] == "right_given_earlier"
        assert marks["log_softmax"] == "right"  # worked from the key: ours
    else:
        assert set(marks.values()) == {"right"} and report["first_wrong"] is None


@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed")
@pytest.mark.parametrize("name", LESSONS)
def test_every_lesson_s_worksheet_and_key_compile(name, tmp_path):
    from test_latex import compile_latex

    d = engine.run(name, {}, 2)
    bodies = [worksheets.render(d, "latex", key=key, blanks=blanks, fragment=True, show_code=key)
              for key, blanks in ((False, "values"), (False, "formulas"), (True, "values"))]
    log = compile_latex(_together(bodies), tmp_path)
    assert "Overfull \\hbox" not in log


@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed")
def test_exported_latex_sheets_compile_one_per_page(cli, tmp_path):
    from test_latex import compile_latex

    folder = tmp_path / "tex"
    assert cli("export", "kl", "--worksheet", "--seeds", "1,2", "-f", "latex", "-o", str(folder)).exit_code == 0
    assert {p.name for p in folder.iterdir()} >= {"kl-seed-1.tex", "kl-seed-2-key.tex", "kl-all-worksheets.tex", "kl-all-keys.tex", "index.md"}
    pages = [int(re.search(r"Output written on \w+\.pdf \((\d+) pages?", compile_latex((folder / source).read_text(), folder, stem)).group(1))
             for source, stem in (("kl-seed-1.tex", "one"), ("kl-seed-2.tex", "two"), ("kl-all-worksheets.tex", "all"))]
    assert pages[2] == pages[0] + pages[1]  # each student's sheet starts on a new page


def test_a_key_with_infinities_checks_as_all_right(cli, tmp_path):
    # KL(P||Q) with q_1 = 0 where p_1 > 0 is infinite: the key writes ∞ and check reads it back
    path = tmp_path / "key.md"
    assert cli("kl", "--p", "0.5,0.5,0", "--q", "0.5,0,0.5", "--answer-key", "-f", "markdown", "-o", str(path)).exit_code == 0
    assert "`answer(kl_pq)`: ∞" in path.read_text()
    report = json.loads(cli("check", "kl", "--answers", str(path), "--format", "json").stdout)
    assert report["summary"] == {"right": len(report["marks"]), "right_given_earlier": 0, "wrong": 0, "unanswered": 0}
    assert report["inputs"]["q"] == [0.5, 0, 0.5]
    toml = tmp_path / "answers.toml"
    toml.write_text('kl_pq = "inf"\ncross_entropy = 3\n')
    marks = {m["id"]: m["mark"] for m in json.loads(cli("check", "kl", "--p", "0.5,0.5,0", "--q", "0.5,0,0.5", "--answers", str(toml), "-f", "json").stdout)["marks"]}
    assert marks == {"kl_pq": "right", "cross_entropy": "wrong"}


def test_a_sheet_made_from_typed_inputs_is_checked_against_them(cli, tmp_path):
    path = tmp_path / "key.md"
    assert cli("softmax", "--logits", "1,2,3", "--answer-key", "-f", "markdown", "-o", str(path)).exit_code == 0
    text = path.read_text()
    assert "dlsteps softmax --logits 1,2,3 --answer-key -f markdown" in text
    report = json.loads(cli("check", "softmax", "--answers", str(path), "--format", "json").stdout)
    assert report["inputs"]["logits"] == [1, 2, 3] and report["summary"]["wrong"] == 0
    assert "worksheet records" in report["notes"][0]
    other = json.loads(cli("check", "softmax", "--logits", "3,2,1", "--answers", str(path), "--format", "json").stdout)
    assert other["summary"]["wrong"] > 0 and "other inputs" in other["notes"][0]
