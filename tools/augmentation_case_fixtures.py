"""Record what real Keras 3.15.1 computes and writes for the image augmentation layers, for
tests/layers/test_augmentation_layers.py and tests/onnx/test_export_augmentation.py. Tests read
the files with modelio alone; they never import Keras.

Run from the repository root, in the environment that has Keras 3 (it runs the TensorFlow
backend itself, in /work/k2env, through a subprocess):

    KERAS_BACKEND=torch /work/kenv/bin/python tools/augmentation_case_fixtures.py

It writes, byte-identical on every run:

* fixtures/keras3/augmentation_cases.npz - the layout of layer_cases.npz (see
  tools/layer_case_fixtures.py): ``cases_json`` (UTF-8 JSON: ``{"keras_version", "cases",
  "bad_configs"}``) and one flat ``buffer:<dtype>`` per dtype. Each case has ``id``,
  ``class_name``, ``kwargs``, ``keras_config`` (``get_config()`` after ``clear_session()``),
  ``symbolic`` (a list of ``{"shape", "dtype", "output_shape", "output_dtype"}``: a symbolic call
  on ``keras.Input`` of that batch shape and dtype) and ``arrays`` (``input:0``, ``output`` = the
  eager call with ``training=False`` on the PyTorch backend, and for CLAHE ``tf_output`` = the
  same call on the TensorFlow backend, which pads non-multiple image sizes differently: see
  modelio/layers/augmentation/histogram.py). ``bad_configs`` lists constructor arguments with
  whether Keras refused them (``keras_refuses``) and the first sentence of Keras's message.
* fixtures/keras3_files/augmentation_zoo.keras (+ .weights.h5, .npz), augmentation_every_layer,
  augmentation_contrast (+ .h5) and onnx_refused/augmentation_crop (+ .h5): small tutorial-style
  models (augmentation layers in front of a conv net) written by Keras, with inputs, the outputs
  of ``model.predict`` (inference) and the output shapes the models declare (``declared:<i>``).
  augmentation_contrast holds CLAHE, on which the backends disagree: its ``output:<i>`` are the
  TensorFlow backend's (the saved file loaded and run in /work/k2env), ``torch_output:<i>`` the
  PyTorch backend's. The crop model sits in onnx_refused/ because modelio refuses its ONNX
  export (RandomCrop declares the crop size but passes full images at inference).
"""

import json
import os
import subprocess
import sys
import tempfile
import zlib

import numpy as np
from case_archive import Buffers, write_npz

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES_PATH = os.path.join(REPO_ROOT, "fixtures", "keras3", "augmentation_cases.npz")
FILES_DIR = os.path.join(REPO_ROOT, "fixtures", "keras3_files")
TF_PYTHON = "/work/k2env/bin/python"


def case(case_id, class_name, kwargs, shape, dtype="float32", low=0.0, high=255.0,
         tf_reference=False, constant_channel=False):
    return {"id": case_id, "class_name": class_name, "kwargs": kwargs, "shape": shape,
            "dtype": dtype, "low": low, "high": high, "tf_reference": tf_reference,
            "constant_channel": constant_channel}


IMAGE = [2, 5, 6, 3]
SINGLE = [5, 6, 3]
FIRST = [2, 3, 5, 6]

