"""Record what Keras 3.15.1 computes for Resizing and UpSampling2D with every interpolation, and for
AveragePooling with uneven "same" padding, on BOTH its TensorFlow and its PyTorch backends (which
disagree there), for tests/layers/test_resize_interpolations.py and tests/onnx/test_export_resize.py.
Tests read the files with modelio alone; they never import Keras.

Run from the repository root, in the environment that has TensorFlow (it runs Keras 3's PyTorch
backend itself, in /work/kenv, through a subprocess):

    TF_CPP_MIN_LOG_LEVEL=3 KERAS_BACKEND=tensorflow /work/k2env/bin/python tools/resize_case_fixtures.py

It writes, byte-identical on every run (the `.keras` archives aside, whose zip entries Keras
stamps with the time):

* fixtures/keras3/resize_cases.npz - the layout of image_cases.npz (see
  tools/image_case_fixtures.py): ``cases_json`` (UTF-8 JSON: ``{"keras_version", "cases"}``) and
  one flat ``buffer:<dtype>`` per dtype. Each case has ``id``, ``class_name``, ``kwargs``,
  ``inputs``, ``dtype``, ``symbolic`` (symbolic input shapes), ``output_shapes`` (Keras's
  ``compute_output_shape`` of each), ``keras_config`` and ``arrays``: ``input:0``, ``output``
  (the TensorFlow backend's result: what modelio matches) and, where the PyTorch backend computes
  the case, ``torch_output`` (its result); where it refuses, ``torch_error`` holds its message.
  Cases Keras refuses on both backends have no output and ``keras_error`` instead.
* fixtures/keras2/resize_configs.json - tf-keras 2.21 (run in a subprocess of this environment),
  which also resizes with "gaussian" and "mitchellcubic" (Keras 3 refuses both): the layout of
  image_configs.json, ``{"tf_keras_version", "cases": [{"id", "class_name", "config", "input",
  "input_dtype", "output", "output_dtype"}]}``.
* fixtures/keras3_resize/NAME.keras, written by Keras 3 (TensorFlow backend), and NAME.npz:
  ``input:<name>``, ``output:<i>`` (TensorFlow backend) and, for models the PyTorch backend can
  run, ``torch_output:<i>`` (the same `.keras` file loaded and run by the PyTorch backend).

Float inputs are multiples of 1/8 drawn from generators seeded by the case id; uint8 inputs are
integers in [0, 255].
"""

import json
import os
import subprocess
import sys
import zlib

import numpy as np
from case_archive import Buffers, write_npz

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES_PATH = os.path.join(REPO_ROOT, "fixtures", "keras3", "resize_cases.npz")
KERAS2_PATH = os.path.join(REPO_ROOT, "fixtures", "keras2", "resize_configs.json")
MODELS_DIR = os.path.join(REPO_ROOT, "fixtures", "keras3_resize")
TORCH_PYTHON = "/work/kenv/bin/python"

CF = {"data_format": "channels_first"}


def case(case_id, class_name, kwargs, shape, dtype="float32", symbolic=True):
    return {"id": case_id, "class_name": class_name, "kwargs": kwargs, "inputs": [shape],
            "dtype": dtype, "symbolic": [None, *shape[1:]] if symbolic else None}


def resizing(case_id, interpolation, height, width, shape, dtype="float32", **options):
    return case(case_id, "Resizing",
                {"height": height, "width": width, "interpolation": interpolation, **options},
                shape, dtype, symbolic=len(shape) == 4)


