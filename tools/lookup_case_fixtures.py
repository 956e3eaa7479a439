"""Record what real Keras 3.15.1 computes for the preprocessing layers that encode, look up, hash
and transform audio, for tests/layers/test_lookup_layers.py, test_encoding_layers.py and
test_audio_layers.py. The tests read the archives with modelio alone and never import Keras.

Three families, each run in the environment its layers need (from the repository root):

    KERAS_BACKEND=torch /work/kenv/bin/python tools/lookup_case_fixtures.py encoding
    PYTHONPATH=<scipy> KERAS_BACKEND=torch /work/kenv/bin/python tools/lookup_case_fixtures.py audio
    KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=3 /work/k2env/bin/python \\
        tools/lookup_case_fixtures.py lookup

* encoding (Discretization, CategoryEncoding) and audio (MelSpectrogram, STFTSpectrogram) run
  on Keras's PyTorch backend: they need no TensorFlow (STFTSpectrogram's windows need scipy,
  which /work/kenv lacks: `pip install --target <scipy> scipy` once and put it on PYTHONPATH);
* lookup (Hashing, HashedCrossing, IntegerLookup, StringLookup, TextVectorization) needs
  TensorFlow in Keras 3 (its string tensors, hash ops and lookup tables), so it runs on the
  TensorFlow backend in the environment that has it.

Each writes fixtures/keras3/<family>_cases.npz in the case-archive format (tools/case_archive.py):
per case the class, constructor kwargs, Keras's `get_config()`, the `symbolic` input shapes and
what `compute_output_shape` gives for them, and the arrays `input:<i>`, `weight:<i>`
(`get_weights()` order), `variable:<key>` (what `save_own_variables` stores, e.g. tf_idf's
`idf_weights`) and `output`. String arrays are not numpy buffers: a case's `strings` maps the
same keys to `{"shape", "values"}` (a flat JSON list). `assets` holds the files `save_assets`
writes (a lookup's vocabulary.txt) as text, when the layer writes any.
"""

import json
import os
import sys
import tempfile
import zlib

import numpy as np
from case_archive import Buffers, write_npz

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

WORDS = ["the", "cat", "sat", "on", "mat", "dog", "ran", "far"]


def case(case_id, class_name, kwargs, inputs, symbolic=None, adapt=None, multi=False):
    """`inputs`: arrays (numpy or nested lists of str); `symbolic`: input shapes (lists, None =
    free) for compute_output_shape; `adapt`: data passed to `adapt()` first."""
    return {"id": case_id, "class_name": class_name, "kwargs": kwargs, "inputs": inputs,
            "symbolic": symbolic or [], "adapt": adapt, "multi": multi}


def _rng(case_id, what):
    return np.random.default_rng(zlib.crc32(f"{case_id}/{what}".encode()))


# ----- encoding: Discretization, CategoryEncoding (PyTorch backend) ---------------------------

def encoding_cases():
    values = np.array([[-1.5, -1.0, 0.0, 0.25], [0.5, 1.0, 2.0, 3.5]], dtype="float32")
    ints = np.array([[0, 1, 1, 3], [2, 2, 0, 1]], dtype="int32")
    return [
        case("discretization_int", "Discretization", {"bin_boundaries": [-1.0, 0.0, 1.0]},
             [values], symbolic=[[None, 4], [None, 3, 4]]),
        case("discretization_one_hot", "Discretization",
             {"bin_boundaries": [0.0, 1.0], "output_mode": "one_hot"}, [values[:, :1]],
             symbolic=[[None, 1], [None, 4]]),
        case("discretization_multi_hot", "Discretization",
             {"bin_boundaries": [-1.0, 0.0, 1.0], "output_mode": "multi_hot"}, [values],
             symbolic=[[None, 4]]),
        case("discretization_count", "Discretization",
             {"bin_boundaries": [-1.0, 0.0, 1.0, 2.0], "output_mode": "count"}, [values],
             symbolic=[[None, 4]]),
        # an adapted layer's config holds both num_bins and the learned bin_boundaries
        # (adapt() itself needs TensorFlow): Keras's from_config keeps both
        case("discretization_adapted_config", "Discretization",
             {"num_bins": 4, "epsilon": 0.01, "bin_boundaries": [-0.5, 0.5, 1.5]},
             [values], symbolic=[[None, 4]]),
        case("discretization_rank1", "Discretization", {"bin_boundaries": [0.5]},
             [values[0]], symbolic=[[None]]),
        case("category_encoding_multi_hot", "CategoryEncoding", {"num_tokens": 5}, [ints],
             symbolic=[[None, 4]]),
        case("category_encoding_one_hot", "CategoryEncoding",
             {"num_tokens": 4, "output_mode": "one_hot"}, [ints[:, 1:2]],
             symbolic=[[None, 1], [None, 4]]),
        case("category_encoding_one_hot_rank2", "CategoryEncoding",
             {"num_tokens": 4, "output_mode": "one_hot"}, [ints], symbolic=[[None, 4]]),
        case("category_encoding_count", "CategoryEncoding",
             {"num_tokens": 6, "output_mode": "count"}, [ints], symbolic=[[None, 4]]),
        case("category_encoding_rank1", "CategoryEncoding", {"num_tokens": 4}, [ints[0]],
             symbolic=[[None]]),
        case("category_encoding_binary_float64", "CategoryEncoding",
             {"num_tokens": 4, "output_mode": "binary", "dtype": "float64"}, [ints],
             symbolic=[[None, 4]]),
        case("category_encoding_int_dtype", "CategoryEncoding",
             {"num_tokens": 4, "output_mode": "count", "dtype": "int32"}, [ints],
             symbolic=[[None, 4]]),
    ]


