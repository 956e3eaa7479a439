"""Record what real Keras computes, builds and writes for the normalization layers, for
tests/layers/test_normalization_layers.py. The tests read the files with modelio alone.

Run from the repository root, in the environment that has Keras 3 (it runs itself again under
tf-keras 2.21 for the Keras 2 half):

    KERAS_BACKEND=torch /work/kenv/bin/python tools/normalization_case_fixtures.py

It writes two files, byte-identical on every run:

* fixtures/keras3/normalization_cases.npz (Keras 3.15.1, torch backend), holding
  ``cases_json`` - UTF-8 JSON bytes: ``{"keras_version", "cases": [...]}``, each case
  ``{"id", "class_name", "kwargs", "input_shape", "symbolic", "output_shapes", "call",
  "keras_config"`` (``get_config()`` of a fresh layer, made right after ``clear_session()``),
  ``"built_config"`` (``get_config()`` after it was built and called), ``"build_config"``,
  ``"weight_names"``, ``"weight_trainable"``, ``"supports_masking"``, ``"arrays"}``, and
  ``buffer:<dtype>`` - all arrays of that dtype, flattened and concatenated; a case's
  ``arrays`` maps ``input``, ``adapt_data`` (what ``adapt()`` saw), ``mask``, ``weight:<i>`` (``get_weights()`` order, as set before
  the call) and ``output`` to ``{"dtype", "shape", "offset"}`` in those buffers.
  Cases with ``"output": false`` record no output: Keras 3.15's torch backend normalizes the
  wrong axes for LayerNormalization over non-trailing axes (it hands them to
  ``F.layer_norm``, which always normalizes the trailing axes); their reference values come
  from tf-keras, which implements the same formula as Keras 3's other backends.
  ``"model"`` holds a functional model chaining all these layers: its ``to_json()`` text,
  its weights by layer name, an input and what ``predict`` returned.
* fixtures/keras2/normalization_configs.json (tf-keras 2.21): ``{"tf_keras_version",
  "cases": [...], "model"}`` with the config tf-keras writes for a built layer (``axis: [3]`` style),
  its weight names, and the input, weights and inference output as nested lists.

Inputs and weights are multiples of 1/8 or 1/16 drawn from generators seeded by the case id.
"""

import json
import os
import subprocess
import sys
import zlib

import numpy as np
from case_archive import Buffers, write_npz

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERAS3_OUT = os.path.join(REPO_ROOT, "fixtures", "keras3", "normalization_cases.npz")
KERAS2_OUT = os.path.join(REPO_ROOT, "fixtures", "keras2", "normalization_configs.json")
KERAS2_PYTHON = os.environ.get("KERAS2_PYTHON", "/work/k2env/bin/python")

L2 = {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.01},
      "registered_name": None}
NON_NEG = {"module": "keras.constraints", "class_name": "NonNeg", "config": {},
           "registered_name": None}
RANDOM_NORMAL = {"module": "keras.initializers", "class_name": "RandomNormal",
                 "config": {"seed": 3, "mean": 1.0, "stddev": 0.1}, "registered_name": None}


def case(case_id, class_name, kwargs, shape, symbolic=None, dtype="float32", call=None,
         mask=None, output=True, adapt=False, scale=2.0, offset=0.0, special=None):
    return {"id": case_id, "class_name": class_name, "kwargs": kwargs, "input_shape": shape,
            "symbolic": [[None, *shape[1:]]] + (symbolic or []), "dtype": dtype,
            "call": call or {}, "mask": mask, "output": output, "adapt": adapt, "scale": scale,
            "offset": offset, "special": special}


BN, LN, GN, UN, RMS, NORM = ("BatchNormalization", "LayerNormalization", "GroupNormalization",
                             "UnitNormalization", "RMSNormalization", "Normalization")