CASES = [
    # bicubic: TF = Keys a=-0.5 (tabulated, edge taps dropped); torch = a=-0.75, edges repeated.
    resizing("bicubic_down_non_integer", "bicubic", 4, 5, [2, 7, 9, 3]),
    resizing("bicubic_up_non_integer", "bicubic", 9, 7, [2, 4, 5, 2]),
    resizing("bicubic_mixed_channels_first", "bicubic", 7, 3, [1, 2, 5, 8], **CF),
    resizing("bicubic_antialias_down", "bicubic", 3, 4, [2, 8, 9, 2], antialias=True),
    resizing("bicubic_antialias_up", "bicubic", 7, 9, [1, 4, 5, 2], antialias=True),
    resizing("bicubic_crop_to_aspect_ratio", "bicubic", 4, 4, [2, 6, 9, 2],
             crop_to_aspect_ratio=True),
    resizing("bicubic_pad_to_aspect_ratio", "bicubic", 6, 6, [1, 4, 7, 2],
             pad_to_aspect_ratio=True, fill_value=0.5),
    resizing("bicubic_uint8", "bicubic", 5, 9, [2, 7, 6, 3], "uint8"),
    resizing("bicubic_single_image", "bicubic", 5, 3, [4, 6, 2]),
    # lanczos3 / lanczos5: TF only (ScaleAndTranslate); the PyTorch backend refuses them.
    resizing("lanczos3_down_non_integer", "lanczos3", 4, 5, [2, 7, 9, 2]),
    resizing("lanczos3_up_non_integer", "lanczos3", 9, 7, [1, 4, 5, 2]),
    resizing("lanczos3_antialias_down", "lanczos3", 3, 4, [1, 9, 11, 2], antialias=True),
    resizing("lanczos3_channels_first", "lanczos3", 6, 4, [1, 2, 3, 9], **CF),
    resizing("lanczos5_down_non_integer", "lanczos5", 5, 3, [1, 12, 8, 2]),
    resizing("lanczos5_up", "lanczos5", 11, 10, [1, 4, 5, 2]),
    resizing("lanczos5_antialias_down_uint8", "lanczos5", 4, 3, [1, 9, 11, 3], "uint8",
             antialias=True),
    resizing("lanczos5_pad_to_aspect_ratio", "lanczos5", 4, 8, [1, 2, 5, 4],
             pad_to_aspect_ratio=True, **CF),
    # area: TF only (ResizeArea; antialias changes nothing); the PyTorch backend refuses it.
    resizing("area_down_integer", "area", 3, 4, [2, 6, 8, 2]),
    resizing("area_down_non_integer", "area", 4, 3, [1, 7, 8, 2]),
    resizing("area_up_non_integer", "area", 7, 9, [1, 3, 4, 2]),
    resizing("area_antialias_channels_first", "area", 3, 5, [1, 2, 7, 9], antialias=True, **CF),
    resizing("area_uint8_crop", "area", 3, 3, [1, 7, 5, 3], "uint8", crop_to_aspect_ratio=True),
    # tf.image.resize knows these, but Keras 3 refuses them on both backends.
    resizing("gaussian_refused", "gaussian", 4, 4, [1, 6, 6, 2]),
    resizing("mitchellcubic_refused", "mitchellcubic", 4, 4, [1, 6, 6, 2]),
    # UpSampling2D with the interpolations above (Keras resizes by the integer factors).
    case("up_sampling2d_bicubic", "UpSampling2D", {"interpolation": "bicubic"}, [2, 3, 4, 2]),
    case("up_sampling2d_bicubic_uppercase_channels_first", "UpSampling2D",
         {"size": [3, 2], "interpolation": "BICUBIC", **CF}, [1, 2, 3, 4]),
    case("up_sampling2d_bicubic_uint8", "UpSampling2D", {"interpolation": "bicubic"},
         [1, 3, 3, 3], "uint8"),
    case("up_sampling2d_lanczos3", "UpSampling2D", {"size": [2, 3], "interpolation": "lanczos3"},
         [1, 3, 4, 2]),
    case("up_sampling2d_lanczos5_channels_first", "UpSampling2D",
         {"size": 3, "interpolation": "lanczos5", **CF}, [1, 2, 3, 3]),
    case("up_sampling2d_area", "UpSampling2D", {"size": [2, 3], "interpolation": "area"},
         [1, 3, 4, 2]),
    # AveragePooling with "same" padding that is uneven: the PyTorch backend pads by repeating
    # the edge and averages the copies; TensorFlow leaves the padding out of the mean.
    case("avg2d_pool3_stride2_same_uneven", "AveragePooling2D",
         {"pool_size": 3, "strides": 2, "padding": "same"}, [2, 6, 7, 2]),
    case("avg2d_pool2_stride1_same_uneven", "AveragePooling2D",
         {"pool_size": 2, "strides": 1, "padding": "same"}, [1, 5, 6, 2]),
    case("avg2d_pool2x4_strides1x3_same_uneven", "AveragePooling2D",
         {"pool_size": [2, 4], "strides": [1, 3], "padding": "same"}, [1, 4, 8, 3]),
    case("avg2d_pool3_stride1_same_even", "AveragePooling2D",
         {"pool_size": 3, "strides": 1, "padding": "same"}, [1, 5, 5, 2]),
    case("avg1d_pool4_stride1_same_uneven", "AveragePooling1D",
         {"pool_size": 4, "strides": 1, "padding": "same"}, [2, 6, 2]),
]