CASES = [
    # Geometric: a cast to the compute dtype at inference.
    case("random_flip_default", "RandomFlip", {}, IMAGE),
    case("random_flip_horizontal_uint8", "RandomFlip", {"mode": "horizontal", "seed": 3}, IMAGE,
         "uint8"),
    case("random_flip_single_image", "RandomFlip", {"mode": "vertical"}, SINGLE),
    case("random_rotation_number", "RandomRotation", {"factor": 0.2}, IMAGE),
    case("random_rotation_pair_nearest_uint8", "RandomRotation",
         {"factor": [-0.3, 0.1], "fill_mode": "constant", "interpolation": "nearest",
          "fill_value": 2.0, "seed": 7}, IMAGE, "uint8"),
    case("random_rotation_channels_first", "RandomRotation",
         {"factor": 0.1, "data_format": "channels_first"}, FIRST),
    case("random_zoom_height_only", "RandomZoom", {"height_factor": 0.2}, IMAGE),
    case("random_zoom_pairs_uint8_single", "RandomZoom",
         {"height_factor": [-0.3, -0.1], "width_factor": [0.1, 0.4], "fill_mode": "wrap"}, SINGLE,
         "uint8"),
    case("random_translation_numbers", "RandomTranslation",
         {"height_factor": 0.2, "width_factor": 0.1}, IMAGE),
    case("random_translation_pairs_uint8", "RandomTranslation",
         {"height_factor": [-0.2, 0.3], "width_factor": [0.1, 0.2], "fill_mode": "nearest",
          "interpolation": "nearest", "seed": 1}, IMAGE, "uint8"),
    case("random_shear_default", "RandomShear", {}, IMAGE),
    case("random_shear_pairs_uint8", "RandomShear", {"x_factor": [0.1, 0.3], "y_factor": 0.2,
                                                     "fill_mode": "constant"}, IMAGE, "uint8"),
    case("random_perspective_default", "RandomPerspective", {}, IMAGE),
    case("random_perspective_uint8", "RandomPerspective",
         {"factor": 0.5, "scale": 0.3, "interpolation": "nearest", "fill_value": 1.0}, IMAGE,
         "uint8"),
    case("random_elastic_default", "RandomElasticTransform", {}, IMAGE),
    case("random_elastic_uint8_single", "RandomElasticTransform",
         {"factor": [0.2, 0.8], "scale": 0.5, "fill_mode": "mirror", "value_range": [0, 1]},
         SINGLE, "uint8"),
    case("random_crop", "RandomCrop", {"height": 3, "width": 4, "seed": 5}, IMAGE),
    case("random_crop_uint8", "RandomCrop", {"height": 2, "width": 2, "seed": 11}, IMAGE, "uint8"),
    case("random_crop_channels_first_single", "RandomCrop",
         {"height": 4, "width": 3, "seed": 2, "data_format": "channels_first"}, [3, 5, 6]),
    # Colour: untouched (own dtype) at inference, except the casting ones.
    case("random_brightness", "RandomBrightness", {"factor": 0.2}, IMAGE),
    case("random_brightness_pair_uint8", "RandomBrightness",
         {"factor": [-0.3, 0.5], "value_range": [255, 0], "seed": 4}, IMAGE, "uint8"),
    case("random_contrast", "RandomContrast", {"factor": 0.2}, IMAGE),
    case("random_contrast_uint8_single", "RandomContrast",
         {"factor": [0.1, 0.5], "value_range": [0, 1]}, SINGLE, "uint8"),
    case("random_color_degeneration", "RandomColorDegeneration", {"factor": 0.5}, IMAGE),
    case("random_color_degeneration_uint8", "RandomColorDegeneration",
         {"factor": [0.1, 0.4], "value_range": [0, 1]}, IMAGE, "uint8"),
    case("random_color_jitter_off", "RandomColorJitter", {}, IMAGE),
    case("random_color_jitter_all_uint8", "RandomColorJitter",
         {"brightness_factor": 0.2, "contrast_factor": [0.1, 0.3], "saturation_factor": 0.5,
          "hue_factor": 0.1, "seed": 9}, IMAGE, "uint8"),
    case("random_grayscale", "RandomGrayscale", {}, IMAGE),
    case("random_grayscale_uint8_single", "RandomGrayscale", {"factor": 1.0}, SINGLE, "uint8"),
    case("random_hue", "RandomHue", {"factor": 0.5}, IMAGE),
    case("random_hue_uint8", "RandomHue", {"factor": [0.2, 0.4], "value_range": [0, 1]}, IMAGE,
         "uint8"),
    case("random_saturation", "RandomSaturation", {"factor": 0.5}, IMAGE),
    case("random_saturation_uint8", "RandomSaturation", {"factor": [0.2, 0.9]}, IMAGE, "uint8"),
    case("random_invert", "RandomInvert", {}, IMAGE),
    case("random_invert_uint8_single", "RandomInvert", {"factor": 0.3, "value_range": [0, 1]},
         SINGLE, "uint8"),
    case("random_posterization", "RandomPosterization", {"factor": 4}, IMAGE),
    case("random_posterization_pair_uint8", "RandomPosterization", {"factor": [2, 6]}, IMAGE,
         "uint8"),
    case("random_sharpness", "RandomSharpness", {"factor": 0.5}, IMAGE),
    case("random_sharpness_uint8", "RandomSharpness", {"factor": [0.1, 0.9]}, IMAGE, "uint8"),
    case("solarization_default", "Solarization", {}, IMAGE),
    case("solarization_factors_uint8", "Solarization",
         {"addition_factor": 0.5, "threshold_factor": [0.2, 0.6], "value_range": [0, 1]},
         IMAGE, "uint8"),
    case("random_gaussian_blur", "RandomGaussianBlur", {}, IMAGE),
    case("random_gaussian_blur_uint8", "RandomGaussianBlur",
         {"factor": 0.5, "kernel_size": [3, 5], "sigma": [0.2, 0.9]}, IMAGE, "uint8"),
    case("random_erasing", "RandomErasing", {}, IMAGE),
    case("random_erasing_uint8", "RandomErasing",
         {"factor": 0.5, "scale": 0.4, "fill_value": 3.0}, IMAGE, "uint8"),
    # Mixing.
    case("mix_up", "MixUp", {}, IMAGE),
    case("mix_up_uint8", "MixUp", {"alpha": 0.5, "seed": 2}, IMAGE, "uint8"),
    case("cut_mix", "CutMix", {}, IMAGE),
    case("cut_mix_uint8", "CutMix", {"factor": [0.2, 0.7]}, IMAGE, "uint8"),
    case("aug_mix", "AugMix", {}, IMAGE),
    case("aug_mix_uint8", "AugMix", {"num_chains": 2, "chain_depth": 1, "factor": 0.5,
                                     "all_ops": False, "interpolation": "nearest"}, IMAGE,
         "uint8"),
    case("rand_augment", "RandAugment", {}, IMAGE),
    case("rand_augment_uint8", "RandAugment", {"num_ops": 3, "factor": [0.1, 0.4],
                                               "value_range": [0, 1]}, IMAGE, "uint8"),
    # Histogram: AutoContrast and CLAHE compute, Equalization does not at inference.
    case("auto_contrast", "AutoContrast", {}, IMAGE),
    case("auto_contrast_uint8", "AutoContrast", {}, IMAGE, "uint8"),
    case("auto_contrast_unit_range", "AutoContrast", {"value_range": [1, 0]}, IMAGE, low=0.0,
         high=1.0),
    case("auto_contrast_single_image", "AutoContrast", {"value_range": [0, 255]}, SINGLE,
         low=40.0, high=200.0),
    case("auto_contrast_channels_first", "AutoContrast", {"data_format": "channels_first"},
         FIRST),
    case("auto_contrast_constant_channel", "AutoContrast", {}, IMAGE, constant_channel=True),
    case("equalization", "Equalization", {}, IMAGE),
    case("equalization_uint8", "Equalization", {"bins": 64, "value_range": [0, 1]}, IMAGE,
         "uint8"),
    case("clahe_grid_2x2", "ContrastLimitedAdaptiveHistogramEqualization",
         {"tile_grid_size": [2, 2]}, [2, 4, 6, 3], tf_reference=True),
    case("clahe_default_padded", "ContrastLimitedAdaptiveHistogramEqualization", {}, IMAGE,
         tf_reference=True),
    case("clahe_uint8_clip_2", "ContrastLimitedAdaptiveHistogramEqualization",
         {"clip_limit": 2.0, "tile_grid_size": [2, 3]}, [2, 6, 6, 2], "uint8",
         tf_reference=True),
    case("clahe_no_clip_padded", "ContrastLimitedAdaptiveHistogramEqualization",
         {"clip_limit": 0.0, "tile_grid_size": [2, 2]}, [2, 5, 6, 1], tf_reference=True),
    case("clahe_unit_range_single", "ContrastLimitedAdaptiveHistogramEqualization",
         {"value_range": [0, 1], "tile_grid_size": [2, 2]}, [6, 4, 3], low=0.0, high=1.0,
         tf_reference=True),
    case("clahe_channels_first", "ContrastLimitedAdaptiveHistogramEqualization",
         {"tile_grid_size": [3, 2], "data_format": "channels_first"}, [1, 2, 6, 4],
         tf_reference=True),
    # Boxes: images pass untouched.
    case("max_num_bounding_boxes", "MaxNumBoundingBoxes", {"max_number": 3}, IMAGE),
    case("max_num_bounding_boxes_uint8", "MaxNumBoundingBoxes",
         {"max_number": 5, "fill_value": 0}, IMAGE, "uint8"),
]

