"""The Keras 2 dialect across every family of tf-keras-written fixtures: masks tf-keras passes by
itself, Keras 3 operations written back as tf-keras's TFOpLambda / SlicingOpLambda, classes
modelio translated on load, custom objects.

Each family's Keras 2 document is compared with the config tf-keras itself wrote for the same
model (class names, inbound nodes, config keys within tf-keras's), and modelio reloads its own
Keras 2 `.h5` with identical outputs. That tf-keras loads these files and computes the recorded
outputs is tools/check_keras2_files_in_tf_keras.py's evidence
(fixtures/evidence/tf_keras_loads_modelio_keras2_files.txt)."""

import json
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from case_archive import load_model_cases
from fixture_models import FIXTURES, set_recorded_weights
from formula_weights import set_fixture_weights

import modelio
from modelio.errors import UnsupportedError
from modelio.ops.tf_function_forms import KERAS2_FORMS
from modelio.ops.tf_functions import TF_FUNCTIONS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers"))
from test_recurrent_layers import load_case as load_recurrent_case  # noqa: E402

# classes modelio reads under another name; the Keras 2 document keeps modelio's (tf-keras has it)
TRANSLATED = {"ThresholdedReLU": "ReLU", "SyncBatchNormalization": "BatchNormalization",
              "CuDNNLSTM": "LSTM", "CuDNNGRU": "GRU", "RandomCrop": "Resizing",
              "RandomHeight": "Identity", "RandomWidth": "Identity"}
# keys modelio writes that tf-keras writes only when they are set (tf-keras reads them all)
OPTIONAL_KEYS = {"Bidirectional": {"backward_layer"}, "GRU": {"zero_output_for_mask"},
                 "LSTM": {"zero_output_for_mask"}, "SimpleRNN": {"zero_output_for_mask"},
                 "RNN": {"zero_output_for_mask"},
                 "BatchNormalization": {"renorm", "renorm_clipping", "renorm_momentum",
                                        "synchronized"}}
TF_OP_CLASSES = ("TFOpLambda", "SlicingOpLambda")


def keras2_document(model) -> dict:
    return modelio.model_to_config(model, keras_version=2)


def h5_config(path) -> dict:
    with h5py.File(path, "r") as handle:
        return json.loads(handle.attrs["model_config"])


def _keras3_name(name: str) -> str:
    return name.replace("/", "_")  # modelio's rename of tf-keras's "Conv/BatchNorm"


def _references(node) -> list:
    """The `[layer, node, tensor]` references of a Keras 2 node, in order."""
    found = []

    def walk(value):
        if isinstance(value, list) and len(value) in (3, 4) and isinstance(value[0], str) \
                and isinstance(value[1], int):
            found.append([_keras3_name(value[0]), *value[1:3]])
            if len(value) == 4:
                walk(value[3])
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    walk(node)
    return found


def assert_written_like_tf_keras(ours: dict, theirs: dict) -> None:
    """modelio's Keras 2 document against the one tf-keras wrote of the same model."""
    assert ours["class_name"] == theirs["class_name"]
    if theirs["class_name"] == "Sequential":
        return
    mine = {entry["name"]: entry for entry in ours["config"]["layers"]}
    names = {_keras3_name(entry["name"]) for entry in theirs["config"]["layers"]}

    def refs(node):  # a function modelio translated into two operations ends in the second
        return [[name[:-2] if name not in names and name[:-2] in names else name, *rest]
                for name, *rest in _references(node)]

    for entry in theirs["config"]["layers"]:
        name = _keras3_name(entry["name"])
        written = mine.pop(name)
        assert written["class_name"] == TRANSLATED.get(entry["class_name"], entry["class_name"])
        if entry["class_name"] in TF_OP_CLASSES:
            assert written["config"]["function"] in TF_FUNCTIONS
            assert refs(written["inbound_nodes"]) == _references(entry["inbound_nodes"]), name
            continue
        assert refs(written["inbound_nodes"]) == _references(entry["inbound_nodes"]), name
        if entry["class_name"] not in TRANSLATED:
            extra = set(written["config"]) - set(entry["config"])
            assert extra <= OPTIONAL_KEYS.get(entry["class_name"], set()), (name, extra)
    # what tf-keras had not: only the second operations of functions translated into two
    assert all(entry["class_name"] == "TFOpLambda" for entry in mine.values()), list(mine)
    assert refs(ours["config"]["output_layers"]) == _references(theirs["config"]["output_layers"])


