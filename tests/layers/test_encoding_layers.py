"""Discretization and CategoryEncoding against what real Keras 3.15.1 computes and writes
(fixtures/keras3/encoding_cases.npz, recorded on Keras's PyTorch backend by
tools/lookup_case_fixtures.py); these tests never import Keras."""

import numpy as np
import pytest
from preprocessing_case_support import CaseFamily

import modelio
from modelio import layers
from modelio.errors import ConfigError, ModelioError, UnsupportedError

FAMILY = CaseFamily("encoding")
CASE_IDS = FAMILY.ids()


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_layer_matches_keras_output_and_config(case_id):
    case = FAMILY.cases[case_id]
    layer = FAMILY.layer(case)
    output = layer(FAMILY.call_input(case))
    expected = FAMILY.value(case, "output")
    assert output.dtype == expected.dtype
    np.testing.assert_array_equal(output, expected)
    assert layer.get_config() == case["keras_config"]


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_output_shape_rule_matches_keras(case_id):
    case = FAMILY.cases[case_id]
    layer = FAMILY.layer(case)
    for shape, expected in zip(case["symbolic"], case["output_shapes"]):
        assert list(layer.compute_output_shape(tuple(shape))) == expected


def test_functional_model_with_encoding_layers_runs_symbolically_and_eagerly():
    values = modelio.Input((4,))
    ids = modelio.Input((4,), dtype="int32")
    buckets = layers.Discretization(bin_boundaries=[0.0, 1.0], output_mode="count")(values)
    encoded = layers.CategoryEncoding(num_tokens=3, output_mode="count")(ids)
    model = modelio.Model([values, ids], [buckets, encoded])
    assert [tensor.shape for tensor in model.outputs] == [(None, 3), (None, 3)]
    out = model.predict([np.array([[-1.0, 0.0, 0.5, 2.0]], "float32"),
                         np.array([[0, 2, 2, 1]], "int32")])
    np.testing.assert_array_equal(out[0], [[1, 2, 1]])
    np.testing.assert_array_equal(out[1], [[1, 1, 2]])


def test_category_encoding_count_weights_weigh_each_id():
    layer = layers.CategoryEncoding(num_tokens=3, output_mode="count")
    out = layer(np.array([[0, 2, 2]]), count_weights=np.array([[0.5, 1.0, 2.0]]))
    np.testing.assert_allclose(out, [[0.5, 0.0, 3.0]])


def test_ids_outside_the_range_add_nothing():
    out = layers.CategoryEncoding(num_tokens=3)(np.array([[0, 7, -1]]))
    np.testing.assert_array_equal(out, [[1, 0, 0]])


@pytest.mark.parametrize("kwargs, error", [
    ({"num_tokens": None}, ConfigError),
    ({"num_tokens": 0}, ConfigError),
    ({"num_tokens": 3, "output_mode": "tf_idf"}, ConfigError),
    ({"num_tokens": 3, "sparse": True}, UnsupportedError),
])
def test_category_encoding_refuses_bad_configs(kwargs, error):
    with pytest.raises(error, match="CategoryEncoding"):
        layers.CategoryEncoding(**kwargs)


@pytest.mark.parametrize("kwargs, error", [
    ({}, ConfigError),
    ({"bin_boundaries": [1.0, 0.0]}, ConfigError),
    ({"bin_boundaries": ["a"]}, ConfigError),
    ({"bin_boundaries": [0.0], "output_mode": "bogus"}, ConfigError),
    ({"bin_boundaries": [0.0], "output_mode": "count", "sparse": True}, UnsupportedError),
])
def test_discretization_refuses_bad_configs(kwargs, error):
    with pytest.raises(error, match="Discretization"):
        layers.Discretization(**kwargs)


def test_discretization_with_only_num_bins_refuses_to_compute():
    layer = layers.Discretization(num_bins=3)
    with pytest.raises(ModelioError, match="never adapted"):
        layer(np.zeros((1, 2), "float32"))


def test_wrong_input_dtypes_are_refused():
    with pytest.raises(ConfigError, match="Discretization"):
        layers.Discretization(bin_boundaries=[0.0])(np.array([["a"]]))
    with pytest.raises(ConfigError, match="CategoryEncoding"):
        layers.CategoryEncoding(num_tokens=3)(np.array([[0.5]], "float32"))


def test_multi_hot_of_rank_3_inputs_is_refused():
    with pytest.raises(ModelioError, match="rank 2 at most"):
        layers.CategoryEncoding(num_tokens=3)(np.zeros((1, 2, 2), "int32"))