# Constructor arguments to check Keras's refusals against (the layer need not be called).
BAD_CONFIGS = [
    ("RandomFlip", {"mode": 3}),
    ("RandomRotation", {"factor": "0.2"}),
    ("RandomRotation", {"factor": 1.5}),
    ("RandomRotation", {"factor": [0.1, 0.2, 0.3]}),
    ("RandomRotation", {"factor": 0.1, "fill_mode": "mirror"}),
    ("RandomRotation", {"factor": 0.1, "interpolation": "bicubic"}),
    ("RandomZoom", {"height_factor": -1.0}),
    ("RandomZoom", {"height_factor": 0.1, "width_factor": [0.1, 1.2]}),
    ("RandomZoom", {"height_factor": 0.1, "fill_mode": "mirror"}),
    ("RandomTranslation", {"height_factor": 0.1, "width_factor": "x"}),
    ("RandomTranslation", {"height_factor": [0.1], "width_factor": 0.1}),
    ("RandomShear", {"x_factor": -0.2}),
    ("RandomShear", {"x_factor": 0.2, "interpolation": "area"}),
    ("RandomPerspective", {"scale": 1.5}),
    ("RandomPerspective", {"factor": 2.0}),
    ("RandomElasticTransform", {"fill_mode": "edge"}),
    ("RandomElasticTransform", {"scale": [1.5, 2.0]}),
    ("RandomBrightness", {"factor": 1.5}),
    ("RandomBrightness", {"factor": 0.2, "value_range": 255}),
    ("RandomBrightness", {"factor": 0.2, "value_range": [0, 1, 2]}),
    ("RandomContrast", {"factor": [-2, -1.5]}),
    ("RandomContrast", {"factor": None}),
    ("RandomColorDegeneration", {"factor": "strong"}),
    ("RandomColorJitter", {"brightness_factor": 3.0}),
    ("RandomColorJitter", {"hue_factor": [2.0, 3.0]}),
    ("RandomHue", {"factor": 1.5}),
    ("RandomSaturation", {"factor": [0.1, 0.2, 0.3]}),
    ("RandomInvert", {"factor": "all"}),
    ("RandomPosterization", {"factor": 9}),
    ("RandomPosterization", {"factor": 2, "value_range": [0]}),
    ("RandomSharpness", {"factor": 1.5}),
    ("Solarization", {"addition_factor": 1.5}),
    ("Solarization", {"threshold_factor": [0.1, 2.0]}),
    ("Solarization", {"value_range": "0-255"}),
    ("RandomGaussianBlur", {"kernel_size": 4}),
    ("RandomGaussianBlur", {"sigma": 2.0}),
    ("RandomErasing", {"scale": [2.0, 3.0]}),
    ("CutMix", {"factor": 2.0}),
    ("AugMix", {"factor": 1.5}),
    ("AugMix", {"interpolation": "cubic"}),
    ("AugMix", {"value_range": 1}),
    ("RandAugment", {"factor": [0.5, 1.5]}),
    ("RandAugment", {"interpolation": "area"}),
    ("AutoContrast", {"value_range": 255}),
    ("AutoContrast", {"value_range": [0, 1, 2]}),
    ("Equalization", {"value_range": [1]}),
    ("RandomFlip", {"data_format": "channels_middle"}),
    ("MaxNumBoundingBoxes", {"max_number": "many"}),
]