def assert_round_trip(model, inputs, tmp_path, **load_kwargs) -> None:
    path = tmp_path / "keras2.h5"
    modelio.save_model(model, path, keras_version=2)
    with h5py.File(path, "r") as handle:
        assert handle.attrs["keras_version"] == "2.21.0"
    again = modelio.load_model(path, **load_kwargs)
    for got, want in zip(_as_list(again.predict(inputs)), _as_list(model.predict(inputs))):
        np.testing.assert_array_equal(got, want)


def _as_list(outputs) -> list:
    if isinstance(outputs, dict):
        return list(outputs.values())
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def _archive_case(archive: str, case_id: str):
    _, cases = load_model_cases(FIXTURES / "keras2" / f"{archive}.npz")
    case = cases[case_id]
    model = modelio.model_from_json(json.dumps(case["model_json"]))
    set_recorded_weights(model, case["arrays"])
    inputs = {name: case["arrays"][f"input:{name}"] for name in case["inputs"]}
    return model, case["model_json"], inputs


def _recorded_inputs(npz) -> dict:
    with np.load(npz) as archive:
        return {key[len("input:"):]: archive[key] for key in archive.files
                if key.startswith("input:")}


# ----- 1. every family, against tf-keras's own config, and back through modelio ------------------

@pytest.mark.parametrize("archive,case_id", [
    ("attention_cases", "mha_embedding_masks"),            # query and value masks
    ("attention_cases", "attention_embedding_masks_causal_scores"),
    ("core_cases", "k2_classics"),                         # classes modelio translated on load
    ("core_cases", "k2_experimental_einsum_dense"),
])
def test_model_case_archive_is_written_as_tf_keras_wrote_it(archive, case_id, tmp_path):
    model, recorded, inputs = _archive_case(archive, case_id)
    ours = keras2_document(model)
    assert_written_like_tf_keras(ours, recorded)
    assert "NotEqual" not in json.dumps(ours) and "query_mask" not in json.dumps(ours)
    assert_round_trip(model, inputs, tmp_path)


@pytest.mark.parametrize("dialect_case", ["k2_bidirectional_text", "k2_initial_states_with_mask"])
def test_masked_recurrent_case_leaves_masks_to_tf_keras(dialect_case, tmp_path):
    from test_recurrent_layers import CASES
    model, inputs, _ = load_recurrent_case("keras2", dialect_case)
    ours = keras2_document(model)
    assert_written_like_tf_keras(ours, CASES[("keras2", dialect_case)]["model"])
    assert not [entry for entry in ours["config"]["layers"] if entry["class_name"] == "NotEqual"]
    assert_round_trip(model, inputs, tmp_path)


@pytest.mark.parametrize("path", [
    "keras2_files/text_rnn.h5",
    "keras2_files/preprocessing/plain_names.h5",
    "keras2_files/preprocessing/uint8_crop.h5",          # integer images resized to floats
    "keras2_files/dynamic_lookup/lookup_int32.h5",
    "rnn_cell_files/tf_keras_cudnn.h5",
    "keras3_files/dtypes/tf_keras_mixed_float16_lstm.h5",
    "keras2/tf_functions.h5",
])
def test_h5_tf_keras_wrote_is_written_back_in_its_own_terms(path, tmp_path):
    source = FIXTURES / path
    model = modelio.load_model(source)
    assert_written_like_tf_keras(keras2_document(model), h5_config(source))
    npz = source.with_suffix(".npz") if not Path(f"{source}.npz").exists() else Path(f"{source}.npz")
    inputs = _recorded_inputs(npz) if npz.exists() else {
        "x": np.load(source.parent / "tf_keras.npz")[f"{source.stem}/input"]}
    assert_round_trip(model, inputs, tmp_path)


def test_keras2_file_holding_tf_functions_is_written_for_tf_keras_by_default(tmp_path):
    model = modelio.load_model(FIXTURES / "keras2" / "tf_functions.h5")
    modelio.save_model(model, tmp_path / "m.h5")  # no fallback to Keras 3 any more
    document = h5_config(tmp_path / "m.h5")
    classes = {entry["class_name"] for entry in document["config"]["layers"]}
    assert {"TFOpLambda", "SlicingOpLambda"} <= classes
    getitem = next(entry for entry in document["config"]["layers"]
                   if entry["name"] == "tf.__operators__.getitem_1")
    assert getitem["inbound_nodes"] == [["tf.__operators__.getitem", 0, 0, {"slice_spec": [
        {"class_name": "__ellipsis__"}, None, {"start": None, "stop": 2, "step": None}]}]]


