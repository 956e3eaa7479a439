"""EinsumDense, ReversibleEmbedding, GroupQueryAttention, SpectralNormalization, adaptive pooling,
the keras.applications classes (Keras 3.15.1) and tf-keras 2.21's LocallyConnected1D/2D,
ThresholdedReLU, SyncBatchNormalization and experimental.EinsumDense against what real Keras
computed and wrote (fixtures from tools/core_case_fixtures.py; these tests never import Keras)."""

import json

import numpy as np
import pytest
from core_cases import (
    FIXTURES,
    KERAS2_CASES,
    KERAS2_DOCUMENT,
    KERAS3_CASES,
    KERAS3_DOCUMENT,
    as_list,
    assert_matches,
    case_inputs,
    expected_outputs,
    layer_entries,
    rebuild,
)

import modelio
from modelio import layers

NEW_CLASSES = ("EinsumDense", "ReversibleEmbedding", "GroupQueryAttention",
               "SpectralNormalization", "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D",
               "AdaptiveAveragePooling3D", "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D",
               "AdaptiveMaxPooling3D", "LayerScale", "StochasticDepth", "CustomScaleLayer")


def as_json(value):
    return json.loads(json.dumps(value))


def test_fixtures_were_recorded_with_keras_3_15_1_and_tf_keras_2_21():
    assert KERAS3_DOCUMENT["keras_version"] == "keras 3.15.1"
    assert KERAS2_DOCUMENT["keras_version"] == "tf_keras 2.21.0"


# ----- 1. every model predicts what Keras predicted ------------------------------------------------

@pytest.mark.parametrize("case_id", list(KERAS3_CASES))
def test_model_predicts_what_keras3_predicted(case_id):
    case = KERAS3_CASES[case_id]
    assert_matches(as_list(rebuild(case).predict(case_inputs(case))), expected_outputs(case))


@pytest.mark.parametrize("case_id", list(KERAS2_CASES))
def test_keras2_model_predicts_what_tf_keras_predicted(case_id):
    case = KERAS2_CASES[case_id]
    assert_matches(as_list(rebuild(case).predict(case_inputs(case))), expected_outputs(case))


# ----- 2. configs and weights as Keras writes them ---------------------------------------------------

KERAS3_ENTRIES = [(case_id, entry["name"]) for case_id, case in KERAS3_CASES.items()
                  for entry in layer_entries(case, NEW_CLASSES)]


@pytest.mark.parametrize("case_id,layer_name", KERAS3_ENTRIES)
def test_built_layer_config_and_weight_shapes_equal_what_keras3_wrote(case_id, layer_name):
    case = KERAS3_CASES[case_id]
    entry = next(e for e in layer_entries(case, NEW_CLASSES) if e["name"] == layer_name)
    layer = rebuild(case).get_layer(layer_name)
    written = modelio.graph.serialization.serialize_layer(layer)
    assert as_json(written["config"]) == entry["config"]
    assert written["module"] == entry["module"]
    assert written["registered_name"] == entry["registered_name"]
    if "build_config" in entry:
        assert as_json(layer.get_build_config()) == entry["build_config"]
    assert [w.shape for w in layer.weights] == [
        case["arrays"][f"weight:{layer_name}:{i}"].shape for i in range(len(layer.weights))]


@pytest.mark.parametrize("index", range(len(KERAS3_DOCUMENT["fresh_configs"])))
def test_unbuilt_layer_config_equals_keras3_get_config(index):
    record = KERAS3_DOCUMENT["fresh_configs"][index]
    layer = getattr(layers, record["class_name"])(**record["kwargs"])
    config = as_json(layer.get_config())
    expected = dict(record["config"])
    config.pop("name"), expected.pop("name")
    assert config == expected


@pytest.mark.parametrize("index", range(len(KERAS3_DOCUMENT["fresh_configs"])))
def test_config_round_trip_rebuilds_an_equal_layer(index):
    record = KERAS3_DOCUMENT["fresh_configs"][index]
    layer = getattr(layers, record["class_name"])(**record["kwargs"])
    clone = type(layer).from_config(as_json(layer.get_config()))
    assert as_json(clone.get_config()) == as_json(layer.get_config())


