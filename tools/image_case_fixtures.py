"""Record what real Keras computes and writes for the pooling, padding/cropping, up-sampling and
image preprocessing layers, for tests/layers/test_pooling_layers.py and
tests/layers/test_image_layers.py. Tests read the files with modelio alone; they never import Keras.

Run from the repository root, in the environment that has Keras 3 (it runs tf-keras itself, in
/work/k2env, through a subprocess):

    KERAS_BACKEND=torch /work/kenv/bin/python tools/image_case_fixtures.py

It writes two files, byte-identical on every run:

* fixtures/keras3/image_cases.npz - the layout of layer_cases.npz (see
  tools/layer_case_fixtures.py): ``cases_json`` (UTF-8 JSON: ``{"keras_version", "cases"}``)
  and one flat ``buffer:<dtype>`` per dtype. Each case has ``id``, ``class_name``, ``kwargs``,
  ``numpy_kwargs`` (kwargs Keras got as float64 numpy arrays), ``inputs``, ``symbolic`` (lists of
  symbolic input shapes), ``output_shapes`` (Keras's ``compute_output_shape`` of each),
  ``keras_config`` and ``arrays`` (``input:0``, ``mask``, ``output`` and maybe ``expected``
  -> ``{"dtype", "shape", "offset"}`` in the buffers).
  ``expected`` is present where Keras 3's PyTorch backend differs from Keras's documented meaning:
  AveragePooling with "same" padding that is uneven on some axis. That backend pads such inputs by
  replicating the edge and then averages the copies as if they were real cells, while TensorFlow,
  JAX and Keras 3's NumPy backend (and tf-keras) leave padding out of the mean. ``expected`` is
  what tf-keras 2.21 computes for the same input; ``output`` stays the PyTorch-backend value.
* fixtures/keras2/image_configs.json - tf-keras 2.21 configs of these layers, with a small input
  (and mask) and tf-keras's output for each: ``{"tf_keras_version", "cases": [{"id",
  "class_name", "config", "input", "mask", "output", "output_dtype"}]}``.

Float inputs are multiples of 1/8 drawn from generators seeded by the case id; uint8 inputs are
integers in [0, 255].
"""

import inspect
import json
import os
import subprocess
import sys
import warnings
import zlib

import numpy as np
from case_archive import Buffers, write_npz

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERAS3_PATH = os.path.join(REPO_ROOT, "fixtures", "keras3", "image_cases.npz")
KERAS2_PATH = os.path.join(REPO_ROOT, "fixtures", "keras2", "image_configs.json")
KERAS2_PYTHON = "/work/k2env/bin/python"
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def case(case_id, class_name, kwargs, shape, symbolic=None, mask=None, dtype="float32",
         tf_reference=False, numpy_kwargs=(), eager_only=False):
    """One layer call on one input of `shape`; `symbolic`: extra symbolic input shapes
    (`eager_only`: none at all, as Keras cannot build this layer symbolically)."""
    symbolic_shapes = [[[None, *shape[1:]]]] + [[s] for s in (symbolic or [])]
    return {"id": case_id, "class_name": class_name, "kwargs": kwargs, "inputs": [shape],
            "symbolic": [] if eager_only else symbolic_shapes,
            "mask": mask, "dtype": dtype, "tf_reference": tf_reference,
            "numpy_kwargs": list(numpy_kwargs)}


CF = {"data_format": "channels_first"}

