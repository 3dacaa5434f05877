"""Notes in every format: a caution (something the student must not overlook) marked ⚠,
a remark marked • (⚠ on every note would cry wolf)."""

import json

import numpy as np
import sympy as sp

from dlsteps.checks import check
from dlsteps.model import Caution, Derivation
from dlsteps.output import plain_text
from dlsteps.printers import json as json_printer
from dlsteps.printers import latex, markdown, terminal

x, s = sp.IndexedBase("x"), sp.Symbol("s")
i, n = sp.Symbol("i", integer=True), sp.Symbol("n", integer=True)
WARNING, REMARK = "the sum overflowed to infinity", "the lecture writes this sum with Σ"


def noted():
    d = Derivation("demo", "Demo", "none")
    d.bind(n, 3)
    d.given("x", x, np.array([1.0, 2.0, 3.0]))
    d.section("Sum")
    d.step("s", "Sum", symbol=s, formula=sp.Sum(x[i], (i, 0, n - 1)), value=6.0, code="s = x.sum()",
           notes=(Caution(WARNING), REMARK))
    return check(d)


def test_a_caution_is_marked_and_a_remark_is_not():
    shown = plain_text(terminal.render(noted(), width=80))
    assert f"⚠ {WARNING}" in shown and f"• {REMARK}" in shown and f"⚠ {REMARK}" not in shown
    text = markdown.render(noted())
    assert f"> ⚠ {WARNING}" in text and f"> • {REMARK}" in text
    tex = latex.render(noted(), fragment=True)
    assert r"\emph{Caution:} " + WARNING in tex and r"\emph{Note:} the lecture writes" in tex
    step = json.loads(json_printer.render(noted()))["sections"][0]["steps"][0]
    assert step["notes"] == [WARNING, REMARK] and step["cautions"] == [WARNING]
