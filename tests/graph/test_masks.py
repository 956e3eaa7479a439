"""Masks as graph edges (Keras 3's design): producers, propagation, operations, refusals."""

import numpy as np
import pytest

import modelio
from modelio import layers, ops


def test_embedding_mask_zero_records_a_not_equal_operation():
    tokens = modelio.Input((4,), dtype="int32", name="tokens")
    hidden = layers.Dense(2, name="dense")(layers.Embedding(5, 3, mask_zero=True)(tokens))
    mask = hidden._keras_mask
    assert mask is not None and mask.dtype == "bool" and mask.shape == (None, 4)
    model = modelio.Model(tokens, [hidden, mask])
    assert [type(op).__name__ for op in model.operations] == ["InputLayer", "Embedding", "Dense", "NotEqual"]
    assert "NotEqual" not in [type(layer).__name__ for layer in model.layers]
    _, mask_value = model.predict(np.array([[1, 0, 3, 0]], np.int32))
    np.testing.assert_array_equal(mask_value, [[True, False, True, False]])


def test_layers_without_mask_support_drop_the_mask():
    tokens = modelio.Input((4,), dtype="int32")
    embedded = layers.Embedding(5, 3, mask_zero=True)(tokens)
    assert layers.Flatten()(embedded)._keras_mask is None
    assert layers.Dense(2)(embedded)._keras_mask is embedded._keras_mask


class ZeroMaskedSteps(modelio.Layer):
    """A minimal mask consumer: zeroes the time steps its mask drops."""

    def call(self, inputs, mask=None):
        return inputs if mask is None else inputs * mask[..., None]


def test_mask_reaches_a_layer_call_as_an_explicit_keyword_tensor():
    features = modelio.Input((4, 2), name="features")
    masked = layers.Masking(0.0)(features)
    consumer = ZeroMaskedSteps()
    output = consumer(layers.Dense(2, kernel_initializer="ones")(masked))
    assert consumer._inbound_nodes[0].call_kwargs["mask"] is masked._keras_mask
    model = modelio.Model(features, output)
    data = np.array([[[1, 1], [0, 0], [2, 0], [0, 0]]], np.float32)
    np.testing.assert_allclose(model.predict(data)[0], [[2, 2], [0, 0], [2, 2], [0, 0]])


def test_softmax_refuses_a_mask_that_does_not_broadcast_like_keras():
    scores = modelio.Input((4, 1))
    with pytest.raises(modelio.ConfigError, match="does not broadcast"):
        layers.Softmax(axis=1)(layers.Masking(0.0)(scores))


def test_operations_compute_on_arrays_and_record_nodes_on_symbols():
    np.testing.assert_array_equal(ops.any(np.array([[0, 1], [0, 0]]), axis=-1), [True, False])
    x = modelio.Input((3,))
    y = ops.expand_dims(ops.not_equal(x, 0.0), axis=-1)
    assert y.shape == (None, 3, 1) and y.dtype == "bool"
    model = modelio.Model(x, y)
    assert model.get_config()["layers"][1] == {
        "module": "keras.src.ops.numpy", "class_name": "NotEqual", "config": {"name": "not_equal"},
        "registered_name": "NotEqual", "name": "not_equal",
        "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {
            "shape": [None, 3], "dtype": "float32", "keras_history": ["input_layer", 0, 0]}}, 0.0],
            "kwargs": {}}]}


def test_masked_tensor_entering_a_nested_model_is_refused_clearly():
    inner_in = modelio.Input((4, 3))
    inner = modelio.Model(inner_in, layers.Dense(2)(inner_in), name="inner")
    tokens = modelio.Input((4,), dtype="int32")
    with pytest.raises(modelio.UnsupportedError, match="'inner'.*mask"):
        inner(layers.Embedding(5, 3, mask_zero=True)(tokens))


def test_embedding_index_outside_the_table_is_a_modelio_error():
    tokens = modelio.Input((2,), dtype="int32")
    model = modelio.Model(tokens, layers.Embedding(5, 3, name="words")(tokens))
    with pytest.raises(modelio.ModelioError, match="'words'.*index 7"):
        model.predict(np.array([[1, 7]], np.int32))


def test_keras2_embedding_input_length_is_dropped():
    layer = layers.Embedding.from_config({"name": "e", "input_dim": 4, "output_dim": 2,
                                          "input_length": 10, "mask_zero": True})
    assert "input_length" not in layer.get_config() and layer.mask_zero
