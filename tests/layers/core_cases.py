"""Read fixtures/{keras3,keras2}/core_cases.npz (written by tools/core_case_fixtures.py with real
Keras 3.15.1 and tf-keras 2.21): small models around EinsumDense, ReversibleEmbedding,
GroupQueryAttention, SpectralNormalization, adaptive pooling, the keras.applications classes and
tf-keras's LocallyConnected/ThresholdedReLU/SyncBatchNormalization/experimental.EinsumDense."""

import json
from pathlib import Path

import numpy as np
from case_archive import load_model_cases
from fixture_models import set_recorded_weights

import modelio

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}


def load_cases(dialect: str):
    return load_model_cases(FIXTURES / dialect / "core_cases.npz")


KERAS3_DOCUMENT, KERAS3_CASES = load_cases("keras3")
KERAS2_DOCUMENT, KERAS2_CASES = load_cases("keras2")


def fresh_model(case: dict):
    """The case's model, rebuilt by modelio from Keras's JSON, with Keras's weights."""
    model = modelio.model_from_json(json.dumps(case["model_json"]))
    set_recorded_weights(model, case["arrays"])
    return model


_BUILT: dict = {}


def rebuild(case: dict):
    """`fresh_model(case)`, built once per dialect and case and shared by the tests that only
    read it (predict, configs, export); a test that changes a model uses `fresh_model`."""
    key = (case["model_json"].get("config", {}).get("name"), case["id"], id(case))
    if key not in _BUILT:
        _BUILT[key] = fresh_model(case)
    return _BUILT[key]


def case_inputs(case: dict) -> dict:
    return {name: case["arrays"][f"input:{name}"] for name in case["inputs"]}


def expected_outputs(case: dict) -> list:
    return [case["arrays"][f"output:{index}"] for index in range(case["outputs"])]


def as_list(outputs) -> list:
    if isinstance(outputs, dict):
        return list(outputs.values())
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def assert_matches(outputs: list, expected: list, **tolerance) -> None:
    assert len(outputs) == len(expected)
    for output, reference in zip(outputs, expected):
        assert output.shape == reference.shape
        assert output.dtype == reference.dtype
        np.testing.assert_allclose(output, reference, **(tolerance or TOLERANCE))


def layer_entries(case: dict, class_names) -> list:
    return [entry for entry in case["model_json"]["config"]["layers"]
            if entry["class_name"] in class_names]