POOLING_CASES = [
    # Max pooling: default/odd sizes, strides != pool, same padding at borders, channels_first.
    case("max1d_default_odd_length", "MaxPooling1D", {}, [2, 7, 3], symbolic=[[None, None, 3]]),
    case("max1d_pool3_stride1_same", "MaxPooling1D", {"pool_size": 3, "strides": 1,
                                                      "padding": "same"}, [2, 6, 2]),
    case("max1d_pool3_stride2_same_channels_first", "MaxPooling1D",
         {"pool_size": 3, "strides": 2, "padding": "same", **CF}, [2, 3, 8],
         symbolic=[[None, 3, None]]),
    case("max1d_pool2_stride3_valid", "MaxPooling1D", {"pool_size": 2, "strides": 3}, [2, 8, 2]),
    case("max2d_default_odd_sizes", "MaxPooling2D", {}, [2, 5, 7, 3],
         symbolic=[[None, None, None, 3]]),
    case("max2d_pool3x2_strides2x1_same", "MaxPooling2D",
         {"pool_size": [3, 2], "strides": [2, 1], "padding": "same"}, [2, 7, 6, 2],
         symbolic=[[None, None, 6, 2]]),
    case("max2d_pool3_stride2_valid_channels_first", "MaxPooling2D",
         {"pool_size": 3, "strides": 2, **CF}, [2, 2, 7, 8]),
    case("max2d_pool2_stride1_same_uneven", "MaxPooling2D",
         {"pool_size": 2, "strides": 1, "padding": "same"}, [1, 5, 6, 2]),
    # Keras keeps "SAME" as written and pools with it eagerly, but its compute_output_shape
    # (so any symbolic call) refuses it.
    case("max2d_pool4_stride3_same_uppercase", "MaxPooling2D",
         {"pool_size": 4, "strides": 3, "padding": "SAME"}, [1, 8, 7, 2], eager_only=True),
    case("max3d_default", "MaxPooling3D", {}, [1, 4, 5, 6, 2]),
    case("max3d_pool2x3x2_stride1_same_channels_first", "MaxPooling3D",
         {"pool_size": [2, 3, 2], "strides": 1, "padding": "same", **CF}, [1, 2, 3, 4, 5],
         symbolic=[[None, 2, None, 4, None]]),
    # Average pooling. "same" with uneven padding: see `expected` in the module docstring.
    case("avg1d_pool3_valid", "AveragePooling1D", {"pool_size": 3}, [2, 7, 3]),
    case("avg1d_pool2_stride1_same", "AveragePooling1D",
         {"pool_size": 2, "strides": 1, "padding": "same"}, [2, 6, 2]),
    case("avg1d_pool3_stride2_same_even_padding", "AveragePooling1D",
         {"pool_size": 3, "strides": 2, "padding": "same"}, [2, 7, 2]),
    case("avg1d_pool4_stride1_same_uneven_padding", "AveragePooling1D",
         {"pool_size": 4, "strides": 1, "padding": "same"}, [2, 6, 2], tf_reference=True),
    case("avg1d_pool2_channels_first", "AveragePooling1D", {"pool_size": 2, **CF}, [2, 3, 6]),
    case("avg2d_pool3_stride1_same_even_padding", "AveragePooling2D",
         {"pool_size": 3, "strides": 1, "padding": "same"}, [2, 6, 6, 2],
         symbolic=[[None, None, None, 2]]),
    case("avg2d_pool3_stride2_same_uneven_padding", "AveragePooling2D",
         {"pool_size": 3, "strides": 2, "padding": "same"}, [2, 6, 7, 2], tf_reference=True),
    case("avg2d_pool2x3_strides1x2_same_channels_first", "AveragePooling2D",
         {"pool_size": [2, 3], "strides": [1, 2], "padding": "same", **CF}, [2, 2, 5, 7],
         tf_reference=True),
    case("avg2d_pool2_valid_channels_first", "AveragePooling2D", {"pool_size": 2, **CF},
         [2, 3, 5, 6]),
    case("avg2d_pool3_stride2_valid", "AveragePooling2D", {"pool_size": 3, "strides": 2},
         [2, 7, 8, 2]),
    case("avg3d_pool2_valid", "AveragePooling3D", {"pool_size": 2}, [1, 4, 5, 4, 2]),
    case("avg3d_pool3_stride1_same_channels_first", "AveragePooling3D",
         {"pool_size": 3, "strides": 1, "padding": "same", **CF}, [1, 2, 3, 4, 5]),
    case("avg3d_pool2_stride1_same_uneven", "AveragePooling3D",
         {"pool_size": 2, "strides": 1, "padding": "same"}, [1, 3, 4, 3, 2]),
    case("avg3d_pool3_stride2_same_uneven", "AveragePooling3D",
         {"pool_size": 3, "strides": 2, "padding": "same"}, [1, 4, 5, 4, 2], tf_reference=True),
    # Global pooling, keepdims, channels_first, masks on the 1D ones.
    case("gap1d_default", "GlobalAveragePooling1D", {}, [2, 5, 3], symbolic=[[None, None, 3]]),
    case("gap1d_channels_first_keepdims", "GlobalAveragePooling1D",
         {"keepdims": True, **CF}, [2, 3, 5]),
    case("gap1d_bool_mask", "GlobalAveragePooling1D", {}, [3, 6, 2], mask=("bool", [3, 6])),
    case("gap1d_bool_mask_fully_masked_sample", "GlobalAveragePooling1D", {"keepdims": True},
         [3, 5, 2], mask=("bool_with_empty_row", [3, 5])),
    case("gap1d_float_mask_channels_first", "GlobalAveragePooling1D", CF, [2, 3, 6],
         mask=("float32", [2, 6])),
    case("gmp1d_default", "GlobalMaxPooling1D", {}, [2, 5, 3]),
    case("gmp1d_mask_is_ignored", "GlobalMaxPooling1D", {}, [3, 6, 2], mask=("bool", [3, 6])),
    case("gmp1d_channels_first_keepdims", "GlobalMaxPooling1D", {"keepdims": True, **CF},
         [2, 3, 5]),
    case("gap2d_default", "GlobalAveragePooling2D", {}, [2, 4, 5, 3],
         symbolic=[[None, None, None, 3]]),
    case("gap2d_channels_first_keepdims", "GlobalAveragePooling2D", {"keepdims": True, **CF},
         [2, 3, 4, 5]),
    case("gmp2d_keepdims", "GlobalMaxPooling2D", {"keepdims": True}, [2, 4, 5, 3]),
    case("gmp2d_channels_first", "GlobalMaxPooling2D", CF, [2, 3, 4, 5]),
    case("gap3d_keepdims_channels_first", "GlobalAveragePooling3D", {"keepdims": True, **CF},
         [2, 3, 2, 3, 4]),
    case("gmp3d_default", "GlobalMaxPooling3D", {}, [2, 2, 3, 4, 3]),
]