# tf-keras (Keras 2) layers, which also resize with "gaussian" and "mitchellcubic":
# (id, class_name, kwargs, shape, input dtype)
KERAS2_CASES = [
    ("resizing_gaussian_down", "Resizing", {"height": 4, "width": 5, "interpolation": "gaussian"},
     [2, 7, 9, 2], "float32"),
    ("resizing_gaussian_same_size_blurs", "Resizing",
     {"height": 5, "width": 6, "interpolation": "gaussian"}, [1, 5, 6, 2], "float32"),
    ("resizing_mitchellcubic_up", "Resizing",
     {"height": 9, "width": 7, "interpolation": "mitchellcubic"}, [1, 4, 5, 2], "float32"),
    ("resizing_mitchellcubic_uint8_outputs_float", "Resizing",
     {"height": 3, "width": 8, "interpolation": "mitchellcubic"}, [1, 6, 5, 3], "uint8"),
    ("resizing_bicubic_crop", "Resizing",
     {"height": 4, "width": 4, "interpolation": "bicubic", "crop_to_aspect_ratio": True},
     [1, 6, 9, 2], "float32"),
    ("resizing_area", "Resizing", {"height": 3, "width": 5, "interpolation": "area"},
     [1, 7, 9, 2], "float32"),
    ("resizing_lanczos3", "Resizing", {"height": 5, "width": 3, "interpolation": "lanczos3"},
     [1, 7, 9, 2], "float32"),
    ("up_sampling2d_gaussian", "UpSampling2D", {"size": (2, 3), "interpolation": "gaussian"},
     [1, 3, 4, 2], "float32"),
    ("up_sampling2d_mitchellcubic_channels_first", "UpSampling2D",
     {"size": 2, "interpolation": "mitchellcubic", "data_format": "channels_first"},
     [1, 2, 3, 3], "float32"),
    ("up_sampling2d_bicubic", "UpSampling2D", {"size": 2, "interpolation": "bicubic"},
     [1, 3, 4, 2], "float32"),
    ("up_sampling2d_lanczos5", "UpSampling2D", {"size": (3, 2), "interpolation": "lanczos5"},
     [1, 3, 3, 2], "float32"),
    ("up_sampling2d_area", "UpSampling2D", {"size": 2, "interpolation": "area"},
     [1, 3, 4, 2], "float32"),
]


def make_input(case_id: str, shape, dtype: str) -> np.ndarray:
    rng = np.random.default_rng(zlib.crc32(f"{case_id}:input0".encode()))
    if dtype == "uint8":
        return rng.integers(0, 256, size=shape).astype(np.uint8)
    return (np.round(rng.normal(size=shape) * 16) / 8).astype(dtype)


def layer_output(keras, spec, x):
    """(output array, None) or (None, Keras's error message) of a fresh layer on `x`."""
    layer = getattr(keras.layers, spec["class_name"])(**spec["kwargs"])
    try:
        return keras.ops.convert_to_numpy(layer(x)), None
    except ValueError as exc:
        # Keras wraps the backend's message between a header and the call's arguments.
        lines = [line.replace("\x1b[1m", "").replace("\x1b[0m", "").strip()
                 for line in str(exc).splitlines()]
        message = next((line for line in lines if "interpolation" in line), lines[0])
        return None, f"{type(exc).__name__}: {message}"


# ----- the models ------------------------------------------------------------------------------

