"""Every model file Keras wrote in fixtures/ (.keras, Keras 3 .h5, Keras 2 .h5) exports to ONNX,
runs in onnxruntime and matches modelio's numpy output and the output Keras recorded, at opsets 13,
17 and the newest onnxruntime runs; one exported graph serves batches of 1 and 5."""

from pathlib import Path

import numpy as np
import pytest
from fixture_models import FIXTURES, predict_as_list, recorded_inputs, recorded_outputs
from onnx_session import run_onnx

import modelio
from modelio.onnx.export import MAX_OPSET

OPSETS = [13, 17, MAX_OPSET]
TOLERANCE = dict(rtol=1e-4, atol=1e-4)


def saved_model_files() -> list[str]:
    paths = [*FIXTURES.glob("keras3_files/*.keras"), *FIXTURES.glob("keras3_h5/*.h5"),
             *FIXTURES.glob("keras2_files/*.h5")]
    return sorted(str(path.relative_to(FIXTURES)) for path in paths
                  if not path.name.startswith("weights_only"))


def recording_for(relative: str) -> Path:
    """Where Keras's inputs and outputs for this file's model are: beside it (`x.h5.npz`,
    `layer_zoo.npz`), or with the JSON fixture of the same model the file was saved from."""
    path = FIXTURES / relative
    beside = [path.with_name(path.name + ".npz"), path.with_suffix(".npz")]
    name = path.stem.removeprefix("tf_keras_")
    dialect = "keras2" if path.stem.startswith("tf_keras_") or "keras2" in relative else "keras3"
    for candidate in [*beside, FIXTURES / dialect / f"{name}.npz"]:
        if candidate.exists():
            return candidate
    raise AssertionError(f"no recorded outputs for {relative}")


FILES = saved_model_files()


def test_the_file_list_covers_every_kind_of_saved_model():
    assert len(FILES) >= 40
    assert {Path(path).suffix for path in FILES} == {".keras", ".h5"}


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("relative", FILES)
def test_saved_model_file_exports_and_matches_numpy_and_keras(relative, opset):
    model = modelio.load_model(FIXTURES / relative)
    with np.load(recording_for(relative)) as archive:
        arrays = dict(archive)
    inputs = recorded_inputs(arrays)
    got = run_onnx(modelio.export_onnx(model, opset=opset), inputs)
    numpy_outputs = predict_as_list(model, inputs)
    keras_outputs = recorded_outputs(arrays)
    assert len(got) == len(numpy_outputs) == len(keras_outputs)
    for onnx_output, numpy_output, keras_output in zip(got, numpy_outputs, keras_outputs):
        np.testing.assert_allclose(onnx_output, numpy_output, **TOLERANCE)
        np.testing.assert_allclose(onnx_output, keras_output, **TOLERANCE)


@pytest.mark.parametrize("relative", FILES)
def test_one_exported_graph_serves_batches_of_one_and_five(relative):
    model = modelio.load_model(FIXTURES / relative)
    with np.load(recording_for(relative)) as archive:
        recorded = recorded_inputs(dict(archive))
    proto = modelio.export_onnx(model)
    rng = np.random.default_rng(len(relative))
    for batch in (1, 5):
        inputs = {}
        for name, value in recorded.items():
            shape = (batch, *value.shape[1:])
            if value.dtype.kind in "iu":  # token ids: stay inside the vocabulary Keras used
                inputs[name] = rng.integers(0, int(value.max()) + 1, shape).astype(value.dtype)
            elif value.dtype == np.bool_:
                inputs[name] = rng.random(shape) < 0.5
            else:
                inputs[name] = rng.normal(size=shape).astype(value.dtype)
        for onnx_output, numpy_output in zip(run_onnx(proto, inputs),
                                             predict_as_list(model, inputs)):
            assert onnx_output.shape[0] == batch
            np.testing.assert_allclose(onnx_output, numpy_output, **TOLERANCE)