def _rng(case_id: str, salt: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(f"{case_id}:{salt}".encode()))


def case_input(spec) -> np.ndarray:
    rng = _rng(spec["id"], "input")
    if spec["dtype"] == "uint8":
        return rng.integers(0, 256, spec["shape"]).astype(np.uint8)
    values = rng.uniform(spec["low"], spec["high"], spec["shape"])
    step = 8 if spec["high"] > 1 else 64
    values = (np.round(values * step) / step).astype(np.float32)
    if spec["constant_channel"]:
        values[0, ..., 1] = 17.0
        values[1, ..., 0] = 0.0
    return values


def run_layer(keras, spec, x):
    keras.utils.clear_session()
    layer = getattr(keras.layers, spec["class_name"])(**spec["kwargs"])
    return keras.ops.convert_to_numpy(layer(x, training=False))


def record_case(keras, spec, buffers: Buffers) -> dict:
    keras.utils.clear_session()
    layer = getattr(keras.layers, spec["class_name"])(**spec["kwargs"])
    config = json.loads(json.dumps(layer.get_config()))
    x = case_input(spec)
    output = keras.ops.convert_to_numpy(layer(x, training=False))
    symbolic = []
    for dtype in ("float32", "uint8"):
        fresh = getattr(keras.layers, spec["class_name"])(**spec["kwargs"])
        batch_shape = [None, *spec["shape"][1:]] if len(spec["shape"]) == 4 else spec["shape"]
        tensor = keras.Input(batch_shape=tuple(batch_shape), dtype=dtype)
        result = fresh(tensor)
        symbolic.append({"shape": batch_shape, "dtype": dtype,
                         "output_shape": list(result.shape), "output_dtype": result.dtype})
    arrays = {"input:0": buffers.add(x), "output": buffers.add(output)}
    record = {key: spec[key] for key in ("id", "class_name", "kwargs")}
    record.update(arrays=arrays, keras_config=config, symbolic=symbolic,
                  output_dtype=str(output.dtype), tf_reference=spec["tf_reference"])
    return record


