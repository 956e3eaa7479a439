"""Record what real Keras 3 computes, builds and writes for single layers, for
tests/layers/test_core_layers.py. Tests read the archive with modelio alone and never import Keras.

Run from the repository root, in the environment that has Keras 3:

    KERAS_BACKEND=torch /work/kenv/bin/python tools/layer_case_fixtures.py

It writes fixtures/keras3/layer_cases.npz (a few KB) holding:

* ``cases_json`` - UTF-8 JSON bytes: a list of ``{"id", "class_name", "kwargs", "inputs",
  "symbolic", "multi", "keras_config", "output_shapes", "arrays", ...}``. ``kwargs`` are the
  constructor arguments, ``inputs`` the concrete input shapes (with batch), ``multi`` whether the
  layer is called on a list, ``symbolic`` lists of symbolic input shapes (``null`` = free),
  ``output_shapes`` what Keras's ``compute_output_shape`` returns for each entry of
  ``symbolic``, ``keras_config`` what ``layer.get_config()`` returned for a layer made right
  after ``clear_session()`` (so its automatic name is the first one);
* ``buffer:<dtype>`` - every array of that dtype, flattened and concatenated. A case's
  ``arrays`` maps ``input:<i>``, ``mask`` (passed as ``mask=``), ``weight:<i>``
  (``layer.get_weights()`` order, after they were set) and ``output`` (Keras's eager output in
  inference mode) to ``{"dtype", "shape", "offset"}`` in those buffers. (One buffer per dtype
  instead of one entry per array keeps the file small.)

Inputs and weights are multiples of 1/8 and 1/16 drawn from generators seeded by the case id, so
reruns write the same values (and some inputs sit exactly on ReLU thresholds).
"""

import json
import os
import zlib

import numpy as np
from case_archive import Buffers

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_PATH = os.path.join(REPO_ROOT, "fixtures", "keras3", "layer_cases.npz")


def case(case_id, class_name, kwargs, inputs, symbolic=None, mask=None, dtype="float32",
         scale=2.0):
    """One layer call. ``inputs``: list of concrete shapes; ``symbolic``: extra symbolic shapes."""
    default_symbolic = [[None, *shape[1:]] for shape in inputs]
    return {"id": case_id, "class_name": class_name, "kwargs": kwargs, "inputs": inputs,
            "symbolic": [default_symbolic] + (symbolic or []), "mask": mask,
            "dtype": dtype, "scale": scale}