# ----- audio: MelSpectrogram, STFTSpectrogram (PyTorch backend) -------------------------------

def _signal(case_id, shape):
    rng = _rng(case_id, "signal")
    t = np.arange(shape[-1]) / 400.0
    tone = np.sin(2 * np.pi * 50 * t) + 0.5 * np.sin(2 * np.pi * 123 * t)
    return (tone * rng.uniform(0.5, 1.5, size=shape[:-1] + (1,))
            + 0.1 * rng.normal(size=shape)).astype("float32")


def audio_cases():
    sig = _signal("mel", (2, 256))
    sig_channels = np.stack([_signal("stft_a", (2, 96)), _signal("stft_b", (2, 96))], axis=-1)
    return [
        case("mel_default_db", "MelSpectrogram",
             {"fft_length": 64, "sequence_stride": 16, "sampling_rate": 400,
              "num_mel_bins": 8}, [sig], symbolic=[[None, 256], [None, None]]),
        case("mel_power_no_db", "MelSpectrogram",
             {"fft_length": 64, "sequence_stride": 32, "sequence_length": 48,
              "sampling_rate": 400, "num_mel_bins": 6, "power_to_db": False, "min_freq": 10.0,
              "max_freq": 180.0}, [sig], symbolic=[[None, 256]]),
        case("mel_hamming_magnitude", "MelSpectrogram",
             {"fft_length": 32, "sequence_stride": 8, "window": "hamming",
              "sampling_rate": 400, "num_mel_bins": 5, "mag_exp": 1.0, "top_db": 40.0,
              "ref_power": 2.0}, [sig], symbolic=[[None, 256]]),
        case("mel_rank1", "MelSpectrogram",
             {"fft_length": 32, "sequence_stride": 16, "sampling_rate": 400,
              "num_mel_bins": 4}, [sig[0]], symbolic=[[256]]),
        case("stft_log_default", "STFTSpectrogram", {"frame_length": 16},
             [sig_channels[..., :1]], symbolic=[[None, 96, 1], [None, None, 1]]),
        case("stft_magnitude_same", "STFTSpectrogram",
             {"mode": "magnitude", "frame_length": 12, "frame_step": 5, "fft_length": 16,
              "padding": "same", "window": "hamming", "periodic": True},
             [sig_channels], symbolic=[[None, 96, 2]]),
        case("stft_psd_expand", "STFTSpectrogram",
             {"mode": "psd", "frame_length": 16, "frame_step": 8, "scaling": "spectrum",
              "expand_dims": True}, [sig_channels], symbolic=[[None, 96, 2]]),
        case("stft_stft_channels_first", "STFTSpectrogram",
             {"mode": "stft", "frame_length": 8, "frame_step": 4, "window": None,
              "scaling": None, "data_format": "channels_first"},
             [np.ascontiguousarray(sig_channels.transpose(0, 2, 1))],
             symbolic=[[None, 2, 96]]),
        case("stft_real_imag_angle", "STFTSpectrogram",
             {"mode": "angle", "frame_length": 8, "frame_step": 8},
             [sig_channels[..., :1]], symbolic=[[None, 96, 1]]),
        case("stft_real", "STFTSpectrogram", {"mode": "real", "frame_length": 8},
             [sig_channels[..., :1]], symbolic=[[None, 96, 1]]),
        case("stft_imag_expand_channels_first", "STFTSpectrogram",
             {"mode": "imag", "frame_length": 8, "expand_dims": True,
              "data_format": "channels_first"},
             [np.ascontiguousarray(sig_channels.transpose(0, 2, 1))],
             symbolic=[[None, 2, 96]]),
    ]


