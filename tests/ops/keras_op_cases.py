"""Check one recorded Keras 3 operation case (a tiny functional model from a case archive that
tools/ops_case_fixtures.record_cases wrote) against Keras's outputs and onnxruntime. Shared by
the tests of every operation family."""

import json

import numpy as np
import onnx
from case_archive import read_case_array
from ops_onnx import run_plain as run_onnx

import modelio

TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}


def case_inputs(buffers: dict, case: dict) -> list:
    return [read_case_array(buffers, case, f"input_{index}") for index in range(case["n_inputs"])]


def case_outputs(buffers: dict, case: dict) -> list:
    return [read_case_array(buffers, case, f"output_{index}")
            for index in range(case["n_outputs"])]


def predict_list(model, inputs: list) -> list:
    outputs = model.predict(inputs if len(inputs) > 1 else inputs[0])
    return outputs if isinstance(outputs, list) else [outputs]


def assert_outputs_match(outputs: list, expected: list, **tolerance) -> None:
    assert len(outputs) == len(expected)
    for got, want in zip(outputs, expected):
        assert got.shape == want.shape
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, **(tolerance or TOLERANCE))


def assert_config_written_back(model, case: dict) -> None:
    """The config modelio writes holds Keras's operation entries and call arguments."""
    written = json.loads(json.dumps(model.get_config()))
    keras_ops = [entry for entry in case["config"]["layers"] if ".ops." in entry["module"]]
    modelio_ops = [entry for entry in written["layers"] if ".ops." in entry["module"]]
    assert [(e["module"], e["class_name"], e["config"]) for e in modelio_ops] == \
        [(e["module"], e["class_name"], e["config"]) for e in keras_ops]
    assert [e["inbound_nodes"] for e in modelio_ops] == [e["inbound_nodes"] for e in keras_ops]


def check_op_case(buffers: dict, case: dict, expected: list | None = None,
                  opset: int | None = None, **tolerance) -> None:
    """Rebuild `case`'s model from Keras's config, match Keras's outputs (or `expected`), write
    the same config back, export to ONNX and match in onnxruntime."""
    model = modelio.Model.from_config(case["config"])
    inputs = case_inputs(buffers, case)
    expected = case_outputs(buffers, case) if expected is None else expected
    assert_outputs_match(predict_list(model, inputs), expected, **tolerance)
    assert_config_written_back(model, case)
    proto = modelio.export_onnx(model, opset=opset)
    onnx.checker.check_model(proto)
    feeds = {tensor.name: value for tensor, value in zip(proto.graph.input, inputs)}
    assert_outputs_match([np.asarray(value) for value in run_onnx(proto, feeds)], expected,
                         **tolerance)
