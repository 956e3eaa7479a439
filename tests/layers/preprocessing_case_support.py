"""Reading the case archives of tools/lookup_case_fixtures.py (encoding, lookup and audio
families): numeric arrays from the buffers, string arrays from the case document, and the layer
rebuilt from Keras's config with the assets and variables Keras saved for it."""

from pathlib import Path

import numpy as np
from case_archive import load_case_archive, read_case_array

from modelio import layers

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "keras3"


class CaseFamily:
    """One `<family>_cases.npz`: its cases by id, and their arrays."""

    def __init__(self, family: str):
        self.buffers, self.document = load_case_archive(FIXTURES / f"{family}_cases.npz")
        self.cases = {case["id"]: case for case in self.document["cases"]}

    def ids(self, predicate=None) -> list:
        return [case_id for case_id, case in self.cases.items()
                if predicate is None or predicate(case)]

    def value(self, case: dict, key: str) -> np.ndarray:
        """A recorded array: numbers from the buffers, strings as a numpy `<U` array."""
        if key in case["strings"]:
            entry = case["strings"][key]
            return np.array(entry["values"], dtype=str).reshape(entry["shape"])
        return read_case_array(self.buffers, case, key)

    def inputs(self, case: dict) -> list:
        count = sum(key.startswith("input:") for key in (*case["arrays"], *case["strings"]))
        return [self.value(case, f"input:{index}") for index in range(count)]

    def call_input(self, case: dict):
        inputs = self.inputs(case)
        return inputs if case["multi"] else inputs[0]

    def layer(self, case: dict):
        """The layer as a .keras load makes it: from Keras's config, built on the input, given
        the recorded weights / variables, then the assets."""
        layer = getattr(layers, case["class_name"]).from_config(dict(case["keras_config"]))
        inputs = self.inputs(case)
        shapes = [tuple(array.shape) for array in inputs]
        layer._maybe_build(shapes if case["multi"] else shapes[0])
        weights = [self.value(case, key) for key in sorted(
            (key for key in case["arrays"] if key.startswith("weight:")),
            key=lambda key: int(key.split(":")[1]))]
        if weights:
            for weight, value in zip(layer.weights, weights):
                weight.assign(value)
        if "variable:idf_weights" in case["arrays"]:
            layer_weights = {weight.name: weight for weight in layer.weights}
            layer_weights["idf_weights"].assign(self.value(case, "variable:idf_weights"))
        if case["assets"]:
            files = {name: text.encode("utf-8") for name, text in case["assets"].items()}
            layer.load_assets(files, f"case {case['id']}")
        return layer
