"""The Python API and Jupyter display: the same checked derivations as the command line."""

import json
from pathlib import Path

import numpy as np
import pytest

import dlsteps
from dlsteps import catalogue

NOTEBOOK = Path(__file__).parent.parent / "docs" / "lstm.ipynb"


def test_run_takes_python_numbers_lists_and_arrays():
    d = dlsteps.run("softmax", logits=np.array([1.0, 2.0, 3.0]), target=2)
    e = np.exp([1.0, 2.0, 3.0] - np.max([1.0, 2.0, 3.0]))
    assert np.allclose(d["softmax"].value, e / e.sum(), rtol=1e-14)
    matrix = dlsteps.run("regularization", x=[[1, 1], [2, -1], [3, 1]], y=(3, 5, 7), lam=0.5)
    assert np.allclose(matrix["prediction"].value, [2.2, 3.3, 5.2])
    assert dlsteps.run("regularization", **{"lambda": 0.5})["penalty_l1"].value == matrix["penalty_l1"].value


def test_a_step_is_an_object_with_everything_a_notebook_needs():
    step = dlsteps.run("kl")["kl_pq"]
    assert step.title and step.latex.startswith("D_{\\mathrm{KL}}") and step.shape == ()
    assert step.depends_on == ("kl_pq_terms",) and "formula = NumPy" in step.check
    assert "$$" in step._repr_markdown_() and step.title in step._repr_markdown_()


def test_bad_input_raises_input_error_with_the_command_lines_message():
    with pytest.raises(dlsteps.InputError, match="logits: 'x' is not a number"):
        dlsteps.run("softmax", logits=[1, "x"])
    with pytest.raises(dlsteps.InputError, match="not an input of softmax"):
        dlsteps.run("softmax", temperature=2)
    with pytest.raises(dlsteps.InputError, match="no lesson"):
        dlsteps.run("nosuch")
    with pytest.raises(dlsteps.InputError, match="seed"):
        dlsteps.run("softmax", seed=-1)
    with pytest.raises(dlsteps.InputError):
        dlsteps.run("softmax", logits={"a": 1})


@pytest.mark.parametrize("name", list(catalogue.catalogue()))
def test_every_lesson_renders_through_the_api(name):
    d = dlsteps.run(name, seed=3)
    assert json.loads(d.to_json())["lesson"] == name
    assert d.to_markdown().startswith("# ") and "\\begin{document}" in d.to_latex() and "check(" in d.to_python()
    assert "<html" in d._repr_html_() and d._repr_markdown_() == d.to_markdown()


def test_lessons_lists_the_catalogue_and_import_stays_cheap():
    import subprocess
    import sys

    assert [row["name"] for row in dlsteps.lessons()] == list(catalogue.catalogue())
    code = "import sys, dlsteps; print('sympy' in sys.modules, 'numpy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.split() == ["False", "False"]
    assert (Path(dlsteps.__file__).parent / "py.typed").exists()


def test_the_notebook_runs_in_a_real_kernel():
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    text = "".join(output.get("text", "") for output in outputs)
    assert "agrees with dlsteps: True" in text and "Forget gate" in text
    assert not [output for output in outputs if output.output_type == "error"]
    assert any("text/markdown" in output.get("data", {}) for output in outputs)