CASES = [
    # Dense on rank 2/3/4, with and without bias and activation.
    case("dense_rank2_bias_linear", "Dense", {"units": 4}, [[2, 3]]),
    case("dense_rank2_no_bias_relu", "Dense", {"units": 4, "activation": "relu", "use_bias": False},
         [[2, 3]]),
    case("dense_rank3_bias_tanh", "Dense", {"units": 5, "activation": "tanh"}, [[2, 3, 4]],
         symbolic=[[[None, None, 4]]]),
    case("dense_rank3_no_bias_linear", "Dense", {"units": 2, "use_bias": False}, [[2, 3, 4]]),
    case("dense_rank4_bias_sigmoid", "Dense", {"units": 3, "activation": "sigmoid"}, [[2, 2, 3, 4]],
         symbolic=[[[None, None, None, 4]]]),
    case("dense_rank4_no_bias_softmax", "Dense",
         {"units": 3, "activation": "softmax", "use_bias": False}, [[2, 2, 3, 4]]),
    case("dense_he_normal_ones", "Dense", {"units": 2, "kernel_initializer": "he_normal",
                                           "bias_initializer": "ones"}, [[2, 3]]),
    case("dense_float64_gelu", "Dense", {"units": 3, "activation": "gelu", "dtype": "float64"},
         [[2, 4]], dtype="float64"),
    # Activation by name.
    case("activation_relu", "Activation", {"activation": "relu"}, [[2, 3, 4]]),
    case("activation_selu", "Activation", {"activation": "selu"}, [[2, 6]]),
    case("activation_hard_sigmoid", "Activation", {"activation": "hard_sigmoid"}, [[2, 6]],
         scale=4.0),
    case("activation_softmax_rank3", "Activation", {"activation": "softmax"}, [[2, 3, 4]]),
    # ReLU with max_value / negative_slope / threshold combinations.
    case("relu_defaults", "ReLU", {}, [[2, 8]]),
    case("relu_max_value_6", "ReLU", {"max_value": 6.0}, [[2, 8]], scale=5.0),
    case("relu_max_value_2_5", "ReLU", {"max_value": 2.5}, [[2, 8]]),
    case("relu_negative_slope", "ReLU", {"negative_slope": 0.1}, [[2, 8]]),
    case("relu_threshold", "ReLU", {"threshold": 1.0}, [[2, 8]]),
    case("relu_slope_and_max", "ReLU", {"max_value": 1.0, "negative_slope": 0.3}, [[2, 8]]),
    case("relu_slope_and_threshold", "ReLU", {"negative_slope": 0.5, "threshold": 1.5}, [[2, 8]]),
    case("relu_max_and_threshold", "ReLU", {"max_value": 3.0, "threshold": 0.5}, [[2, 8]]),
    case("relu_all_three", "ReLU", {"max_value": 2.5, "negative_slope": 0.2, "threshold": 0.5},
         [[2, 3, 4]]),
    # LeakyReLU, PReLU, ELU.
    case("leaky_relu_default", "LeakyReLU", {}, [[2, 8]]),
    case("leaky_relu_slope", "LeakyReLU", {"negative_slope": 0.05}, [[2, 3, 4]]),
    case("prelu_rank3_unshared", "PReLU", {}, [[2, 3, 4]]),
    case("prelu_rank3_shared_axis_1", "PReLU", {"shared_axes": [1]}, [[2, 3, 4]],
         symbolic=[[[None, None, 4]]]),
    case("prelu_rank4_shared_axes_1_2", "PReLU", {"shared_axes": [1, 2]}, [[2, 3, 4, 2]]),
    case("elu_default", "ELU", {}, [[2, 8]]),
    case("elu_alpha", "ELU", {"alpha": 0.5}, [[2, 3, 4]]),
    # Softmax on axes, with masks.
    case("softmax_axis_last", "Softmax", {}, [[2, 3, 4]]),
    case("softmax_axis_1", "Softmax", {"axis": 1}, [[2, 3, 4]]),
    case("softmax_axes_1_2", "Softmax", {"axis": [1, 2]}, [[2, 3, 4]]),
    case("softmax_bool_mask", "Softmax", {}, [[2, 3, 5]], mask=("bool", [2, 3, 5])),
    case("softmax_broadcast_mask", "Softmax", {}, [[2, 3, 5]], mask=("bool", [2, 1, 5])),
    case("softmax_float_mask_axis_1", "Softmax", {"axis": 1}, [[2, 3, 5]],
         mask=("float32", [2, 3, 5])),
    case("softmax_float64", "Softmax", {"dtype": "float64"}, [[2, 5]], dtype="float64"),
    # Reshaping.
    case("flatten_channels_last_rank4", "Flatten", {}, [[2, 3, 4, 2]],
         symbolic=[[[None, None, 4, 2]]]),
    case("flatten_channels_first_rank4", "Flatten", {"data_format": "channels_first"},
         [[2, 3, 4, 2]]),
    case("flatten_rank2", "Flatten", {}, [[2, 5]]),
    case("reshape_minus_one_first", "Reshape", {"target_shape": [-1, 2]}, [[2, 3, 4]],
         symbolic=[[[None, None, 4]]]),
    case("reshape_minus_one_last", "Reshape", {"target_shape": [4, -1]}, [[2, 3, 4]]),
    case("reshape_explicit", "Reshape", {"target_shape": [2, 3, 2]}, [[2, 12]]),
    case("permute_swap", "Permute", {"dims": [2, 1]}, [[2, 3, 4]],
         symbolic=[[[None, None, 4]]]),
    case("permute_rank4_cycle", "Permute", {"dims": [3, 1, 2]}, [[2, 2, 3, 4]]),
    case("repeat_vector", "RepeatVector", {"n": 3}, [[2, 4]]),
    # Elementwise merges: same shape, broadcasting, different ranks.
    case("add_same_shape", "Add", {}, [[2, 3, 4], [2, 3, 4]]),
    case("add_three_inputs", "Add", {}, [[2, 4], [2, 4], [2, 4]]),
    case("add_lower_rank", "Add", {}, [[2, 3, 4], [2, 4]], symbolic=[[[None, None, 4], [None, 4]]]),
    case("subtract_same_shape", "Subtract", {}, [[2, 3, 4], [2, 3, 4]]),
    case("subtract_broadcast", "Subtract", {}, [[2, 3, 1], [2, 1, 4]]),
    case("subtract_lower_rank_first", "Subtract", {}, [[2, 4], [2, 3, 4]]),
    case("multiply_same_shape", "Multiply", {}, [[2, 3, 4], [2, 3, 4]]),
    case("multiply_rank4_and_rank2", "Multiply", {}, [[2, 2, 3, 4], [2, 4]]),
    case("average_same_shape", "Average", {}, [[2, 3, 4], [2, 3, 4]]),
    case("average_three_broadcast", "Average", {}, [[2, 1, 4], [2, 3, 4], [2, 3, 1]]),
    case("maximum_same_shape", "Maximum", {}, [[2, 3, 4], [2, 3, 4]]),
    case("maximum_rank3_and_rank2", "Maximum", {}, [[2, 3, 1], [2, 3]]),
    case("minimum_same_shape", "Minimum", {}, [[2, 3, 4], [2, 3, 4]]),
    case("minimum_lower_rank_broadcast", "Minimum", {}, [[2, 1, 4], [2, 4], [2, 3, 4]]),
    # Concatenate.
    case("concatenate_axis_1", "Concatenate", {"axis": 1}, [[2, 3, 4], [2, 2, 4]],
         symbolic=[[[None, None, 4], [None, 2, 4]]]),
    case("concatenate_axis_last", "Concatenate", {}, [[2, 3, 4], [2, 3, 2]]),
    case("concatenate_axis_2_rank4", "Concatenate", {"axis": 2}, [[2, 3, 4, 2], [2, 3, 1, 2]]),
    case("concatenate_three_rank2", "Concatenate", {"axis": -1}, [[2, 1], [2, 3], [2, 2]]),
    # Dot.
    case("dot_rank2_axes_1", "Dot", {"axes": 1}, [[2, 4], [2, 4]]),
    case("dot_rank2_negative", "Dot", {"axes": -1}, [[2, 4], [2, 4]]),
    case("dot_rank2_normalize", "Dot", {"axes": 1, "normalize": True}, [[3, 4], [3, 4]]),
    case("dot_rank3_int", "Dot", {"axes": 2}, [[2, 3, 4], [2, 5, 4]]),
    case("dot_rank3_pair", "Dot", {"axes": [1, 2]}, [[2, 3, 5], [2, 4, 3]]),
    case("dot_rank3_negative_pair", "Dot", {"axes": [-1, -2]}, [[2, 3, 4], [2, 4, 5]]),
    case("dot_rank3_negative_int", "Dot", {"axes": -1}, [[2, 3, 4], [2, 5, 4]]),
    case("dot_rank3_normalize_pair", "Dot", {"axes": [2, 1], "normalize": True},
         [[2, 3, 4], [2, 4, 5]]),
    case("dot_rank3_with_rank2", "Dot", {"axes": [2, 1]}, [[2, 3, 4], [2, 4]]),
    # Layers that are the identity at inference.
    case("dropout", "Dropout", {"rate": 0.5}, [[2, 3, 4]]),
    case("dropout_noise_shape_seed", "Dropout", {"rate": 0.3, "noise_shape": [None, 1, 4],
                                                 "seed": 7}, [[2, 3, 4]]),
    case("gaussian_noise", "GaussianNoise", {"stddev": 0.3}, [[2, 3, 4]]),
    case("gaussian_dropout", "GaussianDropout", {"rate": 0.4, "seed": 3}, [[2, 3, 4]]),
    case("alpha_dropout", "AlphaDropout", {"rate": 0.2}, [[2, 3, 4]]),
    case("spatial_dropout1d", "SpatialDropout1D", {"rate": 0.3}, [[2, 3, 4]]),
    case("spatial_dropout2d_channels_first", "SpatialDropout2D",
         {"rate": 0.3, "data_format": "channels_first"}, [[2, 3, 4, 2]]),
    case("spatial_dropout1d_mixed_float16", "SpatialDropout1D",
         {"rate": 0.3, "dtype": "mixed_float16"}, [[2, 3, 4]]),
    case("spatial_dropout3d", "SpatialDropout3D", {"rate": 0.25, "seed": 1}, [[2, 2, 2, 2, 3]]),
    case("activity_regularization", "ActivityRegularization", {"l1": 0.01, "l2": 0.02},
         [[2, 3, 4]]),
    case("identity", "Identity", {}, [[2, 3, 4]]),
]