KERAS3_CASES = [
    # BatchNormalization: axes, center/scale, epsilon, renorm, training=True, masks, dtypes.
    case("bn_rank2_defaults", BN, {}, [4, 3], offset=1.0),
    case("bn_rank3_axis_last", BN, {}, [2, 5, 3], symbolic=[[None, None, 3]], offset=-0.5),
    case("bn_rank4_axis_last", BN, {"axis": -1}, [2, 3, 3, 4], symbolic=[[None, None, None, 4]]),
    case("bn_channels_first_axis_1", BN, {"axis": 1}, [2, 3, 4, 4],
         symbolic=[[None, 3, None, None]]),
    case("bn_positive_axis_3_rank4", BN, {"axis": 3}, [2, 3, 3, 4]),
    case("bn_negative_axis_minus_2", BN, {"axis": -2}, [2, 4, 3]),
    case("bn_rank5_axis_1", BN, {"axis": 1}, [2, 3, 2, 2, 2]),
    case("bn_no_center", BN, {"center": False}, [2, 5, 3]),
    case("bn_no_scale", BN, {"scale": False}, [2, 5, 3]),
    case("bn_no_center_no_scale", BN, {"center": False, "scale": False}, [2, 5, 3]),
    case("bn_epsilon_momentum", BN, {"epsilon": 0.1, "momentum": 0.9}, [2, 5, 3]),
    case("bn_initializers_regularizers_constraints", BN,
         {"gamma_initializer": RANDOM_NORMAL, "beta_regularizer": L2, "gamma_constraint": NON_NEG,
          "moving_variance_initializer": "ones"}, [2, 5, 3]),
    case("bn_renorm", BN, {"renorm": True, "renorm_clipping": {"rmax": 3.0, "rmin": 0.3,
                                                               "dmax": 5.0},
                           "renorm_momentum": 0.9}, [2, 3, 3, 4]),
    case("bn_renorm_default_clipping", BN, {"renorm": True}, [2, 5, 3]),
    case("bn_training_true_uses_batch_statistics", BN, {}, [3, 5, 3], call={"training": True},
         offset=2.0),
    case("bn_training_true_channels_first", BN, {"axis": 1}, [3, 3, 2, 2],
         call={"training": True}),
    case("bn_training_true_masked", BN, {}, [3, 5, 3], call={"training": True},
         mask=("bool", [3, 5])),
    case("bn_inference_ignores_mask", BN, {}, [2, 5, 3], mask=("bool", [2, 5])),
    case("bn_float64", BN, {"dtype": "float64"}, [2, 5, 3], dtype="float64"),
    case("bn_mixed_float16", BN, {"dtype": "mixed_float16"}, [2, 5, 3]),
    # LayerNormalization.
    case("ln_defaults_rank3", LN, {}, [2, 5, 3], symbolic=[[None, None, 3]]),
    case("ln_rank2", LN, {"axis": -1}, [4, 6]),
    case("ln_axes_1_2_rank3", LN, {"axis": [1, 2]}, [2, 5, 3]),
    case("ln_axes_unsorted_2_1", LN, {"axis": [2, 1]}, [2, 5, 3]),
    case("ln_axes_minus2_minus1_rank4", LN, {"axis": [-2, -1]}, [2, 2, 3, 4]),
    case("ln_axis_1_rank3", LN, {"axis": 1}, [2, 4, 3], output=False),
    case("ln_axes_1_2_rank4", LN, {"axis": [1, 2]}, [2, 3, 4, 2], output=False),
    case("ln_mixed_sign_axes", LN, {"axis": [-1, 1]}, [2, 4, 3]),
    case("ln_no_center", LN, {"center": False}, [2, 5, 3]),
    case("ln_no_scale", LN, {"scale": False}, [2, 5, 3]),
    case("ln_no_center_no_scale", LN, {"center": False, "scale": False}, [2, 5, 3]),
    case("ln_epsilon_small", LN, {"epsilon": 1e-6}, [2, 5, 3], scale=0.25),
    case("ln_rms_scaling", LN, {"rms_scaling": True}, [2, 5, 4], offset=0.5),
    case("ln_rms_scaling_scale_false", LN, {"rms_scaling": True, "scale": False, "center": False},
         [2, 5, 4], offset=0.5),
    case("ln_rms_scaling_axis_1", LN, {"rms_scaling": True, "axis": 1}, [2, 4, 3]),
    case("ln_float64", LN, {"dtype": "float64"}, [2, 5, 3], dtype="float64"),
    case("ln_mixed_float16", LN, {"dtype": "mixed_float16"}, [2, 5, 3]),
    # GroupNormalization.
    case("gn_groups_1", GN, {"groups": 1}, [2, 5, 4], symbolic=[[None, None, 4]]),
    case("gn_groups_2", GN, {"groups": 2}, [2, 5, 4]),
    case("gn_groups_channels", GN, {"groups": 4}, [2, 5, 4]),
    case("gn_groups_minus_1", GN, {"groups": -1}, [2, 5, 4]),
    case("gn_rank4_groups_2", GN, {"groups": 2}, [2, 3, 3, 4]),
    case("gn_channels_first_axis_1", GN, {"groups": 2, "axis": 1}, [2, 4, 3, 3]),
    case("gn_axis_minus_2", GN, {"groups": 2, "axis": -2}, [2, 4, 3]),
    case("gn_no_center_no_scale", GN, {"groups": 2, "center": False, "scale": False}, [2, 5, 4]),
    case("gn_epsilon", GN, {"groups": 2, "epsilon": 0.5}, [2, 5, 4]),
    case("gn_float64", GN, {"groups": 2, "dtype": "float64"}, [2, 5, 4], dtype="float64"),
    # UnitNormalization.
    case("un_rank2", UN, {}, [3, 5], special="zero_first"),
    case("un_axis_1_rank3", UN, {"axis": 1}, [2, 3, 4]),
    case("un_axes_1_2", UN, {"axis": [1, 2]}, [2, 3, 4]),
    case("un_tiny_vector", UN, {}, [2, 3], special="tiny_first"),
    case("un_float64", UN, {"dtype": "float64"}, [2, 5], dtype="float64"),
    # RMSNormalization.
    case("rms_defaults", RMS, {}, [2, 5, 4], offset=0.5),
    case("rms_axes_1_2", RMS, {"axis": [1, 2]}, [2, 3, 4]),
    case("rms_epsilon", RMS, {"epsilon": 0.5}, [2, 5, 4], scale=0.25),
    case("rms_float64", RMS, {"dtype": "float64"}, [2, 5, 4], dtype="float64"),
    # Normalization: statistics in the config, or adapted weights.
    case("norm_config_lists", NORM, {"mean": [0.5, -1.0, 2.0], "variance": [1.0, 4.0, 0.25]},
         [4, 3]),
    case("norm_config_scalars_axis_none", NORM, {"axis": None, "mean": 2.0, "variance": 3.0},
         [2, 3, 4]),
    case("norm_config_invert", NORM, {"mean": [0.5, -1.0, 2.0], "variance": [1.0, 4.0, 0.25],
                                      "invert": True}, [4, 3]),
    case("norm_config_rank1_mean_for_axes_1_2", NORM, {"axis": [1, 2], "mean": [1.0, 2.0, 3.0,
                                                                                 4.0],
                                                       "variance": [1.0, 2.0, 3.0, 4.0]},
         [2, 3, 4]),
    case("norm_config_zero_variance", NORM, {"mean": [0.5, 0.0], "variance": [0.0, 2.0]},
         [3, 2]),
    case("norm_adapted_axis_last", NORM, {}, [4, 5, 3], adapt=True, offset=3.0,
         symbolic=[[None, None, 3]]),
    case("norm_weights_axes_1_2", NORM, {"axis": [1, 2]}, [2, 3, 4]),
    case("norm_weights_axis_none", NORM, {"axis": None}, [2, 3, 4]),
    case("norm_weights_axis_1_rank3", NORM, {"axis": 1}, [2, 3, 4]),
    case("norm_weights_invert", NORM, {"invert": True}, [2, 5, 3]),
    case("norm_int_input", NORM, {"mean": [1.0, 2.0], "variance": [4.0, 9.0]}, [3, 2],
         dtype="int32"),
    case("norm_float64", NORM, {"dtype": "float64"}, [2, 5, 3], dtype="float64"),
]