def record_bad_configs(keras) -> list:
    records = []
    for class_name, kwargs in BAD_CONFIGS:
        try:
            getattr(keras.layers, class_name)(**kwargs)
        except Exception as exc:  # Keras's refusal is what is recorded
            # the message's first sentence only: Keras prints sets, in hash order, after it
            message = str(exc).split(". ")[0][:200]
            records.append({"class_name": class_name, "kwargs": kwargs, "keras_refuses": True,
                            "keras_error": f"{type(exc).__name__}: {message}"})
        else:
            records.append({"class_name": class_name, "kwargs": kwargs, "keras_refuses": False,
                            "keras_error": None})
    return records


def tensorflow_outputs(specs: list) -> dict:
    """{case id: output} of the cases computed by Keras's TensorFlow backend (in k2env)."""
    with tempfile.TemporaryDirectory() as folder:
        request = os.path.join(folder, "request.json")
        result = os.path.join(folder, "result.npz")
        with open(request, "w") as handle:
            json.dump(specs, handle)
        env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
        subprocess.run([TF_PYTHON, os.path.abspath(__file__), "--tf-worker", request, result],
                       check=True, env=env)
        with np.load(result) as archive:
            return dict(archive)


def tf_worker(request: str, result: str) -> None:
    """Cases (a list of specs) or a saved model ({"model": path, "input": path}) computed by
    Keras 3.15.1's TensorFlow backend, written to the npz `result`."""
    import keras

    assert keras.__version__ == "3.15.1" and keras.backend.backend() == "tensorflow"
    with open(request) as handle:
        specs = json.load(handle)
    if isinstance(specs, dict):
        model = keras.saving.load_model(specs["model"])
        outputs = model.predict(np.load(specs["input"]), verbose=0)
        outputs = outputs if isinstance(outputs, list) else [outputs]
        np.savez(result, **{f"output:{i}": np.asarray(out) for i, out in enumerate(outputs)})
        return
    np.savez(result, **{spec["id"]: run_layer(keras, spec, case_input(spec)) for spec in specs})


