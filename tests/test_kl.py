"""kl lesson: published example, SciPy as an independent oracle, zeros and infinities."""

import math

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy


def test_wikipedia_example(run_json):
    # Wikipedia, "Kullback-Leibler divergence", section "Basic example": P = Binomial(2, 0.4)
    # = (0.36, 0.48, 0.16), Q uniform: KL(P||Q) = 0.0852996 nats, KL(Q||P) = 0.097455 nats.
    steps, _ = run_json("kl", "--p", "0.36,0.48,0.16", "--q", "1/3,1/3,1/3")
    assert steps["kl_pq"] == pytest.approx(0.0852996, abs=1e-7)
    assert steps["kl_qp"] == pytest.approx(0.097455, abs=1e-6)


@pytest.mark.parametrize("base", ["e", "2"])
@pytest.mark.parametrize("seed", [0, 3, 11])
def test_against_scipy(run_json, base, seed):
    steps, document = run_json("kl", "--seed", str(seed), "--base", base)
    p, q = (np.array(item["value"]) for item in document["inputs"][:2])
    b = math.e if base == "e" else 2
    assert steps["entropy"] == pytest.approx(entropy(p, base=b), rel=1e-12)
    assert steps["cross_entropy"] == pytest.approx(entropy(p, base=b) + entropy(p, q, base=b), rel=1e-12)
    assert steps["kl_pq"] == pytest.approx(entropy(p, q, base=b), rel=1e-9, abs=1e-12)
    assert steps["kl_qp"] == pytest.approx(entropy(q, p, base=b), rel=1e-9, abs=1e-12)
    assert steps["jsd"] == pytest.approx(jensenshannon(p, q, base=b) ** 2, rel=1e-9)


def test_zero_in_p_counts_nothing(run_json):
    steps, _ = run_json("kl", "--p", "0.5,0.5,0", "--q", "0.25,0.25,0.5")
    assert steps["entropy"] == pytest.approx(math.log(2))
    assert steps["kl_pq"] == pytest.approx(0.5 * math.log(2) * 2)
    assert steps["entropy_terms"][2] == 0


def test_infinite_kl_is_explained(cli):
    result = cli("kl", "--p", "0.5,0.5,0", "--q", "0.5,0,0.5", "--base", "2", "--no-pager")
    assert result.exit_code == 0, result.output
    assert "∞" in result.stdout and "impossible under q" in result.stdout
    assert "nan" not in result.stdout.lower()


def test_infinite_kl_in_json(run_json):
    steps, document = run_json("kl", "--p", "0.5,0.5,0", "--q", "0.5,0,0.5")
    raw = {s["id"]: s for sec in document["sections"] for s in sec["steps"]}
    assert raw["kl_pq"]["value"] == "inf" and raw["kl_qp"]["value"] == "inf"
    assert "asymmetry" not in raw
    assert np.isfinite(steps["jsd"]) and steps["jsd"] == pytest.approx(jensenshannon([0.5, 0.5, 0], [0.5, 0, 0.5]) ** 2)