def test_tf_keras_application_is_written_back_with_its_tf_op_lambda_nodes(tmp_path):
    folder = FIXTURES / "keras2" / "applications"
    model = modelio.load_model(folder / "regnet_x002.json")
    with np.load(folder / "regnet_x002.npz") as archive:
        arrays = dict(archive)
    set_fixture_weights(model, arrays)
    assert_written_like_tf_keras(keras2_document(model),
                                 json.loads((folder / "regnet_x002.json").read_text()))
    assert_round_trip(model, arrays["input"][:1], tmp_path)


def test_custom_objects_are_written_under_tf_keras_names(tmp_path):
    from custom_fixture_objects import CUSTOM_OBJECTS
    source = FIXTURES / "save_variants" / "tf_keras_custom.h5"
    model = modelio.load_model(source, custom_objects=CUSTOM_OBJECTS)
    ours = keras2_document(model)
    assert_written_like_tf_keras(ours, h5_config(source))
    dense = ours["config"]["layers"][1]["config"]
    assert dense["activation"] == "<lambda>"  # its name, never its code
    assert ours["config"]["layers"][2]["class_name"] == "modelio_fixtures>MyScale"
    assert_round_trip(model, _recorded_inputs(source.with_suffix(".npz")), tmp_path,
                      custom_objects=CUSTOM_OBJECTS)


def test_every_operation_form_names_a_function_that_reads_back_as_that_operation():
    x = modelio.Input((4, 3))
    y = modelio.ops.Sqrt()(modelio.ops.Absolute()(x))
    document = keras2_document(modelio.Model(x, modelio.ops.Add()(y, 1.0)))
    entries = document["config"]["layers"][1:]
    assert [(entry["class_name"], entry["config"]["function"]) for entry in entries] == [
        ("TFOpLambda", "math.abs"), ("TFOpLambda", "math.sqrt"),
        ("TFOpLambda", "__operators__.add")]
    assert entries[2]["inbound_nodes"] == [[entries[1]["name"], 0, 0, {"y": 1.0}]]
    assert set(KERAS2_FORMS) <= set(modelio.graph.registry.OPERATION_CLASSES)


# ----- 2. what stays refused, by name, with no file left behind -----------------------------------

def _refused(model, match, tmp_path) -> None:
    with pytest.raises(UnsupportedError, match=match):
        modelio.save_model(model, tmp_path / "m.h5", keras_version=2)
    assert not list(tmp_path.iterdir())


def test_operation_on_integers_tensorflow_computes_otherwise_is_refused(tmp_path):
    x = modelio.Input((3,), dtype="int32")
    model = modelio.Model(x, modelio.ops.Add()(x, 0.5))  # Keras 3 promotes; TensorFlow refuses
    _refused(model, "'add'.*Add.*no TensorFlow function computes this call", tmp_path)


def test_true_division_of_integers_is_refused(tmp_path):
    x = modelio.Input((3,), dtype="int32")
    model = modelio.Model(x, modelio.ops.TrueDivide()(x, 2))  # float64 in TensorFlow
    _refused(model, "TrueDivide.*int32 tensor", tmp_path)


def test_rank_one_matmul_is_refused(tmp_path):
    x = modelio.Input((3,))
    model = modelio.Model(x, modelio.ops.Matmul()(x, np.ones(3, np.float32)))
    _refused(model, "Matmul.*rank-1", tmp_path)


def test_explicit_mask_other_than_the_implicit_one_is_refused_for_attention(tmp_path):
    tokens = modelio.Input((5,), dtype="int32", name="tokens")
    keep = modelio.Input((5,), dtype="bool", name="keep")
    embedded = modelio.layers.Embedding(10, 4, mask_zero=True)(tokens)
    attended = modelio.layers.MultiHeadAttention(2, 2)(embedded, embedded, value_mask=keep)
    _refused(modelio.Model([tokens, keep], attended), "value_mask.*no Keras 2 form", tmp_path)


def test_custom_function_named_like_a_tf_keras_activation_is_refused(tmp_path):
    from custom_fixture_objects import CUSTOM_OBJECTS, half
    source = FIXTURES / "save_variants" / "tf_keras_custom.h5"
    model = modelio.load_model(source, custom_objects=CUSTOM_OBJECTS)
    text = model.to_json().replace('"<lambda>"', '"swish"')  # a user's own `swish`
    renamed = modelio.model_from_json(text, custom_objects={**CUSTOM_OBJECTS, "swish": half})
    _refused(renamed, "custom function named 'swish'.*tf-keras would read as its own", tmp_path)
