"""Numpy activations versus outputs recorded from real Keras 3 and tf-keras.

The reference archives are produced by ``tools/activation_fixtures.py``; these
tests only read them with numpy and never import Keras.
"""

import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from modelio.kernels import activations

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
TABLES = {"keras3": activations.KERAS3_ACTIVATIONS, "keras2": activations.KERAS2_ACTIVATIONS}
# Resolved by Keras 3 but unusable as f(x): it has two required arguments.
KERAS3_NOT_UNARY = {"threshold"}


def load_fixture(dialect: str) -> dict[str, np.ndarray]:
    """Read ``fixtures/<dialect>/activations.npz`` into a plain dict."""
    with np.load(FIXTURES / dialect / "activations.npz", allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def activation_names(dialect: str) -> list[str]:
    """Names of the activations recorded in a fixture (no input or metadata keys)."""
    return sorted(k for k in load_fixture(dialect) if k != "input" and not k.startswith("_"))


def output_at(fixture: dict[str, np.ndarray], name: str, x_value: float) -> float:
    """Recorded output of activation ``name`` at the input element equal to ``x_value``."""
    (index,) = np.flatnonzero(fixture["input"] == np.float32(x_value))
    return float(fixture[name].ravel()[index])


@pytest.mark.parametrize("name", activation_names("keras3"))
def test_keras3_activation_matches_keras_output(name: str) -> None:
    fixture = load_fixture("keras3")
    actual = activations.KERAS3_ACTIVATIONS[name](fixture["input"])
    np.testing.assert_allclose(actual, fixture[name], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", activation_names("keras2"))
def test_keras2_activation_matches_tf_keras_output(name: str) -> None:
    fixture = load_fixture("keras2")
    actual = activations.KERAS2_ACTIVATIONS[name](fixture["input"])
    np.testing.assert_allclose(actual, fixture[name], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dialect", sorted(TABLES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_preserve_input_dtype(dialect: str, dtype: type) -> None:
    x = load_fixture(dialect)["input"].astype(dtype)
    for name, fn in TABLES[dialect].items():
        assert fn(x).dtype == dtype, name


def test_integer_input_is_computed_as_float32() -> None:
    assert activations.sigmoid(np.array([[0, 1]])).dtype == np.float32


def test_hard_sigmoid_slope_differs_between_keras2_and_keras3() -> None:
    keras2 = load_fixture("keras2")
    keras3 = load_fixture("keras3")
    assert output_at(keras2, "hard_sigmoid", 1.0) == pytest.approx(0.7, abs=1e-6)
    assert output_at(keras3, "hard_sigmoid", 1.0) == pytest.approx(2 / 3, abs=1e-6)
    one = np.array([[1.0]], np.float32)
    assert activations.KERAS2_ACTIVATIONS["hard_sigmoid"](one)[0, 0] == pytest.approx(0.7)
    assert activations.KERAS3_ACTIVATIONS["hard_sigmoid"](one)[0, 0] == pytest.approx(2 / 3)


@pytest.mark.parametrize("dialect", sorted(TABLES))
def test_every_name_keras_resolves_is_in_the_table(dialect: str) -> None:
    fixture = load_fixture(dialect)
    resolved = set(fixture["_resolved_names"].tolist())
    not_unary = set(fixture["_not_unary"].tolist())
    expected_not_unary = KERAS3_NOT_UNARY if dialect == "keras3" else set()
    assert not_unary == expected_not_unary
    assert set(activation_names(dialect)) <= set(TABLES[dialect])
    assert resolved - not_unary == set(TABLES[dialect])


def test_threshold_needs_its_two_arguments() -> None:
    x = np.array([-1.0, 0.5, 2.0], np.float32)
    np.testing.assert_array_equal(activations.threshold(x, 0.5, -7.0), [-7.0, -7.0, 2.0])
    with pytest.raises(TypeError):
        activations.threshold(x)


@pytest.mark.parametrize("dialect", sorted(TABLES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_inputs_raise_no_floating_point_warnings(dialect: str, dtype: type) -> None:
    x = np.concatenate([np.linspace(-100, 100, 402), [-1e4, 1e4]]).astype(dtype).reshape(2, -1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name, fn in TABLES[dialect].items():
            y = fn(x)
            if name != "exponential":  # exp overflows to inf, as in Keras
                assert np.all(np.isfinite(y)), name


def test_erf_matches_math_erf_on_dense_grid() -> None:
    grid = np.concatenate([np.linspace(-8, 8, 160_001), [-30.0, 30.0, 0.0, 1e-300, -1e-300]])
    expected = np.array([math.erf(v) for v in grid])
    np.testing.assert_allclose(activations.erf(grid), expected, rtol=0, atol=1e-13)


def test_erf_handles_infinities_nan_and_float32() -> None:
    result = activations.erf(np.array([-np.inf, np.inf, np.nan], np.float32))
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, [-1.0, 1.0, np.nan])


def test_keras2_softmax_rejects_rank1_but_keras3_accepts_it() -> None:
    x = np.array([1.0, 2.0, 3.0], np.float32)
    with pytest.raises(ValueError):
        activations.KERAS2_ACTIVATIONS["softmax"](x)
    assert activations.KERAS3_ACTIVATIONS["softmax"](x).sum() == pytest.approx(1.0)


def test_softmax_over_several_axes_normalises_them_jointly() -> None:
    x = np.arange(12, dtype=np.float32).reshape(2, 2, 3)
    y = activations.softmax(x, axis=(1, 2))
    np.testing.assert_allclose(y.sum(axis=(1, 2)), [1.0, 1.0], rtol=1e-6)


def test_relu_options_match_keras_documented_examples() -> None:
    x = np.array([-10, -5, 0.0, 5, 10], np.float32)
    np.testing.assert_array_equal(activations.relu(x, negative_slope=0.5), [-5, -2.5, 0, 5, 10])
    np.testing.assert_array_equal(activations.relu(x, max_value=5.0), [0, 0, 0, 5, 5])
    np.testing.assert_array_equal(activations.relu(x, threshold=5.0), [0, 0, 0, 0, 10])
    np.testing.assert_array_equal(activations.relu_keras2(x, alpha=0.5), [-5, -2.5, 0, 5, 10])


def test_gelu_approximation_matches_keras_documented_values() -> None:
    x = np.array([-3.0, -1.0, 0.0, 1.0, 3.0], np.float32)
    expected = [-0.00363752, -0.15880796, 0.0, 0.841192, 2.9963627]
    np.testing.assert_allclose(activations.gelu(x, approximate=True), expected, atol=1e-6)
