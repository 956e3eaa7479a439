"""MultiHeadAttention, Attention and AdditiveAttention against what real Keras computes and writes.

Reference models, weights and outputs come from fixtures/keras3/attention_cases.npz (Keras 3.15.1)
and fixtures/keras2/attention_cases.npz (tf-keras 2.21), written by
tools/attention_case_fixtures.py; these tests never import Keras. Each case is a small model
built in Keras; modelio rebuilds it from Keras's `to_json()`, takes Keras's weights layer by layer
and must predict what Keras predicted.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from case_archive import load_model_cases
from fixture_models import set_recorded_weights

import modelio
from modelio import layers
from modelio.graph import LAYER_CLASSES

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}
ATTENTION_CLASSES = ("MultiHeadAttention", "Attention", "AdditiveAttention")


def _load(dialect: str):
    return load_model_cases(FIXTURES / dialect / "attention_cases.npz")


KERAS3_DOCUMENT, KERAS3_CASES = _load("keras3")
KERAS2_DOCUMENT, KERAS2_CASES = _load("keras2")


def rebuild(case: dict):
    """The case's model, rebuilt by modelio from Keras's JSON, with Keras's weights."""
    model = modelio.model_from_json(json.dumps(case["model_json"]))
    set_recorded_weights(model, case["arrays"])
    return model


def case_inputs(case: dict) -> dict:
    return {name: case["arrays"][f"input:{name}"] for name in case["inputs"]}


def expected_outputs(case: dict) -> list:
    return [case["arrays"][f"output:{index}"] for index in range(case["outputs"])]


def predict(model, case: dict) -> list:
    outputs = model.predict(case_inputs(case))
    return outputs if isinstance(outputs, list) else [outputs]


def assert_matches(outputs: list, expected: list) -> None:
    assert len(outputs) == len(expected)
    for output, reference in zip(outputs, expected):
        assert output.shape == reference.shape
        assert output.dtype == reference.dtype
        np.testing.assert_allclose(output, reference, **TOLERANCE)


def attention_entries(case: dict) -> list:
    return [entry for entry in case["model_json"]["config"]["layers"]
            if entry["class_name"] in ATTENTION_CLASSES]


def as_json(value):
    return json.loads(json.dumps(value))


def test_fixtures_were_recorded_with_keras_3_15_1_and_tf_keras_2_21():
    assert KERAS3_DOCUMENT["keras_version"] == "keras 3.15.1"
    assert KERAS2_DOCUMENT["keras_version"] == "tf_keras 2.21.0"


# ----- 1. whole models: Keras 3 and Keras 2 values --------------------------------------------------

@pytest.mark.parametrize("case_id", [case_id for case_id in KERAS3_CASES
                                     if case_id != "transformer_encoder"])
def test_attention_model_predicts_what_keras3_predicted(case_id):
    case = KERAS3_CASES[case_id]
    assert_matches(predict(rebuild(case), case), expected_outputs(case))


@pytest.mark.parametrize("case_id", [case_id for case_id in KERAS2_CASES
                                     if case_id != "transformer_encoder"])
def test_keras2_attention_model_predicts_what_tf_keras_predicted(case_id):
    case = KERAS2_CASES[case_id]
    assert_matches(predict(rebuild(case), case), expected_outputs(case))


@pytest.mark.parametrize("dialect", ["keras3", "keras2"])
def test_transformer_encoder_block_with_padding_mask_matches_keras(dialect):
    if "LayerNormalization" not in LAYER_CLASSES:
        pytest.skip("LayerNormalization is not registered yet (modelio/layers/normalization.py)")
    case = (KERAS3_CASES if dialect == "keras3" else KERAS2_CASES)["transformer_encoder"]
    model = rebuild(case)
    assert [type(layer).__name__ for layer in model.layers].count("LayerNormalization") == 2
    assert_matches(predict(model, case), expected_outputs(case))


def test_masked_query_rows_follow_the_path_keras3_takes():
    """Keras 3's fused kernel (no scores returned) gives a fully masked query row uniform
    weights; with the scores returned its Softmax layer gives that row all-zero weights."""
    case = KERAS3_CASES["mha_attention_mask_scores"]
    _, scores = predict(rebuild(case), case)
    amask = case["arrays"]["input:amask"]
    assert not amask[0, 1].any()
    np.testing.assert_array_equal(scores[0, :, 1], 0.0)
    fused = KERAS3_CASES["mha_attention_mask"]
    model = rebuild(fused)
    layer = model.get_layer("mha")
    q, v = fused["arrays"]["input:q"], fused["arrays"]["input:v"]
    mask = fused["arrays"]["input:amask"]
    uniform = layer(q, v)[0, 1]  # no mask at all: not what a fully masked row gets ...
    masked = layer(q, v, attention_mask=mask)[0, 1]
    assert not np.allclose(uniform, masked)
    # ... it gets the mean of the values: attention with all-equal scores.
    everything_masked = np.zeros_like(mask)
    np.testing.assert_allclose(layer(q, v, attention_mask=everything_masked)[0, 1], masked,
                               rtol=1e-5, atol=1e-6)


