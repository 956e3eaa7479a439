"""Bad configs and calls of EinsumDense, ReversibleEmbedding, GroupQueryAttention,
SpectralNormalization, adaptive pooling, LocallyConnected1D/2D, ThresholdedReLU and the
keras.applications classes: each is refused with a ModelioError naming the layer and what was
expected (never a raw numpy or Python exception); the good neighbours of each bad case work."""

import json

import numpy as np
import pytest

import modelio
from modelio import layers
from modelio.errors import ConfigError, ModelioError, UnsupportedError


def build(layer, *shapes):
    tensors = [modelio.Input(shape) for shape in shapes]
    return layer(*tensors)


# ----- EinsumDense ------------------------------------------------------------------------------------

@pytest.mark.parametrize("equation", [
    "ab->b", "ab,bc", "a...b,bc->ac", "ab,bc->ac,d", "ab,bc->ac extra", "...ab,bc->ac",
    "a...,bc->ac...", "a1,1c->ac", "", 7])
def test_einsum_dense_refuses_an_equation_keras_does_not_accept(equation):
    with pytest.raises(ConfigError, match="'ed'.*EinsumDense.*equation"):
        layers.EinsumDense(equation, 4, name="ed")


@pytest.mark.parametrize("equation,output_shape,bias_axes,shape,match", [
    ("ab,bc->ac", 4, "x", (5,), "bias_axes 'x'.*not in the output spec 'ac'"),
    ("ab,bc->ac", 4, "", (5,), "bias_axes"),
    ("ab,bcz->ac", 4, None, (5,), "kernel dimension 'z'"),
    ("ab,bc->acq", (4, 2), None, (5,), "output dimension 'q'"),
    ("abc,cd->abd", (7, 3), None, (5, 4), "shared dimension 'b': 5 and 7"),
    ("abc,cd->abd", 3, None, (5, 4), "does not fit the output spec"),
    ("abc,cd->abd", (None, 3), None, (5, 4, 2), "rank 3"),
    ("ab,bc->ac", (None,), None, (5,), "not fully known"),
    ("ab,bc->ac", 4, None, (None,), "not fully known"),
])
def test_einsum_dense_refuses_shapes_and_bias_axes_keras_refuses(equation, output_shape,
                                                                bias_axes, shape, match):
    with pytest.raises(ConfigError, match=f"'ed'.*EinsumDense.*{match}"):
        build(layers.EinsumDense(equation, output_shape, bias_axes=bias_axes, name="ed"), shape)


@pytest.mark.parametrize("output_shape", [0, -2, [3, "x"], "3", [True]])
def test_einsum_dense_refuses_a_bad_output_shape(output_shape):
    with pytest.raises(ConfigError, match="'ed'.*output_shape"):
        layers.EinsumDense("ab,bc->ac", output_shape, name="ed")


def test_einsum_dense_refuses_a_quantization_config_without_a_quantized_policy():
    with pytest.raises(ConfigError, match="'ed'.*quantization_config.*not quantized"):
        layers.EinsumDense("ab,bc->ac", 4, name="ed", quantization_config={"mode": "int8"})


def test_einsum_dense_built_for_one_width_refuses_another():
    layer = layers.EinsumDense("ab,bc->ac", 4, name="ed")
    layer(np.ones((2, 3), np.float32))
    with pytest.raises(ConfigError, match="'ed'.*built for a kernel of shape"):
        layer(np.ones((2, 5), np.float32))


def test_einsum_dense_good_neighbours_build_and_run():
    layer = layers.EinsumDense("aBc,cD->aBD", (None, 2), bias_axes="D", activation="relu")
    out = layer(np.ones((2, 3, 4), np.float32))
    assert out.shape == (2, 3, 2) and [w.shape for w in layer.weights] == [(4, 2), (2,)]


# ----- ReversibleEmbedding -----------------------------------------------------------------------------

def test_reversible_embedding_reverse_call_needs_output_dim_features():
    layer = layers.ReversibleEmbedding(6, 4, name="emb")
    layer(np.zeros((2, 3), np.int32))
    with pytest.raises(ConfigError, match="'emb'.*reverse=True needs.*output_dim=4"):
        layer(np.ones((2, 3, 5), np.float32), reverse=True)
    with pytest.raises(ModelioError, match="'emb'.*reverse=True needs"):
        layer(modelio.Input((3, 5)), reverse=True)


@pytest.mark.parametrize("kwargs,error,match", [
    ({"reverse_dtype": "bfloat16"}, UnsupportedError, "reverse_dtype"),
    ({"reverse_dtype": "int32"}, UnsupportedError, "reverse_dtype"),
    ({"logit_soft_cap": 0}, ConfigError, "logit_soft_cap must be null or non-zero"),
    ({"logit_soft_cap": "big"}, ConfigError, "logit_soft_cap must be a number"),
    ({"tie_weights": "no"}, ConfigError, "tie_weights must be true or false"),
])
def test_reversible_embedding_refuses_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=f"'emb'.*ReversibleEmbedding.*{match}"):
        layers.ReversibleEmbedding(6, 4, name="emb", **kwargs)