KERAS2_CASES = [
    case("k2_bn_rank4", BN, {}, [2, 3, 3, 4]),
    case("k2_bn_rank3", BN, {}, [2, 5, 3]),
    case("k2_bn_rank2", BN, {}, [4, 3], offset=1.0),
    case("k2_bn_channels_first", BN, {"axis": 1}, [2, 3, 4, 4]),
    case("k2_bn_axes_1_2", BN, {"axis": [1, 2]}, [2, 3, 5, 2]),
    case("k2_bn_renorm_unfused", BN, {"renorm": True, "fused": False,
                                      "renorm_clipping": {"rmax": 3.0}}, [2, 3, 3, 4]),
    case("k2_bn_no_center_no_scale", BN, {"center": False, "scale": False, "epsilon": 0.01},
         [2, 3, 3, 4]),
    case("k2_bn_virtual_batch_size", BN, {"virtual_batch_size": 2}, [4, 5, 3], output=False),
    case("k2_bn_training_true", BN, {}, [3, 5, 3], call={"training": True}, offset=2.0),
    case("k2_ln_rank3", LN, {}, [2, 5, 3]),
    case("k2_ln_axis_2", LN, {"axis": 2}, [2, 5, 3]),
    case("k2_ln_axis_1_rank3", LN, {"axis": 1}, [2, 4, 3]),
    case("k2_ln_axes_1_2_rank4", LN, {"axis": [1, 2]}, [2, 3, 4, 2]),
    case("k2_ln_axes_1_2_rank3", LN, {"axis": [1, 2]}, [2, 5, 3]),
    case("k2_ln_no_center", LN, {"center": False, "epsilon": 1e-5}, [2, 5, 3]),
    case("k2_gn_groups_2", GN, {"groups": 2}, [2, 5, 4]),
    case("k2_gn_masked", GN, {"groups": 2}, [2, 5, 4], mask=("bool", [2, 5, 1])),
    case("k2_un_default", UN, {}, [3, 5], special="zero_first"),
    case("k2_un_tiny_vector", UN, {}, [2, 3], special="tiny_first"),
    case("k2_norm_weights", NORM, {}, [2, 5, 3]),
    case("k2_norm_config_mean", NORM, {"mean": [0.5, -1.0, 2.0], "variance": [1.0, 4.0, 0.25]},
         [4, 3]),
]