def test_keras2_mha_config_with_value_in_node_kwargs_and_build_shapes_loads():
    case = KERAS2_CASES["mha_self_attention"]
    (entry,) = attention_entries(case)
    assert {"query_shape", "key_shape", "value_shape"} <= set(entry["config"])
    node = entry["inbound_nodes"][0]
    assert isinstance(node, list) and "value" in node[0][3]
    layer = rebuild(case).get_layer("mha")
    config = layer.get_config()
    assert not {"query_shape", "key_shape", "value_shape"} & set(config)
    assert config["attention_axes"] == (1,)


def test_keras2_softmax_robust_masking_is_read_and_not_written():
    case = KERAS2_CASES["k2_mha_robust_masking"]
    (entry,) = attention_entries(case)
    assert entry["config"]["softmax_robust_masking"] is True
    layer = rebuild(case).get_layer("mha")
    assert layer._robust_masking and "softmax_robust_masking" not in layer.get_config()


# ----- 2. configs, build configs and weights ---------------------------------------------------------

KERAS3_LAYER_ENTRIES = [(case_id, entry["name"]) for case_id, case in KERAS3_CASES.items()
                        for entry in attention_entries(case)]


@pytest.mark.parametrize("case_id,layer_name", KERAS3_LAYER_ENTRIES)
def test_built_attention_layer_config_equals_what_keras3_wrote(case_id, layer_name):
    case = KERAS3_CASES[case_id]
    entry = next(e for e in attention_entries(case) if e["name"] == layer_name)
    layer = rebuild(case).get_layer(layer_name)
    assert as_json(layer.get_config()) == entry["config"]
    assert as_json(layer.get_build_config()) == entry["build_config"]
    assert [w.shape for w in layer.weights] == [
        case["arrays"][f"weight:{layer_name}:{i}"].shape for i in range(len(layer.weights))]


@pytest.mark.parametrize("index", range(len(KERAS3_DOCUMENT["fresh_configs"])))
def test_unbuilt_layer_config_equals_keras3_get_config(index):
    record = KERAS3_DOCUMENT["fresh_configs"][index]
    layer = getattr(layers, record["class_name"])(**record["kwargs"])
    config = as_json(layer.get_config())
    expected = dict(record["config"])
    assert config.pop("name").startswith(expected.pop("name").split("_")[0])
    assert config == expected


def test_config_round_trip_rebuilds_an_equal_layer():
    layer = layers.MultiHeadAttention(3, 2, value_dim=4, output_shape=(2, 3), attention_axes=2,
                                      use_gate=True, sliding_window=3, seed=1, name="mha")
    clone = layers.MultiHeadAttention.from_config(as_json(layer.get_config()))
    assert as_json(clone.get_config()) == as_json(layer.get_config())


def test_mha_weights_have_keras_names_shapes_and_order():
    query, value, key = (modelio.Input((4, 6)), modelio.Input((5, 3)), modelio.Input((5, 7)))
    layer = layers.MultiHeadAttention(2, 4, value_dim=5, output_shape=(2, 3), use_gate=True,
                                      name="mha")
    layer(query, value, key=key)
    assert [(w.path, w.shape) for w in layer.weights] == [
        ("mha/query/kernel", (6, 2, 4)), ("mha/query/bias", (2, 4)),
        ("mha/key/kernel", (7, 2, 4)), ("mha/key/bias", (2, 4)),
        ("mha/gate/kernel", (6, 2, 5)), ("mha/gate/bias", (2, 5)),
        ("mha/value/kernel", (3, 2, 5)), ("mha/value/bias", (2, 5)),
        ("mha/attention_output/kernel", (2, 5, 2, 3)), ("mha/attention_output/bias", (2, 3))]
    assert layer.count_params() == sum(np.prod(w.shape) for w in layer.weights)
    no_bias = layers.MultiHeadAttention(2, 4, use_bias=False, name="plain")
    no_bias(query, value)
    assert [w.path for w in no_bias.weights] == [
        "plain/query/kernel", "plain/key/kernel", "plain/value/kernel",
        "plain/attention_output/kernel"]


