"""Hypothesis over the lessons' domains: any valid input runs clean (no NaN, no warning)."""

import json
import warnings

from hypothesis import given, settings
from hypothesis import strategies as st

from dlsteps import engine
from dlsteps.printers.json import render

NUMBER = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).filter(lambda x: x == 0 or abs(x) >= 1e-300).map(lambda x: f"{x:.6g}")  # the documented input range


def clean_run(name, typed):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = engine.run(name, {key: (text, "test") for key, text in typed.items()})
    text = render(d)
    assert "NaN" not in text and "nan" not in json.dumps([s["value"] for sec in json.loads(text)["sections"] for s in sec["steps"]])
    return d


@settings(max_examples=25, deadline=None)
@given(st.lists(NUMBER, min_size=2, max_size=6), st.data())
def test_softmax_any_logits(logits, data):
    target = data.draw(st.integers(0, len(logits) - 1))
    d = clean_run("softmax", {"logits": ",".join(logits), "target": str(target)})
    assert abs(d.find("softmax").value.sum() - 1) < 1e-12


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=2, max_size=6), st.data())
def test_kl_any_distributions_with_zeros(weights_p, data):
    weights_q = data.draw(st.lists(st.integers(0, 5), min_size=len(weights_p), max_size=len(weights_p)))
    if sum(weights_p) == 0 or sum(weights_q) == 0:
        return
    p = ",".join(f"{w}/{sum(weights_p)}" for w in weights_p)
    q = ",".join(f"{w}/{sum(weights_q)}" for w in weights_q)
    d = clean_run("kl", {"p": p, "q": q, "base": data.draw(st.sampled_from(["e", "2"]))})
    assert d.find("jsd").value >= -1e-15 and d.find("kl_pq").value >= -1e-12


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 4), st.integers(1, 3), st.data())
def test_regularization_any_data(samples, features, data):
    small = st.floats(-3, 3, allow_nan=False).filter(lambda x: x == 0 or abs(x) >= 1e-300).map(lambda x: f"{x:.3g}")
    x = ";".join(",".join(data.draw(small) for _ in range(features)) for _ in range(samples))
    typed = {"x": x, "y": ",".join(data.draw(small) for _ in range(samples)), "w": ",".join(data.draw(small) for _ in range(features)),
             "b": data.draw(small), "lam": data.draw(st.sampled_from(["0", "0.1", "1"])), "lr": "0.01", "steps": "5"}
    clean_run("regularization", typed)
