"""Block convolution: built into small derivations by hand, checked by the engine, compared with
plain loops written here and with central differences; used twice; formulas independent of size."""

import numpy as np
import pytest
import sympy as sp

from conftest import central_difference
from dlsteps.blocks import convolution as conv
from dlsteps.checks import check
from dlsteps.model import Caution, Derivation

n, k = sp.Symbol("n", integer=True, positive=True), sp.Symbol("k", integer=True, positive=True)


def loops_conv(P, K, s):
    size = (len(P) - len(K)) // s + 1
    return np.array([[sum(P[r * s + a, c * s + b] * K[a, b] for a in range(len(K)) for b in range(len(K)))
                      for c in range(size)] for r in range(size)])


def build(X, K, s, p, q, mode="max", at="", suffix=""):
    """pad, size, convolve, pool, backward for one image and one kernel; upstream gradient G fixed."""
    d = Derivation("test", "test", "test")
    d.section("test")
    h = {"X": d.given("X", sp.IndexedBase("X"), X), "K": d.given("K", sp.IndexedBase("K"), K),
         "s": d.given("s", sp.Symbol("s", integer=True, positive=True), s),
         "p": d.given("p", sp.Symbol("p", integer=True, nonnegative=True), p),
         "q": d.given("q", sp.Symbol("q", integer=True, positive=True), q)}
    add(d, h, mode, at, suffix)
    return d


def add(d, h, mode, at, suffix):
    P = conv.pad(d, h["X"], h["p"], n, at=at, names={"P": f"P{suffix}"})
    size = conv.output_size(d, h["X"], h["K"], h["s"], h["p"], (n, k), at=at, names={"n_out": f"n_out{suffix}"})
    Y = conv.convolve(d, P, h["K"], h["s"], k, at=at, names={"Y": f"Y{suffix}"})
    pooled = conv.pool(d, Y, h["q"], size, at=at, names={"m": f"m{suffix}", "M": f"M{suffix}", "r": f"r{suffix}", "A": f"A{suffix}"})
    m = pooled.size.value
    G = d.given(f"{at}G", sp.IndexedBase(f"G{suffix}"), np.linspace(-1, 1, m * m).reshape(m, m))
    dY = conv.pool_backward(d, Y, pooled, G, h["q"], mode, at=at)
    conv.kernel_entry(d, P, h["K"], dY, h["s"], size, at=at, names={"T": f"T{suffix}", "g00": f"dK00{suffix}"})
    conv.kernel_gradient(d, P, h["K"], dY, h["s"], size, at=at, names={"g": f"dL_dK{suffix}"})
    via = conv.contribution(d, P, h["K"], dY, h["s"], size, k, at=at, names={"D": f"D{suffix}"})
    dP = conv.input_gradient(d, P, [via], at=at)
    conv.crop(d, dP, h["X"], h["p"], at=at)
    return d


@pytest.mark.parametrize("s, p, q, mode", [(1, 0, 2, "max"), (2, 1, 1, "max"), (1, 2, 3, "avg"), (3, 1, 2, "avg")])
def test_against_loops_and_central_differences(s, p, q, mode):
    rng = np.random.default_rng(s * 10 + p + q)
    X, K = rng.uniform(-1, 1, (7, 7)), rng.uniform(-1, 1, (3, 3))
    d = check(build(X, K, s, p, q, mode))
    P = np.pad(X, p)
    Y = loops_conv(P, K, s)
    assert np.allclose(d["conv"].value, Y) and d["out_size"].value == len(Y)
    m = len(Y) // q
    G = np.linspace(-1, 1, m * m).reshape(m, m)

    def surrogate(X_, K_):
        Yv = loops_conv(np.pad(X_, p), K_, s)[:m * q, :m * q].reshape(m, q, m, q)
        pooled = Yv.max(axis=(1, 3)) if mode == "max" else Yv.mean(axis=(1, 3))
        return float((G * pooled).sum())

    assert np.allclose(d["dL_dK"].value, central_difference(lambda x: surrogate(X, x), K), atol=1e-6)
    assert np.allclose(d["dL_dX"].value, central_difference(lambda x: surrogate(x, K), X), atol=1e-6)
    assert d["kernel_entry"].value == pytest.approx(d["dL_dK"].value[0, 0], abs=1e-12)
    assert all(step.check for step in d.steps())


def test_used_twice_in_one_derivation():
    X, K = np.arange(16.0).reshape(4, 4) / 10, np.eye(2)
    d = build(X, K, 1, 0, 1)
    h = {item.id: item for item in d.inputs}
    h2 = {"X": d.given("X2", sp.IndexedBase("X2"), X[::-1]), "K": h["K"], "s": h["s"], "p": h["p"], "q": h["q"]}
    add(d, h2, "avg", "two.", "2")
    check(d)
    assert np.allclose(d["two.conv"].value, loops_conv(X[::-1], K, 1))
    assert d["two.conv"].formula != d["conv"].formula


def test_formulas_do_not_depend_on_size():
    small = build(np.ones((4, 4)), np.ones((2, 2)), 1, 0, 2)
    large = build(np.ones((12, 12)), np.ones((5, 5)), 2, 3, 3)
    assert [s.id for s in small.steps()] == [s.id for s in large.steps()]
    for a, b in zip(small.steps(), large.steps()):
        assert a.formula == b.formula, a.id


def test_flatten_and_unflatten_follow_channel_row_column():
    d = Derivation("test", "test", "test")
    d.section("test")
    maps = [d.given(f"M{c}", sp.IndexedBase(f"M{c}"), np.arange(4.0).reshape(2, 2) + 10 * c) for c in (1, 2)]
    m = d.step("size", "m", symbol=sp.Symbol("m"), formula=sp.Integer(2), value=2, code="m = 2")
    f = conv.flatten(d, maps, m)
    g = d.given("g", sp.IndexedBase("g"), np.arange(8.0))
    back = conv.unflatten(d, d.step("df", "df", symbol=sp.IndexedBase("df"), index=(sp.Symbol("i", integer=True),),
                                    formula=g.symbol[sp.Symbol("i", integer=True)], value=g.value, code="df = g"), maps, m)
    check(d)
    assert f.value.tolist() == [10, 11, 12, 13, 20, 21, 22, 23]
    assert back[1].value.tolist() == [[4, 5], [6, 7]]


def test_a_tie_in_max_pooling_is_a_caution_and_the_size_notes_are_remarks():
    d = check(build(np.zeros((5, 5)), np.ones((2, 2)), 2, 0, 2))  # a map of zeros: its window ties
    (tie,) = d["max_pool"].notes
    assert isinstance(tie, Caution) and "first maximum" in tie
    arithmetic, uncovered = d["out_size"].notes  # ⌊(5 - 2)/2⌋ + 1: one row and column under no window
    assert not isinstance(arithmetic, Caution) and not isinstance(uncovered, Caution) and "no window" in uncovered


def test_kernel_gradient_prints_the_upstream_gradient_first():
    from dlsteps.printers.formulas import unicode

    d = check(build(np.arange(16.0).reshape(4, 4), np.eye(2), 1, 0, 1))
    assert unicode(d["kernel_terms"].formula, d.names).startswith("∂L/∂Y")  # ∂L/∂Y_ij times the pixel
    assert "∂L/∂Yᵢⱼ⋅P[" in unicode(d["dL_dK"].formula, d.names)
