"""Quantized (`model.quantize("int8" | "int4" | "float8")`) and LoRA-enabled (`enable_lora`) Dense,
EinsumDense and Embedding against what real Keras 3.15.1 (torch backend) stores and computes.

Reference values come from fixtures/keras3_quantized/, written by tools/quantized_case_fixtures.py
in an environment with Keras; these tests never import Keras. Keras's int8 paths are exact
integer matmuls (matched exactly); its weight-only and int4 paths multiply by a dequantized float
kernel in another order than modelio, hence the 1e-6 tolerance.
"""

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from case_archive import load_case_archive, read_case_array

import modelio
from modelio import layers
from modelio.errors import ConfigError, UnsafeContentError, UnsupportedError, WeightMismatchError
from modelio.kernels.quantization import pack_int4, unpack_int4

FOLDER = Path(__file__).resolve().parents[2] / "fixtures" / "keras3_quantized"
BUFFERS, DOCUMENT = load_case_archive(FOLDER / "cases.npz")
CASES = {case["id"]: case for case in DOCUMENT}
MODELS = ["mlp_int8", "mlp_int4", "mlp_float8", "einsum_int8_int4", "embedding_int8_lora",
          "dense_lora"]
TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}


def layer_from_case(case: dict):
    """The layer built from Keras's config, with Keras's weights assigned by name."""
    layer = getattr(layers, case["class_name"]).from_config(case["keras_config"])
    x = read_case_array(BUFFERS, case, "input")
    layer.build(x.shape)
    by_name = {weight.name: weight for weight in layer.weights}
    for index, name in enumerate(case["weight_names"]):
        by_name[name].assign(read_case_array(BUFFERS, case, f"weight:{index}"))
    return layer, x


@pytest.mark.parametrize("case_id", CASES)
def test_layer_computes_what_keras_computes(case_id):
    case = CASES[case_id]
    layer, x = layer_from_case(case)
    output = layer(x)
    expected = read_case_array(BUFFERS, case, "output")
    assert output.dtype == expected.dtype and output.shape == expected.shape
    np.testing.assert_allclose(output, expected, **TOLERANCE)


@pytest.mark.parametrize("case_id", CASES)
def test_layer_builds_keras_weights_and_writes_keras_config(case_id):
    case = CASES[case_id]
    layer, _ = layer_from_case(case)
    stored = {name: read_case_array(BUFFERS, case, f"weight:{i}")
              for i, name in enumerate(case["weight_names"])}
    built = {weight.name: weight for weight in layer.weights}
    assert sorted(built) == sorted(stored)
    for name, array in stored.items():
        assert built[name].shape == array.shape and built[name].dtype == array.dtype.name, name
    assert json.loads(json.dumps(layer.get_config())) == case["keras_config"]


def test_int8_dense_quantizes_each_row_of_inputs_by_its_own_abs_max():
    case = CASES["dense_int8"]
    layer, x = layer_from_case(case)
    scaled = x.copy()
    scaled[0] *= 4  # row 0 gets a 4x larger scale; its output scales exactly, row 1's is unchanged
    bias = layer.bias.value
    np.testing.assert_allclose(layer(scaled)[0] - bias, 4 * (layer(x)[0] - bias), rtol=1e-6)
    np.testing.assert_array_equal(layer(scaled)[1], layer(x)[1])


@pytest.mark.parametrize("stem", MODELS)
def test_model_files_keras_wrote_load_and_match(stem):
    with np.load(FOLDER / f"{stem}.npz") as archive:
        x, expected = archive["input"], archive["output"]
    model = modelio.load_model(FOLDER / f"{stem}.keras")
    np.testing.assert_allclose(model.predict(x), expected, **TOLERANCE)
    paired = modelio.load_model(FOLDER / f"{stem}.json")
    paired.load_weights(FOLDER / f"{stem}.weights.h5")
    np.testing.assert_allclose(paired.predict(x), expected, **TOLERANCE)


