"""Serialized objects nested in layer arguments (initializers, regularizers, constraints, dtype
policies, seeds, anything with a `module` or `class_name` at any depth of a layer config) are
checked against what modelio knows: a foreign one is refused with an UnsafeContentError naming
the layer and the argument, on every way a config is read (`model_from_config`, a `.keras`
archive, a `.h5` model_config) and on every save; Keras 3 and Keras 2 spellings of Keras's own
objects load and are written back in the form Keras 3 writes."""

import copy
import json
import zipfile
from pathlib import Path

import h5py
import pytest
from config_safety_support import (
    _run_in_child,
    dense_model,
    expect,
    load,
)
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import modelio
from modelio import ConfigError, UnsafeContentError, UnsupportedError, layers
from modelio.formats.config import model_to_config

REPO = Path(__file__).resolve().parents[2]
FOREIGN_MODULE = "zzforeign"
FOREIGN = {"module": FOREIGN_MODULE, "class_name": "Popen",
           "config": {"args": ["touch", "/tmp/modelio_canary"]}, "registered_name": None}
SUFFIXES = (".keras", ".h5", ".json")


# ------------------------------------------------------------------------------------------------
# Models under test, built with modelio and turned into documents
# ------------------------------------------------------------------------------------------------

def _sequence_input():
    return modelio.Input((5, 3), name="features")


def _inner_functional_model():
    inner_input = modelio.Input((4,), name="inner_in")
    inner = modelio.Model(inner_input, layers.Dense(3, name="inner_dense")(inner_input),
                          name="inner_model")
    x = modelio.Input((4,), name="features")
    return modelio.Model(x, layers.Dense(2, name="head")(inner(x)), name="outer_model")


def _single_layer(make_input, layer):
    x = make_input()
    return modelio.Model(x, layer(x), name="probe")


MODELS = {
    "dense": lambda: _single_layer(lambda: modelio.Input((4,), name="features"),
                                   layers.Dense(3, name="dense_under_test")),
    "conv2d": lambda: _single_layer(lambda: modelio.Input((6, 6, 2), name="features"),
                                    layers.Conv2D(2, 3, name="conv_under_test")),
    "depthwise_conv2d": lambda: _single_layer(lambda: modelio.Input((6, 6, 2), name="features"),
                                              layers.DepthwiseConv2D(3, name="depthwise")),
    "separable_conv2d": lambda: _single_layer(lambda: modelio.Input((6, 6, 2), name="features"),
                                              layers.SeparableConv2D(2, 3, name="separable")),
    "lstm": lambda: _single_layer(_sequence_input, layers.LSTM(2, name="lstm_under_test")),
    "bidirectional": lambda: _single_layer(
        _sequence_input, layers.Bidirectional(layers.LSTM(2, name="inner_lstm"), name="bidi")),
    "time_distributed": lambda: _single_layer(
        _sequence_input, layers.TimeDistributed(layers.Dense(2, name="inner_dense"), name="td")),
    "embedding": lambda: _single_layer(lambda: modelio.Input((5,), dtype="int32", name="tokens"),
                                       layers.Embedding(10, 4, name="embedding_under_test")),
    "batch_normalization": lambda: _single_layer(lambda: modelio.Input((4,), name="features"),
                                                 layers.BatchNormalization(name="norm")),
    "prelu": lambda: _single_layer(lambda: modelio.Input((4,), name="features"),
                                   layers.PReLU(name="prelu_under_test")),
    "nested_functional": _inner_functional_model,
}


def document_of(model_name: str) -> dict:
    modelio.clear_session()
    return model_to_config(MODELS[model_name]())


def layer_config(document: dict, layer_name: str) -> dict:
    """The config of the layer named `layer_name` anywhere in `document` (nested models and
    wrapped layers included)."""
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            config = item.get("config")
            if "class_name" in item and isinstance(config, dict) and config.get("name") == layer_name:
                return config
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    raise AssertionError(f"no layer {layer_name!r} in the document")


def with_argument(model_name: str, layer_name: str, argument: str, value) -> dict:
    document = document_of(model_name)
    layer_config(document, layer_name)[argument] = copy.deepcopy(value)
    return document


