"""Whole models built with real Keras from the layer catalog compute what Keras computed."""

import numpy as np
import pytest
from fixture_models import (
    fixture_arrays,
    load_fixture_model,
    predict_as_list,
    recorded_inputs,
    recorded_outputs,
)

import modelio

CATALOG = ["small_resnet", "small_mobilenet", "text_rnn", "transformer_block"]


@pytest.mark.parametrize("dialect", ["keras3", "keras2"])
@pytest.mark.parametrize("name", CATALOG)
def test_catalog_model_matches_keras_end_to_end(dialect, name):
    arrays = fixture_arrays(dialect, name)
    model = load_fixture_model(dialect, name)
    for got, want in zip(predict_as_list(model, recorded_inputs(arrays)), recorded_outputs(arrays)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dialect", ["keras3", "keras2"])
@pytest.mark.parametrize("name", CATALOG)
def test_catalog_model_round_trips_through_json_and_yaml(dialect, name):
    arrays = fixture_arrays(dialect, name)
    model = load_fixture_model(dialect, name)
    inputs = recorded_inputs(arrays)
    reference = predict_as_list(model, inputs)
    for rebuilt in (modelio.model_from_json(model.to_json()),
                    modelio.model_from_yaml(model.to_yaml())):
        assert rebuilt.get_config() == model.get_config()
        rebuilt.set_weights(model.get_weights())
        for got, want in zip(predict_as_list(rebuilt, inputs), reference):
            np.testing.assert_array_equal(got, want)
