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
    assert escape("DL101 #13 (Softmax와 Cross-Entropy의 미분)") == r"DL101 \#13 (Softmax와 Cross-Entropy의 미분)"
    assert escape("a ✗ (日本 ✗) b") == "a  b"  # what pdflatex cannot set is left out
    assert escape("y_i(δ_ij - y_j)") == r"y\_i($\delta$\_ij - y\_j)"


def test_korean_is_set_by_kotex_and_only_when_present(tmp_path):
    # The lecture titles are Korean: the document keeps them and loads kotex for them;
    # a document without Korean does not need kotex.
    source = render(engine.run("softmax"))
    assert "Softmax와" in source and "\\usepackage{kotex}" in source
    compile_latex(source, tmp_path)
    assert escape("I love 피자 (피자)") == "I love 피자 (피자)"
    from dlsteps.printers.latex import preamble

    assert "kotex" not in preamble("plain text only") and "kotex" in preamble("피자")


def test_heatmaps_are_shaded_tables_that_compile(tmp_path):
    import numpy as np
    import sympy as sp

    from dlsteps.checks import check
    from dlsteps.model import Derivation

    d = Derivation("demo", "Demo", "none")
    a, b, i, j = sp.IndexedBase("A"), sp.IndexedBase("B"), sp.Symbol("i", integer=True), sp.Symbol("j", integer=True)
    d.given("a", a, np.array([[1.0, -2.0, 0.0], [0.5, -np.inf, 3.0]]))
    d.section("Weights")
    d.step("b", "Double", symbol=b, index=(i, j), formula=2 * a[i, j], value=np.array([[2.0, -4, 0], [1, -np.inf, 6]]),
           code="B = 2 * A", display="heatmap")
    source = render(check(d))
    assert "\\usepackage[table]{xcolor}" in source and "\\cellcolor{red!60}6" in source
    assert "\\cellcolor{blue!40}-4" in source and "\\cellcolor{gray!30}-\\infty" in source
    assert "xcolor" not in render(engine.run("softmax"))
    compile_latex(source, tmp_path)


def test_charts_carry_their_data_as_a_table(tmp_path):
    import numpy as np
    import sympy as sp

    from dlsteps.checks import check
    from dlsteps.model import Chart, Derivation
    from dlsteps.printers.markdown import render as markdown

    d = Derivation("demo", "Demo", "none")
    e, i = sp.IndexedBase("E"), sp.Symbol("i", integer=True)
    x = d.given("x", sp.IndexedBase("x"), np.array([[0.0, 1.0], [2.0, -1.5]]))
    d.section("Pictures")
    d.step("paths", "Loss paths", symbol=sp.IndexedBase("P"), index=(i, sp.Symbol("j", integer=True)),
           formula=2 * x.symbol[i, sp.Symbol("j", integer=True)], value=2 * x.value, code="P = 2 * x",
           chart=Chart(x=(1, 2), series=("batch", "sgd"), x_label="epoch", y_label="loss"))
    d.step("words", "Embeddings", symbol=e, index=(i, sp.Symbol("j", integer=True)), formula=x.symbol[i, sp.Symbol("j", integer=True)],
           value=x.value, code="E = x.copy()", chart=Chart(kind="points", series=("love", "피자")))
    check(d)
    text = markdown(d)
    assert "| epoch | batch | sgd |" in text and "| $2$ | $2$ | $-3$ |" in text and "| 피자 | $2$ | $-1.5$ |" in text
    compile_latex(render(d), tmp_path)


@pytest.mark.parametrize("name", ["softmax", "cross-entropy"])
def test_expanded_compiles_with_every_entry_and_the_full_formula(name, tmp_path):
    source = render(engine.run(name), expand=True, elements=((1,), (0, 1)))
    log = compile_latex(source, tmp_path)
    assert "Overfull \\hbox" not in log
    if name == "softmax":
        assert "In full, as SymPy derives it" in source and source.count("{y}_{2} = ") >= 1
