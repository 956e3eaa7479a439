"""MelSpectrogram and STFTSpectrogram against what real Keras 3.15.1 computes and writes
(fixtures/keras3/audio_cases.npz, recorded on Keras's PyTorch backend by
tools/lookup_case_fixtures.py); these tests never import Keras."""

import numpy as np
import pytest
from preprocessing_case_support import CaseFamily

from modelio import layers
from modelio.errors import ConfigError, ModelioError, UnsupportedError

FAMILY = CaseFamily("audio")
CASE_IDS = FAMILY.ids()
STFT_IDS = FAMILY.ids(lambda case: case["class_name"] == "STFTSpectrogram")
# Keras computes in float32 (PyTorch's FFT / convolution); modelio in float64, cast at the end.
TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_layer_matches_keras_output_and_config(case_id):
    case = FAMILY.cases[case_id]
    layer = FAMILY.layer(case)  # STFTSpectrogram: with the kernels Keras saved
    output = layer(FAMILY.call_input(case))
    expected = FAMILY.value(case, "output")
    assert output.dtype == expected.dtype and output.shape == expected.shape
    np.testing.assert_allclose(output, expected, **TOLERANCE)
    assert layer.get_config() == case["keras_config"]


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_output_shape_rule_matches_keras(case_id):
    case = FAMILY.cases[case_id]
    layer = FAMILY.layer(case)
    for shape, expected in zip(case["symbolic"], case["output_shapes"]):
        assert list(layer.compute_output_shape(tuple(shape))) == expected


@pytest.mark.parametrize("case_id", STFT_IDS)
def test_fresh_stft_kernels_are_kerass_initializer(case_id):
    case = FAMILY.cases[case_id]
    layer = layers.STFTSpectrogram.from_config(dict(case["keras_config"]))
    layer._maybe_build(FAMILY.inputs(case)[0].shape)
    for index, weight in enumerate(layer.weights):
        np.testing.assert_allclose(weight.value, FAMILY.value(case, f"weight:{index}"),
                                   atol=2e-6)


def test_fresh_stft_layer_output_matches_keras_within_kernel_rounding():
    case = FAMILY.cases["stft_magnitude_same"]
    layer = layers.STFTSpectrogram.from_config(dict(case["keras_config"]))
    np.testing.assert_allclose(layer(FAMILY.call_input(case)), FAMILY.value(case, "output"),
                               **TOLERANCE)


def test_stft_with_a_window_modelio_cannot_compute_needs_saved_kernels():
    layer = layers.STFTSpectrogram(frame_length=8, window="blackman")
    signal = np.zeros((1, 16, 1), "float32")
    with pytest.raises(ModelioError, match="saved file"):
        layer(signal)
    for weight in layer.weights:
        weight.assign(np.ones(weight.shape))
    assert layer(signal).shape == (1, 3, 5)


@pytest.mark.parametrize("cls, kwargs, error", [
    ("MelSpectrogram", {"fft_length": 16, "sequence_length": 32}, ConfigError),
    ("MelSpectrogram", {"window": "blackman"}, UnsupportedError),
    ("MelSpectrogram", {"num_mel_bins": 0}, ConfigError),
    ("STFTSpectrogram", {"mode": "bogus"}, ConfigError),
    ("STFTSpectrogram", {"frame_length": 8, "frame_step": 9}, ConfigError),
    ("STFTSpectrogram", {"frame_length": 8, "fft_length": 4}, ConfigError),
    ("STFTSpectrogram", {"padding": "causal"}, ConfigError),
    ("STFTSpectrogram", {"scaling": "power"}, ConfigError),
])
def test_bad_configs_are_refused_naming_the_class(cls, kwargs, error):
    with pytest.raises(error, match=cls):
        getattr(layers, cls)(**kwargs)


def test_wrong_inputs_are_refused():
    with pytest.raises(ConfigError, match="float"):
        layers.MelSpectrogram(fft_length=8, sequence_stride=4)(np.zeros((1, 32), "int32"))
    with pytest.raises(ModelioError, match="rank 3"):
        layers.STFTSpectrogram(frame_length=8)(np.zeros((1, 32), "float32"))