IMAGE_CASES = [
    # Zero padding.
    case("zero_padding1d_default", "ZeroPadding1D", {}, [2, 4, 3], symbolic=[[None, None, 3]]),
    case("zero_padding1d_pair_channels_first", "ZeroPadding1D", {"padding": [1, 2], **CF},
         [2, 3, 4]),
    case("zero_padding2d_default", "ZeroPadding2D", {}, [2, 3, 4, 2],
         symbolic=[[None, None, 4, 2]]),
    case("zero_padding2d_pairs", "ZeroPadding2D", {"padding": [[1, 0], [2, 3]]}, [1, 3, 4, 2]),
    case("zero_padding2d_int_channels_first", "ZeroPadding2D", {"padding": 2, **CF},
         [1, 2, 3, 4]),
    case("zero_padding2d_symmetric_pair", "ZeroPadding2D", {"padding": [1, 2]}, [1, 3, 4, 2]),
    case("zero_padding3d_default", "ZeroPadding3D", {}, [1, 2, 3, 2, 2]),
    case("zero_padding3d_pairs_channels_first", "ZeroPadding3D",
         {"padding": [[0, 1], [2, 0], [1, 1]], **CF}, [1, 2, 2, 3, 2]),
    # Cropping.
    case("cropping1d_default", "Cropping1D", {}, [2, 5, 3], symbolic=[[None, None, 3]]),
    case("cropping1d_end_only", "Cropping1D", {"cropping": [0, 2]}, [2, 5, 3]),
    case("cropping2d_default", "Cropping2D", {}, [1, 3, 4, 2]),
    case("cropping2d_pairs", "Cropping2D", {"cropping": [[1, 0], [2, 1]]}, [1, 5, 6, 2],
         symbolic=[[None, None, None, 2]]),
    case("cropping2d_int_channels_first", "Cropping2D", {"cropping": 1, **CF}, [1, 2, 5, 4]),
    case("cropping2d_symmetric_pair", "Cropping2D", {"cropping": [1, 2]}, [1, 5, 6, 2]),
    case("cropping3d_default", "Cropping3D", {}, [1, 3, 4, 5, 2]),
    case("cropping3d_pairs_channels_first", "Cropping3D",
         {"cropping": [[1, 0], [0, 2], [1, 1]], **CF}, [1, 2, 3, 4, 5]),
    # Up-sampling, nearest and bilinear.
    case("up_sampling1d_default", "UpSampling1D", {}, [2, 3, 2], symbolic=[[None, None, 2]]),
    case("up_sampling1d_size3", "UpSampling1D", {"size": 3}, [2, 3, 2]),
    case("up_sampling2d_default", "UpSampling2D", {}, [2, 3, 4, 2],
         symbolic=[[None, None, None, 2]]),
    case("up_sampling2d_size2x3_channels_first", "UpSampling2D", {"size": [2, 3], **CF},
         [1, 2, 3, 4]),
    case("up_sampling2d_bilinear", "UpSampling2D", {"interpolation": "bilinear"}, [2, 3, 4, 2]),
    case("up_sampling2d_bilinear_3x2_channels_first", "UpSampling2D",
         {"size": [3, 2], "interpolation": "Bilinear", **CF}, [1, 2, 3, 4]),
    case("up_sampling3d_default", "UpSampling3D", {}, [1, 2, 2, 3, 2]),
    case("up_sampling3d_1x2x3_channels_first", "UpSampling3D", {"size": [1, 2, 3], **CF},
         [1, 2, 2, 2, 3]),
    # Rescaling.
    case("rescaling_uint8_by_255", "Rescaling", {"scale": 1 / 255}, [2, 3, 4, 3],
         dtype="uint8", symbolic=[[None, None, None, 3]]),
    case("rescaling_scale_and_offset", "Rescaling", {"scale": 0.5, "offset": -1.0}, [2, 3, 4]),
    case("rescaling_per_channel_lists", "Rescaling",
         {"scale": [0.5, 1.0, 2.0], "offset": [0.25, 0.0, -1.0]}, [2, 2, 3, 3]),
    case("rescaling_numpy_scale", "Rescaling", {"scale": [2.0, 0.25]}, [2, 3, 2],
         numpy_kwargs=["scale"]),
    case("rescaling_float64_policy", "Rescaling", {"scale": 0.1, "dtype": "float64"}, [2, 4],
         dtype="float64"),
    # Resizing: bilinear up/down with non-integer ratios, nearest, crop/pad, antialias, uint8.
    case("resizing_bilinear_down_non_integer", "Resizing", {"height": 4, "width": 5},
         [2, 7, 9, 3], symbolic=[[None, None, None, 3]]),
    case("resizing_bilinear_up_non_integer", "Resizing", {"height": 9, "width": 7},
         [2, 4, 5, 2]),
    case("resizing_bilinear_mixed_channels_first", "Resizing",
         {"height": 7, "width": 3, **CF}, [1, 2, 5, 8]),
    case("resizing_nearest_down", "Resizing",
         {"height": 4, "width": 5, "interpolation": "nearest"}, [2, 7, 9, 2]),
    case("resizing_nearest_up", "Resizing",
         {"height": 9, "width": 11, "interpolation": "nearest"}, [1, 4, 5, 2]),
    case("resizing_crop_to_aspect_ratio", "Resizing",
         {"height": 4, "width": 4, "crop_to_aspect_ratio": True}, [2, 6, 9, 2]),
    case("resizing_crop_to_aspect_ratio_tall", "Resizing",
         {"height": 3, "width": 5, "crop_to_aspect_ratio": True, **CF}, [1, 2, 8, 6]),
    case("resizing_pad_to_aspect_ratio", "Resizing",
         {"height": 6, "width": 6, "pad_to_aspect_ratio": True, "fill_value": 0.5},
         [2, 4, 7, 2]),
    case("resizing_pad_to_aspect_ratio_wide", "Resizing",
         {"height": 4, "width": 8, "pad_to_aspect_ratio": True, **CF}, [1, 2, 5, 4]),
    case("resizing_antialias_down", "Resizing",
         {"height": 3, "width": 4, "antialias": True}, [2, 8, 9, 2]),
    case("resizing_antialias_up_has_no_effect", "Resizing",
         {"height": 7, "width": 9, "antialias": True}, [1, 4, 5, 2]),
    case("resizing_uint8_bilinear", "Resizing", {"height": 5, "width": 3}, [2, 7, 6, 3],
         dtype="uint8"),
    case("resizing_uint8_nearest", "Resizing",
         {"height": 5, "width": 9, "interpolation": "nearest"}, [1, 7, 6, 3], dtype="uint8"),
    # CenterCrop: plain crops, and the resize Keras falls back to when the image is smaller.
    case("center_crop_smaller_target", "CenterCrop", {"height": 3, "width": 4}, [2, 6, 7, 2],
         symbolic=[[None, None, None, 2]]),
    case("center_crop_channels_first_odd_margins", "CenterCrop",
         {"height": 2, "width": 3, **CF}, [1, 2, 5, 6]),
    case("center_crop_larger_target_resizes", "CenterCrop", {"height": 8, "width": 9},
         [1, 5, 6, 2]),
    case("center_crop_larger_on_one_axis_resizes", "CenterCrop", {"height": 3, "width": 8},
         [1, 6, 6, 2]),
    case("center_crop_uint8_becomes_float", "CenterCrop", {"height": 3, "width": 3},
         [1, 5, 5, 3], dtype="uint8"),
]