# (model, layer, argument) for every argument kind in several layer types, wrapped and nested.
ARGUMENTS = [
    *[("dense", "dense_under_test", argument) for argument in (
        "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
        "activity_regularizer", "kernel_constraint", "bias_constraint", "dtype")],
    *[("conv2d", "conv_under_test", argument) for argument in (
        "kernel_initializer", "kernel_regularizer", "bias_constraint", "activity_regularizer",
        "dtype")],
    *[("depthwise_conv2d", "depthwise", argument) for argument in (
        "depthwise_initializer", "depthwise_regularizer", "depthwise_constraint")],
    *[("separable_conv2d", "separable", argument) for argument in (
        "pointwise_initializer", "pointwise_regularizer", "pointwise_constraint",
        "depthwise_regularizer")],
    *[("lstm", "lstm_under_test", argument) for argument in (
        "recurrent_initializer", "recurrent_regularizer", "recurrent_constraint",
        "kernel_regularizer", "bias_initializer", "activity_regularizer")],
    *[("bidirectional", "forward_inner_lstm", argument) for argument in (
        "kernel_regularizer", "recurrent_constraint", "dtype")],
    ("bidirectional", "bidi", "dtype"),
    *[("time_distributed", "inner_dense", argument) for argument in (
        "kernel_regularizer", "bias_initializer")],
    *[("embedding", "embedding_under_test", argument) for argument in (
        "embeddings_initializer", "embeddings_regularizer", "embeddings_constraint",
        "activity_regularizer")],
    *[("batch_normalization", "norm", argument) for argument in (
        "beta_initializer", "gamma_initializer", "moving_mean_initializer",
        "moving_variance_initializer", "beta_regularizer", "gamma_regularizer",
        "beta_constraint", "gamma_constraint")],
    *[("prelu", "prelu_under_test", argument) for argument in (
        "alpha_initializer", "alpha_regularizer", "alpha_constraint")],
    *[("nested_functional", "inner_dense", argument) for argument in (
        "kernel_regularizer", "kernel_initializer", "dtype")],
]


def kind_of(argument: str) -> str:
    if argument == "dtype":
        return "dtype_policy"
    return next(kind for kind in ("initializer", "regularizer", "constraint")
                if argument.endswith(kind))


# A legal object of each kind with at least one config key, to break one part at a time.
LEGAL = {
    "initializer": {"module": "keras.initializers", "class_name": "RandomNormal",
                    "config": {"mean": 0.0, "stddev": 0.05, "seed": 3}, "registered_name": None},
    "regularizer": {"module": "keras.regularizers", "class_name": "L2",
                    "config": {"l2": 0.01}, "registered_name": None},
    "constraint": {"module": "keras.constraints", "class_name": "MaxNorm",
                   "config": {"max_value": 2, "axis": 0}, "registered_name": None},
    "dtype_policy": {"module": "keras", "class_name": "DTypePolicy",
                     "config": {"name": "float32"}, "registered_name": None},
}
# A Keras class of another kind, offered where this kind is expected.
OTHER_KIND = {"initializer": "L2", "regularizer": "GlorotUniform", "constraint": "L1L2",
              "dtype_policy": "MaxNorm"}


def _with_config(legal: dict, **changes) -> dict:
    return {**legal, "config": {**legal["config"], **changes}}


def _first_key(legal: dict) -> str:
    return next(iter(legal["config"]))


# Each way of hiding something modelio does not know in an argument of kind `kind`.
HOSTILE_VARIANTS = {
    "foreign_object": lambda kind: FOREIGN,
    "keras_class_from_foreign_module": lambda kind: {**LEGAL[kind], "module": FOREIGN_MODULE},
    "keras_class_under_module_without_keras_prefix": lambda kind: {
        **LEGAL[kind], "module": "kerasx." + kind},
    "custom_registered_name": lambda kind: {**LEGAL[kind], "registered_name": "zzpkg>Custom"},
    "unknown_class_in_keras_module": lambda kind: {**LEGAL[kind], "class_name": "Popen"},
    "class_of_another_kind": lambda kind: {**LEGAL[kind], "class_name": OTHER_KIND[kind]},
    "unexpected_config_key": lambda kind: _with_config(LEGAL[kind], command="rm -rf /"),
    "foreign_object_as_config_value": lambda kind: _with_config(
        LEGAL[kind], **{_first_key(LEGAL[kind]): FOREIGN}),
    "foreign_object_in_a_list_config_value": lambda kind: _with_config(
        LEGAL[kind], **{_first_key(LEGAL[kind]): [0, FOREIGN]}),
    "mapping_where_a_number_or_name_belongs": lambda kind: _with_config(
        LEGAL[kind], **{_first_key(LEGAL[kind]): {"nested": "text"}}),
    "foreign_object_beside_the_object_keys": lambda kind: {**LEGAL[kind], "payload": FOREIGN},
}