def test_reversible_embedding_reverse_flag_must_be_a_bool():
    layer = layers.ReversibleEmbedding(6, 4, name="emb")
    with pytest.raises(ModelioError, match="'emb'.*reverse must be true or false"):
        layer(modelio.Input((3, 4)), reverse="yes")


def test_reversible_embedding_float64_reverse_dtype_computes_in_float64():
    layer = layers.ReversibleEmbedding(6, 4, reverse_dtype="float64", name="emb")
    hidden = layer(np.array([[1, 2]], np.int32))
    assert layer(hidden, reverse=True).dtype == np.float64
    assert layer(modelio.Input((2, 4)), reverse=True).dtype == "float64"


# ----- GroupQueryAttention --------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,match", [
    ({"num_query_heads": 4, "num_key_value_heads": 3}, "num_query_heads \\(4\\) must be divisible by "
                                                       "num_key_value_heads \\(3\\)"),
    ({"num_query_heads": 0}, "num_query_heads must be >= 1"),
    ({"head_dim": 2.5}, "head_dim must be an integer"),
    ({"dropout": 1.5}, "dropout must be in"),
    ({"sliding_window": 0}, "sliding_window must be >= 1"),
    ({"flash_attention": True, "dropout": 0.1}, "flash_attention=True does not allow dropout"),
    ({"use_gate": "yes"}, "use_gate must be true or false"),
])
def test_group_query_attention_refuses_bad_arguments(kwargs, match):
    arguments = {"head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 2, **kwargs}
    with pytest.raises(ConfigError, match=f"'gqa'.*GroupQueryAttention.*{match}"):
        layers.GroupQueryAttention(name="gqa", **arguments)


@pytest.mark.parametrize("shapes,match", [
    (((5, 8), (5, 6)), "last dimensions of query and value must be equal"),
    (((8,), (8,)), "rank 3"),
    (((2, 5, 8), (2, 5, 8)), "rank 3"),
])
def test_group_query_attention_refuses_inputs_keras_refuses(shapes, match):
    layer = layers.GroupQueryAttention(2, 4, 2, name="gqa")
    with pytest.raises(ConfigError, match=f"'gqa'.*{match}"):
        build(layer, *shapes)


def test_group_query_attention_key_and_value_lengths_must_agree():
    layer = layers.GroupQueryAttention(2, 4, 2, name="gqa")
    with pytest.raises(ConfigError, match="'gqa'.*value and key must have the same length"):
        layer(modelio.Input((4, 8)), modelio.Input((5, 8)), key=modelio.Input((6, 8)))


def test_group_query_attention_refuses_scores_with_flash_attention():
    layer = layers.GroupQueryAttention(2, 4, 2, flash_attention=True, name="gqa")
    x = modelio.Input((3, 8))
    with pytest.raises(ConfigError, match="'gqa'.*return_attention_scores=True is not supported"):
        layer(x, x, return_attention_scores=True)
    assert "flash_attention" not in layer.get_config()   # Keras 3.15.1 never writes it


def test_group_query_attention_refuses_a_mask_that_does_not_broadcast():
    layer = layers.GroupQueryAttention(2, 4, 2, name="gqa")
    q = np.ones((2, 3, 8), np.float32)
    with pytest.raises(ConfigError, match="'gqa'.*attention mask of shape"):
        layer(q, q, attention_mask=np.ones((2, 4, 4), bool))


# ----- SpectralNormalization --------------------------------------------------------------------------

def test_spectral_normalization_needs_a_kernel_or_embeddings():
    layer = layers.SpectralNormalization(layers.LayerNormalization(name="norm"), name="sn")
    with pytest.raises(ConfigError, match="'sn'.*LayerNormalization has neither a 'kernel' nor an "
                                          "'embeddings'"):
        build(layer, (3, 4))


@pytest.mark.parametrize("config,match", [
    ({"name": "sn", "layer": "dense"}, "'layer' must be a layer config mapping"),
    ({"name": "sn"}, "'layer' must be a layer config mapping"),
    ({"name": "sn", "power_iterations": 0, "layer": {"class_name": "Dense", "config": {
        "units": 2}}}, "power_iterations must be >= 1"),
    ({"name": "sn", "layer": {"class_name": "NoSuchLayer", "config": {}}}, "NoSuchLayer"),
])
def test_spectral_normalization_refuses_bad_configs(config, match):
    with pytest.raises(ModelioError, match=f"'sn'.*{match}"):
        layers.SpectralNormalization.from_config(config)


def test_spectral_normalization_config_round_trips_through_json():
    layer = layers.SpectralNormalization(layers.Dense(3, name="inner"), power_iterations=3,
                                         name="sn")
    build(layer, (4,))
    clone = layers.SpectralNormalization.from_config(json.loads(json.dumps(layer.get_config())))
    build(clone, (4,))
    assert clone.get_config() == layer.get_config()
    assert [w.path for w in clone.weights] == ["sn/inner/kernel", "sn/vector_u", "sn/inner/bias"]


# ----- adaptive pooling ----------------------------------------------------------------------------------

@pytest.mark.parametrize("cls,output_size", [
    (layers.AdaptiveAveragePooling1D, [2, 2]), (layers.AdaptiveMaxPooling2D, 0),
    (layers.AdaptiveAveragePooling3D, (2, 2)), (layers.AdaptiveMaxPooling1D, "2"),
])
def test_adaptive_pooling_refuses_a_bad_output_size(cls, output_size):
    with pytest.raises(ConfigError, match="'pool'.*output_size"):
        cls(output_size, name="pool")


def test_adaptive_pooling_refuses_inputs_of_the_wrong_rank_and_bad_data_format():
    with pytest.raises(ModelioError, match="'pool'.*expects inputs of rank 4"):
        build(layers.AdaptiveMaxPooling2D(2, name="pool"), (5, 3))
    with pytest.raises(ConfigError, match="'pool'.*data_format"):
        layers.AdaptiveAveragePooling2D(2, data_format="nhwc", name="pool")


def test_adaptive_pooling_upsamples_an_axis_shorter_than_its_bins_as_torch_does():
    x = np.arange(6, dtype=np.float32).reshape(1, 3, 2)
    out = layers.AdaptiveAveragePooling1D(5)(x)
    assert out.shape == (1, 5, 2)
    # bins [0,1) [0,2) [1,2) [1,3) [2,3) of the channel values 0, 2, 4
    np.testing.assert_array_equal(out[0, :, 0], [0, 1, 2, 3, 4])


# ----- tf-keras classics and applications classes ----------------------------------------------------------

@pytest.mark.parametrize("kwargs,error,match", [
    ({"padding": "same"}, UnsupportedError, "padding='same' is not supported"),
    ({"padding": "full"}, ConfigError, "padding must be 'valid' or 'same'"),
    ({"implementation": 4}, ConfigError, "implementation must be one of"),
    ({"kernel_size": (2, 2)}, ConfigError, "kernel_size must have 1 entries"),
    ({"filters": 0}, ConfigError, "filters must be >= 1"),
])
def test_locally_connected_refuses_bad_arguments(kwargs, error, match):
    arguments = {"filters": 2, "kernel_size": 2, **kwargs}
    with pytest.raises(error, match=f"'lc'.*LocallyConnected1D.*{match}"):
        layers.LocallyConnected1D(name="lc", **arguments)


def test_locally_connected_refuses_inputs_smaller_than_its_window_or_of_unknown_size():
    with pytest.raises(ModelioError, match="'lc'.*smaller than the window"):
        build(layers.LocallyConnected2D(2, 3, name="lc"), (2, 4, 1))
    with pytest.raises(ModelioError, match="'lc'.*needs known spatial sizes"):
        build(layers.LocallyConnected1D(2, 3, name="lc"), (None, 1))


def test_thresholded_relu_refuses_a_negative_theta_and_is_written_as_relu():
    with pytest.raises(ConfigError, match="'t'.*ThresholdedReLU.*theta must be in"):
        layers.ThresholdedReLU(theta=-1.0, name="t")
    layer = layers.ThresholdedReLU(theta=0.5, name="t")
    entry = modelio.graph.serialization.serialize_layer(layer)
    assert entry["class_name"] == "ReLU" and entry["config"]["threshold"] == 0.5
    np.testing.assert_array_equal(layer(np.array([0.5, 0.75, -1.0], np.float32)), [0, 0.75, 0])


def test_layer_scale_and_custom_scale_layer_refuse_inputs_they_cannot_take():
    with pytest.raises(ConfigError, match="'scale'.*LayerScale.*projection_dim=4"):
        build(layers.LayerScale(1e-6, 4, name="scale"), (3, 5))
    with pytest.raises(ModelioError, match="'scale'.*CustomScaleLayer.*list of two tensors"):
        layers.CustomScaleLayer(0.2, name="scale")(np.ones((2, 3), np.float32))
    with pytest.raises(ModelioError, match="'scale'.*CustomScaleLayer.*do not broadcast"):
        layers.CustomScaleLayer(0.2, name="scale")([modelio.Input((3,)), modelio.Input((4,))])
