"""The Korean edition: the catalogue (complete, faithful to its placeholders, not stale),
the choice of language, and every lesson, format, help page, error, quiz and check in Korean.

Expected Korean texts are read from the catalogue itself only where a test checks that the
program shows the translation it has (the prompts of the quiz); what the translations must
keep (placeholders, options, math) is checked against the English here.
"""

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pexpect
import pytest
from babel.messages.pofile import read_po
from markdown_it import MarkdownIt
from rich.cells import cell_len

from dlsteps import catalogue, engine, i18n
from dlsteps.printers import latex
from test_latex import PDFLATEX, compile_latex

ROOT = Path(__file__).resolve().parent.parent
DLSTEPS = shutil.which("dlsteps", path=os.path.dirname(sys.executable))
HANGUL = re.compile(r"[\uac00-\ud7a3]")
LESSONS = list(catalogue.catalogue())


def messages_tool():
    """tools/messages.py, the Babel extraction and compilation, as a module."""
    spec = importlib.util.spec_from_file_location("messages", ROOT / "tools" / "messages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def korean_catalogue():
    with (ROOT / "dlsteps" / "locale" / "ko" / "LC_MESSAGES" / "dlsteps.po").open("rb") as handle:
        return read_po(handle, locale="ko")


def environment(**extra):
    """This environment without any language setting, plus `extra`."""
    drop = ("DLSTEPS_LANG", "LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE", "COLUMNS", "LINES", "FORCE_COLOR", "PYTHONIOENCODING")
    return {**{k: v for k, v in os.environ.items() if k not in drop}, **extra}


def dlsteps(*args, **env):
    """Run the installed command line in a subprocess; returns the CompletedProcess, its
    output read in PYTHONIOENCODING where that is set (else UTF-8)."""
    return subprocess.run([sys.executable, "-m", "dlsteps", *args], capture_output=True, text=True, timeout=300,
                          env=environment(**env), encoding=env.get("PYTHONIOENCODING", "utf-8"))


# ---- the catalogue -------------------------------------------------------------------------

def test_the_template_and_the_compiled_catalogue_are_up_to_date():
    assert messages_tool().stale() == [], "run: python tools/messages.py"


def test_the_template_sees_lesson_meta_and_tables_of_prose():
    ids = {message.id for message in korean_catalogue()}
    info = catalogue.get("lstm")
    assert info.title in ids and info.summary in ids and all(spec.help in ids for spec in info.inputs)
    assert "Forget gate f_t" in ids  # a table of titles, marked with N_
    assert "Show this message and exit." in ids and "Options" in ids  # the framework's own


def test_every_message_is_translated_and_none_is_fuzzy():
    missing = [m.id for m in korean_catalogue() if m.id and (not m.string or m.fuzzy)]
    assert missing == [], f"{len(missing)} untranslated, e.g. {missing[:5]}"


BRACES = re.compile(r"\{[^{}]*\}")
OPTIONS = re.compile(r"(?<![\w-])--[a-z][\w-]*")
MARKUP = re.compile(r"\[/\]|\[/?(?:bold|dim|italic|blue|red|green|yellow)[^\]]*\]")


@pytest.mark.parametrize("what, pattern", [("placeholders and math braces", BRACES), ("options", OPTIONS), ("Rich markup", MARKUP)])
def test_translations_keep_placeholders_options_and_markup(what, pattern):
    changed = [(m.id, m.string) for m in korean_catalogue()
               if m.id and m.string and Counter(pattern.findall(m.id)) != Counter(pattern.findall(m.string))]
    assert changed == [], f"{what} changed in {len(changed)}: {changed[:3]}"


def test_translations_keep_the_spaces_and_line_breaks_they_are_joined_by():
    changed = [m.id for m in korean_catalogue() if m.id and m.string and (
        m.id[:1].isspace() != m.string[:1].isspace() or m.id[-1:].isspace() != m.string[-1:].isspace()
        or m.id.count("\n") != m.string.count("\n"))]
    assert changed == []


def test_a_placeholder_check_would_catch_a_dropped_one():
    assert Counter(BRACES.findall("{lesson}: {error}")) != Counter(BRACES.findall("{lesson}: 오류"))


@pytest.mark.parametrize("english, korean", [
    ("learning rate", "학습률"), ("hidden state", "은닉 상태"), ("cell state", "셀 상태"), ("generator", "제너레이터"),
    ("discriminator", "디스크리미네이터"), ("backpropagation", "역전파"), ("embedding", "임베딩"), ("encoder", "인코더"),
    ("decoder", "디코더"), ("reparameterization", "재매개변수화"), ("forget gate", "forget 게이트"), ("convolution", "합성곱"),
])
def test_the_lectures_words_from_the_glossary(english, korean):
    """GLOSSARY-ko.md: where the English says it, the Korean says it the lecture's way."""
    wrong = [(m.id, m.string) for m in korean_catalogue()
             if m.id and re.search(rf"\b{english}", re.sub(r'"[^"]*"', "", m.id), re.IGNORECASE)  # not in a quoted title
             and "random" not in m.id and "permutation" not in m.id  # a random number generator is not G
             and korean.lower() not in m.string.lower()]
    assert wrong == [], wrong[:3]


def test_gradient_is_giulgi():
    said = i18n.catalogue("ko").gettext
    assert "기울기" in said("gradient")
    assert [m.id for m in korean_catalogue() if "그래디언트" in m.string and "subgradient" not in m.id] == []


# ---- choosing the language -------------------------------------------------------------------

@pytest.mark.parametrize("arguments, environ, expected", [
    ([], {}, "en"),
    ([], {"LANG": "ko_KR.UTF-8"}, "ko"),
    ([], {"LANG": "ko_KR.UTF-8", "LC_ALL": "en_US.UTF-8"}, "en"),
    ([], {"LANG": "en_US.UTF-8", "LC_MESSAGES": "ko_KR.UTF-8"}, "ko"),
    ([], {"LANG": "ko_KR.UTF-8", "DLSTEPS_LANG": "en"}, "en"),
    ([], {"DLSTEPS_LANG": "ko"}, "ko"),
    (["--lang", "en"], {"DLSTEPS_LANG": "ko", "LANG": "ko_KR.UTF-8"}, "en"),
    (["softmax", "--lang=ko"], {"DLSTEPS_LANG": "en"}, "ko"),
    (["softmax", "--", "--lang", "ko"], {}, "en"),
])
def test_lang_then_dlsteps_lang_then_the_locale(arguments, environ, expected):
    assert i18n.choose(arguments, environ) == expected


@pytest.mark.parametrize("arguments, environ, where", [(["--lang", "fr"], {}, "--lang"), ([], {"DLSTEPS_LANG": "de"}, "DLSTEPS_LANG")])
def test_an_unknown_language_is_refused_naming_where(arguments, environ, where):
    with pytest.raises(i18n.LanguageError, match=f"^{where}: '.*' is not one of en, ko"):
        i18n.choose(arguments, environ)


def test_the_locale_chooses_korean_and_dlsteps_lang_overrides_it():
    assert HANGUL.search(dlsteps("list", LANG="ko_KR.UTF-8").stdout)
    assert not HANGUL.search(dlsteps("list", "--format", "json", LANG="ko_KR.UTF-8", DLSTEPS_LANG="en").stdout.replace(
        "\\u", "").split('"lecture"')[0])
    assert not HANGUL.search(dlsteps("kl", "--lang", "en", LANG="ko_KR.UTF-8", DLSTEPS_LANG="ko").stdout.replace(
        catalogue.get("kl").lecture, ""))


@pytest.mark.parametrize("args", [["softmax", "--lang", "fr"], ["--lang", "fr", "list"], ["list", "--lang", "xx"]])
def test_a_bad_lang_is_one_line_and_exit_2(args):
    result = dlsteps(*args)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "--lang" in result.stderr and "en, ko" in result.stderr


@pytest.mark.parametrize("command", [["list"], ["softmax"], ["quiz", "softmax"], ["check", "softmax"], ["export"],
                                     ["progress"], ["quiz"], ["check"], []])
def test_every_command_offers_lang(cli, command):
    assert "--lang" in cli(*command, "--help").stdout


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_a_terminal_that_cannot_show_korean_gets_english_and_one_note(encoding):
    result = dlsteps("softmax", "--lang", "ko", "--no-pager", PYTHONIOENCODING=encoding)
    assert result.returncode == 0 and "Softmax and the derivative of cross-entropy" in result.stdout
    notes = result.stderr.splitlines()
    assert len(notes) == 1 and "cannot show Korean" in notes[0] and "English" in notes[0]


def test_korean_tokens_work_in_both_languages(run_json):
    for lang in ("en", "ko"):
        steps, document = run_json("word2vec", "--lang", lang)
        assert "피자" in json.dumps(document, ensure_ascii=False)


# ---- every lesson in Korean ----------------------------------------------------------------

TEXT_KEYS = {"title", "explanation", "notes", "cautions", "description", "summary", "labels", "x_label", "y_label", "series"}


def same_apart_from_text(english, korean, path="$"):
    """Where the two JSON documents differ other than in their text fields (a list of paths)."""
    if isinstance(english, dict) and isinstance(korean, dict):
        if english.keys() != korean.keys():
            return [f"{path}: keys {sorted(english.keys() ^ korean.keys())}"]
        return [d for key in english if key not in TEXT_KEYS for d in same_apart_from_text(english[key], korean[key], f"{path}.{key}")]
    if isinstance(english, list) and isinstance(korean, list) and len(english) == len(korean):
        return [d for k, (a, b) in enumerate(zip(english, korean)) for d in same_apart_from_text(a, b, f"{path}[{k}]")]
    return [] if english == korean else [f"{path}: {str(english)[:40]} / {str(korean)[:40]}"]


@pytest.mark.parametrize("name", LESSONS)
def test_json_in_korean_has_the_same_numbers_ids_and_math(cli, name):
    english = json.loads(cli(name, "--format", "json", "--lang", "en").stdout)
    result = cli(name, "--format", "json", "--lang", "ko")
    korean = json.loads(result.stdout)
    assert same_apart_from_text(english, korean) == []
    assert korean["title"] != english["title"] and HANGUL.search(korean["title"])
    steps = [step for section in korean["sections"] for step in section["steps"]]
    assert sum(bool(HANGUL.search(step["title"])) for step in steps) >= len(steps) // 2


@pytest.mark.parametrize("name", LESSONS)
def test_the_terminal_in_korean_fits_80_columns(cli, name):
    result = cli(name, "--lang", "ko", "--no-pager", env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert sum(bool(HANGUL.search(line)) for line in lines) > 10
    wide = [line for line in lines if cell_len(line) > 80]
    assert wide == [], wide[:3]


@pytest.mark.parametrize("name", LESSONS)
def test_markdown_in_korean_parses(cli, name):
    result = cli(name, "--format", "markdown", "--lang", "ko")
    tokens = MarkdownIt("commonmark").enable("table").parse(result.stdout)
    headings = [tokens[k + 1].content for k, token in enumerate(tokens) if token.type == "heading_open"]
    assert HANGUL.search(headings[0]) and sum(bool(HANGUL.search(heading)) for heading in headings) > len(headings) / 2


@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed")
@pytest.mark.parametrize("name", LESSONS)
def test_latex_in_korean_compiles(name, tmp_path):
    with i18n.speaking("ko"):
        source = latex.render(engine.run(name), show_code=True)
    assert r"\usepackage{kotex}" in source and HANGUL.search(source)
    compile_latex(source, tmp_path)


def test_the_api_speaks_korean_and_its_derivation_stays_korean():
    import dlsteps

    d = dlsteps.run("softmax", lang="ko")
    assert HANGUL.search(d.title) and i18n.language() == "en"
    assert HANGUL.search(d.to_markdown().splitlines()[0]) and HANGUL.search(json.loads(d.to_json())["sections"][1]["title"])
    with pytest.raises(dlsteps.InputError, match="lang: 'fr'"):
        dlsteps.run("softmax", lang="fr")


# ---- list, help and errors -----------------------------------------------------------------

def test_list_shows_korean_titles_and_the_lectures():
    result = dlsteps("list", "--lang", "ko")
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == len(LESSONS)
    for line, info in zip(lines, catalogue.catalogue().values()):
        assert line.startswith(info.name) and info.lecture in line
        assert HANGUL.search(line.replace(info.lecture, ""))


@pytest.mark.parametrize("args", [["--help"], ["softmax", "--help"], ["quiz", "lstm", "--help"], ["check", "--help"], ["export", "--help"]])
def test_help_is_korean_and_fits_80_columns(args):
    result = dlsteps(*args, "--lang", "ko", COLUMNS="80")
    assert result.returncode == 0, result.stderr
    said = i18n.catalogue("ko").gettext
    assert f"\n{said('Options')}:\n" in result.stdout and len(HANGUL.findall(result.stdout)) > 20
    assert said("Usage:") + " dlsteps" in result.stdout and said("Show this message and exit.")[:4] in result.stdout
    assert "Show this message and exit." not in result.stdout and "Significant digits" not in result.stdout
    assert all(cell_len(line) <= 80 for line in result.stdout.splitlines())


@pytest.mark.parametrize("args, token", [(["softmax", "--logits", "1,x"], "x"), (["kl", "--p", "0.5,0.6"], "0.5,0.6"),
                                         (["softmax", "--bogus"], "--bogus"), (["lstm", "--x", "0.5,zz"], "zz")])
def test_errors_are_korean_one_line_exit_2(args, token):
    result = dlsteps(*args, "--lang", "ko")
    assert result.returncode == 2 and result.stdout == "" and result.stderr.count("\n") == 1
    assert HANGUL.search(result.stderr) and token in result.stderr and "Traceback" not in result.stderr


# ---- the quiz and check in a pseudo-terminal ----------------------------------------------------

def spawn(home, *args):
    env = environment(DLSTEPS_HOME=str(home), NO_COLOR="1", TERM="xterm", PAGER="cat")
    return pexpect.spawn(DLSTEPS, list(args), env=env, dimensions=(40, 100), encoding="utf-8", timeout=60)


@pytest.mark.skipif(DLSTEPS is None, reason="the dlsteps command is not installed next to this Python")
def test_a_quiz_in_korean(tmp_path):
    said = i18n.catalogue("ko").gettext
    child = spawn(tmp_path, "quiz", "softmax", "--lang", "ko", "--logits", "2,1,0.1", "--target", "0", "--steps", "shift,exp")
    child.expect_exact(said("Quiz: {title}").split("{title}")[0])
    child.expect_exact(said("{total} questions.").format(total=4))
    child.expect_exact(said(i18n.N_("Type the value (e.g. 0.62, 1/3, or 0.1,0.2), or: h hint · r reveal · s skip · q quit."))[:20])
    child.expect_exact("m = ?")
    child.sendline("2")
    child.expect_exact(said("right: "))
    child.expect_exact("u₀ = ?")
    child.sendline("0.5")
    child.expect_exact(said("not right. Try again, or h for a hint, r to reveal, s to skip.")[:15])
    child.sendline("h")
    child.expect_exact("2 - 2")
    child.sendline("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus in (0, 130)


@pytest.mark.skipif(DLSTEPS is None, reason="the dlsteps command is not installed next to this Python")
def test_check_in_korean_names_the_first_wrong_step(tmp_path):
    answers = tmp_path / "answers.toml"
    answers.write_text("shift = 2\nexp = [1, 0.5, 0.1496]\nsum = 1.6496\n", encoding="utf-8")
    said = i18n.catalogue("ko").gettext
    child = spawn(tmp_path, "check", "softmax", "--answers", str(answers), "--lang", "ko", "--no-pager")
    output = child.read()
    child.close()
    assert child.exitstatus == 0
    assert said("First wrong step: ").strip() in output and said("Marks") in output
    assert "First wrong step" not in output and HANGUL.search(output)