def _rng(case_id: str, salt: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(f"{case_id}:{salt}".encode()))


def _inputs(spec) -> list:
    arrays = []
    for index, shape in enumerate(spec["inputs"]):
        values = _rng(spec["id"], f"input{index}").normal(size=shape) * spec["scale"]
        arrays.append((np.round(values * 8) / 8).astype(spec["dtype"]))
    if spec["id"] == "dot_rank2_normalize":
        arrays[0][1] = 0.0  # a zero row: the norm's epsilon guard decides the result
    return arrays


def _mask(spec):
    if spec["mask"] is None:
        return None
    kind, shape = spec["mask"]
    values = _rng(spec["id"], "mask").uniform(size=shape)
    mask = values > 0.4
    mask.reshape(-1, shape[-1])[0] = False  # one fully masked row
    mask.reshape(-1, shape[-1])[-1] = True
    if kind == "bool":
        return mask
    return np.where(mask, values, values * 0.5).astype(kind)  # > 0.5 keeps, <= 0.5 masks


def _weights(spec, layer) -> list:
    rng = _rng(spec["id"], "weights")
    if spec["class_name"] == "PReLU":
        values = [rng.uniform(-0.5, 1.5, size=w.shape) for w in layer.get_weights()]
    else:
        values = [rng.normal(size=w.shape) * 0.7 for w in layer.get_weights()]
    return [(np.round(v * 16) / 16).astype(w.dtype) for v, w in zip(values, layer.get_weights())]