def _rng(case_id: str, salt: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(f"{case_id}:{salt}".encode()))


def make_input(spec, shape=None) -> np.ndarray:
    shape = spec["input_shape"] if shape is None else shape
    values = _rng(spec["id"], "input").normal(size=shape) * spec["scale"] + spec["offset"]
    values = np.round(values * 8) / 8
    if spec["special"] == "zero_first":
        values[0] = 0.0
    elif spec["special"] == "tiny_first":
        values[0] = values[0] * 1e-8  # a norm far below 1e-6
    return values.astype(spec["dtype"])


def make_mask(spec):
    if spec["mask"] is None:
        return None
    _, shape = spec["mask"]
    mask = _rng(spec["id"], "mask").uniform(size=shape) > 0.35
    mask.reshape(-1)[0] = True
    return mask


def weight_values(case_id: str, names: list, shapes: list, dtypes: list) -> list:
    rng = _rng(case_id, "weights")
    values = []
    for name, shape, dtype in zip(names, shapes, dtypes):
        if name in ("gamma", "scale"):
            value = rng.normal(1.0, 0.5, size=shape)
        elif name in ("beta", "moving_mean", "mean", "renorm_mean"):
            value = rng.normal(0.0, 1.0, size=shape)
        elif name in ("moving_variance", "variance"):
            value = rng.uniform(0.25, 2.5, size=shape)
        elif name in ("moving_stddev", "renorm_stddev"):
            value = rng.uniform(0.5, 1.5, size=shape)
        elif name == "count":
            value = np.full(shape, 12)
        else:
            raise AssertionError(f"unexpected weight {name}")
        values.append((np.round(value * 16) / 16).astype(dtype))
    return values