# ------------------------------------------------------------------------------------------------
# 1. Refused on load, naming the layer and the argument
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("variant", list(HOSTILE_VARIANTS))
@pytest.mark.parametrize("model_name,layer_name,argument", ARGUMENTS,
                         ids=[f"{model}-{argument}" for model, _, argument in ARGUMENTS])
def test_hidden_foreign_or_unknown_object_in_argument_is_unsafe_content_naming_layer_and_argument(
        model_name, layer_name, argument, variant, forbidden_calls):
    hostile = HOSTILE_VARIANTS[variant](kind_of(argument))
    document = with_argument(model_name, layer_name, argument, hostile)
    error = expect(UnsafeContentError, load, document)
    assert f"'{layer_name}'" in str(error), str(error)
    assert argument in str(error), str(error)
    assert forbidden_calls == []


@pytest.mark.parametrize("variant", list(HOSTILE_VARIANTS))
def test_hidden_foreign_or_unknown_object_as_input_layer_dtype_is_unsafe_content(variant):
    document = with_argument("dense", "features", "dtype", HOSTILE_VARIANTS[variant]("dtype_policy"))
    error = expect(UnsafeContentError, load, document)
    assert "'features'" in str(error) and "dtype" in str(error), str(error)


@pytest.mark.parametrize("argument", ["kernel_initializer", "kernel_regularizer",
                                      "kernel_constraint", "activity_regularizer"])
@pytest.mark.parametrize("name", ["subprocess.Popen", "os.system", "evil_package>payload"])
def test_argument_naming_a_function_in_a_module_is_unsafe_content(argument, name):
    error = expect(UnsafeContentError, load, with_argument("dense", "dense_under_test", argument,
                                                           name))
    assert "'dense_under_test'" in str(error) and argument in str(error)


def test_initializer_seed_that_is_a_foreign_object_is_unsafe_content_naming_the_seed():
    initializer = _with_config(LEGAL["initializer"], seed=FOREIGN)
    error = expect(UnsafeContentError, load,
                   with_argument("lstm", "lstm_under_test", "recurrent_initializer", initializer))
    assert "'lstm_under_test'" in str(error) and "recurrent_initializer" in str(error)
    assert "seed" in str(error) and FOREIGN_MODULE in str(error)


@pytest.mark.parametrize("value", [
    {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
     "registered_name": None, "payload": FOREIGN},
    {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32", "x": 1},
     "registered_name": None},
    {"module": "keras", "class_name": "DTypePolicy", "config": {"name": ["float32"]},
     "registered_name": None},
    {"module": "subprocess", "class_name": "Popen", "config": {"name": "float32"},
     "registered_name": None},
], ids=["extra_key", "extra_config_key", "name_not_a_string", "foreign_module"])
def test_dtype_policy_that_is_not_exactly_a_keras_float_policy_is_unsafe_content(value):
    error = expect(UnsafeContentError, load, dense_model(dtype=value))
    assert "'hidden_1'" in str(error) and "dtype" in str(error)


@pytest.mark.parametrize("argument,value,error_type", [
    ("kernel_initializer", {"module": "keras.initializers", "class_name": "STFT",
                            "config": {}, "registered_name": None}, UnsupportedError),
    ("kernel_constraint", {"class_name": "RadialConstraint", "config": {}}, UnsupportedError),
    ("dtype", {"module": "keras.dtype_policies", "class_name": "GPTQDTypePolicy",
               "config": {"mode": "gptq/4/128", "source_name": "float32"},
               "registered_name": None},
     UnsupportedError),
    ("kernel_regularizer", {"class_name": "L2", "config": "0.01"}, ConfigError),
    ("kernel_regularizer", {"class_name": ["L2"], "config": {}}, ConfigError),
], ids=["stft_initializer", "keras2_radial_constraint", "quantized_policy",
        "config_not_a_mapping", "class_name_not_a_string"])