# ----- lookup: Hashing, HashedCrossing, IntegerLookup, StringLookup, TextVectorization --------

def lookup_cases():
    words = np.array([["the", "cat", "xyzzy"], ["dog", "", "the"]])
    mixed = np.array([["the", "cat", "zebra", "on"], ["unknown", "mat", "[UNK]", "dog"]])
    ints = np.array([[12, 5, 7, 99], [5, -3, 0, 42]], dtype="int64")
    docs = np.array(["The cat sat on the mat.", "A dog ran far, far away!", "cat; DOG? Sat",
                     "  spaced   out  words  "])
    corpus = ["the cat sat on the mat", "the dog ran far", "a cat and a dog",
              "far far away", "the end"]
    many = [f"tok{i}" for i in range(40)] + ["héllo wörld", "a" * 70, "b" * 33, "  "]
    return [
        # Hashing: strings, ints, floats; salt (SipHash); mask; encodings.
        case("hashing_strings", "Hashing", {"num_bins": 7}, [np.array(many).reshape(4, 11)],
             symbolic=[[None, 11]]),
        case("hashing_ints", "Hashing", {"num_bins": 5}, [ints], symbolic=[[None, 4]]),
        case("hashing_floats_int32_output", "Hashing", {"num_bins": 9, "dtype": "int32"},
             [np.array([[1.5, -2.7, 3.0], [0.0, 1e6, -0.4]], dtype="float32")],
             symbolic=[[None, 3]]),
        case("hashing_bools", "Hashing", {"num_bins": 13},
             [np.array([[True, False, True], [False, False, True]])], symbolic=[[None, 3]]),
        case("hashing_uint8", "Hashing", {"num_bins": 13},
             [np.array([[0, 255, 7], [1, 2, 3]], dtype="uint8")], symbolic=[[None, 3]]),
        case("hashing_salt_pair", "Hashing", {"num_bins": 11, "salt": [133, 137]},
             [np.array(many).reshape(4, 11)], symbolic=[[None, 11]]),
        case("hashing_salt_int_ints", "Hashing", {"num_bins": 6, "salt": 42}, [ints],
             symbolic=[[None, 4]]),
        case("hashing_mask_value", "Hashing", {"num_bins": 4, "mask_value": ""}, [words],
             symbolic=[[None, 3]]),
        case("hashing_mask_int", "Hashing", {"num_bins": 3, "mask_value": 5}, [ints],
             symbolic=[[None, 4]]),
        case("hashing_one_hot", "Hashing", {"num_bins": 4, "output_mode": "one_hot"},
             [np.array([["a"], ["b"], ["c"]])], symbolic=[[None, 1]]),
        case("hashing_multi_hot", "Hashing", {"num_bins": 5, "output_mode": "multi_hot"},
             [words], symbolic=[[None, 3]]),
        case("hashing_count", "Hashing", {"num_bins": 3, "output_mode": "count"}, [ints],
             symbolic=[[None, 4]]),
        # HashedCrossing: string x int, ints, one_hot.
        case("hashed_crossing_str_int", "HashedCrossing", {"num_bins": 10},
             [np.array([["a"], ["bb"], ["ccc"]]), np.array([[1], [2], [3]], dtype="int64")],
             multi=True, symbolic=[[[None, 1], [None, 1]]]),
        case("hashed_crossing_rank1", "HashedCrossing", {"num_bins": 7},
             [np.array([4, 5, 6], dtype="int64"), np.array(["x", "y", "z"])], multi=True,
             symbolic=[[[None], [None]]]),
        case("hashed_crossing_three_one_hot", "HashedCrossing",
             {"num_bins": 5, "output_mode": "one_hot"},
             [np.array([[1], [2]], dtype="int64"), np.array([["p"], ["q"]]),
              np.array([[7], [7]], dtype="int64")], multi=True,
             symbolic=[[[None, 1], [None, 1], [None, 1]]]),
        # StringLookup: vocabulary in the config, adapted, masks, OOV buckets, modes, invert.
        case("string_lookup_vocab", "StringLookup", {"vocabulary": WORDS[:5]}, [mixed],
             symbolic=[[None, 4]]),
        case("string_lookup_mask_two_oov", "StringLookup",
             {"vocabulary": WORDS[:5], "mask_token": "", "num_oov_indices": 2},
             [np.array([["the", "", "zebra", "mat"], ["a", "b", "cat", ""]])],
             symbolic=[[None, 4]]),
        case("string_lookup_no_oov", "StringLookup",
             {"vocabulary": WORDS[:4], "num_oov_indices": 0},
             [np.array([["the", "on"], ["sat", "cat"]])], symbolic=[[None, 2]]),
        case("string_lookup_adapted", "StringLookup", {"max_tokens": 6}, [mixed],
             adapt=np.array(" ".join(corpus).split()), symbolic=[[None, 4]]),
        case("string_lookup_one_hot", "StringLookup",
             {"vocabulary": WORDS[:4], "output_mode": "one_hot"},
             [np.array([["the"], ["zebra"], ["on"]])], symbolic=[[None, 1]]),
        case("string_lookup_multi_hot_mask", "StringLookup",
             {"vocabulary": WORDS[:4], "output_mode": "multi_hot", "mask_token": ""},
             [np.array([["the", "", "the", "x"], ["on", "sat", "", ""]])],
             symbolic=[[None, 4]]),
        case("string_lookup_count_padded", "StringLookup",
             {"vocabulary": WORDS[:4], "output_mode": "count", "pad_to_max_tokens": True,
              "max_tokens": 8}, [mixed], symbolic=[[None, 4]]),
        case("string_lookup_tf_idf", "StringLookup",
             {"vocabulary": WORDS[:4], "output_mode": "tf_idf",
              "idf_weights": [0.5, 0.25, 1.5, 2.0]}, [mixed], symbolic=[[None, 4]]),
        case("string_lookup_tf_idf_adapted", "StringLookup", {"output_mode": "tf_idf"},
             [mixed], adapt=np.array([s.split()[:2] for s in corpus]), symbolic=[[None, 4]]),
        case("string_lookup_invert", "StringLookup",
             {"vocabulary": WORDS[:5], "invert": True, "mask_token": "[MASK]"},
             [np.array([[0, 1, 2, 6], [3, 9, 1, 5]], dtype="int64")], symbolic=[[None, 4]]),
        case("string_lookup_salted_oov", "StringLookup",
             {"vocabulary": WORDS[:3], "num_oov_indices": 3, "salt": [1, 2]},
             [np.array([["the", "zebra", "lion", "tiger", "cat", "owl"]])],
             symbolic=[[None, 6]]),
        case("string_lookup_rank1", "StringLookup", {"vocabulary": WORDS[:3]},
             [np.array(["cat", "x", "the"])], symbolic=[[None]]),
        # IntegerLookup.
        case("integer_lookup_vocab", "IntegerLookup", {"vocabulary": [12, 5, 99, 0]}, [ints],
             symbolic=[[None, 4]]),
        case("integer_lookup_mask_oov", "IntegerLookup",
             {"vocabulary": [12, 5, 99], "mask_token": 0, "num_oov_indices": 3}, [ints],
             symbolic=[[None, 4]]),
        case("integer_lookup_farmhash_oov", "IntegerLookup",
             {"vocabulary": [12, 5], "num_oov_indices": 4, "oov_method": "farmhash"}, [ints],
             symbolic=[[None, 4]]),
        case("integer_lookup_adapted_multi_hot", "IntegerLookup", {"output_mode": "multi_hot"},
             [ints], adapt=np.array([5, 5, 5, 12, 12, 7, 3, 3, 3, 3, 42]),
             symbolic=[[None, 4]]),
        case("integer_lookup_invert", "IntegerLookup",
             {"vocabulary": [12, 5, 99], "invert": True},
             [np.array([[0, 1, 2, 3], [3, 2, 7, 1]], dtype="int64")], symbolic=[[None, 4]]),
        case("integer_lookup_tf_idf", "IntegerLookup",
             {"vocabulary": [12, 5, 99], "output_mode": "tf_idf",
              "idf_weights": [1.0, 0.5, 0.25]}, [ints], symbolic=[[None, 4]]),
        # TextVectorization: standardize x split, ngrams, sequence length, modes.
        case("text_vectorization_default", "TextVectorization",
             {"output_sequence_length": 6}, [docs.reshape(4, 1)],
             adapt=np.array(corpus), symbolic=[[None, 1], [None]]),
        case("text_vectorization_vocab_ragged_pad", "TextVectorization",
             {"vocabulary": WORDS}, [docs], symbolic=[[None]]),
        case("text_vectorization_lower_only", "TextVectorization",
             {"standardize": "lower", "vocabulary": ["the", "cat", "sat;", "dog?", "mat."],
              "output_sequence_length": 5}, [docs], symbolic=[[None]]),
        case("text_vectorization_strip_only", "TextVectorization",
             {"standardize": "strip_punctuation", "vocabulary": ["The", "cat", "Sat", "DOG"],
              "output_sequence_length": 4}, [docs], symbolic=[[None]]),
        case("text_vectorization_no_standardize", "TextVectorization",
             {"standardize": None, "vocabulary": ["The", "cat", "sat", "mat."],
              "output_sequence_length": 7}, [docs], symbolic=[[None]]),
        case("text_vectorization_character", "TextVectorization",
             {"split": "character", "vocabulary": list("thecasd"),
              "output_sequence_length": 12}, [docs[:3]], symbolic=[[None]]),
        case("text_vectorization_no_split", "TextVectorization",
             {"split": None, "standardize": "lower",
              "vocabulary": ["the cat sat on the mat.", "cat; dog? sat"]},
             [docs.reshape(4, 1)], symbolic=[[None, 1]]),
        case("text_vectorization_bigrams", "TextVectorization",
             {"ngrams": 2, "vocabulary": ["the", "cat", "the cat", "cat sat", "far far"],
              "output_sequence_length": 12}, [docs], symbolic=[[None]]),
        case("text_vectorization_ngrams_tuple", "TextVectorization",
             {"ngrams": (2, 3), "vocabulary": ["the cat", "the cat sat", "far far away"],
              "output_sequence_length": 6}, [docs], symbolic=[[None]]),
        case("text_vectorization_multi_hot", "TextVectorization",
             {"output_mode": "multi_hot", "max_tokens": 8}, [docs],
             adapt=np.array(corpus), symbolic=[[None]]),
        case("text_vectorization_count_padded", "TextVectorization",
             {"output_mode": "count", "vocabulary": WORDS, "pad_to_max_tokens": True,
              "max_tokens": 12}, [docs], symbolic=[[None]]),
        case("text_vectorization_tf_idf", "TextVectorization",
             {"output_mode": "tf_idf"}, [docs], adapt=np.array(corpus), symbolic=[[None]]),
        case("text_vectorization_one_hot_no_split", "TextVectorization",
             {"output_mode": "one_hot", "split": None, "vocabulary": ["cat", "the end"]},
             [np.array(["Cat", "the end!", "dog"])], symbolic=[[None]]),
    ]