def test_attention_and_additive_attention_weights_match_keras():
    query, value = modelio.Input((4, 5)), modelio.Input((6, 5))
    dot = layers.Attention(use_scale=True, score_mode="concat", name="att")
    dot([query, value])
    assert [(w.path, w.shape) for w in dot.weights] == [("att/scale", ()),
                                                         ("att/concat_score_weight", ())]
    additive = layers.AdditiveAttention(name="add")
    additive([query, value])
    assert [(w.path, w.shape) for w in additive.weights] == [("add/scale", (5,))]
    assert layers.Attention()([query, value]) is not None and layers.Attention().weights == []


def test_supports_masking_is_set_as_in_keras():
    assert layers.MultiHeadAttention.supports_masking
    assert layers.Attention.supports_masking and layers.AdditiveAttention.supports_masking


# ----- 3. masks as graph edges -----------------------------------------------------------------------

def _embedded(length: int, name: str):
    tokens = modelio.Input((length,), dtype="int32", name=f"{name}_tokens")
    return tokens, layers.Embedding(10, 4, mask_zero=True, name=f"{name}_embed")(tokens)


def test_mha_receives_query_value_and_key_masks_as_call_keywords():
    (_, q), (_, v), (_, k) = _embedded(4, "q"), _embedded(5, "v"), _embedded(5, "k")
    mha = layers.MultiHeadAttention(2, 3, name="mha")
    output = mha(q, v, key=k)
    kwargs = mha.inbound_nodes[0].call_kwargs
    assert kwargs["query_mask"] is q._keras_mask
    assert kwargs["value_mask"] is v._keras_mask
    assert kwargs["key_mask"] is k._keras_mask
    assert output._keras_mask is q._keras_mask  # the output mask is the query's


def test_mha_scores_output_carries_no_mask_and_unmasked_inputs_add_no_keywords():
    _, q = _embedded(4, "q")
    output, scores = layers.MultiHeadAttention(2, 3)(q, q, return_attention_scores=True)
    assert output._keras_mask is q._keras_mask and scores._keras_mask is None
    x = modelio.Input((4, 3))
    mha = layers.MultiHeadAttention(2, 3)
    assert mha(x, x)._keras_mask is None
    assert mha.inbound_nodes[0].call_kwargs == {}


def test_explicit_query_mask_is_replaced_by_the_query_mask_as_keras_does():
    """Keras 3's MHA.call always reads the query's own mask; an explicit `query_mask` on a
    query without a mask is ignored there, so modelio records none."""
    x = modelio.Input((4, 3))
    keep = modelio.Input((4,), dtype="bool")
    mha = layers.MultiHeadAttention(2, 3)
    mha(x, x, query_mask=keep)
    assert mha.inbound_nodes[0].call_kwargs["query_mask"] is None


def test_explicit_value_mask_is_kept_and_used():
    x = modelio.Input((4, 3), name="x")
    keep = modelio.Input((4,), dtype="bool", name="keep")
    mha = layers.MultiHeadAttention(1, 2, name="mha")
    model = modelio.Model([x, keep], mha(x, x, value_mask=keep))
    data = np.random.default_rng(0).normal(size=(2, 4, 3)).astype(np.float32)
    keep_values = np.array([[True, True, False, False], [True, False, True, True]])
    expected = mha(data, data, attention_mask=keep_values[:, None, :])
    np.testing.assert_allclose(model.predict({"x": data, "keep": keep_values}), expected,
                               rtol=1e-6, atol=1e-6)


def test_attention_output_mask_is_the_query_mask():
    (_, q), (_, v) = _embedded(4, "q"), _embedded(5, "v")
    attention = layers.Attention()
    output, scores = attention([q, v], return_attention_scores=True)
    assert attention.inbound_nodes[0].call_kwargs["mask"] == [q._keras_mask, v._keras_mask]
    assert output._keras_mask is q._keras_mask and scores._keras_mask is None
    x = modelio.Input((5, 4))
    assert layers.AdditiveAttention()([x, v])._keras_mask is None


def test_attention_explicit_mask_list_gives_the_output_mask():
    q, v = modelio.Input((4, 3)), modelio.Input((5, 3))
    q_keep, v_keep = modelio.Input((4,), dtype="bool"), modelio.Input((5,), dtype="bool")
    output = layers.Attention()([q, v], mask=[q_keep, v_keep])
    assert output._keras_mask is q_keep