def test_keras_object_modelio_cannot_honour_or_malformed_object_is_refused(argument, value,
                                                                            error_type):
    error = expect(error_type, load, dense_model(**{argument: value}))
    assert "'hidden_1'" in str(error) and argument in str(error)


def test_foreign_object_inside_a_dict_argument_a_layer_keeps_is_refused_naming_its_path():
    # BatchNormalization keeps `renorm_clipping` as given; the config walk still sees inside.
    document = with_argument("batch_normalization", "norm", "renorm_clipping",
                             {"rmax": 3.0, "rmin": FOREIGN})
    error = expect(UnsafeContentError, load, document)
    assert "'norm'" in str(error) and "renorm_clipping.rmin" in str(error)
    assert FOREIGN_MODULE in str(error)


def test_foreign_object_under_a_keras2_key_the_layer_drops_is_still_refused():
    # Embedding drops Keras 2's `input_length`; a foreign object there is refused all the same.
    document = with_argument("embedding", "embedding_under_test", "input_length", FOREIGN)
    error = expect(UnsafeContentError, load, document)
    assert "'embedding_under_test'" in str(error) and "input_length" in str(error)


def test_foreign_object_as_a_call_argument_the_layer_ignores_is_refused_naming_the_node():
    # Dense's call takes no `training`; the node keeps it all the same, so the walk sees it.
    document = document_of("dense")
    entry = next(entry for entry in document["config"]["layers"]
                 if entry["config"]["name"] == "dense_under_test")
    entry["inbound_nodes"][0]["kwargs"]["training"] = FOREIGN
    error = expect(UnsafeContentError, load, document)
    assert "'probe'" in str(error) and "inbound_nodes[0].kwargs.training" in str(error)


def test_foreign_layer_class_inside_a_wrapper_is_refused_naming_the_wrapper():
    document = document_of("time_distributed")
    wrapper = layer_config(document, "td")
    wrapper["layer"]["module"] = FOREIGN_MODULE
    error = expect(UnsafeContentError, load, document)
    assert "'td'" in str(error) and FOREIGN_MODULE in str(error)


# ------------------------------------------------------------------------------------------------
# 2. Every way a file is read: .keras archive, .h5 model_config, JSON (each in a child process)
# ------------------------------------------------------------------------------------------------

def _tamper_keras(path: Path, change) -> None:
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    document = json.loads(members["config.json"])
    change(document)
    members["config.json"] = json.dumps(document).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _tamper_h5(path: Path, change) -> None:
    with h5py.File(path, "r+") as handle:
        document = json.loads(handle.attrs["model_config"])
        change(document)
        handle.attrs["model_config"] = json.dumps(document).encode()


def _tamper_json(path: Path, change) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


TAMPER = {".keras": _tamper_keras, ".h5": _tamper_h5, ".json": _tamper_json}
FILE_CASES = [("dense", "dense_under_test", "kernel_regularizer"),
              ("bidirectional", "forward_inner_lstm", "recurrent_constraint"),
              ("batch_normalization", "norm", "gamma_initializer"),
              ("nested_functional", "inner_dense", "dtype"),
              ("embedding", "embedding_under_test", "activity_regularizer")]


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("model_name,layer_name,argument", FILE_CASES,
                         ids=[f"{model}-{argument}" for model, _, argument in FILE_CASES])
def test_foreign_object_in_a_saved_file_is_refused_by_load_model_naming_file_layer_argument(
        tmp_path, suffix, model_name, layer_name, argument):
    modelio.clear_session()
    path = tmp_path / f"model{suffix}"
    modelio.save_model(MODELS[model_name](), path)
    TAMPER[suffix](path, lambda document: layer_config(document, layer_name).__setitem__(
        argument, {**LEGAL[kind_of(argument)], "module": FOREIGN_MODULE}))
    outcome = _run_in_child({"kind": "path", "path": str(path)})
    assert outcome["result"] == "modelio" and outcome["type"] == "UnsafeContentError", outcome
    # (JSON/YAML loads do not put the file name in layer errors yet: formats/config.py's part.)
    file_named = (str(path),) if suffix != ".json" else ()
    for part in (*file_named, f"'{layer_name}'", argument, FOREIGN_MODULE):
        assert part in outcome["message"], outcome
    assert not Path("/tmp/modelio_canary").exists()