CASES = POOLING_CASES + IMAGE_CASES

# tf-keras (Keras 2) layers whose configs are recorded: (id, class_name, kwargs, shape, mask).
KERAS2_CASES = [
    ("max_pooling1d_stride1", "MaxPooling1D", {"pool_size": 2, "strides": 1}, [2, 5, 3], None),
    ("max_pooling2d_same", "MaxPooling2D", {"pool_size": 3, "strides": 2, "padding": "same"},
     [2, 7, 6, 3], None),
    ("average_pooling1d_same_uneven", "AveragePooling1D",
     {"pool_size": 4, "strides": 1, "padding": "same"}, [2, 6, 2], None),
    ("average_pooling2d_same_uneven", "AveragePooling2D",
     {"pool_size": 3, "strides": 2, "padding": "same"}, [2, 6, 7, 2], None),
    ("average_pooling3d_same", "AveragePooling3D", {"pool_size": 2, "padding": "same"},
     [1, 3, 5, 4, 2], None),
    ("global_average_pooling1d_mask", "GlobalAveragePooling1D", {}, [3, 5, 2], [3, 5]),
    ("global_max_pooling2d_keepdims", "GlobalMaxPooling2D", {"keepdims": True}, [2, 4, 5, 3],
     None),
    ("global_average_pooling3d_channels_first", "GlobalAveragePooling3D",
     {"data_format": "channels_first"}, [2, 3, 2, 3, 4], None),
    ("zero_padding1d_pair", "ZeroPadding1D", {"padding": (2, 1)}, [2, 3, 2], None),
    ("zero_padding2d_pairs", "ZeroPadding2D", {"padding": ((1, 0), (2, 1))}, [1, 3, 4, 2], None),
    ("cropping2d_pairs", "Cropping2D", {"cropping": ((1, 0), (0, 2))}, [1, 5, 6, 2], None),
    ("cropping3d_default", "Cropping3D", {}, [1, 4, 4, 5, 1], None),
    ("up_sampling1d_size3", "UpSampling1D", {"size": 3}, [2, 3, 2], None),
    ("up_sampling2d_bilinear", "UpSampling2D", {"size": (2, 3), "interpolation": "bilinear"},
     [1, 3, 4, 2], None),
    ("up_sampling2d_bilinear_channels_first", "UpSampling2D",
     {"size": 2, "interpolation": "bilinear", "data_format": "channels_first"}, [1, 2, 3, 3],
     None),
    ("up_sampling3d", "UpSampling3D", {"size": (1, 2, 2)}, [1, 2, 2, 3, 2], None),
    ("rescaling_per_channel", "Rescaling", {"scale": [0.5, 1.0, 2.0], "offset": -1.0},
     [2, 3, 3, 3], None),
    ("resizing_bilinear", "Resizing", {"height": 4, "width": 5}, [2, 7, 9, 3], None),
    ("resizing_nearest", "Resizing", {"height": 5, "width": 3, "interpolation": "nearest"},
     [1, 7, 9, 2], None),
    ("resizing_crop_to_aspect_ratio", "Resizing",
     {"height": 4, "width": 4, "crop_to_aspect_ratio": True}, [1, 6, 9, 2], None),
    ("resizing_uint8_outputs_float", "Resizing", {"height": 3, "width": 5}, [1, 6, 7, 3],
     "uint8"),
    ("center_crop", "CenterCrop", {"height": 3, "width": 4}, [2, 6, 7, 2], None),
    ("center_crop_larger_target", "CenterCrop", {"height": 8, "width": 9}, [1, 5, 6, 2], None),
]