# ----- 3. files Keras saved itself -----------------------------------------------------------------

FILES = [(dialect, case_id, record["file"])
         for dialect, cases in (("keras3", KERAS3_CASES), ("keras2", KERAS2_CASES))
         for case_id, case in cases.items() for record in case["files"]]


_LOADED: dict = {}


def load_file(dialect: str, file_name: str):
    """modelio's model of a file Keras saved (loaded once; the tests only read it)."""
    if (dialect, file_name) not in _LOADED:
        _LOADED[dialect, file_name] = modelio.load_model(
            FIXTURES / f"{dialect}_files" / "core" / file_name)
    return _LOADED[dialect, file_name]


@pytest.mark.parametrize("dialect,case_id,file_name", FILES)
def test_file_keras_saved_loads_and_matches(dialect, case_id, file_name):
    case = (KERAS3_CASES if dialect == "keras3" else KERAS2_CASES)[case_id]
    model = load_file(dialect, file_name)
    assert_matches(as_list(model.predict(case_inputs(case))), expected_outputs(case))


def test_keras3_cannot_reload_its_own_h5_of_convnext_but_modelio_can():
    (h5,) = [r for r in KERAS3_CASES["tiny_convnext"]["files"] if r["file"].endswith(".h5")]
    assert h5["keras_reloads"] is False and "positional" in h5["keras_error"]
    model = load_file("keras3", "tiny_convnext.h5")
    assert {"LayerScale", "StochasticDepth"} <= {type(layer).__name__ for layer in model.layers}
    # its `inputs + x` entries have no module: read as the Add operation, not the Add layer
    assert "Add" in {type(op).__name__ for op in model.operations
                     if getattr(op, "_is_operation", False)}


@pytest.mark.parametrize("case_id", ["mini_transformer", "spectral_conv2d"])
def test_keras_file_written_back_by_modelio_reloads_with_the_same_outputs(case_id, tmp_path):
    case = KERAS3_CASES[case_id]
    model = modelio.load_model(FIXTURES / "keras3_files" / "core" / f"{case_id}.keras")
    path = tmp_path / f"{case_id}.keras"
    modelio.save_model(model, path)
    again = modelio.load_model(path)
    assert_matches(as_list(again.predict(case_inputs(case))), expected_outputs(case))


def test_group_query_attention_weights_sit_where_keras3_saves_them(tmp_path):
    import h5py

    model = load_file("keras3", "mini_transformer.keras")
    path = tmp_path / "model.weights.h5"
    model.save_weights(path)
    with h5py.File(path) as handle:
        groups = handle["layers/grouped_query_attention"]
        assert sorted(groups) == ["_dropout_layer", "_key_dense", "_output_dense", "_query_dense",
                                  "_softmax", "_value_dense", "vars"]
        assert groups["_query_dense/vars/0"].shape == (8, 4, 2)
        assert groups["_key_dense/vars/0"].shape == (8, 2, 2)


# ----- 4. behaviour Keras has that is easy to get wrong ------------------------------------------------

def test_reversible_embedding_forward_mask_reaches_the_next_layer_as_in_keras_at_run_time():
    """Keras 3.15.1's ReversibleEmbedding.compute_mask returns None (a symbolic call sees no
    mask), but its call attaches the mask_zero mask, which GlobalAveragePooling1D then uses."""
    case = KERAS3_CASES["reversible_mask_zero_is_not_propagated"]
    model = rebuild(case)
    tokens = case_inputs(case)["tokens"]
    assert (tokens == 0).any()
    table = model.get_layer("emb").get_weights()[0]
    keep = (tokens != 0)[..., None]
    masked_mean = (table[tokens] * keep).sum(axis=1) / keep.sum(axis=1)
    np.testing.assert_allclose(model.predict(tokens), masked_mean, rtol=1e-5)
    assert not np.allclose(masked_mean, table[tokens].mean(axis=1))