# ------------------------------------------------------------------------------------------------
# 3. Nothing unchecked is written: a foreign object put on a layer after loading is refused
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("attribute", ["kernel_regularizer", "kernel_initializer",
                                       "activity_regularizer", "bias_constraint"])
def test_saving_a_layer_whose_argument_was_replaced_by_a_foreign_object_is_refused(
        tmp_path, suffix, attribute):
    model = MODELS["dense"]()
    setattr(model.get_layer("dense_under_test"), attribute, copy.deepcopy(FOREIGN))
    target = tmp_path / f"model{suffix}"
    with pytest.raises(UnsafeContentError) as info:
        modelio.save_model(model, target)
    assert "'dense_under_test'" in str(info.value) and attribute in str(info.value)
    assert list(tmp_path.iterdir()) == []  # no file, no temporary


def test_keras_objects_put_on_a_layer_in_keras2_spelling_are_written_in_keras3_form():
    model = MODELS["dense"]()
    model.get_layer("dense_under_test").kernel_regularizer = {"class_name": "L2",
                                                              "config": {"l2": 0.5}}
    written = layer_config(model_to_config(model), "dense_under_test")["kernel_regularizer"]
    assert written == {"module": "keras.regularizers", "class_name": "L2",
                       "config": {"l2": 0.5}, "registered_name": None}


# ------------------------------------------------------------------------------------------------
# 4. Keras 3 and Keras 2 spellings of Keras's own objects load and round-trip
# ------------------------------------------------------------------------------------------------

def _keras3(module: str, class_name: str, **config) -> dict:
    return {"module": module, "class_name": class_name, "config": config, "registered_name": None}


# (argument, value in the file, what modelio writes back)
LEGAL_OBJECTS = {
    "keras3_l2": ("kernel_regularizer", _keras3("keras.regularizers", "L2", l2=0.01),
                  _keras3("keras.regularizers", "L2", l2=0.01)),
    "keras2_l2_without_module": ("bias_regularizer", {"class_name": "L2", "config": {"l2": 0.5}},
                                 _keras3("keras.regularizers", "L2", l2=0.5)),
    "tf_keras_l1l2": ("activity_regularizer",
                      _keras3("keras.regularizers", "L1L2", l1=0.0, l2=0.009999999776482582),
                      _keras3("keras.regularizers", "L1L2", l1=0.0, l2=0.009999999776482582)),
    "keras2_l1l2_one_key": ("kernel_regularizer", {"class_name": "L1L2", "config": {"l1": 0.25}},
                            _keras3("keras.regularizers", "L1L2", l1=0.25)),
    "orthogonal_regularizer": ("kernel_regularizer",
                               _keras3("keras.regularizers", "OrthogonalRegularizer",
                                       factor=0.01, mode="columns"),
                               _keras3("keras.regularizers", "OrthogonalRegularizer",
                                       factor=0.01, mode="columns")),
    "regularizer_by_name": ("activity_regularizer", "l1_l2",
                            _keras3("keras.regularizers", "L1L2", l1=0.0, l2=0.0)),
    "tf_keras_module_regularizer": ("kernel_regularizer",
                                    _keras3("tf_keras.regularizers", "L1", l1=0.5),
                                    _keras3("keras.regularizers", "L1", l1=0.5)),
    "keras3_max_norm": ("kernel_constraint", _keras3("keras.constraints", "MaxNorm",
                                                     max_value=2, axis=0),
                        _keras3("keras.constraints", "MaxNorm", max_value=2, axis=0)),
    "keras2_min_max_norm_axis_list": (
        "kernel_constraint", {"class_name": "MinMaxNorm", "config": {
            "min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": [0, 1]}},
        _keras3("keras.constraints", "MinMaxNorm", min_value=0.0, max_value=1.0, rate=1.0,
                axis=[0, 1])),
    "non_neg": ("bias_constraint", _keras3("keras.constraints", "NonNeg"),
                _keras3("keras.constraints", "NonNeg")),
    "unit_norm_by_keras2_alias": ("kernel_constraint", "unitnorm",
                                  _keras3("keras.constraints", "UnitNorm", axis=0)),
    "constraint_by_name": ("bias_constraint", "max_norm",
                           _keras3("keras.constraints", "MaxNorm", max_value=2, axis=0)),
    "keras3_15_glorot_uniform": ("kernel_initializer",
                                 _keras3("keras.initializers", "GlorotUniform", seed=None,
                                         input_axes=None, output_axes=None),
                                 _keras3("keras.initializers", "GlorotUniform", seed=None,
                                         input_axes=None, output_axes=None)),
    "keras2_variance_scaling": ("kernel_initializer", {"class_name": "VarianceScaling", "config": {
        "scale": 2.0, "mode": "fan_in", "distribution": "truncated_normal", "seed": None}},
        _keras3("keras.initializers", "VarianceScaling", scale=2.0, mode="fan_in",
                distribution="truncated_normal", seed=None)),
    "tf1_initializer_with_dtype": ("kernel_initializer", {"class_name": "GlorotUniform", "config": {
        "seed": 5, "dtype": "float32"}}, _keras3("keras.initializers", "GlorotUniform", seed=5)),
    "seed_generator_seed": ("kernel_initializer", _keras3(
        "keras.initializers", "RandomNormal", mean=0.0, stddev=0.5,
        seed=_keras3("keras.random", "SeedGenerator", seed=7)),
        _keras3("keras.initializers", "RandomNormal", mean=0.0, stddev=0.5,
                seed=_keras3("keras.random", "SeedGenerator", seed=7))),
    "shared_keras3_object": ("bias_initializer", {
        **_keras3("keras.initializers", "Constant", value=0.5), "shared_object_id": 140512},
        _keras3("keras.initializers", "Constant", value=0.5)),
    "snake_case_class_name": ("bias_initializer", {"class_name": "zeros", "config": {}},
                              _keras3("keras.initializers", "Zeros")),
    "registered_name_equal_to_class": ("kernel_initializer", {
        **_keras3("keras.initializers", "Orthogonal", gain=1.0, seed=None),
        "registered_name": "Orthogonal"},
        _keras3("keras.initializers", "Orthogonal", gain=1.0, seed=None)),
    "keras3_dtype_policy": ("dtype", _keras3("keras", "DTypePolicy", name="float64"),
                            _keras3("keras", "DTypePolicy", name="float64")),
    "keras3_4_float_dtype_policy": ("dtype", _keras3("keras", "FloatDTypePolicy", name="float32"),
                                    _keras3("keras", "DTypePolicy", name="float32")),
    "keras2_mixed_policy": ("dtype", _keras3("keras.mixed_precision", "Policy",
                                             name="mixed_float16"),
                            _keras3("keras", "DTypePolicy", name="mixed_float16")),
}