def build_models(keras) -> dict:
    """name -> (model, {input name: array}, runs on the PyTorch backend)."""
    layers = keras.layers
    keras.utils.set_random_seed(7)
    image = keras.Input((6, 7, 3), name="image")
    resized = layers.Resizing(9, 5, interpolation="bicubic", name="bicubic_resize")(image)
    resized = layers.Conv2D(2, 1, name="conv")(resized)
    upsampled = layers.UpSampling2D((2, 3), interpolation="bicubic", name="bicubic_up")(image)
    pooled = layers.AveragePooling2D(3, 2, padding="same", name="avg_same_uneven")(image)
    both = keras.Model(image, [resized, upsampled, pooled], name="resize_interpolations")

    tf_image = keras.Input((3, 8, 9), name="image")
    outputs = [
        layers.Resizing(4, 5, interpolation="lanczos3", antialias=True,
                        data_format="channels_first", name="lanczos3_resize")(tf_image),
        layers.UpSampling2D(2, interpolation="lanczos5", data_format="channels_first",
                            name="lanczos5_up")(tf_image),
        layers.Resizing(5, 4, interpolation="area", data_format="channels_first",
                        name="area_resize")(tf_image),
    ]
    tf_only = keras.Model(tf_image, outputs, name="resize_tensorflow_only")
    return {"resize_interpolations": (both, {"image": make_input("model", (2, 6, 7, 3),
                                                                  "float32")}, True),
            "resize_tensorflow_only": (tf_only, {"image": make_input("tf_model", (2, 3, 8, 9),
                                                                      "float32")}, False)}


# ----- the TensorFlow backend (this process) ---------------------------------------------------

def record_case(keras, spec, buffers: Buffers, torch_results: dict) -> dict:
    keras.utils.clear_session()
    layer = getattr(keras.layers, spec["class_name"])(**spec["kwargs"])
    config = json.loads(json.dumps(layer.get_config()))
    x = make_input(spec["id"], spec["inputs"][0], spec["dtype"])
    output, error = layer_output(keras, spec, x)
    record = {key: spec[key] for key in ("id", "class_name", "kwargs", "inputs", "dtype")}
    arrays = {"input:0": buffers.add(x)}
    torch_output, torch_error = torch_results[spec["id"]]
    if error is not None:
        assert torch_error is not None, f"{spec['id']}: only TensorFlow refuses it"
        record.update(arrays=arrays, keras_config=config, keras_error=error,
                      torch_error=torch_error, symbolic=[], output_shapes=[])
        return record
    arrays["output"] = buffers.add(output)
    if torch_error is None:
        torch_output = np.asarray(torch_output, dtype=output.dtype)
        assert torch_output.shape == output.shape, spec["id"]
        arrays["torch_output"] = buffers.add(torch_output)
    else:
        record["torch_error"] = torch_error
    output_shapes, symbolic = [], []
    if spec["symbolic"] is not None:
        symbolic = [spec["symbolic"]]
        fresh = getattr(keras.layers, spec["class_name"])(**spec["kwargs"])
        tensor = fresh(keras.Input(batch_shape=tuple(spec["symbolic"]), dtype=spec["dtype"]))
        computed = layer.compute_output_shape(tuple(spec["symbolic"]))
        assert tuple(tensor.shape) == tuple(computed), (spec["id"], tensor.shape, computed)
        output_shapes.append(list(computed))
    record.update(arrays=arrays, keras_config=config, symbolic=symbolic,
                  output_shapes=output_shapes, output_dtype=str(output.dtype))
    return record


def run_tf_keras() -> None:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, os.path.abspath(__file__), "--tf-keras"],
                            capture_output=True, text=True, env=env, check=False)
    if result.returncode:
        sys.stderr.write(result.stderr)
        raise SystemExit("the tf-keras run failed")
    print(result.stdout.strip().splitlines()[-1])


def run_torch(request: dict) -> dict:
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    result = subprocess.run([TORCH_PYTHON, os.path.abspath(__file__), "--torch"],
                            input=json.dumps(request), capture_output=True, text=True, env=env,
                            check=False)
    if result.returncode:
        sys.stderr.write(result.stderr)
        raise SystemExit("the PyTorch-backend run failed")
    return json.loads(result.stdout.strip().splitlines()[-1])


