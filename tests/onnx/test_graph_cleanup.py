"""The exported graph is as clean as tf2onnx's: inference BatchNormalization folded into the
convolution or Dense before it, no Identity that does nothing, at most one layout Transpose per
image input and output — and `nchw=True` graphs with channels-first inputs and outputs."""

import gc
import weakref
from collections import Counter

import numpy as np
import onnx
import onnxruntime
import pytest
from fixture_models import FIXTURES
from onnx import numpy_helper
from onnx_session import run_onnx

import modelio
from modelio import layers, saving
from modelio.errors import ConfigError
from modelio.onnx import export as export_module
from modelio.onnx.export import MAX_OPSET
from modelio.saving import convert_to_onnx

OPSETS = [13, 17, MAX_OPSET]


def randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            # positive values keep BatchNormalization variances valid
            layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(w.dtype) for w in weights])
    return model


def op_counts(proto) -> Counter:
    return Counter(node.op_type for node in proto.graph.node)


def channels_first(array):
    return np.ascontiguousarray(np.moveaxis(array, -1, 1))


@pytest.mark.parametrize("name", ["small_resnet", "small_mobilenet"])
def test_batch_normalization_folds_into_the_convolutions_of_keras_cnns(name):
    model = modelio.load_model(FIXTURES / "keras3_files" / f"{name}.keras")
    batch_norms = [layer for layer in model.layers if type(layer).__name__ == "BatchNormalization"]
    assert batch_norms, "the fixture is meant to hold BatchNormalization layers"
    proto = modelio.export_onnx(model)
    counts = op_counts(proto)
    assert counts["Mul"] == 0 and counts["BatchNormalization"] == 0
    assert counts["Identity"] == 0 and counts["Cast"] == 0
    assert counts["Transpose"] <= 2  # one at the image input, at most one before the head


@pytest.mark.parametrize("opset", OPSETS)
def test_batch_normalization_after_conv_without_bias_folds_and_matches_numpy(opset):
    x = modelio.Input((6, 6, 3), name="image")
    y = layers.Conv2D(4, 3, use_bias=False, name="conv")(x)
    y = layers.BatchNormalization(name="norm")(y)
    model = randomize(modelio.Model(x, layers.ReLU()(y)))
    proto = modelio.export_onnx(model, opset=opset)
    assert op_counts(proto) == Counter({"Transpose": 2, "Conv": 1, "Relu": 1})
    conv = next(node for node in proto.graph.node if node.op_type == "Conv")
    assert len(conv.input) == 3  # the shift became the convolution's bias
    image = np.random.default_rng(1).normal(size=(2, 6, 6, 3)).astype(np.float32)
    np.testing.assert_allclose(run_onnx(proto, {"image": image})[0], model.predict(image),
                               rtol=1e-5, atol=1e-5)


def test_batch_normalization_after_dense_folds_into_matmul_and_bias():
    x = modelio.Input((5,), name="features")
    y = layers.BatchNormalization(name="norm")(layers.Dense(3, name="dense")(x))
    model = randomize(modelio.Model(x, y))
    proto = modelio.export_onnx(model)
    assert op_counts(proto) == Counter({"Gemm": 1})
    features = np.random.default_rng(2).normal(size=(4, 5)).astype(np.float32)
    np.testing.assert_allclose(run_onnx(proto, {"features": features})[0],
                               model.predict(features), rtol=1e-5, atol=1e-5)