def test_masked_model_written_by_modelio_reloads_with_the_same_outputs():
    case = KERAS3_CASES["mha_key_mask_attention_mask_dropout"]
    model = rebuild(case)
    written = json.loads(model.to_json())
    (entry,) = [e for e in written["config"]["layers"] if e["class_name"] == "MultiHeadAttention"]
    assert set(entry["inbound_nodes"][0]["kwargs"]) == {
        "key", "attention_mask", "query_mask", "value_mask", "key_mask"}
    again = modelio.model_from_json(json.dumps(written))
    set_recorded_weights(again, case["arrays"])
    assert_matches(predict(again, case), expected_outputs(case))


# ----- 4. eager calls, dtypes, shapes ----------------------------------------------------------------

def test_eager_mha_takes_value_and_key_as_keywords_and_matches_the_model():
    case = KERAS3_CASES["mha_key_given_output_shape"]
    layer = rebuild(case).get_layer("mha")
    q, v, k = (case["arrays"][f"input:{name}"] for name in ("q", "v", "k"))
    np.testing.assert_allclose(layer(q, value=v, key=k), expected_outputs(case)[0], **TOLERANCE)


def test_float64_policy_computes_in_float64_and_float32_inputs_are_cast():
    case = KERAS3_CASES["mha_float64"]
    layer = rebuild(case).get_layer("mha")
    x = case["arrays"]["input:x"]
    output = layer(x.astype(np.float32), x.astype(np.float32), use_causal_mask=True)
    assert output.dtype == np.float64
    np.testing.assert_allclose(output, expected_outputs(case)[0], rtol=1e-6, atol=1e-6)


def test_mixed_float16_policy_computes_in_float16_close_to_float32():
    case = KERAS3_CASES["mha_self_attention"]
    reference = rebuild(case).get_layer("mha")
    half = layers.MultiHeadAttention(2, 4, dtype="mixed_float16")
    x = case["arrays"]["input:x"]
    half(x, x)
    half.set_weights(reference.get_weights())
    output = half(x, x)
    assert output.dtype == np.float16 and half.weights[0].dtype == "float32"
    np.testing.assert_allclose(output, reference(x, x), rtol=0.02, atol=0.02)


def test_symbolic_shapes_of_outputs_and_scores():
    q, v = modelio.Input((None, 6)), modelio.Input((7, 6))
    output, scores = layers.MultiHeadAttention(3, 2, output_shape=(2, 5))(
        q, v, return_attention_scores=True)
    assert output.shape == (None, None, 2, 5) and scores.shape == (None, 3, None, 7)
    x = modelio.Input((3, 4, 6))
    output, scores = layers.MultiHeadAttention(2, 3, attention_axes=2)(
        x, x, return_attention_scores=True)
    assert output.shape == (None, 3, 4, 6) and scores.shape == (None, 3, 2, 4, 4)
    output, scores = layers.Attention()([modelio.Input((4, 5)), modelio.Input((6, 3)),
                                         modelio.Input((6, 5))], return_attention_scores=True)
    assert output.shape == (None, 4, 3) and scores.shape == (None, 4, 6)


def test_larger_inputs_run_vectorized_and_stay_finite():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 64, 32)).astype(np.float32)
    layer = layers.MultiHeadAttention(4, 8)
    output, scores = layer(x, x, use_causal_mask=True, return_attention_scores=True)
    assert output.shape == x.shape and scores.shape == (8, 4, 64, 64)
    np.testing.assert_allclose(scores.sum(-1), 1.0, rtol=1e-5)
    assert np.all(np.triu(scores[0, 0], 1) == 0)


# ----- 5. refusals -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,argument", [
    ({"num_heads": 0, "key_dim": 4}, "num_heads"),
    ({"num_heads": 2, "key_dim": "4"}, "key_dim"),
    ({"num_heads": 2, "key_dim": 4, "value_dim": -1}, "value_dim"),
    ({"num_heads": 2, "key_dim": 4, "dropout": 1.5}, "dropout"),
    ({"num_heads": 2, "key_dim": 4, "use_bias": "yes"}, "use_bias"),
    ({"num_heads": 2, "key_dim": 4, "output_shape": "wide"}, "output_shape"),
    ({"num_heads": 2, "key_dim": 4, "output_shape": [3, 0]}, "output_shape"),
    ({"num_heads": 2, "key_dim": 4, "attention_axes": "time"}, "attention_axes"),
    ({"num_heads": 2, "key_dim": 4, "sliding_window": 0}, "sliding_window"),
    ({"num_heads": 2, "key_dim": 4, "use_gate": 1}, "use_gate"),
    ({"num_heads": 2, "key_dim": 4, "flash_attention": "auto"}, "flash_attention"),
    ({"num_heads": 2, "key_dim": 4, "flash_attention": True, "dropout": 0.1}, "flash_attention"),
    ({"num_heads": 2, "key_dim": 4, "kernel_initializer": 3}, "kernel_initializer"),
    ({"num_heads": 2, "key_dim": 4, "seed": "x"}, "seed"),
])
def test_bad_mha_arguments_are_config_errors_naming_layer_and_argument(kwargs, argument):
    with pytest.raises(modelio.ConfigError, match=f"'bad'.*{argument}"):
        layers.MultiHeadAttention(name="bad", **kwargs)