# ----- whole models -----------------------------------------------------------------------------

def zoo_model(keras):
    """The data-augmentation tutorial's front end in front of a small conv net."""
    layers = keras.layers
    augmentation = keras.Sequential([
        layers.RandomFlip("horizontal"),
        layers.RandomRotation(0.1),
        layers.RandomZoom(0.1),
    ], name="data_augmentation")
    inputs = keras.Input((8, 8, 3), name="image")
    x = augmentation(inputs)
    x = layers.RandomContrast(0.2)(x)
    x = layers.RandomTranslation(0.1, 0.1, fill_mode="constant")(x)
    x = layers.RandomBrightness(0.2)(x)
    x = layers.Pipeline([layers.RandomHue(0.1), layers.RandomSaturation(0.3),
                         layers.RandomGrayscale(0.2)], name="color_pipeline")(x)
    x = layers.Rescaling(1.0 / 255)(x)
    x = layers.Conv2D(4, 3, activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(3)(x)
    return keras.Model(inputs, outputs, name="augmentation_zoo")


def every_layer_model(keras):
    """Every augmentation class that keeps the image shape, in a chain, then a conv net.
    (RandomShear with its default factors: with a non-zero factor Keras 3.15.1 writes the pair
    (-f, f), which it refuses to load back.)
    (Not Equalization: its symbolic call returns its input tensor itself, so Keras 3.15.1 finds
    a cycle in any functional model holding it.)"""
    layers = keras.layers
    chain = [
        layers.RandomFlip(), layers.RandomRotation(0.2), layers.RandomZoom(0.2, 0.1),
        layers.RandomTranslation(0.1, 0.2), layers.RandomShear(),
        layers.RandomPerspective(), layers.RandomElasticTransform(),
        layers.RandomBrightness(0.1), layers.RandomContrast(0.1),
        layers.RandomColorDegeneration(0.2), layers.RandomColorJitter(brightness_factor=0.1),
        layers.RandomGrayscale(), layers.RandomHue(0.1), layers.RandomSaturation(0.1),
        layers.RandomInvert(0.5), layers.RandomPosterization(4), layers.RandomSharpness(0.2),
        layers.Solarization(0.2, 0.3), layers.RandomGaussianBlur(), layers.RandomErasing(),
        layers.MixUp(), layers.CutMix(), layers.AugMix(), layers.RandAugment(),
        layers.MaxNumBoundingBoxes(4),
    ]
    inputs = keras.Input((8, 8, 3), name="image")
    x = inputs
    for layer in chain:
        x = layer(x)
    x = layers.Conv2D(2, 3)(x)
    outputs = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, outputs, name="augmentation_every_layer")


def contrast_model(keras):
    layers = keras.layers
    inputs = keras.Input((8, 8, 3), name="image")
    x = layers.AutoContrast()(inputs)
    x = layers.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(2, 2))(x)
    x = layers.Rescaling(1.0 / 255)(x)
    x = layers.Conv2D(3, 3, activation="relu")(x)
    outputs = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, outputs, name="augmentation_contrast")


def crop_model(keras):
    """RandomCrop declares the crop size, yet passes full-size images at inference."""
    layers = keras.layers
    inputs = keras.Input((8, 8, 3), name="image")
    x = layers.RandomCrop(4, 4, seed=3)(inputs)
    conv = layers.Conv2D(2, 3)(x)
    pooled = layers.Dense(2)(layers.GlobalAveragePooling2D()(conv))
    return keras.Model(inputs, [conv, pooled], name="augmentation_crop")