def test_a_shared_convolution_keeps_its_weights_when_one_use_is_folded():
    x = modelio.Input((5, 5, 2), name="image")
    conv = layers.Conv2D(3, 1, name="shared")
    plain = conv(x)
    normalized = layers.BatchNormalization(name="norm")(conv(x))
    model = randomize(modelio.Model(x, [plain, normalized]))
    proto = modelio.export_onnx(model)
    image = np.random.default_rng(3).normal(size=(2, 5, 5, 2)).astype(np.float32)
    for got, want in zip(run_onnx(proto, {"image": image}), model.predict(image)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    kernels = [node.input[1] for node in proto.graph.node if node.op_type == "Conv"]
    assert len(set(kernels)) == 2  # the folded use got its own copy


def test_normalization_along_a_spatial_axis_is_not_folded_and_stays_correct():
    x = modelio.Input((4, 4, 2), name="image")
    y = layers.BatchNormalization(axis=1, name="rows")(layers.Conv2D(2, 1, name="conv")(x))
    model = randomize(modelio.Model(x, y))
    proto = modelio.export_onnx(model)
    assert op_counts(proto)["Mul"] == 1
    image = np.random.default_rng(4).normal(size=(3, 4, 4, 2)).astype(np.float32)
    np.testing.assert_allclose(run_onnx(proto, {"image": image})[0], model.predict(image),
                               rtol=1e-5, atol=1e-5)


def test_identities_that_do_nothing_are_removed_but_outputs_keep_their_names():
    x = modelio.Input((4,), name="features")
    hidden = layers.Dropout(0.5, name="drop")(layers.Dense(3, name="dense")(x))
    model = modelio.Model(x, [hidden, layers.Identity(name="same")(hidden)])
    proto = modelio.export_onnx(model)
    assert [output.name for output in proto.graph.output] == model.output_names
    assert op_counts(proto)["Identity"] == 1  # the second output must copy the first
    features = np.ones((2, 4), np.float32)
    first, second = run_onnx(proto, {"features": features})
    np.testing.assert_allclose(first, model.predict(features)[0], rtol=1e-6)
    np.testing.assert_array_equal(first, second)


def test_a_model_that_returns_its_input_still_exports():
    x = modelio.Input((3,), name="features")
    model = modelio.Model(x, layers.Identity(name="copy")(x))
    proto = modelio.export_onnx(model)
    features = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(run_onnx(proto, {"features": features})[0], features)


def test_a_transpose_before_flatten_of_a_real_feature_map_is_kept():
    x = modelio.Input((3, 2, 2), name="image")
    y = layers.Flatten()(layers.Conv2D(2, 1, name="conv")(x))
    model = randomize(modelio.Model(x, y))
    proto = modelio.export_onnx(model)
    image = np.random.default_rng(5).normal(size=(2, 3, 2, 2)).astype(np.float32)
    np.testing.assert_allclose(run_onnx(proto, {"image": image})[0], model.predict(image),
                               rtol=1e-5, atol=1e-5)
    assert op_counts(proto)["Transpose"] == 2


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name", ["small_resnet", "small_mobilenet"])
def test_nchw_export_takes_channels_first_images_without_an_input_transpose(name, opset):
    model = modelio.load_model(FIXTURES / "keras3_files" / f"{name}.keras")
    proto = modelio.export_onnx(model, opset=opset, nchw=True)
    declared = [dim.dim_value or dim.dim_param
                for dim in proto.graph.input[0].type.tensor_type.shape.dim]
    height, width, channels = model.inputs[0].shape[1:]
    assert declared == ["batch", channels, height, width]
    first_op = proto.graph.node[0].op_type
    assert first_op != "Transpose"
    image = np.random.default_rng(6).normal(size=(5, height, width, channels)).astype(np.float32)
    got = run_onnx(proto, {model.input_names[0]: channels_first(image)})[0]
    np.testing.assert_allclose(got, model.predict(image), rtol=1e-4, atol=1e-4)


def test_nchw_export_turns_image_outputs_channels_first_too():
    x = modelio.Input((4, 5, 3), name="image")
    model = randomize(modelio.Model(x, layers.Conv2D(2, 3, padding="same", name="conv")(x)))
    proto = modelio.export_onnx(model, nchw=True)
    assert op_counts(proto) == Counter({"Conv": 1})
    image = np.random.default_rng(7).normal(size=(2, 4, 5, 3)).astype(np.float32)
    got = run_onnx(proto, {"image": channels_first(image)})[0]
    np.testing.assert_allclose(got, channels_first(model.predict(image)), rtol=1e-5, atol=1e-5)


def test_nchw_export_refuses_a_model_that_is_already_channels_first():
    x = modelio.Input((3, 4, 4), name="image")
    model = modelio.Model(x, layers.Conv2D(2, 1, data_format="channels_first", name="conv")(x))
    with pytest.raises(ConfigError, match="already channels_first"):
        modelio.export_onnx(model, nchw=True)


def test_a_file_export_streams_the_same_model_the_in_memory_export_returns(tmp_path):
    model = modelio.load_model(FIXTURES / "keras3_files" / "small_resnet.keras")
    in_memory = modelio.export_onnx(model)
    path = tmp_path / "resnet.onnx"
    assert modelio.export_onnx(model, path) is None
    onnx.checker.check_model(str(path), full_check=True)
    from_file = onnx.load(str(path))
    assert from_file.graph.node == in_memory.graph.node
    assert ({tensor.name: numpy_helper.to_array(tensor).tobytes()
             for tensor in from_file.graph.initializer}
            == {tensor.name: numpy_helper.to_array(tensor).tobytes()
                for tensor in in_memory.graph.initializer})
    assert from_file.ir_version == in_memory.ir_version
    assert from_file.metadata_props == in_memory.metadata_props


def test_convert_to_onnx_releases_the_model_before_writing(tmp_path, monkeypatch):
    released = []
    original = export_module.write_model_streaming

    def spy(handle, proto, arrays):
        released.append(all(reference() is None for reference in LOADED))
        original(handle, proto, arrays)

    monkeypatch.setattr(export_module, "write_model_streaming", spy)
    real_load = saving.load_model

    def tracked_load(source):
        model = real_load(source)
        LOADED.extend(weakref.ref(layer) for layer in model.layers)  # layers hold the weights
        return model

    monkeypatch.setattr(saving, "load_model", tracked_load)
    LOADED.clear()
    source = FIXTURES / "keras3_files" / "small_mobilenet.keras"
    collecting = gc.isenabled()
    gc.disable()  # only the export's own collection may free the model's reference cycles
    try:
        convert_to_onnx(source, tmp_path / "mobilenet.onnx")
    finally:
        if collecting:
            gc.enable()
    assert released == [True]
    model = modelio.load_model(source)
    image = np.random.default_rng(8).normal(size=(2, *model.inputs[0].shape[1:])).astype(np.float32)
    session = onnxruntime.InferenceSession(str(tmp_path / "mobilenet.onnx"),
                                           providers=["CPUExecutionProvider"])
    got = session.run(None, {model.input_names[0]: image})[0]
    np.testing.assert_allclose(got, model.predict(image), rtol=1e-4, atol=1e-4)


LOADED: list = []


@pytest.mark.parametrize("opset", OPSETS)
def test_zero_padding_before_a_convolution_becomes_its_pads(opset):
    x = modelio.Input((6, 5, 2), name="image")
    padded = layers.ZeroPadding2D(((1, 2), (3, 0)))(x)
    convolved = layers.Conv2D(3, 3, name="conv")(padded)
    pooled = layers.MaxPooling2D(2)(layers.ZeroPadding2D(1)(convolved))
    model = randomize(modelio.Model(x, pooled))
    proto = modelio.export_onnx(model, opset=opset)
    assert op_counts(proto)["Pad"] == 1  # the one before MaxPool stays: zeros are not -inf
    conv = next(node for node in proto.graph.node if node.op_type == "Conv")
    assert list(next(a for a in conv.attribute if a.name == "pads").ints) == [1, 3, 2, 0]
    image = np.random.default_rng(9).normal(size=(2, 6, 5, 2)).astype(np.float32)
    np.testing.assert_allclose(run_onnx(proto, {"image": image})[0], model.predict(image),
                               rtol=1e-5, atol=1e-5)


def test_dense_on_a_sequence_keeps_matmul_and_add_while_a_flat_dense_is_one_gemm():
    x = modelio.Input((4, 3), name="sequence")
    per_step = layers.Dense(2, name="per_step")(x)
    flat = layers.Dense(5, name="flat")(layers.Flatten()(per_step))
    model = randomize(modelio.Model(x, flat))
    proto = modelio.export_onnx(model)
    counts = op_counts(proto)
    assert counts["Gemm"] == 1 and counts["MatMul"] == 1 and counts["Add"] == 1
    sequence = np.random.default_rng(10).normal(size=(3, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(run_onnx(proto, {"sequence": sequence})[0],
                               model.predict(sequence), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("opset", OPSETS)
def test_layer_normalization_uses_the_onnx_op_from_opset_17(opset):
    model = modelio.load_model(FIXTURES / "keras3_files" / "transformer_block.keras")
    proto = modelio.export_onnx(model, opset=opset)
    norms = [layer for layer in model.layers if type(layer).__name__ == "LayerNormalization"]
    assert op_counts(proto)["LayerNormalization"] == (len(norms) if opset >= 17 else 0)


def test_zero_padding_before_max_pooling_survives_onnxruntimes_pad_fusion():
    # onnxruntime fuses Pad(0) + MaxPool into a MaxPool whose padding acts as -inf; an
    # all-negative feature map shows it: Keras's zero border must win every border window.
    x = modelio.Input((4, 4, 1), name="image")
    model = modelio.Model(x, layers.MaxPooling2D(2)(layers.ZeroPadding2D(1)(x)))
    proto = modelio.export_onnx(model)
    image = -np.random.default_rng(11).uniform(1, 2, (1, 4, 4, 1)).astype(np.float32)
    got = run_onnx(proto, {"image": image})[0]
    np.testing.assert_array_equal(got, model.predict(image))
    assert got[0, 0, 0, 0] == 0 and got[0, 1, 1, 0] < 0
