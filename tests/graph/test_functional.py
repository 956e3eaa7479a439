"""The functional-graph core: symbolic tensors, nodes, models, Sequential, Keras's surface."""

import numpy as np
import pytest

import modelio
from modelio import layers
from modelio.graph.tensor import KerasHistory


def test_input_is_a_symbolic_tensor_with_history():
    x = modelio.Input((4, 3), name="pixels", dtype="float64")
    assert x.shape == (None, 4, 3)
    assert x.dtype == "float64"
    layer, node_index, tensor_index = x._keras_history
    assert isinstance(layer, layers.InputLayer) and layer.name == "pixels"
    assert (node_index, tensor_index) == (0, 0)


def test_layer_call_records_node_with_inbound_layers_and_indices():
    a, b = modelio.Input((3,), name="a"), modelio.Input((3,), name="b")
    shared = layers.Dense(3, name="shared")
    shared(a)
    second = shared(b)
    added = layers.Add(name="add")([shared(a), second])
    node = added._keras_history.layer._inbound_nodes[0]
    assert [layer.name for layer in node.inbound_layers] == ["shared", "shared"]
    assert node.node_indices == [2, 1]
    assert node.tensor_indices == [0, 0]
    assert added._keras_history == KerasHistory(node.layer, 0, 0)
    assert len(shared.inbound_nodes) == 3


def test_model_orders_layers_by_depth_like_keras():
    x = modelio.Input((4,), name="x")
    left = layers.Dense(3, name="left")(x)
    right = layers.Dense(3, name="right")(layers.Dense(3, name="pre_right")(x))
    model = modelio.Model(x, layers.Add(name="join")([left, right]))
    assert [layer.name for layer in model.layers] == ["x", "pre_right", "left", "right", "join"]


def test_layer_called_at_two_depths_appears_once_and_runs_twice():
    x = modelio.Input((2,))
    twice = layers.Dense(2, use_bias=False, kernel_initializer="ones")
    model = modelio.Model(x, twice(layers.ReLU()(twice(x))))
    assert [type(layer).__name__ for layer in model.layers].count("Dense") == 1
    np.testing.assert_allclose(model.predict(np.array([[1.0, 2.0]])), [[6.0, 6.0]])


def test_nested_model_called_twice_computes_both_calls():
    inner_in = modelio.Input((2,))
    inner = modelio.Model(inner_in, layers.Dense(2, kernel_initializer="ones", bias_initializer="ones")(inner_in))
    x = modelio.Input((2,))
    model = modelio.Model(x, inner(inner(x)))
    # (1+2)+1 = 4 per unit; then 4+4+1 = 9
    np.testing.assert_allclose(model.predict(np.array([[1.0, 2.0]], np.float32)), [[9.0, 9.0]])
    assert model.get_config()["output_layers"] == [inner.name, 2, 0]


def test_dict_inputs_accept_names_or_a_list_and_dict_outputs_come_back_as_dict():
    a, b = modelio.Input((2,), name="a"), modelio.Input((2,), name="b")
    total = layers.Add()([a, b])
    model = modelio.Model({"a": a, "b": b}, {"sum": total, "diff": layers.Subtract()([a, b])})
    xa, xb = np.ones((3, 2), np.float32), np.full((3, 2), 2.0, np.float32)
    by_name = model.predict({"b": xb, "a": xa})
    assert set(by_name) == {"sum", "diff"}
    np.testing.assert_allclose(by_name["sum"], 3.0)
    np.testing.assert_allclose(model.predict([xa, xb])["diff"], -1.0)


def test_predict_in_batches_equals_one_pass():
    x = modelio.Input((5,))
    model = modelio.Model(x, layers.Dense(3, activation="tanh")(layers.Dense(7)(x)))
    data = np.random.default_rng(0).normal(size=(70, 5)).astype(np.float32)
    np.testing.assert_array_equal(model.predict(data, batch_size=8), model.predict(data, batch_size=100))
    assert model.predict(data).dtype == np.float32


def test_calling_a_model_on_arrays_runs_it_eagerly():
    x = modelio.Input((3,))
    model = modelio.Model(x, layers.Dense(2)(x))
    data = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(model(data), model.predict(data))


def test_get_layer_by_name_and_index_and_clear_errors():
    x = modelio.Input((3,), name="x")
    model = modelio.Model(x, layers.Dense(2, name="out")(x))
    assert model.get_layer("out") is model.layers[1] is model.get_layer(index=-1)
    with pytest.raises(modelio.GraphError, match="no layer named 'nope'"):
        model.get_layer("nope")
    with pytest.raises(modelio.GraphError):
        model.get_layer(index=9)


def test_weights_count_and_set_weights_checks_every_shape_before_assigning():
    x = modelio.Input((3,))
    first, second = layers.Dense(4), layers.Dense(2)
    model = modelio.Model(x, second(first(x)))
    assert model.count_params() == 3 * 4 + 4 + 4 * 2 + 2
    before = model.get_weights()
    bad = [np.zeros_like(w) for w in before]
    bad[-1] = np.zeros(5)
    with pytest.raises(modelio.WeightMismatchError, match="expects shape"):
        model.set_weights(bad)
    for kept, original in zip(model.get_weights(), before):
        np.testing.assert_array_equal(kept, original)


