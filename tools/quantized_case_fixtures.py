"""Record what real Keras 3 computes, stores and writes for quantized (`quantize("int8" | "int4" |
"float8")`) and LoRA-enabled (`enable_lora`) Dense, EinsumDense and Embedding layers, for
tests/layers/test_quantized_layers.py and tests/onnx/test_export_quantized.py (which read them
with modelio alone and never import Keras).

Run from the repository root, in the environment that has Keras 3:

    KERAS_BACKEND=torch /work/kenv/bin/python tools/quantized_case_fixtures.py

It writes fixtures/keras3_quantized/:

* ``cases.npz`` - single layers (case archive format, see tools/case_archive.py): per case the
  class, ``keras_config`` (``get_config()`` after quantizing / enabling LoRA), the input shape,
  the weights by name (``weight_names``, with ``weight:<i>`` arrays in ``layer.weights`` order),
  the input and Keras's eager output;
* ``<model>.keras``, ``<model>.weights.h5``, ``<model>.json`` and ``<model>.npz`` (``input``,
  and ``output``: what Keras computes after loading its own ``.keras``) for tiny models holding
  such layers; for some also a legacy ``<model>.h5`` (``output_h5``: Keras after loading it).

The layer is built float, its weights set to seeded multiples of 1/16, LoRA factors set to
non-zero values, then quantized; float8 scales are set to values other than 1 so that they
matter. Reruns write the same values.
"""

import json
import os
import re
import zlib

import numpy as np
from case_archive import Buffers, write_npz

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO_ROOT, "fixtures", "keras3_quantized")

# (id, class, kwargs, input shape, mode or None, quantization config kwargs, lora rank, alpha)
CASES = [
    ("dense_int8", "Dense", {"units": 3}, [2, 5], "int8", None, None, None),
    ("dense_int8_relu_rank3", "Dense", {"units": 4, "activation": "relu"}, [2, 3, 5], "int8",
     None, None, None),
    ("dense_int8_weight_only", "Dense", {"units": 3}, [2, 4], "int8", {"activation": None},
     None, None),
    ("dense_int4_grouped", "Dense", {"units": 5}, [2, 6], "int4", None, None, None),
    ("dense_int4_block2", "Dense", {"units": 3, "use_bias": False}, [2, 5], "int4",
     {"block_size": 2}, None, None),
    ("dense_int4_per_channel", "Dense", {"units": 3}, [2, 4], "int4", {"block_size": -1},
     None, None),
    ("dense_float8", "Dense", {"units": 3}, [2, 4], "float8", None, None, None),
    ("dense_lora", "Dense", {"units": 3}, [2, 4], None, None, 2, None),
    ("dense_lora_alpha", "Dense", {"units": 3}, [2, 4], None, None, 2, 6.0),
    ("dense_int8_lora", "Dense", {"units": 3}, [2, 4], "int8", None, 2, 4.0),
    ("dense_int4_lora", "Dense", {"units": 3}, [2, 4], "int4", None, 1, None),
    ("einsum_int8", "EinsumDense", {"equation": "ab,bc->ac", "output_shape": 3,
                                    "bias_axes": "c"}, [2, 4], "int8", None, None, None),
    ("einsum_int8_heads", "EinsumDense", {"equation": "abc,cde->abde", "output_shape": [3, 2, 2],
                                          "bias_axes": "de"}, [2, 3, 4], "int8", None, None,
     None),
    # (Keras 3.15.1 cannot int8/int4-quantize an equation with "...": its
    # _analyze_quantization_info calls len() on the input rank.)
    ("einsum_float8_ellipsis", "EinsumDense", {"equation": "...b,bc->...c", "output_shape": 3},
     [2, 3, 4], "float8", None, None, None),
    ("einsum_int8_reduce_two", "EinsumDense", {"equation": "abc,bcd->ad", "output_shape": [2]},
     [2, 3, 2], "int8", None, None, None),
    ("einsum_int8_weight_only", "EinsumDense", {"equation": "abc,cd->abd",
                                                "output_shape": [3, 2]}, [2, 3, 4], "int8",
     {"activation": None}, None, None),
    ("einsum_int4_grouped", "EinsumDense", {"equation": "abc,cde->abde",
                                            "output_shape": [3, 2, 3], "bias_axes": "e"},
     [2, 3, 4], "int4", None, None, None),
    ("einsum_int4_per_channel", "EinsumDense", {"equation": "ab,bc->ac", "output_shape": 3},
     [2, 5], "int4", {"block_size": -1}, None, None),
    ("einsum_int4_per_channel_inputs", "EinsumDense", {"equation": "abc,cd->abd",
                                                       "output_shape": [3, 3]},
     [2, 3, 4], "int4", {"block_size": -1, "activation": "default"}, None, None),
    ("einsum_float8", "EinsumDense", {"equation": "abc,cd->abd", "output_shape": [3, 2],
                                      "bias_axes": "d"}, [2, 3, 4], "float8", None, None, None),
    ("einsum_lora", "EinsumDense", {"equation": "abc,cde->abde", "output_shape": [3, 2, 2]},
     [2, 3, 4], None, None, 2, 3.0),
    ("einsum_int8_lora", "EinsumDense", {"equation": "ab,bc->ac", "output_shape": 3,
                                         "bias_axes": "c"}, [2, 4], "int8", None, 2, None),
    ("embedding_int8", "Embedding", {"input_dim": 7, "output_dim": 4}, [2, 3], "int8", None,
     None, None),
    ("embedding_int4_grouped", "Embedding", {"input_dim": 6, "output_dim": 5}, [2, 3], "int4",
     {"block_size": 2}, None, None),
    ("embedding_int4_default", "Embedding", {"input_dim": 6, "output_dim": 3}, [2, 3], "int4",
     None, None, None),
    ("embedding_int4_per_row", "Embedding", {"input_dim": 6, "output_dim": 3}, [2, 3], "int4",
     {"block_size": -1}, None, None),
    ("embedding_lora", "Embedding", {"input_dim": 6, "output_dim": 3}, [2, 3], None, None, 2,
     None),
    ("embedding_int8_lora", "Embedding", {"input_dim": 6, "output_dim": 4}, [2, 3], "int8",
     None, 2, None),
]