def hash_vectors() -> dict:
    """TensorFlow's string hashes of 202 seeded random byte strings of every length from 0 to
    129 (and 0 to 69 again) plus two long ones (hex in the document), as buckets of a modulus
    above 2**62 so that nearly all of each 64-bit hash is compared."""
    import tensorflow as tf

    rng = np.random.default_rng(20261203)
    lengths = list(range(130)) + list(range(70)) + [256, 1000]
    strings = [rng.integers(0, 256, size=length, dtype=np.uint8).tobytes() for length in lengths]
    modulus = 2**62 + 12345
    vectors = {"strings": [value.hex() for value in strings], "modulus": modulus,
               "fast": tf.strings.to_hash_bucket_fast(strings, modulus).numpy().tolist(),
               "strong": {}}
    for key in ([1, 2], [12345, 67890], [2**62 + 7, 0]):
        vectors["strong"][json.dumps(key)] = tf.strings.to_hash_bucket_strong(
            strings, modulus, key=key).numpy().tolist()
    return vectors


FAMILIES = {"encoding": (encoding_cases, "torch"), "audio": (audio_cases, "torch"),
            "lookup": (lookup_cases, "tensorflow")}


# ----- recording --------------------------------------------------------------------------------

def _is_string_array(array) -> bool:
    return isinstance(array, np.ndarray) and array.dtype.kind in "UOST"


