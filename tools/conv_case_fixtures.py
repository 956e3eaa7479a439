"""Record what real Keras computes, builds and writes for the convolution layers, for
tests/layers/test_conv_layers.py. Tests read the files with modelio alone and never import Keras.

Run from the repository root, once in each Keras environment:

    KERAS_BACKEND=torch /work/kenv/bin/python tools/conv_case_fixtures.py
    TF_CPP_MIN_LOG_LEVEL=3 /work/k2env/bin/python tools/conv_case_fixtures.py --keras2

Keras 3.15.1 writes fixtures/keras3/conv_cases.npz (the layout of tools/layer_case_fixtures.py):

* ``cases_json`` - UTF-8 JSON bytes: ``{"keras_version", "cases": [...]}``, each case
  ``{"id", "class_name", "kwargs", "inputs", "symbolic", "keras_config", "output_shapes",
  "weight_names", "arrays", "dtype", "output_dtype"}``: ``inputs`` is the concrete input shape
  list (with batch), ``symbolic`` lists symbolic input shapes (``null`` = free) and
  ``output_shapes`` what ``compute_output_shape`` returned for each (cross-checked against a
  symbolic call), ``keras_config`` what ``get_config()`` returned right after
  ``clear_session()``, ``weight_names`` the variables' names in ``weights`` order;
* ``buffer:<dtype>`` - every array of that dtype, flattened and concatenated; a case's
  ``arrays`` maps ``input:0``, ``weight:<i>`` and ``output`` to ``{"dtype", "shape", "offset"}``.

tf-keras 2.21 writes fixtures/keras2/conv_configs.json: ``{"tf_keras_version", "cases": [...]}``,
each ``{"id", "class_name", "kwargs", "config", "weight_names", "input", "weights", "output"}``
with the arrays as nested lists (small, exact multiples of 1/8 and 1/16; the output as float32
values written as JSON floats), so Keras 2 configs can be loaded and their numbers checked.

Values are drawn from generators seeded by the case id, so reruns write identical files.
"""

import json
import os
import sys
import zlib

import numpy as np
from case_archive import Buffers

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERAS3_PATH = os.path.join(REPO_ROOT, "fixtures", "keras3", "conv_cases.npz")
KERAS2_PATH = os.path.join(REPO_ROOT, "fixtures", "keras2", "conv_configs.json")


def case(case_id, class_name, kwargs, input_shape, symbolic=None, dtype="float32"):
    """One layer call on ``input_shape``; ``symbolic``: extra symbolic input shapes."""
    default_symbolic = [None, *input_shape[1:]]
    return {"id": case_id, "class_name": class_name, "kwargs": kwargs, "inputs": [input_shape],
            "symbolic": [default_symbolic] + (symbolic or []), "dtype": dtype}


CF = {"data_format": "channels_first"}