# Whole models: (name, builder) -> quantize / enable LoRA on some layers, then save.
MODELS = ["mlp_int8", "mlp_int4", "mlp_float8", "einsum_int8_int4", "embedding_int8_lora",
          "dense_lora"]
# Also saved as legacy `.h5` (Keras 3 writes `layer.trainable_weights + non_trainable_weights`;
# with LoRA the frozen kernel comes last and the factors are kept, not merged).
LEGACY_H5 = ["mlp_int8", "mlp_int4", "dense_lora", "embedding_int8_lora"]


def _rng(name: str, salt: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(f"{name}:{salt}".encode()))


def _sixteenths(rng, shape, spread=24):
    return (rng.integers(-spread, spread + 1, size=shape) / 16).astype("float32")


def _config(keras, mode, options):
    if options is None or mode == "float8":
        return None
    activation = options.get("activation", "unset")
    if activation == "default":
        activation = keras.quantizers.AbsMaxQuantizer()
    kwargs = {} if activation == "unset" else {"activation_quantizer": activation}
    if mode == "int8":
        return keras.quantizers.Int8QuantizationConfig(**kwargs)
    if "activation_quantizer" not in kwargs:
        kwargs["activation_quantizer"] = None
    return keras.quantizers.Int4QuantizationConfig(block_size=options.get("block_size", 128),
                                                  **kwargs)


def _prepare(keras, layer, name, shape, mode, options, rank, alpha):
    """Set seeded float weights, enable LoRA with non-zero factors, quantize."""
    rng = _rng(name, "weights")
    layer.set_weights([_sixteenths(rng, w.shape) for w in layer.get_weights()])
    if rank:
        layer.enable_lora(rank, lora_alpha=alpha) if alpha else layer.enable_lora(rank)
        for weight in layer.weights:
            if weight.name.startswith("lora_"):
                weight.assign(_sixteenths(rng, weight.shape, 6))
    if mode:
        layer.quantize(mode, config=_config(keras, mode, options))
    if mode == "float8":
        for weight, value in (("inputs_scale", 0.0625), ("kernel_scale", 0.125)):
            getattr(layer, weight).assign(value)


def _input(name, class_name, shape, dim=None):
    rng = _rng(name, "input")
    if class_name == "Embedding":
        return rng.integers(0, dim, size=shape).astype("int32")
    return _sixteenths(rng, shape, 40)


def record_case(keras, spec, buffers):
    name, class_name, kwargs, shape, mode, options, rank, alpha = spec
    keras.utils.clear_session()
    layer = getattr(keras.layers, class_name)(**kwargs)
    x = _input(name, class_name, shape, kwargs.get("input_dim"))
    layer(x)
    _prepare(keras, layer, name, shape, mode, options, rank, alpha)
    output = keras.ops.convert_to_numpy(layer(x))
    arrays = {"input": buffers.add(x), "output": buffers.add(output)}
    names = []
    for index, weight in enumerate(layer.weights):
        names.append(weight.name)
        arrays[f"weight:{index}"] = buffers.add(keras.ops.convert_to_numpy(weight.value))
    return {"id": name, "class_name": class_name, "keras_config": layer.get_config(),
            "mode": mode, "lora_rank": rank, "weight_names": names, "arrays": arrays,
            "output_dtype": str(output.dtype)}


