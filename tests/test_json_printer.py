"""The JSON contract: schema, full float64, infinities as strings."""

import json

import numpy as np

from dlsteps import engine
from dlsteps.printers.base import Printer
from dlsteps.printers.json import JsonPrinter, plain, render


def test_schema_of_a_run():
    d = engine.run("softmax")
    document = json.loads(render(d))
    assert set(document) == {"schema", "lesson", "title", "lecture", "inputs", "sections"}
    assert document["inputs"][0] == {"name": "logits", "symbol": "o", "shape": [3], "value": [2.0, 1.0, 0.1],
                                     "text": "2,1,0.1", "origin": "default"}
    step = document["sections"][0]["steps"][3]
    assert set(step) == {"id", "title", "explanation", "formula", "value", "shape", "depends_on", "code", "check", "notes", "cautions", "chart", "formula_full"}
    assert step["id"] == "softmax" and step["shape"] == [3] and step["formula"].startswith("{y}_{i} =")
    assert step["value"] == d.find("softmax").value.tolist()


def test_plain_values():
    assert plain(np.array([[1.0, -0.0], [np.inf, -np.inf]])) == [[1.0, 0.0], ["inf", "-inf"]]
    assert plain(0.1 + 0.2) == 0.30000000000000004


def test_settings_are_checked_and_dispatch_walks_the_mro():
    try:
        JsonPrinter(colour=True)
    except TypeError as error:
        assert "colour" in str(error)
    else:
        raise AssertionError("unknown settings must be rejected")

    class Special(float):
        pass

    class Demo(Printer):
        def _print_float(self, value):
            return "float"

    assert Demo().doprint(Special(1.0)) == "float"
