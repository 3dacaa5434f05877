"""Export from the command line: formats to files, the booklet command, SVG/HTML, errors."""

import xml.etree.ElementTree as ET
from pathlib import Path

from dlsteps import catalogue

README = Path(__file__).parent.parent / "README.md"


def test_every_format_to_a_file(cli, tmp_path):
    for fmt, marker in [("markdown", "# Softmax"), ("latex", "\\documentclass"), ("json", '"lesson": "softmax"'),
                        ("svg", "<svg"), ("html", "<html"), ("terminal", "Softmax")]:
        target = tmp_path / f"out.{fmt}"
        result = cli("softmax", "--format", fmt, "-o", str(target))
        assert result.exit_code == 0, result.output
        assert marker in target.read_text()


def test_svg_is_a_picture_of_the_terminal_view(cli):
    result = cli("kl", "--format", "svg")
    root = ET.fromstring(result.stdout)
    assert root.tag.endswith("svg")
    assert "Jensen" in result.stdout


def test_fragment_only_with_latex(cli):
    result = cli("softmax", "--fragment")
    assert result.exit_code == 2 and "--fragment" in result.stderr
    result = cli("softmax", "--format", "latex", "--fragment")
    assert result.exit_code == 0 and "\\documentclass" not in result.stdout


def test_markdown_booklet(cli, tmp_path):
    folder = tmp_path / "notes"
    result = cli("export", "--format", "markdown", "-o", str(folder))
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted([f"{n}.md" for n in catalogue.catalogue()] + ["index.md"])
    index = (folder / "index.md").read_text()
    assert all(f"({n}.md)" in index for n in catalogue.catalogue())


def test_booklet_of_named_lessons(cli, tmp_path):
    result = cli("export", "kl", "softmax", "-f", "latex", "-o", str(tmp_path))
    assert result.exit_code == 0
    source = (tmp_path / "dlsteps.tex").read_text()
    assert source.count("\\chapter{") == 2


def test_export_errors(cli, tmp_path):
    result = cli("export", "nope", "-o", str(tmp_path))
    assert result.exit_code == 2 and "'nope' is not a lesson" in result.stderr
    result = cli("export", "-f", "json", "-o", str(tmp_path))
    assert result.exit_code == 2 and "--format" in result.stderr
    result = cli("export", "-o", str(tmp_path / "a" / "b"))
    assert result.exit_code == 2 and "does not exist" in result.stderr
    (tmp_path / "file").write_text("x")
    result = cli("export", "-o", str(tmp_path / "file"))
    assert result.exit_code == 2 and "cannot create" in result.stderr


def test_unwritable_output(cli, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = cli("softmax", "-o", str(locked / "x.txt"))
        if result.exit_code == 0:  # root ignores permissions; a folder in place of the file does not
            result = cli("softmax", "-o", str(tmp_path))
        assert result.exit_code == 2 and "cannot write" in result.stderr
    finally:
        locked.chmod(0o700)


def test_readme_shows_a_rendered_example():
    svg = README.parent / "docs" / "softmax.svg"
    assert "docs/softmax.svg" in README.read_text()
    assert ET.parse(svg).getroot().tag.endswith("svg") and "Softmax" in svg.read_text()


def test_the_readme_examples_run():
    import shlex

    from typer.testing import CliRunner

    from dlsteps.cli import app

    block = README.read_text(encoding="utf-8").split("Examples:\n\n```sh\n", 1)[1].split("```", 1)[0]
    commands = [shlex.split(line.split("  #")[0].split("&&")[0]) for line in block.splitlines() if line.startswith("dlsteps ")]
    assert len(commands) >= 8
    for words in commands:
        words = [w for w in words if w not in ("-o", "softmax.py")] if "-o" in words else words
        result = CliRunner().invoke(app, [*words[1:], "--no-pager"])
        assert result.exit_code == 0, (words, result.output[-2000:])