MODELS = [zoo_model, every_layer_model, contrast_model, crop_model]


def folder_of(build) -> str:
    """fixtures/keras3_files/, or its onnx_refused/ subfolder for the crop model, whose ONNX
    export modelio refuses (the files directly in keras3_files/ must all export)."""
    return os.path.join(FILES_DIR, "onnx_refused") if build is crop_model else FILES_DIR


def record_model(keras, build, seed: int) -> None:
    keras.utils.clear_session()
    keras.utils.set_random_seed(seed)
    model = build(keras)
    rng = np.random.default_rng(seed)
    model.set_weights([(np.round(rng.normal(0, 0.5, w.shape) * 16) / 16).astype(w.dtype)
                       for w in model.get_weights()])
    x = np.round(rng.uniform(0, 255, (2, 8, 8, 3))).astype(np.float32)
    outputs = model.predict(x, verbose=0)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    declared = model.output_shape if isinstance(model.output_shape, list) else [model.output_shape]
    arrays = {"input:image": x}
    arrays.update({f"output:{i}": np.asarray(out) for i, out in enumerate(outputs)})
    arrays.update({f"declared:{i}": np.array([-1 if d is None else d for d in shape])
                   for i, shape in enumerate(declared)})
    name = model.name
    folder = folder_of(build)
    os.makedirs(folder, exist_ok=True)
    model.save(os.path.join(folder, f"{name}.keras"))
    if build is contrast_model:  # the backends disagree on CLAHE: TensorFlow's is `output`
        with tempfile.TemporaryDirectory() as scratch:
            np.save(os.path.join(scratch, "x.npy"), x)
            tf_outputs = tensorflow_outputs({"model": os.path.join(folder, f"{name}.keras"),
                                             "input": os.path.join(scratch, "x.npy")})
        arrays.update({key.replace("output:", "torch_output:"): value
                       for key, value in arrays.items() if key.startswith("output:")})
        arrays.update(tf_outputs)
    np.savez(os.path.join(folder, f"{name}.npz"), **arrays)
    model.save_weights(os.path.join(folder, f"{name}.weights.h5"))
    h5_path = os.path.join(folder, f"{name}.h5")
    try:
        model.save(h5_path)
        h5 = "and .h5"
    except Exception as exc:  # Keras 3 cannot write the legacy format for some layers
        h5 = f"(no .h5: {type(exc).__name__}: {str(exc)[:100]})"
        if os.path.exists(h5_path):
            os.remove(h5_path)  # Keras leaves a broken file behind
    print(f"  {name}: declared {declared}, predicted {[o.shape for o in outputs]} {h5}")


def main() -> None:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    assert keras.__version__ == "3.15.1", keras.__version__
    buffers = Buffers()
    records = [record_case(keras, spec, buffers) for spec in CASES]
    tf_specs = [spec for spec in CASES if spec["tf_reference"]]
    tf_out = tensorflow_outputs(tf_specs)
    for record in records:
        if record["tf_reference"]:
            record["arrays"]["tf_output"] = buffers.add(tf_out[record["id"]])
    ids = [record["id"] for record in records]
    assert len(set(ids)) == len(ids), "duplicate case id"
    document = {"keras_version": keras.__version__, "cases": records,
                "bad_configs": record_bad_configs(keras)}
    arrays = buffers.arrays()
    arrays["cases_json"] = np.frombuffer(json.dumps(document, sort_keys=True).encode(), np.uint8)
    write_npz(CASES_PATH, arrays)
    print(f"wrote {len(records)} cases to {CASES_PATH} ({os.path.getsize(CASES_PATH)} bytes)")
    for seed, build in enumerate(MODELS):
        record_model(keras, build, seed)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--tf-worker"]:
        tf_worker(sys.argv[2], sys.argv[3])
    else:
        main()