def as_list(outputs) -> list:
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def main() -> None:
    import keras

    assert keras.__version__ == "3.15.1", keras.__version__
    assert keras.backend.backend() == "tensorflow", "run with KERAS_BACKEND=tensorflow"
    os.makedirs(MODELS_DIR, exist_ok=True)
    models = build_models(keras)
    model_arrays = {}
    for name, (model, inputs, _) in models.items():
        model.save(os.path.join(MODELS_DIR, f"{name}.keras"))
        arrays = {f"input:{key}": value for key, value in inputs.items()}
        feed = next(iter(inputs.values()))
        for index, value in enumerate(as_list(model.predict(feed, verbose=0))):
            arrays[f"output:{index}"] = np.asarray(value)
        model_arrays[name] = arrays

    request = {"cases": [{**spec, "input": make_input(spec["id"], spec["inputs"][0],
                                                      spec["dtype"]).tolist()}
                         for spec in CASES],
               "models": [{"name": name, "path": os.path.join(MODELS_DIR, f"{name}.keras"),
                           "input": next(iter(inputs.values())).tolist()}
                          for name, (_, inputs, torch_runs) in models.items() if torch_runs]}
    torch_answers = run_torch(request)
    run_tf_keras()
    buffers = Buffers()
    records = [record_case(keras, spec, buffers, torch_answers["cases"]) for spec in CASES]
    ids = [record["id"] for record in records]
    assert len(set(ids)) == len(ids), "duplicate case id"
    arrays = buffers.arrays()
    document = {"keras_version": keras.__version__, "cases": records}
    arrays["cases_json"] = np.frombuffer(json.dumps(document, sort_keys=True).encode(), np.uint8)
    write_npz(CASES_PATH, arrays)
    print(f"wrote {len(records)} cases to {CASES_PATH} ({os.path.getsize(CASES_PATH)} bytes)")

    for name, arrays in model_arrays.items():
        for index, value in enumerate(torch_answers["models"].get(name, [])):
            arrays[f"torch_output:{index}"] = np.asarray(value, np.float32)
        path = os.path.join(MODELS_DIR, f"{name}.npz")
        write_npz(path, arrays)
        print(f"wrote {path} and {name}.keras")


# ----- the PyTorch backend (subprocess) --------------------------------------------------------

def torch_main() -> None:
    import keras

    assert keras.backend.backend() == "torch"
    request = json.loads(sys.stdin.read())
    cases = {}
    for spec in request["cases"]:
        keras.utils.clear_session()
        x = np.asarray(spec["input"], dtype=spec["dtype"])
        output, error = layer_output(keras, spec, x)
        cases[spec["id"]] = [None if output is None else output.tolist(), error]
    models = {}
    for entry in request["models"]:
        model = keras.saving.load_model(entry["path"])
        x = np.asarray(entry["input"], np.float32)
        models[entry["name"]] = [np.asarray(value).tolist()
                                 for value in as_list(model.predict(x, verbose=0))]
    print(json.dumps({"cases": cases, "models": models}))


# ----- tf-keras (subprocess) ------------------------------------------------------------------

def tf_keras_main() -> None:
    import tf_keras

    cases = []
    for case_id, class_name, kwargs, shape, dtype in KERAS2_CASES:
        tf_keras.backend.clear_session()
        x = make_input(case_id, shape, dtype)
        layer = getattr(tf_keras.layers, class_name)(**kwargs)
        output = np.asarray(layer(x))
        cases.append({"id": case_id, "class_name": class_name,
                      "config": json.loads(json.dumps(layer.get_config())),
                      "input": x.tolist(), "input_dtype": dtype, "output": output.tolist(),
                      "output_dtype": str(output.dtype)})
    lines = ",\n".join(json.dumps(entry, sort_keys=True) for entry in cases)
    with open(KERAS2_PATH, "w", encoding="utf-8") as handle:  # one case per line
        handle.write(f'{{"tf_keras_version": "{tf_keras.__version__}", "cases": [\n{lines}\n]}}\n')
    print(f"wrote {len(cases)} tf-keras cases to {KERAS2_PATH} ({os.path.getsize(KERAS2_PATH)} "
          f"bytes)")


if __name__ == "__main__":
    if "--torch" in sys.argv:
        torch_main()
    elif "--tf-keras" in sys.argv:
        tf_keras_main()
    else:
        main()
