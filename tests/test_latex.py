"""LaTeX export compiled by a real pdflatex: every lesson, defaults and larger inputs,
standalone and as a fragment, and the booklet."""

import os
import shutil
import subprocess

import pytest
from conftest import LARGER

from dlsteps import catalogue, engine
from dlsteps.export import booklet
from dlsteps.printers.latex import PREAMBLE, escape, render

PDFLATEX = shutil.which("pdflatex")
if PDFLATEX is None and os.environ.get("CI") == "true":
    raise RuntimeError("CI=true but pdflatex is missing: .ci/run must install texlive-latex-base and texlive-latex-recommended")
pytestmark = pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed (apt-get install texlive-latex-base texlive-latex-recommended)")

def compile_latex(source, folder, name="doc"):
    """Run pdflatex; return its log. Fails the test with the first error lines."""
    path = folder / f"{name}.tex"
    path.write_text(source, encoding="utf-8")
    result = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", path.name],
                            cwd=folder, capture_output=True, text=True, timeout=300)
    log = (folder / f"{name}.log").read_text(errors="replace")
    errors = [line for line in log.splitlines() if line.startswith("!")]
    assert result.returncode == 0 and not errors, "\n".join(errors) or result.stdout[-2000:]
    assert (folder / f"{name}.pdf").exists()
    return log


@pytest.mark.parametrize("name", list(catalogue.catalogue()))
def test_defaults_compile(name, tmp_path):
    log = compile_latex(render(engine.run(name), show_code=True), tmp_path)
    assert "Overfull \\hbox" not in log


@pytest.mark.parametrize("name", sorted(LARGER))
def test_larger_inputs_compile_and_stay_on_the_page(name, tmp_path):
    log = compile_latex(render(engine.run(name, LARGER[name])), tmp_path)
    assert "Overfull \\hbox" not in log


def test_fragment_pastes_into_a_document(tmp_path):
    fragment = render(engine.run("kl", {"p": ("0.5,0.5,0", "t"), "q": ("0.5,0,0.5", "t")}), fragment=True)
    assert "\\documentclass" not in fragment and "\\begin{document}" not in fragment
    compile_latex(f"\\documentclass{{article}}\n{PREAMBLE}\n\\begin{{document}}\n{fragment}\\end{{document}}\n", tmp_path)


def test_booklet_compiles_with_a_chapter_per_lesson(tmp_path):
    [path] = booklet([], "latex", tmp_path / "book")
    source = path.read_text()
    assert source.count("\\chapter{") == len(catalogue.catalogue()) and "\\tableofcontents" in source
    compile_latex(source, path.parent, "dlsteps")
    assert len([line for line in (path.parent / "dlsteps.toc").read_text().splitlines() if "chapter" in line]) == len(catalogue.catalogue())


def test_escape():
    assert escape("100% of {x}_i & $y$ #1 ~ ^") == r"100\% of \{x\}\_i \& \$y\$ \#1 \textasciitilde{} \^{}"
    assert escape("DL101 #13 (Softmax와 Cross-Entropy의 미분)") == r"DL101 \#13"
    assert escape("y_i(δ_ij - y_j)") == r"y\_i($\delta$\_ij - y\_j)"