# ----- Keras 3 ----------------------------------------------------------------------------------

def to_json(value):
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value):
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "items"):  # tf-keras wraps dicts it tracks
        return dict(value)
    if hasattr(value, "__iter__"):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def record_keras3(keras, spec, buffers: Buffers) -> dict:
    keras.utils.clear_session()
    cls = getattr(keras.layers, spec["class_name"])
    layer = cls(**spec["kwargs"])
    config = to_json(layer.get_config())
    x = make_input(spec)
    mask = make_mask(spec)
    data = None
    if spec["adapt"]:
        data = make_input({**spec, "id": spec["id"] + ":adapt"}, [12, *spec["input_shape"][1:]])
        layer.adapt(data)
    else:  # built as a model builds it: by a symbolic call
        layer(keras.Input(batch_shape=tuple(x.shape), dtype=spec["dtype"]))
    weights = layer.get_weights()
    names = [w.path.split("/")[-1] for w in layer.weights]
    if weights and not spec["adapt"]:
        weights = weight_values(spec["id"], names, [w.shape for w in weights],
                                [w.dtype for w in weights])
        layer.set_weights(weights)
    kwargs = dict(spec["call"])
    if mask is not None:
        kwargs["mask"] = mask
    output = None
    if spec["output"]:  # (the torch backend cannot compute the others; see the module docstring)
        output = keras.ops.convert_to_numpy(layer(x, **kwargs))

    output_shapes = []
    for shape in spec["symbolic"]:
        computed = layer.compute_output_shape(tuple(shape))
        fresh = cls(**spec["kwargs"])
        tensor = keras.Input(batch_shape=tuple(shape), dtype=spec["dtype"])
        assert tuple(fresh(tensor).shape) == tuple(computed), (spec["id"], computed)
        output_shapes.append(list(computed))

    arrays = {"input": buffers.add(x)}
    if data is not None:
        arrays["adapt_data"] = buffers.add(data)
    if mask is not None:
        arrays["mask"] = buffers.add(mask)
    for index, weight in enumerate(weights):
        arrays[f"weight:{index}"] = buffers.add(np.asarray(weight))
    if output is not None:
        arrays["output"] = buffers.add(output)
    record = {key: spec[key] for key in ("id", "class_name", "kwargs", "input_shape", "symbolic",
                                         "call", "dtype")}
    record.update(
        keras_config=config, built_config=to_json(layer.get_config()),
        build_config=to_json(layer.get_build_config()), weight_names=names,
        weight_trainable=[bool(w.trainable) for w in layer.weights],
        supports_masking=bool(layer.supports_masking), output_shapes=output_shapes,
        output_dtype=None if output is None else str(output.dtype), arrays=arrays)
    return to_json(record)


def record_model(keras, keras3: bool) -> dict:
    """A functional model chaining every normalization layer, saved with `to_json()`, with its
    weights by layer name, an input and what `predict` returned."""
    if keras3:
        keras.utils.clear_session()
    else:
        keras.backend.clear_session()
    layers = keras.layers
    inputs = keras.Input((5, 4))
    x = layers.BatchNormalization(name="bn")(inputs)
    x = layers.BatchNormalization(axis=1, name="bn_axis_1")(x)
    # (tf-keras's predict() fails for LayerNormalization(axis=[1, 2]) of rank-3 inputs.)
    x = layers.LayerNormalization(axis=[1, 2] if keras3 else -1, name="ln")(x)
    x = layers.GroupNormalization(groups=2, name="gn")(x)
    x = layers.UnitNormalization(axis=[1, 2], name="un")(x)
    if keras3:
        x = layers.RMSNormalization(name="rms")(x)
    x = layers.Normalization(mean=[0.5, -0.5, 0.25, 0.0], variance=[1.0, 2.0, 0.5, 4.0],
                             name="norm_config")(x)
    outputs = layers.Normalization(axis=(1, 2), name="norm_weights")(x)
    model = keras.Model(inputs, outputs, name="normalization_chain")
    spec = {"id": "model", "input_shape": [3, 5, 4], "dtype": "float32", "scale": 2.0,
            "offset": 0.5, "special": None}
    weights = {}
    for layer in model.layers:
        own = layer.get_weights()
        if not own:
            continue
        names = [w.path.split("/")[-1] if keras3 else w.name.split(":")[0].split("/")[-1]
                 for w in layer.weights]
        values = weight_values(f"model:{layer.name}", names, [w.shape for w in own],
                               [w.dtype for w in own])
        layer.set_weights(values)
        weights[layer.name] = [{"shape": list(v.shape), "dtype": str(v.dtype),
                                "values": v.tolist()} for v in values]
    x = make_input(spec)
    output = np.asarray(model.predict(x, verbose=0))
    return {"json": model.to_json(), "weights": weights, "input": x.tolist(),
            "output": output.tolist()}