@pytest.mark.parametrize("dialect", ["keras3", "keras2"])
@pytest.mark.parametrize("case", list(LEGAL_OBJECTS))
def test_keras_object_loads_and_every_save_writes_it_in_keras3_form(case, dialect, tmp_path):
    argument, value, expected = LEGAL_OBJECTS[case]
    model = load(dense_model(dialect, **{argument: value}))
    assert model.get_layer("hidden_1").get_config()[argument] == expected
    for suffix in SUFFIXES:
        path = tmp_path / f"model{suffix}"
        modelio.save_model(model, path)
        reloaded = modelio.load_model(path)
        assert reloaded.get_layer("hidden_1").get_config()[argument] == expected, suffix
        assert reloaded.get_config() == model.get_config(), suffix


@pytest.mark.parametrize("model_name,layer_name,argument", ARGUMENTS,
                         ids=[f"{model}-{argument}" for model, _, argument in ARGUMENTS])
def test_keras3_object_in_every_argument_kind_round_trips_through_every_format(
        model_name, layer_name, argument, tmp_path):
    document = with_argument(model_name, layer_name, argument, LEGAL[kind_of(argument)])
    model = load(document)
    for suffix in SUFFIXES:
        path = tmp_path / f"model{suffix}"
        modelio.save_model(model, path)
        assert modelio.load_model(path).get_config() == model.get_config(), suffix
    assert layer_config(model_to_config(model), layer_name)[argument] == LEGAL[kind_of(argument)]


OBJECT_ARGUMENTS = ("_initializer", "_regularizer", "_constraint")


