"""Hashing, HashedCrossing, IntegerLookup, StringLookup and TextVectorization against what real
Keras 3.15.1 computes and writes (fixtures/keras3/lookup_cases.npz, recorded on Keras's
TensorFlow backend by tools/lookup_case_fixtures.py: these layers need TensorFlow in Keras 3);
these tests never import Keras or TensorFlow."""

import json

import numpy as np
import pytest
from preprocessing_case_support import CaseFamily

import modelio
from modelio import layers
from modelio.errors import ConfigError, FormatError, ModelioError, UnsupportedError
from modelio.kernels import hashing

FAMILY = CaseFamily("lookup")
CASE_IDS = FAMILY.ids()
VECTORS = FAMILY.document["hash_vectors"]


def assert_same_output(output, expected):
    if expected.dtype.kind == "U":  # an inverted StringLookup: an object array of str
        assert output.dtype == object
        np.testing.assert_array_equal(output.astype(str), expected)
        return
    assert output.dtype == expected.dtype
    assert output.shape == expected.shape
    np.testing.assert_allclose(output, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_layer_matches_keras_output_and_config(case_id):
    case = FAMILY.cases[case_id]
    layer = FAMILY.layer(case)
    assert_same_output(layer(FAMILY.call_input(case)), FAMILY.value(case, "output"))
    assert layer.get_config() == case["keras_config"]


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_output_shape_rule_matches_keras(case_id):
    case = FAMILY.cases[case_id]
    layer = FAMILY.layer(case)
    for shape, expected in zip(case["symbolic"], case["output_shapes"]):
        if isinstance(expected, dict):  # Keras's rule refuses (HashedCrossing of 3 inputs)
            continue
        argument = [tuple(item) for item in shape] if case["multi"] else tuple(shape)
        assert list(layer.compute_output_shape(argument)) == expected


@pytest.mark.parametrize("case_id", [case_id for case_id in CASE_IDS
                                     if FAMILY.cases[case_id]["assets"]])
def test_assets_written_back_are_what_keras_wrote(case_id):
    case = FAMILY.cases[case_id]
    written = FAMILY.layer(case).save_assets()
    assert written["vocabulary.txt"].decode("utf-8") == case["assets"]["vocabulary.txt"]


def test_fingerprint64_matches_tensorflow_on_every_length():
    modulus = VECTORS["modulus"]
    strings = [bytes.fromhex(value) for value in VECTORS["strings"]]
    assert [hashing.fingerprint64(value) % modulus for value in strings] == VECTORS["fast"]


@pytest.mark.parametrize("key", list(VECTORS["strong"]))
def test_siphash_matches_tensorflows_strong_hash(key):
    modulus = VECTORS["modulus"]
    pair = tuple(json.loads(key))
    strings = [bytes.fromhex(value) for value in VECTORS["strings"]]
    assert [hashing.siphash24(pair, value) % modulus for value in strings] == \
        VECTORS["strong"][key]


def test_vectorized_fingerprint_cat_matches_the_scalar_one():
    rng = np.random.default_rng(0)
    first = rng.integers(0, 2**63, 20, dtype=np.uint64) * np.uint64(2)
    second = rng.integers(0, 2**63, 20, dtype=np.uint64)
    expected = [hashing.fingerprint_cat64(int(a), int(b)) for a, b in zip(first, second)]
    assert hashing.cat_hashes(first, second).tolist() == expected


@pytest.mark.parametrize("make", [
    lambda values: np.array(values),
    lambda values: np.array(values, dtype=object),
    lambda values: np.array([[item.encode() for item in row] for row in values]),
    lambda values: np.array([[item.encode() for item in row] for row in values], dtype=object),
    lambda values: np.array(values, dtype=np.dtypes.StringDType()),
])
def test_string_inputs_in_every_numpy_form_give_the_same_indices(make):
    layer = layers.StringLookup(vocabulary=["a", "b", "ü"])
    values = [["a", "ü", "zz"], ["b", "", "a"]]
    np.testing.assert_array_equal(layer(make(values)), [[1, 3, 0], [2, 0, 1]])


def test_functional_model_with_a_string_input_loads_and_runs():
    text = modelio.Input((1,), dtype="string", name="text")
    ids = layers.TextVectorization(vocabulary=["cat", "dog"], output_sequence_length=3)(text)
    hashed = layers.Hashing(num_bins=4)(text)
    model = modelio.Model(text, [ids, hashed])
    assert model.inputs[0].dtype == "string"
    assert [tensor.dtype for tensor in model.outputs] == ["int64", "int64"]
    out = model.predict(np.array([["Dog cat"], ["owl"]], dtype=object))
    np.testing.assert_array_equal(out[0], [[3, 2, 0], [1, 0, 0]])
    rebuilt = modelio.Model.from_config(model.get_config())
    np.testing.assert_array_equal(rebuilt.predict(np.array([["Dog cat"], ["owl"]]))[0], out[0])


def test_inverted_string_lookup_returns_strings():
    layer = layers.StringLookup(vocabulary=["a", "b"], invert=True)
    out = layer(np.array([[0, 1, 2, 7]]))
    assert out.tolist() == [["[UNK]", "a", "b", "[UNK]"]]


def test_no_oov_indices_refuses_unknown_tokens():
    layer = layers.StringLookup(vocabulary=["a"], num_oov_indices=0)
    with pytest.raises(ModelioError, match="num_oov_indices=0"):
        layer(np.array(["a", "b"]))


def test_adapted_layer_without_its_assets_refuses_to_compute():
    layer = layers.StringLookup(vocabulary_size=4)
    with pytest.raises(ModelioError, match="assets"):
        layer(np.array(["a"]))


@pytest.mark.parametrize("cls, kwargs, error, match", [
    ("StringLookup", {"vocabulary": "/etc/passwd"}, UnsupportedError, "file path"),
    ("StringLookup", {"vocabulary": ["a", "a"]}, ConfigError, "repeats"),
    ("StringLookup", {"vocabulary": ["a", ""], "mask_token": ""}, ConfigError, "mask token"),
    ("StringLookup", {"vocabulary": ["a"], "invert": True, "output_mode": "count"}, ConfigError,
     "invert"),
    ("StringLookup", {"vocabulary": ["a"], "output_mode": "tf_idf"}, ConfigError, "idf_weights"),
    ("StringLookup", {"vocabulary": ["a"], "sparse": True}, UnsupportedError, "sparse"),
    ("StringLookup", {"vocabulary": ["a"], "encoding": "latin-1"}, UnsupportedError, "encoding"),
    ("StringLookup", {"vocabulary": ["a", "b"], "max_tokens": 2}, ConfigError, "max_tokens"),
    ("StringLookup", {"vocabulary": [1, 2]}, ConfigError, "string"),
    ("IntegerLookup", {"vocabulary": ["a"]}, ConfigError, "integer"),
    ("IntegerLookup", {"vocabulary": [1], "salt": 3}, ConfigError, "farmhash"),
    ("IntegerLookup", {"vocabulary_dtype": "int32"}, ConfigError, "int64"),
    ("Hashing", {"num_bins": 0}, ConfigError, "num_bins"),
    ("Hashing", {"num_bins": 3, "salt": "x"}, ConfigError, "salt"),
    ("Hashing", {"num_bins": 3, "salt": -1}, UnsupportedError, "salt"),
    ("Hashing", {"num_bins": 3, "dtype": "float32"}, ConfigError, "int32 or int64"),
    ("HashedCrossing", {"num_bins": 3, "output_mode": "count"}, ConfigError, "output_mode"),
    ("TextVectorization", {"standardize": {"class_name": "MyStandardize"}}, UnsupportedError,
     "custom standardize"),
    ("TextVectorization", {"split": "comma"}, ConfigError, "split"),
    ("TextVectorization", {"split": {"module": "__main__", "class_name": "f"}}, UnsupportedError,
     "custom split"),
    ("TextVectorization", {"output_mode": "count", "output_sequence_length": 3}, ConfigError,
     "output_sequence_length"),
    ("TextVectorization", {"ragged": True}, UnsupportedError, "ragged"),
    ("TextVectorization", {"ngrams": [0]}, ConfigError, "ngrams"),
])
def test_bad_configs_are_refused_naming_the_class(cls, kwargs, error, match):
    with pytest.raises(error, match=match) as info:
        getattr(layers, cls)(**kwargs)
    assert cls in str(info.value)


@pytest.mark.parametrize("layer, values", [
    (lambda: layers.StringLookup(vocabulary=["a"]), np.array([[1.5]])),
    (lambda: layers.IntegerLookup(vocabulary=[1]), np.array([["a"]])),
    (lambda: layers.IntegerLookup(vocabulary=[1]), np.array([[1.5]])),
    (lambda: layers.TextVectorization(vocabulary=["a"]), np.array([[1, 2]])),
    (lambda: layers.Hashing(num_bins=3), np.array([np.nan])),
])
def test_wrong_input_dtypes_are_refused(layer, values):
    with pytest.raises(ConfigError):
        layer()(values)


def test_hashed_crossing_refuses_float_and_mismatched_inputs():
    layer = layers.HashedCrossing(num_bins=3)
    with pytest.raises(ConfigError, match="integers or strings"):
        layer([np.array([1.5]), np.array([1])])
    with pytest.raises(ModelioError, match="same shape"):
        layer([np.array([1, 2]), np.array([1])])


def test_text_vectorization_splitting_a_wide_input_is_refused():
    layer = layers.TextVectorization(vocabulary=["a"])
    with pytest.raises(ModelioError, match="last dimension of 1"):
        layer(np.array([["a", "b"]]))


def test_huge_vocabulary_asset_is_refused_before_parsing(monkeypatch):
    from modelio.layers.lookup import vocabulary
    monkeypatch.setattr(vocabulary, "MAX_VOCABULARY_TOKENS", 10)
    layer = layers.StringLookup(vocabulary_size=30)
    with pytest.raises(FormatError, match="more than 10"):
        layer.load_assets({"vocabulary.txt": b"\n".join(b"t%d" % i for i in range(30))}, "x")
    monkeypatch.setattr(vocabulary, "MAX_VOCABULARY_BYTES", 8)
    with pytest.raises(FormatError, match="bytes"):
        layer.load_assets({"vocabulary.txt": b"a\nb\nc\nd\ne"}, "x")


def test_asset_vocabulary_must_match_the_configured_size():
    layer = layers.StringLookup(vocabulary_size=5, output_mode="count")
    with pytest.raises(ModelioError, match="vocabulary_size=5"):
        layer.load_assets({"vocabulary.txt": b"[UNK]\na\nb"}, "archive member")


def test_integer_asset_with_a_non_integer_line_is_refused():
    layer = layers.IntegerLookup(vocabulary_size=3)
    with pytest.raises(FormatError, match="not an integer"):
        layer.load_assets({"vocabulary.txt": b"-1\n5\nfive"}, "archive member")