@pytest.mark.parametrize("stem", ["mlp_int8", "mlp_int4", "dense_lora", "embedding_int8_lora"])
def test_legacy_h5_keras_wrote_loads_and_matches(stem):
    # Keras's legacy .h5 keeps the LoRA factors (trainable weights first, the frozen kernel last)
    with np.load(FOLDER / f"{stem}.npz") as archive:
        x, expected = archive["input"], archive["output_h5"]
    model = modelio.load_model(FOLDER / f"{stem}.h5")
    np.testing.assert_allclose(model.predict(x), expected, **TOLERANCE)


def _datasets(path) -> list:
    found = []
    with h5py.File(path, "r") as handle:
        handle.visititems(lambda name, obj: found.append((name, obj.shape, str(obj.dtype)))
                          if isinstance(obj, h5py.Dataset) else None)
    return sorted(found)


@pytest.mark.parametrize("stem", ["mlp_int4", "mlp_float8", "einsum_int8_int4",
                                  "embedding_int8_lora"])
def test_written_back_weights_have_keras_layout_and_reload_the_same(stem, tmp_path):
    with np.load(FOLDER / f"{stem}.npz") as archive:
        x, expected = archive["input"], archive["output"]
    model = modelio.load_model(FOLDER / f"{stem}.keras")
    modelio.save_model(model, tmp_path / "back.keras")
    model.save_weights(tmp_path / "back.weights.h5")
    assert _datasets(tmp_path / "back.weights.h5") == _datasets(FOLDER / f"{stem}.weights.h5")
    again = modelio.load_model(tmp_path / "back.keras")
    np.testing.assert_allclose(again.predict(x), expected, **TOLERANCE)
    layer_configs = [layer.get_config() for layer in again.layers[1:]]
    assert [c["dtype"] for c in layer_configs] == [layer.get_config()["dtype"]
                                                   for layer in model.layers[1:]]


def test_lora_kernel_is_saved_merged_and_loading_zeroes_the_factors(tmp_path):
    model = modelio.load_model(FOLDER / "dense_lora.keras")
    layer = model.get_layer("out")
    assert not layer.lora_kernel_a.value.any()  # Keras zeroes the factors on load
    layer.lora_kernel_a.assign(np.full(layer.lora_kernel_a.shape, 0.5, np.float32))
    layer.lora_kernel_b.assign(np.full(layer.lora_kernel_b.shape, 0.25, np.float32))
    x = np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4)
    before = model.predict(x)
    kernel = layer.kernel.value.copy()
    modelio.save_model(model, tmp_path / "merged.keras")
    again = modelio.load_model(tmp_path / "merged.keras")
    np.testing.assert_allclose(again.predict(x), before, rtol=1e-6, atol=1e-6)
    merged = again.get_layer("out")
    np.testing.assert_allclose(merged.kernel.value, kernel + merged.lora.factor *
                               np.full((5, 3), 2 * 0.5 * 0.25, np.float32), rtol=1e-6)
    assert not merged.lora_kernel_b.value.any()


def test_int4_packing_is_kerass_two_nibbles_per_byte():
    values = np.array([[-3, 7, 2], [-8, 1, 0]], np.int8)  # Keras's pack_int4 docstring example
    np.testing.assert_array_equal(pack_int4(values, axis=1), [[125, 2], [24, 0]])
    np.testing.assert_array_equal(pack_int4(values.T, axis=0), [[125, 24], [2, 0]])
    np.testing.assert_array_equal(unpack_int4(pack_int4(values, 1), 3, axis=1), values)


# ----- refusals --------------------------------------------------------------------------------

def _int8_policy(mode="int8"):
    return {"module": "keras.dtype_policies", "class_name": "QuantizedDTypePolicy",
            "config": {"mode": mode, "source_name": "float32"}, "registered_name": None}


def test_unknown_quantization_mode_is_a_config_error_naming_the_layer():
    with pytest.raises(ConfigError, match="'q'.*Dense.*unknown quantization mode 'int3'"):
        layers.Dense(3, name="q", dtype=_int8_policy("int3"))


def test_calibrated_gptq_policy_is_refused_by_name():
    policy = {"module": "keras.dtype_policies", "class_name": "GPTQDTypePolicy",
              "config": {"mode": "gptq/4/128", "source_name": "float32"}, "registered_name": None}
    with pytest.raises(UnsupportedError, match="'q'.*GPTQDTypePolicy"):
        layers.Dense(3, name="q", dtype=policy)