def _to_numpy(keras, value):
    if isinstance(value, list):  # StringLookup(invert=True) on torch returns a list
        return np.array(value)
    array = keras.ops.convert_to_numpy(value)
    if array.dtype.kind in "OS":
        array = np.vectorize(lambda item: item.decode("utf-8") if isinstance(item, bytes)
                             else item, otypes=[object])(array).astype(str)
    return array


def _store(record, buffers, key, array):
    array = np.asarray(array)
    if _is_string_array(array):
        record["strings"][key] = {"shape": list(array.shape),
                                  "values": [str(item) for item in array.reshape(-1)]}
    else:
        record["arrays"][key] = buffers.add(array)


def _jsonable(value):
    return json.loads(json.dumps(value, default=lambda item: item.tolist()
                                 if hasattr(item, "tolist") else str(item)))


def record_case(keras, spec, buffers: Buffers) -> dict:
    keras.utils.clear_session()
    cls = getattr(keras.layers, spec["class_name"])
    kwargs = dict(spec["kwargs"])
    layer = cls.from_config(kwargs) if "bin_boundaries" in kwargs and "num_bins" in kwargs \
        else cls(**kwargs)
    if spec["adapt"] is not None:
        layer.adapt(spec["adapt"])
    inputs = [np.asarray(value) for value in spec["inputs"]]
    call_inputs = list(inputs) if spec["multi"] else inputs[0]
    output = _to_numpy(keras, layer(call_inputs))
    config = _jsonable(layer.get_config())
    record = {key: spec[key] for key in ("id", "class_name", "multi", "symbolic")}
    record.update(kwargs=_jsonable(spec["kwargs"]), keras_config=config, arrays={},
                  strings={}, output_dtype=str(output.dtype) if output.dtype.kind != "U"
                  else "string", adapted=spec["adapt"] is not None)
    for index, array in enumerate(inputs):
        _store(record, buffers, f"input:{index}", array)
    _store(record, buffers, "output", output)
    for index, weight in enumerate(layer.get_weights()):
        _store(record, buffers, f"weight:{index}", weight)
    store = {}
    if hasattr(layer, "save_own_variables"):
        layer.save_own_variables(store)
    for key in store:
        _store(record, buffers, f"variable:{key}", np.asarray(store[key]))
    with tempfile.TemporaryDirectory() as folder:
        if hasattr(layer, "save_assets"):
            layer.save_assets(folder)
        record["assets"] = {}
        for name in sorted(os.listdir(folder)):
            with open(os.path.join(folder, name), encoding="utf-8") as handle:
                record["assets"][name] = handle.read()
    record["output_shapes"] = []
    for shape in spec["symbolic"]:
        shape_arg = [tuple(item) for item in shape] if spec["multi"] else tuple(shape)
        try:
            computed = layer.compute_output_shape(shape_arg)
        except ValueError as exc:  # HashedCrossing's shape rule takes exactly two inputs
            record["output_shapes"].append({"error": str(exc)})
            continue
        record["output_shapes"].append([None if dim is None else int(dim) for dim in computed])
    return record