# ----- inputs ---------------------------------------------------------------------------------

def _rng(case_id: str, salt: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(f"{case_id}:{salt}".encode()))


def make_input(case_id: str, shape, dtype: str) -> np.ndarray:
    rng = _rng(case_id, "input0")
    if dtype == "uint8":
        return rng.integers(0, 256, size=shape).astype(np.uint8)
    return (np.round(rng.normal(size=shape) * 16) / 8).astype(dtype)


def make_mask(case_id: str, kind: str, shape) -> np.ndarray:
    values = _rng(case_id, "mask").uniform(size=shape)
    mask = values > 0.35
    mask[:, 0] = True  # every sample keeps a step...
    if kind == "bool_with_empty_row":
        mask[1] = False  # ...except this one: Keras divides 0 by 0 there
    if kind.startswith("bool"):
        return mask
    # A float mask: Keras casts it to bool, so 0.3 keeps its step as 1.0 does.
    return np.where(mask, np.where(values > 0.7, 1.0, 0.3), 0.0).astype(kind)


# ----- Keras 3 (this process) -----------------------------------------------------------------

def _keras_kwargs(spec) -> dict:
    kwargs = dict(spec["kwargs"])
    for key in spec["numpy_kwargs"]:
        kwargs[key] = np.asarray(kwargs[key], dtype=np.float64)
    return kwargs