def test_quantized_policy_on_a_layer_keras_cannot_quantize_is_refused():
    with pytest.raises(UnsupportedError, match="'c'.*Conv2D.*quantized"):
        layers.Conv2D(2, 3, name="c", dtype=_int8_policy())


def test_float8_embedding_is_refused_as_keras_does_not_quantize_it():
    policy = {"module": "keras.dtype_policies", "class_name": "QuantizedFloat8DTypePolicy",
              "config": {"mode": "float8", "source_name": "float32", "amax_history_length": 4},
              "registered_name": None}
    with pytest.raises(UnsupportedError, match="'e'.*Embedding.*float8"):
        layers.Embedding(4, 2, name="e", dtype=policy)


def test_quantization_config_of_another_mode_is_refused():
    config = dict(CASES["dense_int4_block2"]["keras_config"]["quantization_config"])
    with pytest.raises(ConfigError, match="'q'.*Int8QuantizationConfig"):
        layers.Dense(3, name="q", dtype=_int8_policy(), quantization_config=config)


def test_foreign_quantizer_inside_a_quantization_config_is_refused(tmp_path):
    config = json.loads(json.dumps(CASES["dense_int8"]["keras_config"]))
    config["quantization_config"]["config"]["activation_quantizer"]["module"] = "os"
    with pytest.raises((UnsafeContentError, UnsupportedError), match="AbsMaxQuantizer"):
        layers.Dense.from_config(config)


def test_float8_with_lora_is_refused_as_keras_refuses_it():
    config = dict(CASES["dense_float8"]["keras_config"], lora_rank=2)
    with pytest.raises(UnsupportedError, match="'dense'.*LoRA.*float8"):
        layers.Dense.from_config(config).build((None, 4))


def test_int8_einsum_with_ellipsis_is_refused_as_keras_cannot_build_it():
    with pytest.raises(UnsupportedError, match="'e'.*EinsumDense.*'\\.\\.\\.'"):
        layers.EinsumDense("...b,bc->...c", 3, name="e", dtype=_int8_policy())


def test_kernel_scale_of_the_wrong_shape_is_refused_naming_the_layer():
    layer, _ = layer_from_case(CASES["einsum_int8_heads"])
    with pytest.raises(WeightMismatchError, match="'einsum_dense'.*kernel_scale"):
        layer.kernel_scale.assign(np.ones((3, 2), np.float32))


def test_int4_file_with_a_wrongly_packed_kernel_is_refused_naming_the_layer(tmp_path):
    target = tmp_path / "bad.weights.h5"
    target.write_bytes((FOLDER / "mlp_int4.weights.h5").read_bytes())
    with h5py.File(target, "r+") as handle:
        vars_group = handle["layers/dense/vars"]
        del vars_group["0"]
        vars_group["0"] = np.zeros((4, 5), np.int8)  # unpacked size: Keras stores (4, 3)
    model = modelio.load_model(FOLDER / "mlp_int4.json")
    with pytest.raises(WeightMismatchError, match="'hidden'.*kernel.*\\(4, 3\\)"):
        model.load_weights(target)


def test_saving_a_quantized_layer_with_nonzero_lora_factors_is_refused(tmp_path):
    model = modelio.load_model(FOLDER / "embedding_int8_lora.keras")
    table = model.get_layer("table")
    table.lora_embeddings_a.assign(np.ones(table.lora_embeddings_a.shape, np.float32))
    table.lora_embeddings_b.assign(np.ones(table.lora_embeddings_b.shape, np.float32))
    with pytest.raises(UnsupportedError, match="'table'.*non-zero LoRA"):
        modelio.save_model(model, tmp_path / "x.keras")
    assert not (tmp_path / "x.keras").exists()


def test_plain_layers_keep_every_weight_in_the_saved_groups():
    # Only quantized or LoRA layers save Keras's per-mode list; others save all their weights.
    table = layers.ReversibleEmbedding(5, 3, tie_weights=False, name="r")
    table.build((None, 2))
    [(_, saved)] = table.keras3_weight_groups()
    assert [weight.name for weight in saved] == ["embeddings", "reverse_embeddings"]