def main() -> None:
    family = sys.argv[1] if len(sys.argv) > 1 else ""
    if family not in FAMILIES:
        raise SystemExit(f"usage: lookup_case_fixtures.py {{{','.join(FAMILIES)}}}")
    cases, backend = FAMILIES[family]
    os.environ.setdefault("KERAS_BACKEND", backend)
    import keras

    assert keras.__version__ == "3.15.1", keras.__version__
    assert keras.backend.backend() == backend, (keras.backend.backend(), backend)
    buffers = Buffers()
    records = [record_case(keras, spec, buffers) for spec in cases()]
    ids = [record["id"] for record in records]
    assert len(set(ids)) == len(ids), "duplicate case id"
    arrays = buffers.arrays()
    document = {"keras_version": keras.__version__, "backend": backend, "cases": records}
    if family == "lookup":
        document["hash_vectors"] = hash_vectors()
    arrays["cases_json"] = np.frombuffer(json.dumps(document, sort_keys=True).encode(), np.uint8)
    out_path = os.path.join(REPO_ROOT, "fixtures", "keras3", f"{family}_cases.npz")
    write_npz(out_path, arrays)
    print(f"wrote {len(records)} cases to {out_path} ({os.path.getsize(out_path)} bytes)")


if __name__ == "__main__":
    main()