@pytest.mark.parametrize("class_name,kwargs,argument", [
    ("Attention", {"score_mode": "general"}, "score_mode"),
    ("Attention", {"use_scale": "no"}, "use_scale"),
    ("Attention", {"dropout": -0.1}, "dropout"),
    ("AdditiveAttention", {"use_scale": None}, "use_scale"),
])
def test_bad_attention_arguments_are_config_errors(class_name, kwargs, argument):
    with pytest.raises(modelio.ConfigError, match=f"'bad'.*{argument}"):
        getattr(layers, class_name)(name="bad", **kwargs)


def test_unknown_arguments_are_unsupported_errors_naming_them():
    with pytest.raises(modelio.UnsupportedError, match="'bad'.*lora_rank"):
        layers.MultiHeadAttention(2, 4, name="bad", lora_rank=2)
    with pytest.raises(modelio.UnsupportedError, match="'bad'.*normalize"):
        layers.Attention(name="bad", normalize=True)


@pytest.mark.parametrize("axes", [[0], [2], [1, 1], [-1]])
def test_attention_axes_outside_the_inputs_are_refused_at_build(axes):
    x = modelio.Input((4, 6))
    with pytest.raises(modelio.ConfigError, match="'bad'.*attention_axes"):
        layers.MultiHeadAttention(2, 3, attention_axes=axes, name="bad")(x, x)


def test_keras2_negative_attention_axes_are_unsupported():
    config = {"name": "bad", "num_heads": 2, "key_dim": 3, "attention_axes": [-2]}
    with modelio.graph.keras2_semantics(), pytest.raises(modelio.UnsupportedError,
                                                         match="'bad'.*attention_axes"):
        layers.MultiHeadAttention.from_config(config)


def test_mha_shape_errors_name_the_layer():
    q = modelio.Input((4, 6))
    with pytest.raises(modelio.ConfigError, match="'bad'.*value and key"):
        layers.MultiHeadAttention(2, 3, name="bad")(q, modelio.Input((5, 6)),
                                                     key=modelio.Input((6, 6)))
    with pytest.raises(modelio.ConfigError, match="'bad'.*rank"):
        layers.MultiHeadAttention(2, 3, name="bad")(q, modelio.Input((2, 5, 6)))
    with pytest.raises(modelio.ConfigError, match="'bad'.*cannot be called"):
        layers.MultiHeadAttention(2, 3, name="bad")(q)
    built = layers.MultiHeadAttention(2, 3, name="built")
    built(q, q)
    with pytest.raises(modelio.ConfigError, match="'built'.*built for"):
        built(modelio.Input((4, 5)), modelio.Input((4, 5)))
    with pytest.raises(modelio.ConfigError, match="'flash'.*return_attention_scores"):
        layers.MultiHeadAttention(2, 3, flash_attention=True, name="flash")(
            q, q, return_attention_scores=True)


def test_attention_shape_errors_name_the_layer():
    q, v = modelio.Input((4, 5)), modelio.Input((6, 5))
    with pytest.raises(modelio.ConfigError, match="'bad'.*list"):
        layers.Attention(name="bad")(q)
    with pytest.raises(modelio.ConfigError, match="'bad'.*same number of steps"):
        layers.Attention(name="bad")([q, v, modelio.Input((7, 5))])
    with pytest.raises(modelio.ConfigError, match="'bad'.*same last dimension"):
        layers.AdditiveAttention(name="bad")([q, modelio.Input((6, 3))])
    with pytest.raises(modelio.ConfigError, match="'bad'.*mask must be a list"):
        layers.Attention(name="bad")([q, v], mask=modelio.Input((4,), dtype="bool"))


def test_legacy_always_causal_attention_config_loads_and_stays_causal():
    layer = layers.Attention.from_config({"name": "old", "causal": True, "dropout": 0.0,
                                          "use_scale": False, "score_mode": "dot"})
    assert layer.get_config()["causal"] is True
    rng = np.random.default_rng(2)
    q, v = rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 4, 3))
    np.testing.assert_allclose(layer([q, v]), layers.Attention()([q, v], use_causal_mask=True))