KERAS3_CASES = [
    # Conv1D: valid/same (odd and even kernels)/causal, strides, dilation, groups, channels_first.
    case("conv1d_valid_k3", "Conv1D", {"filters": 3, "kernel_size": 3}, [2, 7, 2],
         symbolic=[[None, None, 2]]),
    case("conv1d_same_k4_even", "Conv1D", {"filters": 3, "kernel_size": 4, "padding": "same"},
         [2, 7, 2], symbolic=[[None, None, 2]]),
    case("conv1d_same_k3_stride2", "Conv1D",
         {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}, [2, 8, 3]),
    case("conv1d_valid_stride2_relu", "Conv1D",
         {"filters": 2, "kernel_size": 2, "strides": 2, "activation": "relu"}, [2, 9, 3]),
    case("conv1d_causal_dilation2", "Conv1D",
         {"filters": 3, "kernel_size": 3, "padding": "causal", "dilation_rate": 2}, [2, 9, 2],
         symbolic=[[None, None, 2]]),
    case("conv1d_causal_stride2", "Conv1D",
         {"filters": 2, "kernel_size": 2, "padding": "causal", "strides": 2}, [2, 7, 2]),
    case("conv1d_causal_channels_first", "Conv1D",
         {"filters": 2, "kernel_size": 3, "padding": "causal", **CF}, [2, 3, 6]),
    case("conv1d_groups2_dilation2_no_bias", "Conv1D",
         {"filters": 4, "kernel_size": 3, "groups": 2, "dilation_rate": 2, "use_bias": False},
         [2, 9, 4]),
    case("conv1d_channels_first_same", "Conv1D",
         {"filters": 3, "kernel_size": 3, "padding": "same", **CF}, [2, 2, 7],
         symbolic=[[None, 2, None]]),
    # Conv2D.
    case("conv2d_valid_3x3", "Conv2D", {"filters": 3, "kernel_size": 3}, [2, 6, 7, 2],
         symbolic=[[None, None, None, 2], [None, 6, None, 2]]),
    case("conv2d_same_3x3_stride2_odd_input", "Conv2D",
         {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}, [2, 7, 6, 2],
         symbolic=[[None, None, None, 2]]),
    case("conv2d_same_4x4_even_kernel", "Conv2D",
         {"filters": 2, "kernel_size": 4, "padding": "same"}, [2, 6, 5, 2]),
    case("conv2d_same_2x2_stride2_even_kernel", "Conv2D",
         {"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same"}, [2, 7, 6, 3]),
    case("conv2d_same_kernel2_stride3", "Conv2D",
         {"filters": 2, "kernel_size": 2, "strides": 3, "padding": "same"}, [2, 8, 7, 2]),
    case("conv2d_same_dilation2_tanh", "Conv2D",
         {"filters": 3, "kernel_size": 3, "padding": "same", "dilation_rate": 2,
          "activation": "tanh"}, [2, 7, 7, 2]),
    case("conv2d_valid_dilation_2_1_rect_kernel", "Conv2D",
         {"filters": 2, "kernel_size": [3, 2], "dilation_rate": [2, 1]}, [2, 8, 6, 2]),
    case("conv2d_channels_first_groups2_stride_2_1", "Conv2D",
         {"filters": 4, "kernel_size": [3, 2], "strides": [2, 1], "padding": "same",
          "groups": 2, **CF}, [2, 4, 7, 6], symbolic=[[None, 4, None, None]]),
    case("conv2d_groups2_valid_sigmoid", "Conv2D",
         {"filters": 6, "kernel_size": 2, "groups": 2, "activation": "sigmoid"}, [2, 5, 5, 4]),
    case("conv2d_pointwise_1x1_stride2", "Conv2D",
         {"filters": 3, "kernel_size": 1, "strides": 2}, [2, 5, 6, 4]),
    case("conv2d_channels_first_softmax", "Conv2D",
         {"filters": 3, "kernel_size": 3, "padding": "same", "activation": "softmax", **CF},
         [2, 2, 5, 5]),
    case("conv2d_float64", "Conv2D",
         {"filters": 3, "kernel_size": 3, "padding": "same", "dtype": "float64"}, [2, 5, 5, 2],
         dtype="float64"),
    # Conv3D.
    case("conv3d_valid_2x2x2", "Conv3D", {"filters": 2, "kernel_size": 2}, [2, 4, 5, 3, 2],
         symbolic=[[None, None, None, None, 2]]),
    case("conv3d_channels_first_same_stride2", "Conv3D",
         {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same", **CF},
         [2, 2, 5, 4, 5]),
    case("conv3d_groups2_dilation2", "Conv3D",
         {"filters": 2, "kernel_size": 2, "groups": 2, "dilation_rate": 2, "padding": "same"},
         [2, 4, 5, 4, 4]),
    # DepthwiseConv1D.
    case("depthwise_conv1d_valid_multiplier2", "DepthwiseConv1D",
         {"kernel_size": 3, "depth_multiplier": 2}, [2, 7, 3], symbolic=[[None, None, 3]]),
    case("depthwise_conv1d_channels_first_same_k4_stride2", "DepthwiseConv1D",
         {"kernel_size": 4, "strides": 2, "padding": "same", **CF}, [2, 3, 9]),
    case("depthwise_conv1d_dilation2_relu", "DepthwiseConv1D",
         {"kernel_size": 2, "dilation_rate": 2, "padding": "same", "activation": "relu"},
         [2, 6, 2]),
    # DepthwiseConv2D.
    case("depthwise_conv2d_same_3x3", "DepthwiseConv2D",
         {"kernel_size": 3, "padding": "same"}, [2, 6, 5, 3],
         symbolic=[[None, None, None, 3]]),
    case("depthwise_conv2d_valid_multiplier2_stride2", "DepthwiseConv2D",
         {"kernel_size": 3, "strides": 2, "depth_multiplier": 2}, [2, 7, 7, 2]),
    case("depthwise_conv2d_channels_first_dilation2_multiplier2", "DepthwiseConv2D",
         {"kernel_size": 2, "dilation_rate": 2, "depth_multiplier": 2, "padding": "same", **CF},
         [2, 2, 6, 5], symbolic=[[None, 2, None, None]]),
    case("depthwise_conv2d_even_kernel_same_stride2_no_bias", "DepthwiseConv2D",
         {"kernel_size": 2, "strides": 2, "padding": "same", "use_bias": False}, [2, 5, 6, 3]),
    case("depthwise_conv2d_stride2_and_dilation2", "DepthwiseConv2D",
         {"kernel_size": 2, "strides": 2, "dilation_rate": 2}, [2, 7, 7, 2]),
    case("depthwise_conv2d_teachable_machine_style", "DepthwiseConv2D",
         {"kernel_size": [3, 3], "padding": "same", "use_bias": False, "trainable": False},
         [2, 5, 5, 4]),
    # SeparableConv1D.
    case("separable_conv1d_same_multiplier2", "SeparableConv1D",
         {"filters": 3, "kernel_size": 3, "padding": "same", "depth_multiplier": 2},
         [2, 7, 2], symbolic=[[None, None, 2]]),
    case("separable_conv1d_channels_first_valid_stride2", "SeparableConv1D",
         {"filters": 2, "kernel_size": 3, "strides": 2, **CF}, [2, 3, 9]),
    case("separable_conv1d_dilation2_no_bias", "SeparableConv1D",
         {"filters": 4, "kernel_size": 2, "dilation_rate": 2, "use_bias": False}, [2, 8, 3]),
    # SeparableConv2D.
    case("separable_conv2d_same_multiplier2", "SeparableConv2D",
         {"filters": 3, "kernel_size": 3, "padding": "same", "depth_multiplier": 2},
         [2, 5, 6, 2], symbolic=[[None, None, None, 2]]),
    case("separable_conv2d_valid_stride2_relu", "SeparableConv2D",
         {"filters": 4, "kernel_size": 3, "strides": 2, "activation": "relu"}, [2, 7, 7, 3]),
    case("separable_conv2d_channels_first_dilation2", "SeparableConv2D",
         {"filters": 2, "kernel_size": 2, "dilation_rate": 2, "padding": "same", **CF},
         [2, 3, 6, 5]),
    case("separable_conv2d_even_kernel_same_stride2", "SeparableConv2D",
         {"filters": 3, "kernel_size": 4, "strides": 2, "padding": "same"}, [2, 7, 6, 2]),
    # Conv1DTranspose.
    case("conv1d_transpose_valid_k3_stride2", "Conv1DTranspose",
         {"filters": 2, "kernel_size": 3, "strides": 2}, [2, 5, 3],
         symbolic=[[None, None, 3]]),
    case("conv1d_transpose_same_k3_stride2", "Conv1DTranspose",
         {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}, [2, 5, 2]),
    case("conv1d_transpose_same_k4_stride2_even", "Conv1DTranspose",
         {"filters": 2, "kernel_size": 4, "strides": 2, "padding": "same"}, [2, 4, 2]),
    case("conv1d_transpose_valid_output_padding1", "Conv1DTranspose",
         {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 1}, [2, 4, 2]),
    case("conv1d_transpose_dilation2_same", "Conv1DTranspose",
         {"filters": 2, "kernel_size": 3, "dilation_rate": 2, "padding": "same"}, [2, 6, 2]),
    case("conv1d_transpose_channels_first_k2_stride3", "Conv1DTranspose",
         {"filters": 3, "kernel_size": 2, "strides": 3, **CF}, [2, 2, 4]),
    # Conv2DTranspose.
    case("conv2d_transpose_valid_3x3_stride2", "Conv2DTranspose",
         {"filters": 2, "kernel_size": 3, "strides": 2}, [2, 4, 3, 3],
         symbolic=[[None, None, None, 3]]),
    case("conv2d_transpose_same_3x3_stride2", "Conv2DTranspose",
         {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}, [2, 4, 3, 2],
         symbolic=[[None, None, 3, 2]]),
    case("conv2d_transpose_same_4x4_stride2_even", "Conv2DTranspose",
         {"filters": 2, "kernel_size": 4, "strides": 2, "padding": "same"}, [2, 3, 4, 2]),
    case("conv2d_transpose_same_output_padding_1_0", "Conv2DTranspose",
         {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same",
          "output_padding": [1, 0]}, [2, 3, 4, 2]),
    case("conv2d_transpose_valid_output_padding_stride3", "Conv2DTranspose",
         {"filters": 2, "kernel_size": 2, "strides": 3, "output_padding": [2, 0]}, [2, 3, 3, 2]),
    case("conv2d_transpose_valid_kernel2_stride3", "Conv2DTranspose",
         {"filters": 2, "kernel_size": 2, "strides": 3}, [2, 3, 4, 2]),
    case("conv2d_transpose_same_kernel1_stride2", "Conv2DTranspose",
         {"filters": 2, "kernel_size": 1, "strides": 2, "padding": "same"}, [2, 3, 3, 2]),
    case("conv2d_transpose_same_kernel2_stride3", "Conv2DTranspose",
         {"filters": 2, "kernel_size": 2, "strides": 3, "padding": "same"}, [2, 3, 3, 2]),
    case("conv2d_transpose_dilation2_same_tanh", "Conv2DTranspose",
         {"filters": 2, "kernel_size": 3, "dilation_rate": 2, "padding": "same",
          "activation": "tanh"}, [2, 4, 5, 2]),
    case("conv2d_transpose_dilation2_valid", "Conv2DTranspose",
         {"filters": 2, "kernel_size": 2, "dilation_rate": 2}, [2, 4, 3, 2]),
    case("conv2d_transpose_channels_first_same_stride_2_1_no_bias", "Conv2DTranspose",
         {"filters": 3, "kernel_size": [3, 2], "strides": [2, 1], "padding": "same",
          "use_bias": False, **CF}, [2, 2, 3, 4], symbolic=[[None, 2, None, None]]),
    # Conv3DTranspose.
    case("conv3d_transpose_same_k3_stride2", "Conv3DTranspose",
         {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}, [2, 3, 2, 3, 2],
         symbolic=[[None, None, None, None, 2]]),
    case("conv3d_transpose_channels_first_valid_stride_1_2_2", "Conv3DTranspose",
         {"filters": 2, "kernel_size": 2, "strides": [1, 2, 2], **CF}, [2, 2, 3, 2, 3]),
    case("conv3d_transpose_output_padding", "Conv3DTranspose",
         {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": [1, 0, 1]},
         [2, 2, 3, 2, 2]),
]

# tf-keras (Keras 2) configs, with values where the numbers matter.
KERAS2_CASES = [
    ("conv1d_causal", "Conv1D", {"filters": 2, "kernel_size": 3, "padding": "causal"},
     [1, 6, 2]),
    ("conv2d_same_stride2", "Conv2D",
     {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}, [1, 5, 5, 2]),
    ("conv3d_default", "Conv3D", {"filters": 2, "kernel_size": 2}, [1, 3, 3, 3, 2]),
    ("depthwise_conv1d_multiplier2", "DepthwiseConv1D",
     {"kernel_size": 3, "depth_multiplier": 2, "padding": "same"}, [1, 6, 2]),
    ("depthwise_conv2d_teachable_machine", "DepthwiseConv2D",
     {"kernel_size": [3, 3], "padding": "same", "use_bias": False, "trainable": False,
      "depth_multiplier": 1}, [1, 5, 5, 3]),
    ("depthwise_conv2d_stride2_bias", "DepthwiseConv2D",
     {"kernel_size": 3, "strides": 2, "padding": "same", "depth_multiplier": 2}, [1, 5, 5, 2]),
    ("separable_conv1d_causal", "SeparableConv1D",
     {"filters": 2, "kernel_size": 3, "padding": "causal"}, [1, 6, 2]),
    ("separable_conv2d_same", "SeparableConv2D",
     {"filters": 3, "kernel_size": 3, "padding": "same", "depth_multiplier": 2}, [1, 5, 4, 2]),
    ("conv1d_transpose_same_stride2", "Conv1DTranspose",
     {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}, [1, 4, 2]),
    ("conv2d_transpose_same_stride2_output_padding", "Conv2DTranspose",
     {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same", "output_padding": 1},
     [1, 3, 3, 2]),
    ("conv3d_transpose_valid_stride2", "Conv3DTranspose",
     {"filters": 2, "kernel_size": 2, "strides": 2}, [1, 2, 2, 2, 2]),
]


def _rng(case_id: str, salt: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(f"{case_id}:{salt}".encode()))


def _input(case_id: str, shape, dtype: str) -> np.ndarray:
    values = _rng(case_id, "input").normal(size=shape) * 2.0
    return (np.round(values * 8) / 8).astype(dtype)


def _weights(case_id: str, shapes_and_dtypes) -> list:
    rng = _rng(case_id, "weights")
    return [(np.round(rng.normal(size=shape) * 0.7 * 16) / 16).astype(dtype)
            for shape, dtype in shapes_and_dtypes]


def record_keras3_case(keras, spec, buffers: Buffers) -> dict:
    keras.utils.clear_session()
    layer_class = getattr(keras.layers, spec["class_name"])
    layer = layer_class(**spec["kwargs"])
    config = json.loads(json.dumps(layer.get_config()))
    x = _input(spec["id"], spec["inputs"][0], spec["dtype"])
    layer.build(tuple(x.shape))
    weights = _weights(spec["id"], [(w.shape, w.dtype) for w in layer.get_weights()])
    layer.set_weights(weights)
    output = keras.ops.convert_to_numpy(layer(x))

    output_shapes = []
    for shape in spec["symbolic"]:
        computed = layer.compute_output_shape(tuple(shape))
        fresh = layer_class(**spec["kwargs"])
        symbolic = fresh(keras.Input(batch_shape=tuple(shape), dtype=spec["dtype"]))
        assert tuple(symbolic.shape) == tuple(computed), (spec["id"], symbolic.shape, computed)
        output_shapes.append(list(computed))

    arrays = {"input:0": buffers.add(x)}
    for index, weight in enumerate(layer.get_weights()):
        arrays[f"weight:{index}"] = buffers.add(weight)
    arrays["output"] = buffers.add(output)
    record = {key: spec[key] for key in ("id", "class_name", "kwargs", "inputs", "symbolic")}
    record.update(arrays=arrays, keras_config=config, output_shapes=output_shapes,
                  weight_names=[w.name for w in layer.weights], dtype=spec["dtype"],
                  output_dtype=str(output.dtype))
    return record


def write_keras3() -> None:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    assert keras.__version__ == "3.15.1", keras.__version__
    buffers = Buffers()
    records = [record_keras3_case(keras, spec, buffers) for spec in KERAS3_CASES]
    ids = [record["id"] for record in records]
    assert len(set(ids)) == len(ids), "duplicate case id"
    arrays = buffers.arrays()
    document = {"keras_version": keras.__version__, "cases": records}
    arrays["cases_json"] = np.frombuffer(json.dumps(document, sort_keys=True).encode(), np.uint8)
    os.makedirs(os.path.dirname(KERAS3_PATH), exist_ok=True)
    np.savez_compressed(KERAS3_PATH, **arrays)
    print(f"wrote {len(records)} cases to {KERAS3_PATH} ({os.path.getsize(KERAS3_PATH)} bytes)")


def write_keras2() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tf_keras

    records = []
    for case_id, class_name, kwargs, shape in KERAS2_CASES:
        tf_keras.backend.clear_session()
        layer = getattr(tf_keras.layers, class_name)(**kwargs)
        config = json.loads(json.dumps(layer.get_config()))
        x = _input(case_id, shape, "float32")
        layer.build(tuple(shape))
        weights = _weights(case_id, [(w.shape, w.dtype) for w in layer.get_weights()])
        layer.set_weights(weights)
        output = np.asarray(layer(x)).astype(np.float32)
        records.append({"id": case_id, "class_name": class_name, "kwargs": kwargs,
                        "config": config, "weight_names": [w.name for w in layer.weights],
                        "input": x.tolist(), "weights": [w.tolist() for w in weights],
                        "output": output.tolist()})
    document = {"tf_keras_version": tf_keras.__version__, "cases": records}
    os.makedirs(os.path.dirname(KERAS2_PATH), exist_ok=True)
    with open(KERAS2_PATH, "w", encoding="utf-8") as handle:
        json.dump(document, handle, sort_keys=True, separators=(",", ":"))
        handle.write("\n")
    print(f"wrote {len(records)} cases to {KERAS2_PATH} ({os.path.getsize(KERAS2_PATH)} bytes)")


if __name__ == "__main__":
    if "--keras2" in sys.argv[1:]:
        write_keras2()
    else:
        write_keras3()