def test_reversible_embedding_reverse_direction_carries_no_mask():
    tokens = modelio.Input((5,), dtype="int32")
    embedding = layers.ReversibleEmbedding(7, 4, mask_zero=True)
    hidden = embedding(tokens)
    assert hidden._keras_mask is not None
    assert embedding(hidden, reverse=True)._keras_mask is None


def test_spectral_normalization_at_inference_uses_the_stored_kernel_and_keeps_u():
    case = KERAS3_CASES["spectral_dense"]
    model = rebuild(case)
    layer = model.get_layer("sn")
    kernel, vector_u, bias = (case["arrays"][f"weight:sn:{i}"] for i in range(3))
    x = case_inputs(case)["x"]
    np.testing.assert_allclose(model.predict(x), x @ kernel + bias, rtol=1e-6)
    np.testing.assert_array_equal(layer.vector_u.value, vector_u)
    assert [w.path for w in layer.weights] == ["sn/inner/kernel", "sn/vector_u", "sn/inner/bias"]
    assert [w.trainable for w in layer.weights] == [True, False, True]


def test_group_query_attention_fully_masked_query_row_follows_keras3_paths():
    """Fused kernel (no dropout, no scores): a query row with every key masked attends
    uniformly; with dropout (the Softmax-layer path) it gets all-zero weights."""
    fused = KERAS3_CASES["gqa_fused_attention_mask"]
    model = rebuild(fused)
    layer = model.get_layer("gqa")
    q, v = fused["arrays"]["input:q"], fused["arrays"]["input:v"]
    mask = fused["arrays"]["input:amask"]
    assert not mask[0, 1].any()
    uniform = layer(q, v, attention_mask=np.zeros_like(mask))[0, 1]
    np.testing.assert_allclose(layer(q, v, attention_mask=mask)[0, 1], uniform, rtol=1e-5,
                               atol=1e-6)
    dropout = KERAS3_CASES["gqa_dropout_attention_mask_causal"]
    layer = rebuild(dropout).get_layer("gqa")
    q, mask = dropout["arrays"]["input:q"], dropout["arrays"]["input:amask"]
    _, scores = layer(q, q, attention_mask=mask, use_causal_mask=True,
                      return_attention_scores=True)
    np.testing.assert_array_equal(scores[0, :, 1], 0.0)


def test_einsum_dense_symbolic_shape_keeps_keras_partial_output_shape():
    x = modelio.Input((5, 8))
    y = layers.EinsumDense("abc,cd->abd", (None, 4))(x)
    assert y.shape == (None, None, 4)   # Keras does not fill a free output axis from the input
    y = layers.EinsumDense("ab...,bc->ac...", 3)(modelio.Input((4, 3, 2)))
    assert y.shape == (None, 3, 3, 2)


def test_einsum_dense_left_ellipsis_declares_the_shape_it_computes():
    """Keras 3.15.1 declares (None, 5, 2, 3) for "...b,bc->...c" on (None, 2, 5, 4) inputs (its
    `_analyze_split_string` inserts the elided axes in reverse) but computes (batch, 2, 5, 3);
    modelio declares what is computed."""
    layer = layers.EinsumDense("...b,bc->...c", 3)
    assert layer(modelio.Input((2, 5, 4))).shape == (None, 2, 5, 3)
    assert layer(np.ones((1, 2, 5, 4), np.float32)).shape == (1, 2, 5, 3)


def test_locally_connected_weights_follow_each_tf_keras_implementation():
    shapes = {case_id: case["arrays"]["weight:lc:0"].shape
              for case_id, case in KERAS2_CASES.items() if case_id.startswith("k2_locally_connected_1d")}
    assert shapes["k2_locally_connected_1d_impl1"] == (3, 6, 3)     # (outputs, window * in, filters)
    assert shapes["k2_locally_connected_1d_impl2"] == (7, 3, 3, 3)  # (in steps, in, out steps, filters)
    assert len(shapes["k2_locally_connected_1d_impl3"]) == 1        # the kept entries only
    for case_id in shapes:
        layer = rebuild(KERAS2_CASES[case_id]).get_layer("lc")
        assert layer.kernel.shape == shapes[case_id]
