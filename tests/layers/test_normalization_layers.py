"""Normalization layers against what real Keras 3.15.1 (torch backend) and tf-keras 2.21 compute,
build and write.

Reference values come from fixtures/keras3/normalization_cases.npz and
fixtures/keras2/normalization_configs.json, written by tools/normalization_case_fixtures.py in
environments with Keras; these tests never import Keras.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from case_archive import assert_matches_keras_output, load_case_archive, read_case_array

import modelio
from modelio import layers
from modelio.graph import keras2_semantics

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}
FLOAT16_TOLERANCE = {"rtol": 1e-2, "atol": 2e-2}


BUFFERS, DOCUMENT = load_case_archive(FIXTURES / "keras3" / "normalization_cases.npz")
CASES = {case["id"]: case for case in DOCUMENT["cases"]}
KERAS2_DOCUMENT = json.loads((FIXTURES / "keras2" / "normalization_configs.json").read_text())
KERAS2_CASES = {case["id"]: case for case in KERAS2_DOCUMENT["cases"]}

CASE_IDS = list(CASES)
OUTPUT_CASE_IDS = [case_id for case_id, case in CASES.items() if "output" in case["arrays"]]
SYMBOLIC_CASES = [(case_id, index) for case_id, case in CASES.items()
                  for index in range(len(case["symbolic"]))]
CLASS_NAMES = sorted({case["class_name"] for case in CASES.values()})
KERAS2_OUTPUT_IDS = [case_id for case_id, case in KERAS2_CASES.items() if "output" in case]


def case_array(case: dict, key: str) -> np.ndarray:
    return read_case_array(BUFFERS, case, key)


def case_weights(case: dict) -> list:
    count = sum(key.startswith("weight:") for key in case["arrays"])
    return [case_array(case, f"weight:{index}") for index in range(count)]


def call_kwargs(case: dict) -> dict:
    kwargs = dict(case["call"])
    if "mask" in case["arrays"]:
        kwargs["mask"] = case_array(case, "mask")
    return kwargs


def make_layer(case: dict, **overrides):
    return getattr(layers, case["class_name"])(**{**case["kwargs"], **overrides})


def build(layer, x: np.ndarray):
    """Build `layer` for inputs like `x` (a symbolic call: an unadapted Normalization would
    refuse an eager one)."""
    layer(modelio.Input(batch_shape=x.shape, dtype=x.dtype.name))
    return layer


def run_eager(case: dict, layer, x: np.ndarray | None = None):
    """Build `layer` on the case's input, give it Keras's weights, return its eager output."""
    x = case_array(case, "input") if x is None else x
    build(layer, x)
    weights = case_weights(case)
    assert len(layer.weights) == len(weights)
    if weights:
        layer.set_weights(weights)
    return layer(x, **call_kwargs(case))


def tolerance(case: dict) -> dict:
    return FLOAT16_TOLERANCE if case["output_dtype"] == "float16" else TOLERANCE


def as_json(value):
    return json.loads(json.dumps(value))


def keras2_layer(case: dict, keras2: bool = True):
    cls = getattr(layers, case["class_name"])
    if keras2:
        with keras2_semantics():
            return cls.from_config(dict(case["config"]))
    return cls.from_config(dict(case["config"]))


def keras2_weights(case: dict) -> list:
    return [np.array(w["values"], dtype=w["dtype"]).reshape(w["shape"]) for w in case["weights"]]


def keras2_output(case: dict, layer):
    x = np.array(case["input"], dtype=case["dtype"])
    build(layer, x)
    layer.set_weights(keras2_weights(case))
    kwargs = {**case["call"]}
    if "mask" in case:
        kwargs["mask"] = np.array(case["mask"], dtype=bool)
    return layer(x, **kwargs)


def test_fixtures_were_recorded_with_keras_3_15_1_torch_and_tf_keras_2_21():
    assert DOCUMENT["keras_version"] == "3.15.1"
    assert DOCUMENT["backend"] == "torch"
    assert KERAS2_DOCUMENT["tf_keras_version"].startswith("2.21")


# ----- 1. values, shapes, weights ----------------------------------------------------------------

@pytest.mark.parametrize("case_id", OUTPUT_CASE_IDS)
def test_eager_output_matches_keras_for_the_same_config_weights_and_input(case_id):
    case = CASES[case_id]
    expected = case_array(case, "output")
    output = run_eager(case, make_layer(case))
    assert_matches_keras_output(output, expected, case, **tolerance(case))


@pytest.mark.parametrize("case_id,index", SYMBOLIC_CASES)
def test_symbolic_output_shape_matches_keras_compute_output_shape(case_id, index):
    case = CASES[case_id]
    shape = tuple(case["symbolic"][index])
    output = make_layer(case)(modelio.Input(batch_shape=shape, dtype=case["dtype"]))
    assert isinstance(output, modelio.SymbolicTensor)
    assert output.shape == tuple(case["output_shapes"][index])
    assert make_layer(case).compute_output_shape(shape) == tuple(case["output_shapes"][index])


@pytest.mark.parametrize("case_id", [case_id for case_id in OUTPUT_CASE_IDS
                                     if "mask" not in CASES[case_id]["arrays"]])
def test_layer_inside_a_functional_model_predicts_what_keras_computed(case_id):
    case = CASES[case_id]
    x = case_array(case, "input")
    tensor = modelio.Input(shape=x.shape[1:], dtype=case["dtype"])
    layer = make_layer(case)
    model = modelio.Model(tensor, layer(tensor, **case["call"]))
    weights = case_weights(case)
    if weights:
        layer.set_weights(weights)
    np.testing.assert_allclose(model.predict(x), case_array(case, "output"), **tolerance(case))


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_weights_have_keras_names_order_and_trainability(case_id):
    case = CASES[case_id]
    layer = build(make_layer(case), case_array(case, "input"))
    assert [weight.name for weight in layer.weights] == case["weight_names"]
    assert [weight.trainable for weight in layer.weights] == case["weight_trainable"]
    assert [weight.shape for weight in layer.weights] == [
        tuple(case["arrays"][f"weight:{i}"]["shape"]) for i in range(len(layer.weights))]
    assert [weight.path for weight in layer.weights] == [
        f"{layer.name}/{name}" for name in case["weight_names"]]


@pytest.mark.parametrize("class_name", CLASS_NAMES)
def test_supports_masking_is_set_as_keras_sets_it(class_name):
    case = next(case for case in CASES.values() if case["class_name"] == class_name)
    assert getattr(make_layer(case), "supports_masking", False) is case["supports_masking"]


def test_batch_normalization_computes_gamma_times_normalized_plus_beta():
    case = CASES["bn_channels_first_axis_1"]
    x = case_array(case, "input").astype(np.float64)
    gamma, beta, mean, variance = (w.reshape(1, -1, 1, 1) for w in case_weights(case))
    expected = gamma * (x - mean) / np.sqrt(variance + 1e-3) + beta
    output = run_eager(case, make_layer(case))
    np.testing.assert_allclose(output, expected, **TOLERANCE)
    np.testing.assert_allclose(case_array(case, "output"), expected, **TOLERANCE)


def test_batch_normalization_training_true_normalizes_with_batch_statistics():
    case = CASES["bn_training_true_uses_batch_statistics"]
    output = run_eager(case, make_layer(case))
    gamma, beta = case_weights(case)[:2]
    normalized = (output - beta) / gamma
    np.testing.assert_allclose(normalized.mean(axis=(0, 1)), 0.0, atol=1e-5)
    inference = make_layer(case)
    assert not np.allclose(run_eager({**case, "call": {}}, inference), output)


def test_batch_normalization_training_true_on_a_frozen_layer_uses_moving_statistics():
    case = CASES["bn_training_true_uses_batch_statistics"]
    frozen = run_eager(case, make_layer(case, trainable=False))
    inference = run_eager({**case, "call": {}}, make_layer(case))
    np.testing.assert_array_equal(frozen, inference)


def test_batch_normalization_leaves_moving_statistics_unchanged_when_training():
    case = CASES["bn_training_true_uses_batch_statistics"]
    layer = make_layer(case)
    run_eager(case, layer)
    for weight, expected in zip(layer.get_weights(), case_weights(case)):
        np.testing.assert_array_equal(weight, expected)


def test_batch_normalization_with_a_mask_of_the_wrong_rank_raises_modelio_error():
    case = CASES["bn_rank3_axis_last"]
    layer = make_layer(case)
    x = case_array(case, "input")
    with pytest.raises(modelio.ModelioError, match="mask"):
        layer(x, mask=np.ones(x.shape, bool))


def test_layer_normalization_rms_scaling_has_gamma_but_no_beta_and_keeps_the_mean():
    case = CASES["ln_rms_scaling"]
    x = case_array(case, "input").astype(np.float64)
    (gamma,) = case_weights(case)
    expected = x / np.sqrt(x.var(axis=-1, keepdims=True) + 1e-3) * gamma
    np.testing.assert_allclose(run_eager(case, make_layer(case)), expected, **TOLERANCE)
    assert case["weight_names"] == ["gamma"]
    assert CASES["ln_rms_scaling_scale_false"]["weight_names"] == ["gamma"]


@pytest.mark.parametrize("keras3_id,keras2_id", [
    ("ln_axis_1_rank3", "k2_ln_axis_1_rank3"), ("ln_axes_1_2_rank4", "k2_ln_axes_1_2_rank4")])
def test_layer_normalization_over_non_trailing_axes_matches_tf_keras(keras3_id, keras2_id):
    # Keras 3.15's torch backend gets these wrong (it hands them to F.layer_norm, which
    # normalizes the trailing axes); tf-keras and Keras 3's other backends share this formula.
    keras3, keras2 = CASES[keras3_id], KERAS2_CASES[keras2_id]
    layer = layers.LayerNormalization.from_config(dict(keras3["keras_config"]))
    output = keras2_output(keras2, layer)
    np.testing.assert_allclose(output, np.array(keras2["output"], np.float32), **TOLERANCE)
    x = np.array(keras2["input"], np.float64)
    axes = tuple(layer.axis)
    shape = [size if axis in axes else 1 for axis, size in enumerate(x.shape)]
    gamma, beta = (weight.reshape(shape) for weight in keras2_weights(keras2))
    normalized = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(
        x.var(axis=axes, keepdims=True) + 1e-3)
    np.testing.assert_allclose(output, normalized * gamma + beta, **TOLERANCE)


def test_layer_normalization_with_mixed_sign_axes_reshapes_weights_like_keras():
    case = CASES["ln_mixed_sign_axes"]
    gamma = case_weights(case)[0]
    assert gamma.shape == (3, 4)  # sizes of the sorted axes [-1, 1]: (channels, steps)
    np.testing.assert_allclose(run_eager(case, make_layer(case)), case_array(case, "output"),
                               **TOLERANCE)


def test_group_normalization_with_one_group_per_channel_is_instance_normalization():
    case = CASES["gn_groups_channels"]
    x = case_array(case, "input").astype(np.float64)
    gamma, beta = case_weights(case)
    expected = (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(run_eager(case, make_layer(case)), expected * gamma + beta,
                               **TOLERANCE)


def test_group_normalization_groups_minus_one_is_written_as_the_channel_count_once_built():
    layer = layers.GroupNormalization(groups=-1)
    assert layer.get_config()["groups"] == -1
    layer(np.ones((1, 2, 6), np.float32))
    assert layer.get_config()["groups"] == 6


def test_unit_normalization_leaves_a_zero_vector_at_zero():
    case = CASES["un_rank2"]
    output = run_eager(case, make_layer(case))
    assert (output[0] == 0).all()
    np.testing.assert_allclose(np.linalg.norm(output[1:], axis=-1), 1.0, **TOLERANCE)


def test_normalization_adapt_gives_the_statistics_keras_adapt_gives():
    case = CASES["norm_adapted_axis_last"]
    layer = make_layer(case)
    layer.adapt(case_array(case, "adapt_data"))
    mean, variance, count = layer.get_weights()
    keras_mean, keras_variance, keras_count = case_weights(case)
    np.testing.assert_allclose(mean, keras_mean, **TOLERANCE)
    np.testing.assert_allclose(variance, keras_variance, **TOLERANCE)
    assert count == keras_count
    assert layer.get_build_config() == case["build_config"]
    np.testing.assert_allclose(layer(case_array(case, "input")), case_array(case, "output"),
                               **TOLERANCE)


def test_normalization_never_adapted_refuses_to_compute():
    layer = layers.Normalization(name="raw")
    with pytest.raises(modelio.ModelioError, match="raw.*adapt"):
        layer(np.ones((2, 3), np.float32))
    x = modelio.Input((3,))
    model = modelio.Model(x, layers.Normalization()(x))
    with pytest.raises(modelio.ModelioError, match="adapt"):
        model.predict(np.ones((2, 3), np.float32))


def test_normalization_computes_once_its_weights_are_assigned_through_the_model():
    x = modelio.Input((3,))
    model = modelio.Model(x, layers.Normalization()(x))
    model.set_weights([np.array([1.0, 2.0, 3.0]), np.array([4.0, 4.0, 1.0]), np.array(5)])
    np.testing.assert_allclose(model.predict(np.array([[3.0, 2.0, 1.0]], np.float32)),
                               [[1.0, 0.0, -2.0]], **TOLERANCE)


def test_normalization_adapt_cannot_overwrite_statistics_given_as_arguments():
    layer = layers.Normalization(mean=1.0, variance=1.0)
    with pytest.raises(modelio.ConfigError, match="adapt"):
        layer.adapt(np.ones((2, 3), np.float32))


# ----- 2. configs ----------------------------------------------------------------------------------

@pytest.mark.parametrize("case_id", CASE_IDS)
def test_config_matches_what_keras_get_config_returns(case_id):
    case = CASES[case_id]
    assert as_json(make_layer(case).get_config()) == case["keras_config"]


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_config_of_a_built_layer_matches_keras_and_so_does_its_build_config(case_id):
    case = CASES[case_id]
    layer = make_layer(case)
    if "adapt_data" in case["arrays"]:
        layer.adapt(case_array(case, "adapt_data"))
    else:
        layer(modelio.Input(batch_shape=tuple(case["input_shape"]), dtype=case["dtype"]))
    assert as_json(layer.get_config()) == case["built_config"]
    assert as_json(layer.get_build_config()) == case["build_config"]


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_config_round_trips_through_from_config(case_id):
    layer = make_layer(CASES[case_id])
    config = layer.get_config()
    rebuilt = type(layer).from_config(config)
    assert rebuilt.get_config() == config
    assert as_json(rebuilt.get_config()) == as_json(config)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_config_written_by_keras_loads_and_is_written_back_unchanged(case_id):
    case = CASES[case_id]
    for key in ("keras_config", "built_config"):
        layer = getattr(layers, case["class_name"]).from_config(dict(case[key]))
        assert as_json(layer.get_config()) == case[key]


@pytest.mark.parametrize("case_id", OUTPUT_CASE_IDS)
def test_layer_loaded_from_the_built_keras_config_computes_the_same(case_id):
    case = CASES[case_id]
    layer = getattr(layers, case["class_name"]).from_config(dict(case["built_config"]))
    np.testing.assert_allclose(run_eager(case, layer), case_array(case, "output"),
                               **tolerance(case))


def test_config_survives_serialization_into_a_model_config():
    x = modelio.Input((5, 4))
    y = layers.BatchNormalization(axis=1, renorm=True)(x)
    y = layers.LayerNormalization(axis=[1, 2], rms_scaling=True)(y)
    y = layers.GroupNormalization(groups=-1)(y)
    y = layers.UnitNormalization(axis=[1, 2])(y)
    y = layers.RMSNormalization()(y)
    y = layers.Normalization(axis=None, mean=1.0, variance=2.0, invert=True)(y)
    y = layers.Normalization(axis=(1, 2))(y)
    model = modelio.Model(x, y)
    rebuilt = modelio.model_from_json(model.to_json())
    assert rebuilt.get_config() == model.get_config()
    assert [w.shape for w in rebuilt.weights] == [w.shape for w in model.weights]


# ----- 3. Keras 2 (tf-keras 2.21) configs -----------------------------------------------------------

@pytest.mark.parametrize("case_id", KERAS2_OUTPUT_IDS)
def test_keras2_config_loads_and_computes_what_tf_keras_computed(case_id):
    case = KERAS2_CASES[case_id]
    layer = keras2_layer(case)
    output = keras2_output(case, layer)
    assert [weight.name for weight in layer.weights] == case["weight_names"]
    assert output.dtype == np.dtype(case["output_dtype"])
    np.testing.assert_allclose(output, np.array(case["output"], np.float32), **TOLERANCE)


@pytest.mark.parametrize("case_id", [case_id for case_id in KERAS2_OUTPUT_IDS
                                     if case_id.startswith(("k2_bn", "k2_ln", "k2_norm"))])
def test_keras2_batch_and_layer_normalization_mean_the_same_outside_keras2_semantics(case_id):
    case = KERAS2_CASES[case_id]
    output = keras2_output(case, keras2_layer(case, keras2=False))
    np.testing.assert_allclose(output, np.array(case["output"], np.float32), **TOLERANCE)


@pytest.mark.parametrize("case_id,axis", [
    ("k2_bn_rank4", 3), ("k2_bn_rank3", 2), ("k2_bn_rank2", 1), ("k2_bn_channels_first", 1)])
def test_keras2_batch_normalization_axis_list_is_written_back_as_a_keras3_int(case_id, axis):
    case = KERAS2_CASES[case_id]
    assert case["config"]["axis"] == [axis]
    config = keras2_layer(case).get_config()
    assert config["axis"] == axis
    assert config["synchronized"] is False and config["renorm"] is False
    assert config["renorm_clipping"] is None and config["renorm_momentum"] == 0.99
    assert as_json(config["dtype"]) == CASES["bn_rank2_defaults"]["keras_config"]["dtype"]


def test_keras2_multi_axis_batch_normalization_keeps_full_rank_weights():
    case = KERAS2_CASES["k2_bn_axes_1_2"]
    layer = build(keras2_layer(case), np.array(case["input"], np.float32))
    assert [weight.shape for weight in layer.weights] == [(1, 3, 5, 1)] * 4
    assert layer.get_config()["axis"] == [1, 2]


@pytest.mark.parametrize("case_id,axis", [("k2_ln_rank3", [2]), ("k2_ln_axes_1_2_rank4", [1, 2])])
def test_keras2_layer_normalization_axis_list_loads_with_rms_scaling_off(case_id, axis):
    config = keras2_layer(KERAS2_CASES[case_id]).get_config()
    assert config["axis"] == axis
    assert config["rms_scaling"] is False


def test_keras2_batch_normalization_renorm_config_loads_with_its_extra_weights():
    case = KERAS2_CASES["k2_bn_renorm_unfused"]
    assert case["config"]["renorm_clipping"] == {"rmax": 3.0}
    layer = keras2_layer(case)
    assert layer.get_config()["renorm_clipping"] == {"rmax": 3.0}
    keras2_output(case, layer)
    assert [weight.name for weight in layer.weights] == case["weight_names"]


def test_keras2_batch_normalization_virtual_batch_size_is_refused_naming_the_argument():
    case = KERAS2_CASES["k2_bn_virtual_batch_size"]
    with pytest.raises(modelio.UnsupportedError, match="virtual_batch_size") as info:
        keras2_layer(case)
    assert case["config"]["name"] in str(info.value)


def test_keras2_batch_normalization_adjustment_is_refused_naming_the_argument():
    config = {**KERAS2_CASES["k2_bn_rank4"]["config"], "adjustment": "some_function"}
    with pytest.raises(modelio.UnsupportedError, match="adjustment"):
        layers.BatchNormalization.from_config(config)


@pytest.mark.parametrize("fused", [None, True, False])
def test_keras2_batch_normalization_fused_is_accepted_and_dropped(fused):
    config = {**KERAS2_CASES["k2_bn_rank4"]["config"], "fused": fused,
              "virtual_batch_size": None, "adjustment": None}
    written = layers.BatchNormalization.from_config(config).get_config()
    assert not {"fused", "virtual_batch_size", "adjustment"} & set(written)


def test_keras2_group_normalization_mask_only_counts_unmasked_positions():
    case = KERAS2_CASES["k2_gn_masked"]
    masked = keras2_output(case, keras2_layer(case))
    np.testing.assert_allclose(masked, np.array(case["output"], np.float32), **TOLERANCE)
    # A Keras 3 layer ignores the mask, as Keras 3 does.
    keras3 = keras2_output(case, keras2_layer(case, keras2=False))
    without_mask = {key: value for key, value in case.items() if key != "mask"}
    unmasked = keras2_output(without_mask, keras2_layer(case, keras2=False))
    np.testing.assert_array_equal(keras3, unmasked)
    assert not np.allclose(keras3, masked, atol=1e-3)


def test_keras2_unit_normalization_floors_the_squared_norm_at_1e_minus_12():
    case = KERAS2_CASES["k2_un_tiny_vector"]
    keras2 = keras2_output(case, keras2_layer(case))
    np.testing.assert_allclose(keras2, np.array(case["output"], np.float32), rtol=1e-4,
                               atol=1e-12)
    keras3 = keras2_output(case, keras2_layer(case, keras2=False))
    np.testing.assert_allclose(np.linalg.norm(keras3[0]), 1.0, rtol=1e-4)
    assert np.linalg.norm(keras2[0]) < 0.1


def test_keras2_normalization_config_and_weights_load():
    case = KERAS2_CASES["k2_norm_weights"]
    layer = keras2_layer(case)
    assert layer.get_config()["axis"] == [-1]
    keras2_output(case, layer)
    assert layer.count.value.dtype == np.int32  # Keras 3's dtype; tf-keras wrote int64


@pytest.mark.parametrize("document", [DOCUMENT, KERAS2_DOCUMENT], ids=["keras3", "keras2"])
def test_model_json_chaining_every_normalization_layer_predicts_what_keras_predicted(document):
    recorded = document["model"]
    model = modelio.model_from_json(recorded["json"])
    for name, weights in recorded["weights"].items():
        model.get_layer(name).set_weights(
            [np.array(w["values"], dtype=w["dtype"]).reshape(w["shape"]) for w in weights])
    x = np.array(recorded["input"], np.float32)
    prediction = model.predict(x)
    if isinstance(prediction, list):  # Keras 2 writes a single output as a list of one
        (prediction,) = prediction
    np.testing.assert_allclose(prediction, np.array(recorded["output"], np.float32), **TOLERANCE)
    rebuilt = modelio.model_from_json(model.to_json())
    assert rebuilt.get_config() == model.get_config()


# ----- 4. errors -----------------------------------------------------------------------------------

WRONG_ARGUMENTS = [
    ("BatchNormalization", {"axis": "1"}, "axis"),
    ("BatchNormalization", {"axis": 1.5}, "axis"),
    ("BatchNormalization", {"axis": []}, "axis"),
    ("BatchNormalization", {"momentum": "0.9"}, "momentum"),
    ("BatchNormalization", {"epsilon": None}, "epsilon"),
    ("BatchNormalization", {"epsilon": -1.0}, "epsilon"),
    ("BatchNormalization", {"center": 1}, "center"),
    ("BatchNormalization", {"scale": "yes"}, "scale"),
    ("BatchNormalization", {"gamma_initializer": 1.0}, "gamma_initializer"),
    ("BatchNormalization", {"moving_variance_initializer": 3}, "moving_variance_initializer"),
    ("BatchNormalization", {"beta_regularizer": 0.1}, "beta_regularizer"),
    ("BatchNormalization", {"gamma_constraint": 1}, "gamma_constraint"),
    ("BatchNormalization", {"synchronized": "no"}, "synchronized"),
    ("BatchNormalization", {"renorm": 1}, "renorm"),
    ("BatchNormalization", {"renorm": True, "renorm_clipping": {"rmax": 1.0, "rmin": 2.0}},
     "renorm_clipping"),
    ("BatchNormalization", {"renorm": True, "renorm_clipping": {"dmin": 1.0}},
     "renorm_clipping"),
    ("BatchNormalization", {"renorm": True, "renorm_clipping": {"dmax": -1.0}},
     "renorm_clipping"),
    ("BatchNormalization", {"renorm_clipping": [1.0]}, "renorm_clipping"),
    ("BatchNormalization", {"renorm_momentum": "x"}, "renorm_momentum"),
    ("BatchNormalization", {"fused": "yes"}, "fused"),
    ("LayerNormalization", {"axis": "last"}, "axis"),
    ("LayerNormalization", {"axis": [1, "2"]}, "axis"),
    ("LayerNormalization", {"epsilon": "1e-3"}, "epsilon"),
    ("LayerNormalization", {"center": None}, "center"),
    ("LayerNormalization", {"rms_scaling": "true"}, "rms_scaling"),
    ("LayerNormalization", {"beta_initializer": 0}, "beta_initializer"),
    ("GroupNormalization", {"groups": 0}, "groups"),
    ("GroupNormalization", {"groups": -2}, "groups"),
    ("GroupNormalization", {"groups": 2.0}, "groups"),
    ("GroupNormalization", {"axis": [1, 2]}, "axis"),
    ("GroupNormalization", {"scale": 0}, "scale"),
    ("UnitNormalization", {"axis": None}, "axis"),
    ("UnitNormalization", {"axis": [1.0]}, "axis"),
    ("RMSNormalization", {"axis": "x"}, "axis"),
    ("RMSNormalization", {"epsilon": [1e-6]}, "epsilon"),
    ("Normalization", {"axis": "x"}, "axis"),
    ("Normalization", {"invert": "no"}, "invert"),
    ("Normalization", {"mean": 1.0}, "variance"),
    ("Normalization", {"mean": [1.0, 2.0], "variance": [1.0]}, "variance"),
    ("Normalization", {"mean": "a", "variance": "b"}, "mean"),
    ("Normalization", {"mean": [[1.0]], "variance": [[1.0]], "axis": -1}, "mean"),
]


@pytest.mark.parametrize("class_name,kwargs,argument", WRONG_ARGUMENTS,
                         ids=[f"{c}-{a}-{i}" for i, (c, _, a) in enumerate(WRONG_ARGUMENTS)])
def test_bad_argument_raises_config_error_naming_layer_and_argument(class_name, kwargs, argument):
    with pytest.raises(modelio.ConfigError) as info:
        getattr(layers, class_name)(name="suspect_layer", **kwargs)
    assert "suspect_layer" in str(info.value)
    assert argument in str(info.value)


@pytest.mark.parametrize("class_name", CLASS_NAMES)
def test_unknown_constructor_argument_raises_unsupported_error_naming_layer_and_argument(
        class_name):
    with pytest.raises(modelio.UnsupportedError) as info:
        getattr(layers, class_name)(frobnicate=1)
    assert class_name in str(info.value)
    assert "frobnicate" in str(info.value)


@pytest.mark.parametrize("class_name", CLASS_NAMES)
def test_unknown_config_key_raises_unsupported_error_naming_layer_and_key(class_name):
    cls = getattr(layers, class_name)
    config = cls(name="odd").get_config()
    config["frobnicate"] = True
    with pytest.raises(modelio.UnsupportedError) as info:
        cls.from_config(config)
    assert "odd" in str(info.value)
    assert "frobnicate" in str(info.value)


@pytest.mark.parametrize("layer,shape", [
    (lambda: layers.BatchNormalization(axis=3), (4, 5)),
    (lambda: layers.BatchNormalization(axis=-4), (4, 5)),
    (lambda: layers.BatchNormalization(axis=0), (4, 5)),
    (lambda: layers.LayerNormalization(axis=[1, 3]), (4, 5)),
    (lambda: layers.LayerNormalization(axis=[1, -2]), (4, 5)),
    (lambda: layers.GroupNormalization(groups=3), (4, 5)),
    (lambda: layers.GroupNormalization(groups=8), (4, 5)),
    (lambda: layers.GroupNormalization(groups=1, axis=0), (4, 5)),
    (lambda: layers.UnitNormalization(axis=2), (5,)),
    (lambda: layers.RMSNormalization(axis=1), (4, 5)),
    (lambda: layers.Normalization(axis=3), (4, 5)),
    (lambda: layers.Normalization(axis=1, mean=[1.0, 2.0], variance=[1.0, 1.0]), (4, 5)),
], ids=["bn_axis_too_big", "bn_axis_too_small", "bn_batch_axis", "ln_axis_too_big",
        "ln_same_axis_twice", "gn_groups_do_not_divide", "gn_more_groups_than_channels",
        "gn_batch_axis", "un_axis_too_big", "rms_non_trailing_axis", "norm_axis_too_big",
        "norm_mean_does_not_fit"])
def test_impossible_input_shape_raises_modelio_error_symbolically_and_eagerly(layer, shape):
    with pytest.raises(modelio.ModelioError):
        layer()(modelio.Input(shape))
    with pytest.raises(modelio.ModelioError):
        layer()(np.ones((2, *shape), np.float32))


@pytest.mark.parametrize("layer", [
    lambda: layers.BatchNormalization(), lambda: layers.LayerNormalization(),
    lambda: layers.GroupNormalization(groups=1), lambda: layers.RMSNormalization(),
    lambda: layers.Normalization()], ids=["bn", "ln", "gn", "rms", "norm"])
def test_unknown_size_on_the_normalized_axis_raises_modelio_error(layer):
    with pytest.raises(modelio.ModelioError):
        layer()(modelio.Input((4, None)))


@pytest.mark.parametrize("layer", [
    lambda: layers.BatchNormalization(), lambda: layers.LayerNormalization(),
    lambda: layers.GroupNormalization(groups=1), lambda: layers.RMSNormalization(),
    lambda: layers.Normalization(mean=0.0, variance=1.0)], ids=["bn", "ln", "gn", "rms", "norm"])
def test_built_layer_refuses_inputs_of_another_size_on_the_normalized_axis(layer):
    built = layer()
    built(np.ones((2, 3, 4), np.float32))
    with pytest.raises(modelio.ModelioError):
        built(modelio.Input((3, 5)))
    with pytest.raises(modelio.ModelioError):
        built(np.ones((2, 3, 5), np.float32))


def test_rms_normalization_on_non_trailing_axes_is_refused_naming_the_argument():
    with pytest.raises(modelio.UnsupportedError, match="axis"):
        layers.RMSNormalization(axis=1, name="rms")(np.ones((2, 3, 4), np.float32))


# ----- 5. dtypes ------------------------------------------------------------------------------------

@pytest.mark.parametrize("case_id", [case_id for case_id in OUTPUT_CASE_IDS
                                     if CASES[case_id]["output_dtype"] != "float16"])
def test_float64_layer_computes_in_float64(case_id):
    case = CASES[case_id]
    layer = make_layer(case, dtype="float64")
    x = case_array(case, "input")
    output = run_eager(case, layer, x)
    assert output.dtype == np.float64
    assert all(weight.value.dtype == np.float64 for weight in layer.weights
               if weight.name != "count")
    np.testing.assert_allclose(output, case_array(case, "output"), **TOLERANCE)
    assert make_layer(case, dtype="float64")(modelio.Input(x.shape[1:])).dtype == "float64"


def test_float64_batch_normalization_is_exact_in_float64():
    layer = layers.BatchNormalization(epsilon=0.0, dtype="float64")
    x = np.array([[1.0 + 1e-12, 1.0]])
    layer(x)
    layer.set_weights([np.ones(2), np.zeros(2), np.ones(2), np.ones(2)])
    assert layer(x)[0, 0] == x[0, 0] - 1.0 != 0.0  # float32 would round 1 + 1e-12 to 1


@pytest.mark.parametrize("case_id", [case_id for case_id in OUTPUT_CASE_IDS
                                     if CASES[case_id]["dtype"] == "float32"
                                     and CASES[case_id]["output_dtype"] == "float32"])
def test_float64_inputs_to_a_float32_layer_give_float32(case_id):
    case = CASES[case_id]
    output = run_eager(case, make_layer(case), case_array(case, "input").astype(np.float64))
    assert output.dtype == np.float32
    np.testing.assert_allclose(output, case_array(case, "output"), **TOLERANCE)


@pytest.mark.parametrize("case_id", ["bn_mixed_float16", "ln_mixed_float16"])
def test_mixed_float16_keeps_float32_weights_and_outputs_float16(case_id):
    case = CASES[case_id]
    layer = make_layer(case)
    output = run_eager(case, layer)
    assert output.dtype == np.float16
    assert all(weight.value.dtype == np.float32 for weight in layer.weights)