def build_model(keras, name):
    rng_name = f"model:{name}"
    if name.startswith("embedding"):
        inputs = keras.Input((3,), dtype="int32", name="tokens")
        x = keras.layers.Embedding(6, 4, name="table")(inputs)
        x = keras.layers.Dense(3, name="head")(x)
        x_in = _input(rng_name, "Embedding", [2, 3], 6)
    elif name.startswith("einsum"):
        inputs = keras.Input((3, 4), name="features")
        x = keras.layers.EinsumDense("abc,cd->abd", (3, 5), bias_axes="d", name="proj")(inputs)
        x = keras.layers.EinsumDense("abc,cd->abd", (3, 2), name="out")(x)
        x_in = _input(rng_name, "Dense", [2, 3, 4])
    else:
        inputs = keras.Input((4,), name="features")
        x = keras.layers.Dense(5, activation="relu", name="hidden")(inputs)
        x = keras.layers.Dense(3, name="out")(x)
        x_in = _input(rng_name, "Dense", [2, 4])
    model = keras.Model(inputs, x, name=name)
    rng = _rng(rng_name, "weights")
    model.set_weights([_sixteenths(rng, w.shape) for w in model.get_weights()])
    if name.endswith("lora"):
        layer = model.layers[1] if name.startswith("embedding") else model.layers[-1]
        layer.enable_lora(2)
        for weight in layer.weights:
            if weight.name.startswith("lora_"):
                weight.assign(_sixteenths(rng, weight.shape, 6))
    if name == "embedding_int8_lora":
        model.layers[1].quantize("int8")
        model.layers[2].quantize("int8")
    elif name == "einsum_int8_int4":
        model.layers[1].quantize("int8")
        model.layers[2].quantize("int4")
    elif name != "dense_lora":
        model.quantize(name.split("_")[1])
    return model, x_in


def record_model(keras, name):
    keras.utils.clear_session()
    model, x = build_model(keras, name)
    stem = os.path.join(OUT, name)
    model.save(f"{stem}.keras")
    model.save_weights(f"{stem}.weights.h5")
    with open(f"{stem}.json", "w") as handle:
        handle.write(_stable_ids(model.to_json()))
    reloaded = keras.saving.load_model(f"{stem}.keras")
    output = keras.ops.convert_to_numpy(reloaded(x))
    arrays = {"input": x, "output": output}
    if name in LEGACY_H5:
        model.save(f"{stem}.h5")
        arrays["output_h5"] = keras.ops.convert_to_numpy(keras.saving.load_model(f"{stem}.h5")(x))
    write_npz(f"{stem}.npz", arrays)
    # The .keras zip stores timestamps; rewrite it with fixed ones so reruns are identical.
    _fix_zip_times(f"{stem}.keras")


def _stable_ids(text: str) -> str:
    """Keras writes a shared quantization config with `shared_object_id` = its Python id();
    number them 1, 2, ... in order of appearance so reruns write the same bytes."""
    numbers = {}

    def renumber(match):
        return f'"shared_object_id": {numbers.setdefault(match.group(1), len(numbers) + 1)}'

    return re.sub(r'"shared_object_id": (\d+)', renumber, text)


def _fix_zip_times(path):
    import zipfile
    with zipfile.ZipFile(path) as archive:
        members = [(info, archive.read(info.filename)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for info, data in members:
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            if info.filename == "config.json":
                data = _stable_ids(data.decode()).encode()
            if info.filename.endswith("metadata.json"):
                meta = json.loads(data)
                meta["date_saved"] = "1980-01-01@00:00:00"
                data = json.dumps(meta).encode()
            archive.writestr(fixed, data)


def main():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    keras.utils.set_random_seed(0)
    buffers = Buffers()
    document = [record_case(keras, spec, buffers) for spec in CASES]
    arrays = buffers.arrays()
    arrays["cases_json"] = np.frombuffer(json.dumps(document, sort_keys=True).encode(), np.uint8)
    write_npz(os.path.join(OUT, "cases.npz"), arrays)
    for name in MODELS:
        record_model(keras, name)
    print(f"wrote {len(document)} cases and {len(MODELS)} models to {OUT}")


if __name__ == "__main__":
    main()