def _as_tuple(shape):
    return tuple(shape)


def record_case(keras, spec, buffers: Buffers) -> dict:
    keras.utils.clear_session()
    layer = getattr(keras.layers, spec["class_name"])(**spec["kwargs"])
    config = json.loads(json.dumps(layer.get_config()))
    inputs = _inputs(spec)
    multi = len(inputs) > 1 or spec["class_name"] in (
        "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot")
    call_inputs = list(inputs) if multi else inputs[0]
    layer.build([_as_tuple(a.shape) for a in inputs] if multi else _as_tuple(inputs[0].shape))
    if layer.weights:
        layer.set_weights(_weights(spec, layer))
    mask = _mask(spec)
    kwargs = {"training": False} if "training" in _call_args(layer) else {}
    if mask is not None:
        kwargs["mask"] = mask
    output = keras.ops.convert_to_numpy(layer(call_inputs, **kwargs))

    output_shapes = []
    for shapes in spec["symbolic"]:
        shape_arg = [_as_tuple(s) for s in shapes] if multi else _as_tuple(shapes[0])
        computed = layer.compute_output_shape(shape_arg)
        # Cross-check with a symbolic call on a fresh layer: the two must agree.
        fresh = getattr(keras.layers, spec["class_name"])(**spec["kwargs"])
        tensors = [keras.Input(batch_shape=_as_tuple(s), dtype=spec["dtype"]) for s in shapes]
        symbolic = fresh(tensors if multi else tensors[0])
        assert tuple(symbolic.shape) == tuple(computed), (spec["id"], symbolic.shape, computed)
        output_shapes.append(list(computed))

    arrays = {f"input:{index}": buffers.add(array) for index, array in enumerate(inputs)}
    if mask is not None:
        arrays["mask"] = buffers.add(mask)
    for index, weight in enumerate(layer.get_weights()):
        arrays[f"weight:{index}"] = buffers.add(weight)
    arrays["output"] = buffers.add(output)
    record = {key: spec[key] for key in ("id", "class_name", "kwargs", "inputs", "symbolic")}
    record.update(multi=multi, arrays=arrays, keras_config=config,
                  output_shapes=output_shapes, dtype=spec["dtype"],
                  output_dtype=str(output.dtype))
    return record


def _call_args(layer):
    import inspect
    return inspect.signature(layer.call).parameters


def main() -> None:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    assert keras.__version__ == "3.15.1", keras.__version__
    buffers = Buffers()
    records = [record_case(keras, spec, buffers) for spec in CASES]
    ids = [record["id"] for record in records]
    assert len(set(ids)) == len(ids), "duplicate case id"
    arrays = buffers.arrays()
    document = {"keras_version": keras.__version__, "cases": records}
    arrays["cases_json"] = np.frombuffer(json.dumps(document, sort_keys=True).encode(), np.uint8)
    os.makedirs(os.path.dirname(OUT_PATH), exist_ok=True)
    np.savez_compressed(OUT_PATH, **arrays)
    print(f"wrote {len(records)} cases to {OUT_PATH} ({os.path.getsize(OUT_PATH)} bytes)")


if __name__ == "__main__":
    main()