def record_case(keras, spec, buffers: Buffers, tf_outputs: dict) -> dict:
    keras.utils.clear_session()
    layer = getattr(keras.layers, spec["class_name"])(**_keras_kwargs(spec))
    config = json.loads(json.dumps(layer.get_config()))
    x = make_input(spec["id"], spec["inputs"][0], spec["dtype"])
    kwargs = {}
    mask = None
    if spec["mask"] is not None:
        mask = make_mask(spec["id"], *spec["mask"])
        kwargs["mask"] = mask
    if mask is not None and "mask" not in inspect.signature(layer.call).parameters:
        # Keras refuses mask= for such a layer; a mask can only reach it attached to its input
        # (as from an Embedding with mask_zero), and then Keras drops it with a warning.
        from keras.src.backend.common.masking import set_keras_mask

        tensor = keras.ops.convert_to_tensor(x)
        set_keras_mask(tensor, keras.ops.convert_to_tensor(mask))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            output = keras.ops.convert_to_numpy(layer(tensor))
    else:
        output = keras.ops.convert_to_numpy(layer(x, **kwargs))

    output_shapes = []
    for shapes in spec["symbolic"]:
        computed = layer.compute_output_shape(tuple(shapes[0]))
        fresh = getattr(keras.layers, spec["class_name"])(**_keras_kwargs(spec))
        symbolic = fresh(keras.Input(batch_shape=tuple(shapes[0]), dtype=spec["dtype"]))
        assert tuple(symbolic.shape) == tuple(computed), (spec["id"], symbolic.shape, computed)
        output_shapes.append(list(computed))

    arrays = {"input:0": buffers.add(x)}
    if mask is not None:
        arrays["mask"] = buffers.add(mask)
    arrays["output"] = buffers.add(output)
    if spec["tf_reference"]:
        expected = np.asarray(tf_outputs[spec["id"]], dtype=output.dtype)
        assert expected.shape == output.shape, spec["id"]
        assert not np.allclose(expected, output), f"{spec['id']}: backends agree, drop the flag"
        arrays["expected"] = buffers.add(expected)
    record = {key: spec[key] for key in ("id", "class_name", "kwargs", "numpy_kwargs", "inputs",
                                         "symbolic", "dtype")}
    record.update(arrays=arrays, keras_config=config, output_shapes=output_shapes,
                  output_dtype=str(output.dtype))
    return record