def main_keras3() -> None:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import warnings

    import keras

    warnings.filterwarnings("ignore", message=".*rms_scaling.*")
    assert keras.__version__ == "3.15.1", keras.__version__
    assert keras.backend.backend() == "torch", keras.backend.backend()
    buffers = Buffers()
    records = [record_keras3(keras, spec, buffers) for spec in KERAS3_CASES]
    ids = [record["id"] for record in records]
    assert len(set(ids)) == len(ids), "duplicate case id"
    arrays = buffers.arrays()
    document = {"keras_version": keras.__version__, "backend": "torch", "cases": records,
                "model": record_model(keras, keras3=True)}
    arrays["cases_json"] = np.frombuffer(json.dumps(document, sort_keys=True).encode(), np.uint8)
    write_npz(KERAS3_OUT, arrays)
    print(f"wrote {len(records)} cases to {KERAS3_OUT} ({os.path.getsize(KERAS3_OUT)} bytes)")


# ----- Keras 2 (tf-keras) -----------------------------------------------------------------------

def record_keras2(keras, spec) -> dict:
    keras.backend.clear_session()
    layer = getattr(keras.layers, spec["class_name"])(**spec["kwargs"])
    x = make_input(spec)
    mask = make_mask(spec)
    layer.build(tuple(x.shape))
    names = [w.name.split(":")[0].split("/")[-1] for w in layer.weights]
    weights = layer.get_weights()
    if weights:
        weights = weight_values(spec["id"], names, [w.shape for w in weights],
                                [w.dtype for w in weights])
        layer.set_weights(weights)
    record = {key: spec[key] for key in ("id", "class_name", "kwargs", "input_shape", "call",
                                         "dtype")}
    record.update(config=to_json(layer.get_config()), weight_names=names,
                  input=x.tolist(),
                  weights=[{"shape": list(w.shape), "dtype": str(w.dtype), "values": w.tolist()}
                           for w in weights])
    if mask is not None:
        record["mask"] = mask.tolist()
    if spec["output"]:
        kwargs = {"training": False, **spec["call"]}
        if mask is not None:
            kwargs["mask"] = mask
        output = np.asarray(layer(x, **kwargs))
        record.update(output=output.tolist(), output_dtype=str(output.dtype))
    return to_json(record)


def main_keras2() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tf_keras as keras

    records = [record_keras2(keras, spec) for spec in KERAS2_CASES]
    document = {"tf_keras_version": keras.__version__, "cases": records,
                "model": record_model(keras, keras3=False)}
    os.makedirs(os.path.dirname(KERAS2_OUT), exist_ok=True)
    with open(KERAS2_OUT, "w", encoding="utf-8") as handle:
        json.dump(document, handle, sort_keys=True, separators=(",", ":"))
        handle.write("\n")
    print(f"wrote {len(records)} cases to {KERAS2_OUT} ({os.path.getsize(KERAS2_OUT)} bytes)")


if __name__ == "__main__":
    if "--keras2" in sys.argv[1:]:
        main_keras2()
    else:
        main_keras3()
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        subprocess.run([KERAS2_PYTHON, os.path.abspath(__file__), "--keras2"], check=True, env=env)