def test_summary_prints_a_keras_style_table():
    x = modelio.Input((3,), name="x")
    model = modelio.Model(x, layers.Dense(2, name="out")(x), name="tiny")
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert 'Model: "tiny"' in text
    assert "out (Dense)" in text and "(None, 2)" in text and "x[0][0]" in text
    assert "Total params: 8" in text


def test_automatic_names_follow_keras():
    assert [layers.Dense(1).name, layers.Dense(1).name, layers.ReLU().name] == ["dense", "dense_1", "re_lu"]
    assert modelio.Input((1,))._keras_history.layer.name == "input_layer"


def test_sequential_builds_from_input_shape_or_first_call_and_supports_add_and_pop():
    model = modelio.Sequential([layers.Dense(4, input_shape=(3,)), layers.ReLU()])
    assert model.built and [type(layer).__name__ for layer in model.layers] == ["Dense", "ReLU"]
    model.add(layers.Dense(2))
    assert model.output_shape == (None, 2)
    model.pop()
    assert model.output_shape == (None, 4)

    lazy = modelio.Sequential([layers.Dense(2)])
    assert not lazy.built
    assert lazy.predict(np.ones((1, 6), np.float32)).shape == (1, 2)
    assert lazy.built and lazy.input_shape == (None, 6)


def test_sequential_from_input_tensor_keeps_input_layer_out_of_layers():
    model = modelio.Sequential()
    model.add(modelio.Input((3,)))
    model.add(layers.Dense(2))
    assert [type(layer).__name__ for layer in model.layers] == ["Dense"]
    assert model.get_config()["layers"][0]["class_name"] == "InputLayer"


def test_cycle_in_history_is_a_graph_error():
    x = modelio.Input((2,))
    first = layers.Dense(2)(x)
    second = layers.Dense(2)(first)
    first_node = first._keras_history.layer._inbound_nodes[0]
    first_node.input_tensors[0] = second   # tamper: first now depends on second
    with pytest.raises(modelio.GraphError, match="cycle"):
        modelio.Model(x, second)


def test_output_not_reachable_from_inputs_is_a_graph_error():
    a, b = modelio.Input((2,), name="a"), modelio.Input((2,), name="b")
    with pytest.raises(modelio.GraphError, match="'b'"):
        modelio.Model(a, layers.Add()([a, b]))


def test_unused_input_is_kept_in_the_model():
    a, b = modelio.Input((2,), name="a"), modelio.Input((2,), name="b")
    model = modelio.Model([a, b], layers.Dense(1)(a))
    assert model.input_names == ["a", "b"]
    assert model.predict([np.ones((2, 2)), np.ones((2, 2))]).shape == (2, 1)


def test_duplicate_layer_names_are_refused():
    x = modelio.Input((2,))
    y = layers.Dense(2, name="same")(layers.Dense(2, name="same")(x))
    with pytest.raises(modelio.GraphError, match="'same'"):
        modelio.Model(x, y)


def test_model_inputs_must_come_from_input():
    x = modelio.Input((2,))
    hidden = layers.Dense(2)(x)
    with pytest.raises(modelio.GraphError, match="Input"):
        modelio.Model(hidden, layers.Dense(1)(hidden))


def test_predict_explains_wrong_input_shape_and_count():
    x = modelio.Input((3,), name="x")
    model = modelio.Model(x, layers.Dense(1)(x))
    with pytest.raises(modelio.ModelioError, match=r"input 'x' expects shape \(None, 3\), got \(2, 4\)"):
        model.predict(np.ones((2, 4)))
    two = modelio.Model([x, modelio.Input((3,), name="y")], layers.Dense(1)(x))
    with pytest.raises(modelio.ModelioError, match="expects 2 input"):
        two.predict([np.ones((2, 3))])


def test_hundred_thousand_layer_chain_builds_round_trips_and_predicts():
    count = 100_000
    x = modelio.Input((2,))
    hidden = x
    for _ in range(count):
        hidden = layers.Dense(2, use_bias=False, kernel_initializer="identity")(hidden)
    model = modelio.Model(x, hidden)
    assert len(model.layers) == count + 1
    rebuilt = modelio.Model.from_config(model.get_config())
    rebuilt.set_weights(model.get_weights())
    data = np.array([[1.5, -2.0]], np.float32)
    np.testing.assert_array_equal(rebuilt.predict(data), data)


def test_a_layer_result_millions_of_times_its_inputs_is_refused_before_computing():
    inputs = modelio.Input((4, 4, 1))
    model = modelio.Model(inputs, modelio.layers.UpSampling2D(size=(5000, 5000))(inputs))
    with pytest.raises(modelio.ConfigError, match="refusing to compute a result of shape"):
        model.predict(np.zeros((1, 4, 4, 1), "float32"))


def test_a_large_batch_that_grows_each_layer_modestly_still_runs():
    inputs = modelio.Input((64, 64, 1))
    model = modelio.Model(inputs, modelio.layers.Conv2D(256, 1)(inputs))
    assert model.predict(np.ones((300, 64, 64, 1), "float32")).shape == (300, 64, 64, 256)


def test_a_training_call_argument_that_is_not_a_boolean_is_refused_when_the_graph_is_built():
    inputs = modelio.Input((4,))
    with pytest.raises(modelio.ConfigError, match="training must be true, false or null"):
        layers.BatchNormalization()(inputs, training=[1, 2])