def run_keras2(requests: list) -> dict:
    """Run this script under tf-keras: it writes the Keras 2 fixture and answers `requests`."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run([KERAS2_PYTHON, os.path.abspath(__file__), "--keras2"],
                            input=json.dumps(requests), capture_output=True, text=True, env=env,
                            check=False)
    if result.returncode:
        sys.stderr.write(result.stderr)
        raise SystemExit("the tf-keras run failed")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    assert keras.__version__ == "3.15.1", keras.__version__
    requests = [{"id": spec["id"], "class_name": spec["class_name"], "kwargs": spec["kwargs"],
                 "input": make_input(spec["id"], spec["inputs"][0], spec["dtype"]).tolist(),
                 "dtype": spec["dtype"]}
                for spec in CASES if spec["tf_reference"]]
    tf_outputs = run_keras2(requests)
    buffers = Buffers()
    records = [record_case(keras, spec, buffers, tf_outputs) for spec in CASES]
    ids = [record["id"] for record in records]
    assert len(set(ids)) == len(ids), "duplicate case id"
    arrays = buffers.arrays()
    document = {"keras_version": keras.__version__, "cases": records}
    arrays["cases_json"] = np.frombuffer(json.dumps(document, sort_keys=True).encode(), np.uint8)
    write_npz(KERAS3_PATH, arrays)
    print(f"wrote {len(records)} cases to {KERAS3_PATH} ({os.path.getsize(KERAS3_PATH)} bytes)")
    print(f"wrote {KERAS2_PATH} ({os.path.getsize(KERAS2_PATH)} bytes)")


# ----- tf-keras (subprocess) ------------------------------------------------------------------

def _tf_keras_call(tf_keras, class_name, kwargs, x, mask=None, transpose=False):
    """tf-keras's output. With `transpose`, channels_first pooling (which TF cannot do on CPU)
    runs channels_last on transposed inputs."""
    kwargs = dict(kwargs)
    channels_first = transpose and kwargs.get("data_format") == "channels_first"
    if channels_first:
        kwargs["data_format"] = "channels_last"
        x = np.moveaxis(x, 1, -1)
    layer = getattr(tf_keras.layers, class_name)(**kwargs)
    output = layer(x, mask=mask) if mask is not None else layer(x)
    output = np.asarray(output)
    if channels_first:
        output = np.moveaxis(output, -1, 1)
    return layer, output


def keras2_main() -> None:
    import tf_keras

    requests = json.loads(sys.stdin.read() or "[]")
    answers = {}
    for request in requests:
        x = np.asarray(request["input"], dtype=request["dtype"])
        _, output = _tf_keras_call(tf_keras, request["class_name"], request["kwargs"], x,
                                   transpose=True)
        answers[request["id"]] = output.tolist()

    cases = []
    for case_id, class_name, kwargs, shape, mask_spec in KERAS2_CASES:
        tf_keras.backend.clear_session()
        dtype = "uint8" if mask_spec == "uint8" else "float32"
        x = make_input(case_id, shape, dtype)
        mask = make_mask(case_id, "bool", mask_spec) if isinstance(mask_spec, list) else None
        layer, output = _tf_keras_call(tf_keras, class_name, kwargs, x, mask)
        cases.append({"id": case_id, "class_name": class_name,
                      "config": json.loads(json.dumps(layer.get_config())),
                      "input": x.tolist(), "input_dtype": dtype,
                      "mask": None if mask is None else mask.tolist(),
                      "output": output.tolist(), "output_dtype": str(output.dtype)})
    os.makedirs(os.path.dirname(KERAS2_PATH), exist_ok=True)
    lines = ",\n".join(json.dumps(entry, sort_keys=True) for entry in cases)
    with open(KERAS2_PATH, "w", encoding="utf-8") as handle:  # one case per line
        handle.write(f'{{"tf_keras_version": "{tf_keras.__version__}", "cases": [\n{lines}\n]}}\n')
    print(json.dumps(answers))


if __name__ == "__main__":
    if "--keras2" in sys.argv:
        keras2_main()
    else:
        main()