def test_objects_in_a_real_keras_file_are_written_back_unchanged():
    # layer_zoo.keras (Keras 3.15): its initializers and dtype policies already have the form
    # modelio writes, so loading and writing back leaves every one of them as it was.
    path = REPO / "fixtures" / "keras3_files" / "layer_zoo.keras"
    with zipfile.ZipFile(path) as archive:
        document = json.loads(archive.read("config.json"))
    written = model_to_config(modelio.load_model(path))
    compared = 0
    for entry in document["config"]["layers"]:
        rewritten = layer_config(written, entry["config"]["name"])
        for key, value in entry["config"].items():
            if isinstance(value, dict) and (key == "dtype" or key.endswith(OBJECT_ARGUMENTS)):
                # Keras marks an object it wrote twice (one DTypePolicy shared by layers).
                value = {name: item for name, item in value.items() if name != "shared_object_id"}
                assert rewritten[key] == value, (entry["config"]["name"], key)
                compared += 1
    assert compared > 50


# ------------------------------------------------------------------------------------------------
# 5. Property: a random foreign object at a random place never survives a save
# ------------------------------------------------------------------------------------------------

def _fixture_documents() -> list:
    documents = []
    for name in ("layer_zoo.keras", "text_rnn.keras", "nested_functional.keras"):
        with zipfile.ZipFile(REPO / "fixtures" / "keras3_files" / name) as archive:
            documents.append(json.loads(archive.read("config.json")))
    with h5py.File(REPO / "fixtures" / "keras2_files" / "nested_functional.h5", "r") as handle:
        documents.append(json.loads(handle.attrs["model_config"]))
    return documents


BASE_DOCUMENTS = _fixture_documents()


def _places(document: dict) -> list:
    """Every (container, key) inside a layer config of `document`, at any depth."""
    places = []
    stack = [(document, False)]
    while stack:
        item, inside_config = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                in_config = inside_config or key == "config"
                if in_config:
                    places.append((item, key))
                stack.append((value, in_config))
        elif isinstance(item, list):
            for index, value in enumerate(item):
                if inside_config:
                    places.append((item, index))
                stack.append((value, inside_config))
    return places


KERAS_CLASS_NAMES = ["L2", "L1L2", "MaxNorm", "GlorotUniform", "RandomNormal", "DTypePolicy",
                     "Policy", "SeedGenerator", "Dense", "LSTM", "function", "__numpy__",
                     "__keras_tensor__", "Functional", "Sequential", "Lambda"]
identifiers = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
leaves = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(-2, 2), identifiers)
foreign_objects = st.builds(
    lambda module_tail, class_name, config, registered, keep_module: {
        **({"module": FOREIGN_MODULE + module_tail} if keep_module else {}),
        "class_name": class_name, "config": config,
        **({"registered_name": FOREIGN_MODULE + registered} if registered or not keep_module
           else {})},
    identifiers, st.one_of(st.sampled_from(KERAS_CLASS_NAMES), identifiers),
    st.one_of(leaves, st.dictionaries(identifiers, leaves, max_size=3)),
    st.one_of(st.just(""), identifiers.map(lambda name: ">" + name)),
    st.booleans())
wrappings = st.sampled_from(["replace", "in_list", "in_dict", "new_key"])


def _inject(document: dict, place, hostile, wrapping: str) -> None:
    container, key = place
    if wrapping == "new_key" and isinstance(container, dict):
        container["zz_new_argument"] = hostile
    elif wrapping == "in_list":
        container[key] = [container[key], hostile]
    elif wrapping == "in_dict":
        container[key] = {"inner": hostile}
    else:
        container[key] = hostile


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(data=st.data(), hostile=foreign_objects, wrapping=wrappings)
def test_random_foreign_object_at_a_random_depth_never_survives_a_save(data, hostile, wrapping,
                                                                       tmp_path_factory):
    document = copy.deepcopy(data.draw(st.sampled_from(BASE_DOCUMENTS)))
    places = _places(document)
    _inject(document, places[data.draw(st.integers(0, len(places) - 1))], hostile, wrapping)
    try:
        model = modelio.model_from_config(document)
    except modelio.ModelioError as exc:
        event(f"refused on load: {type(exc).__name__}")
        return
    event("loaded")
    folder = tmp_path_factory.mktemp("saved")
    for suffix in SUFFIXES:
        try:
            modelio.save_model(model, folder / f"model{suffix}")
        except modelio.ModelioError:
            continue
    for written in folder.iterdir():
        assert FOREIGN_MODULE.encode() not in written.read_bytes(), (written.name, hostile)
