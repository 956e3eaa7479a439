"""Mutations for tools/fuzz.py: bytes of any file, HDF5 attributes and datasets, `.keras` members
re-zipped with correct CRCs, JSON/YAML configs changed as documents, ONNX protobuf fields.

Every function takes a `random.Random` and returns new content; none touches the seed it was given.
Only the harness's own trusted fixtures are opened here (h5py and onnx parse the seeds and rewrite
copies in memory); the mutants are loaded by modelio in a child process, never here.
"""

from __future__ import annotations

import copy
import io
import json
import random
import struct
import warnings
import zipfile

import h5py
import numpy as np
import onnx
import yaml

# libyaml's safe loader and dumper when PyYAML has them: the pure-Python ones take seconds on the
# megabyte documents some mutations make (this only parses the harness's own seeds).
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

# Integers that sit on the edges of the fields a parser reads: sizes, counts, offsets, dims.
INTERESTING_INTEGERS = [0, 1, -1, 2, 7, 8, 16, 64, 127, 128, 255, 256, 1023, 1024, 4096, 65535,
                        65536, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**48, 2**63 - 1, -(2**31),
                        -(2**63)]
INTERESTING_FLOATS = [0.0, -0.0, 0.5, -1.0, 1e-45, 1e308, -1e308, float("inf"), float("-inf"),
                      float("nan")]
# Values a config field might be replaced with: wrong types, edges, huge and empty things.
INTERESTING_VALUES = [None, True, False, 0, -1, 1, 3, 2**31 - 1, -(2**31), 2**32, 2**63 - 1, 2**64,
                      10**30, -(10**30), 10**400, 1e308, -1e308, float("inf"), float("nan"), 0.5,
                      "", "x", "float64", "int64", "bfloat16", "string", "channels_first",
                      "x" * 5000, "caf\u00e9\u0000\ud7ff", [], [None], [0], [-1], [2**31, 2**31],
                      [[1, 2], [3]], {}, {"class_name": "Dense"}, {"a": 1}]
FOREIGN_MODULES = ["subprocess", "os", "builtins", "posix", "importlib", "pickle", "shutil",
                   "__main__", "keras.src.legacy.saving.pickle_utils", "numpy.lib.npyio", ""]
FOREIGN_CLASSES = ["Popen", "system", "eval", "exec", "__import__", "loads", "rmtree", "Evil"]
NESTED_ARGUMENTS = ["kernel_regularizer", "kernel_constraint", "activity_regularizer",
                    "kernel_initializer", "bias_initializer", "dtype", "activation",
                    "recurrent_initializer", "gamma_constraint", "seed_generator"]
KERAS_CLASSES = ["Dense", "Conv2D", "Conv1D", "DepthwiseConv2D", "LSTM", "GRU", "SimpleRNN",
                 "Bidirectional", "TimeDistributed", "Embedding", "Lambda", "TFOpLambda",
                 "Functional", "Sequential", "Model", "InputLayer", "Add", "Concatenate",
                 "Reshape", "Flatten", "Permute", "BatchNormalization", "LayerNormalization",
                 "MultiHeadAttention", "Attention", "Dropout", "Activation", "MaxPooling2D",
                 "GlobalAveragePooling2D", "UpSampling2D", "ZeroPadding2D", "Cropping2D",
                 "Masking", "RepeatVector", "Softmax", "ReLU", "Rescaling", "Resizing",
                 "__keras_tensor__", "__tensor__", "__numpy__", "__lambda__", "__bytes__",
                 "GlorotUniform", "L2", "MaxNorm", "DTypePolicy", "Nonexistent", ""]
# A marshalled code object as Keras writes for a Lambda layer: loading must refuse it.
LAMBDA_FUNCTION = ["4wEAAAAAAAAAAAAAAAEAAAACAAAAQwAAAHMIAAAAfABkARQAUwApAk7pAgAAAKkAKQHaAXhyAgAAAHIC"
                   "AAAA+gg8c3RyaW5nPtoIPGxhbWJkYT4BAAAA8wAAAAA=", None, None]
ONNX_OPS = ["Add", "Mul", "MatMul", "Gemm", "Conv", "ConvTranspose", "Relu", "Softmax", "Reshape",
            "Transpose", "Concat", "Gather", "Slice", "Split", "Squeeze", "Unsqueeze", "Expand",
            "ConstantOfShape", "Range", "Tile", "Pad", "Resize", "LSTM", "GRU", "RNN", "Scan",
            "Loop", "If", "Constant", "Cast", "Shape", "Size", "ReduceSum", "ReduceMean", "TopK",
            "NonZero", "Where", "Einsum", "MaxPool", "AveragePool", "BatchNormalization",
            "Flatten", "Identity", "Dropout", "Foo", "", "\u00ff\u00fe"]
MARKER = "__fuzz_marker_{}__"


# ------------------------------------------------------------------------------------------------
# Bytes
# ------------------------------------------------------------------------------------------------


def pick_offset(rng: random.Random, size: int, data_spans=()) -> int:
    """An offset in [0, size): most of the time outside the raw array bytes in `data_spans`
    (flipping weights only changes numbers; the structure around them is what parsers read)."""
    if size <= 0:
        return 0
    if data_spans and rng.random() < 0.85:
        for _ in range(20):
            offset = rng.randrange(size)
            if not any(start <= offset < start + length for start, length in data_spans):
                return offset
    return rng.randrange(size)


def _flip_bits(rng, data, spans):
    for _ in range(rng.choice([1, 1, 2, 4, 8])):
        offset = pick_offset(rng, len(data), spans)
        data[offset] ^= 1 << rng.randrange(8)


def _random_run(rng, data, spans):
    offset = pick_offset(rng, len(data), spans)
    length = min(rng.choice([1, 2, 4, 8, 16, 64]), len(data) - offset)
    data[offset:offset + length] = rng.randbytes(length)


def _constant_run(rng, data, spans):
    offset = pick_offset(rng, len(data), spans)
    length = min(rng.choice([1, 4, 8, 32, 256]), len(data) - offset)
    data[offset:offset + length] = bytes([rng.choice([0x00, 0xFF, 0x7F, 0x80])]) * length


def _interesting_integer(rng, data, spans):
    width = rng.choice([1, 2, 4, 8])
    value = rng.choice(INTERESTING_INTEGERS) % (1 << (8 * width))
    order = "little" if rng.random() < 0.8 else "big"
    offset = pick_offset(rng, max(1, len(data) - width + 1), spans)
    data[offset:offset + width] = value.to_bytes(width, order)


def _interesting_float(rng, data, spans):
    value = rng.choice(INTERESTING_FLOATS)
    packed = struct.pack("<d" if abs(value) > 3e38 or rng.random() < 0.5 else "<f", value)
    offset = pick_offset(rng, max(1, len(data) - len(packed) + 1), spans)
    data[offset:offset + len(packed)] = packed


def _duplicate_block(rng, data, spans):
    start = pick_offset(rng, len(data), spans)
    block = data[start:start + rng.choice([1, 8, 64, 512, 4096])]
    at = rng.randrange(len(data) + 1)
    data[at:at] = block


def _delete_block(rng, data, spans):
    start = pick_offset(rng, len(data), spans)
    del data[start:start + rng.choice([1, 2, 8, 64, 512, 4096])]


def _splice_block(rng, data, spans):
    length = rng.choice([4, 8, 16, 64, 256])
    source = rng.randrange(max(1, len(data) - length))
    target = pick_offset(rng, max(1, len(data) - length), spans)
    data[target:target + length] = data[source:source + length]


def _insert_random(rng, data, spans):
    at = pick_offset(rng, len(data) + 1, spans)
    data[at:at] = rng.randbytes(rng.choice([1, 3, 8, 32]))


def _truncate(rng, data, spans):
    del data[rng.randrange(len(data) + 1):]


BYTE_MUTATIONS = [_flip_bits, _flip_bits, _random_run, _constant_run, _interesting_integer,
                  _interesting_integer, _interesting_float, _duplicate_block, _delete_block,
                  _splice_block, _insert_random, _truncate]


def stack_depth(rng: random.Random) -> int:
    """How many mutations to stack: mostly one, sometimes a few."""
    return rng.choice([1, 1, 1, 1, 2, 2, 3, 5])


def mutate_bytes(rng: random.Random, content: bytes, data_spans=()) -> tuple[bytes, str]:
    """Stacked byte-level mutations of `content`; returns the mutant and what was done."""
    data = bytearray(content)
    names = []
    for _ in range(stack_depth(rng)):
        if not data:
            break
        mutation = rng.choice(BYTE_MUTATIONS)
        if mutation is _truncate and len(names) + 1 < 2 and rng.random() < 0.5:
            mutation = _flip_bits  # truncation ends most loads at once; keep it rarer
        mutation(rng, data, data_spans)
        names.append(mutation.__name__.lstrip("_"))
    return bytes(data), "bytes:" + "+".join(names)


# ------------------------------------------------------------------------------------------------
# JSON/YAML documents
# ------------------------------------------------------------------------------------------------


def _slots(document) -> list[tuple[object, object]]:
    """Every (container, key) pair in `document`, walked without recursion."""
    slots, stack = [], [document]
    while stack:
        node = stack.pop()
        keys = node.keys() if isinstance(node, dict) else range(len(node))
        for key in list(keys):
            slots.append((node, key))
            if isinstance(node[key], dict | list):
                stack.append(node[key])
    return slots


def _dicts_with(document, key: str) -> list[dict]:
    return [container[k] for container, k in _slots(document)
            if isinstance(container[k], dict) and key in container[k]]


def _replace_value(rng, document, state):
    container, key = rng.choice(_slots(document))
    container[key] = copy.deepcopy(rng.choice(INTERESTING_VALUES))
    return "replace"


def _perturb_number(rng, document, state):
    numbers = [(c, k) for c, k in _slots(document)
               if isinstance(c[k], int | float) and not isinstance(c[k], bool)]
    if not numbers:
        return _replace_value(rng, document, state)
    container, key = rng.choice(numbers)
    value = container[key]
    container[key] = rng.choice([value + 1, value - 1, -value, value * 1000, value * 2**20,
                                 0, rng.choice(INTERESTING_INTEGERS)])
    return "number"


def _swap_values(rng, document, state):
    slots = _slots(document)
    (a, ka), (b, kb) = rng.choice(slots), rng.choice(slots)
    value_a, value_b = a[ka], b[kb]
    if value_a is b or value_b is a:  # a value swapped into itself would make a cycle
        return "swap-skipped"
    a[ka], b[kb] = copy.deepcopy(value_b), copy.deepcopy(value_a)
    return "swap"


def _delete_entry(rng, document, state):
    container, key = rng.choice(_slots(document))
    del container[key]
    return "delete"


def _duplicate_entry(rng, document, state):
    lists = [c[k] for c, k in _slots(document) if isinstance(c[k], list) and c[k]]
    if not lists:
        return _replace_value(rng, document, state)
    target = rng.choice(lists)
    target.insert(rng.randrange(len(target) + 1), copy.deepcopy(rng.choice(target)))
    return "duplicate"


def _expand_later(document, state, text: str) -> None:
    """Put a marker at a random place; `text` replaces it after serializing (JSON and YAML flow
    syntax agree on it), so big values cost no time in the serializer."""
    container, key = state["rng"].choice(_slots(document))
    marker = MARKER.format(len(state["expand"]))
    state["expand"][marker] = text
    container[key] = marker


def _deep_nesting(rng, document, state):
    depth = rng.choice([64, 1000, 5000, 100_000])
    _expand_later(document, state, "[" * depth + "1" + "]" * depth)
    return f"deep{depth}"


def _huge_list(rng, document, state):
    item = rng.choice(["0", "1", "null", "2147483648", "1e308", '"x"'])
    count = rng.choices([1000, 10_000, 100_000, 1_000_000], [4, 3, 2, 1])[0]
    _expand_later(document, state, "[" + ", ".join([item] * count) + "]")
    return f"huge-list{count}"


def _foreign_module(rng, document, state):
    serialized = _dicts_with(document, "class_name")
    if serialized and rng.random() < 0.5:
        target = rng.choice(serialized)
        target["module"] = rng.choice(FOREIGN_MODULES)
        if rng.random() < 0.5:
            target["class_name"] = rng.choice(FOREIGN_CLASSES)
        if rng.random() < 0.3:
            target["registered_name"] = f"{rng.choice(FOREIGN_MODULES)}>{target['class_name']}"
        return "foreign-module"
    configs = [d["config"] for d in serialized if isinstance(d.get("config"), dict)]
    if not configs:
        return _replace_value(rng, document, state)
    rng.choice(configs)[rng.choice(NESTED_ARGUMENTS)] = {
        "module": rng.choice(FOREIGN_MODULES), "class_name": rng.choice(FOREIGN_CLASSES),
        "config": {"args": ["/bin/sh", "-c", "touch /tmp/modelio-fuzz-canary"], "shell": True},
        "registered_name": None}
    return "foreign-nested"


def _swap_class(rng, document, state):
    serialized = _dicts_with(document, "class_name")
    if not serialized:
        return _replace_value(rng, document, state)
    seen = [d["class_name"] for d in serialized if isinstance(d["class_name"], str)]
    rng.choice(serialized)["class_name"] = rng.choice(KERAS_CLASSES + seen)
    return "class"


def _lambda_layer(rng, document, state):
    serialized = [d for d in _dicts_with(document, "class_name") if isinstance(d.get("config"),
                                                                                dict)]
    if not serialized:
        return _replace_value(rng, document, state)
    target = rng.choice(serialized)
    target["class_name"] = "Lambda"
    target["config"].update({"function": copy.deepcopy(LAMBDA_FUNCTION),
                             "function_type": rng.choice(["lambda", "function", "raw"]),
                             "module": "__main__", "output_shape": None, "arguments": {}})
    return "lambda"


def _rename(rng, document, state):
    strings = [(c, k) for c, k in _slots(document) if isinstance(c[k], str)]
    if not strings:
        return _replace_value(rng, document, state)
    container, key = rng.choice(strings)
    others = [c[k] for c, k in strings]
    container[key] = rng.choice(others + ["", "a/b", "..", "\u0000", "\u202e", "x" * 300,
                                          container[key] + "_missing"])
    return "rename"


DOCUMENT_MUTATIONS = [_replace_value, _replace_value, _perturb_number, _perturb_number,
                      _swap_values, _delete_entry, _duplicate_entry, _deep_nesting, _huge_list,
                      _foreign_module, _swap_class, _lambda_layer, _rename, _rename]


def mutate_document(rng: random.Random, document) -> tuple[object, dict, str]:
    """Stacked structure-aware mutations of a parsed config. Returns the new document, the
    markers to expand after serializing (big values), and what was done."""
    document = copy.deepcopy(document)
    state = {"expand": {}, "rng": rng}
    names = [rng.choice(DOCUMENT_MUTATIONS)(rng, document, state)
             for _ in range(stack_depth(rng))]
    return document, state["expand"], "doc:" + "+".join(names)


def _expand_markers(text: str, markers: dict) -> str:
    for marker, replacement in markers.items():
        for quoted in (f'"{marker}"', f"'{marker}'", marker):
            text = text.replace(quoted, replacement)
    return text


def dump_json(document, markers: dict) -> bytes:
    text = json.dumps(document, indent=1, allow_nan=True, ensure_ascii=False)
    return _expand_markers(text, markers).encode("utf-8", "surrogatepass")


def dump_yaml(document, markers: dict) -> bytes:
    text = yaml.dump(document, Dumper=YAML_DUMPER, default_flow_style=False, sort_keys=False,
                     allow_unicode=True, width=1 << 20)
    return _expand_markers(text, markers).encode("utf-8", "surrogatepass")


def _yaml_alias_bomb(rng, text: str) -> str:
    levels = rng.choice([3, 6, 9])
    lines = ['bomb_0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"bomb_{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n" + text


def _yaml_python_tag(rng, text: str) -> str:
    tag = rng.choice(["!!python/object/apply:os.system ['touch /tmp/modelio-fuzz-canary']",
                      "!!python/name:builtins.eval", "!!binary AAAA", "!!set {a, b}",
                      "!!timestamp 2001-12-14", "!custom {x: 1}"])
    return text.replace("class_name:", f"unused_tag: {tag}\nclass_name:", 1)


def _yaml_duplicate_key(rng, text: str) -> str:
    return text.replace("class_name:", "class_name: Dense\nclass_name:", 1)


def _yaml_anchor(rng, text: str) -> str:
    return text.replace("config:", "config: &shared", 1).replace("config:", "config: *shared", 2)


YAML_TEXT_MUTATIONS = [_yaml_alias_bomb, _yaml_python_tag, _yaml_duplicate_key, _yaml_anchor]


def mutate_text_config(rng: random.Random, text: bytes, kind: str) -> tuple[bytes, str]:
    """A JSON or YAML config mutated as a document (most of the time), as YAML text, or as bytes."""
    roll = rng.random()
    if roll < 0.7:
        document = yaml.load(text, Loader=YAML_LOADER) if kind == "yaml" else json.loads(text)
        document, markers, how = mutate_document(rng, document)
        dumped = dump_yaml(document, markers) if kind == "yaml" else dump_json(document, markers)
        return dumped, how
    if kind == "yaml" and roll < 0.85:
        mutation = rng.choice(YAML_TEXT_MUTATIONS)
        return mutation(rng, text.decode("utf-8")).encode("utf-8"), "yaml:" + mutation.__name__
    return mutate_bytes(rng, text)


# ------------------------------------------------------------------------------------------------
# HDF5
# ------------------------------------------------------------------------------------------------


def hdf5_data_spans(content: bytes) -> list[tuple[int, int]]:
    """(offset, length) of every contiguous dataset's raw bytes in a trusted HDF5 file."""
    spans = []
    with h5py.File(io.BytesIO(content), "r") as file:
        def visit(name, item):
            if isinstance(item, h5py.Dataset):
                offset = item.id.get_offset()
                if offset is not None:
                    spans.append((offset, item.id.get_storage_size()))
        file.visititems(visit)
    return spans


def _hdf5_objects(file: h5py.File) -> list:
    objects = [file]
    file.visititems(lambda name, item: objects.append(item))
    return objects


def _mutated_attribute(rng, value):
    """A new value for an HDF5 attribute: a mutated config, an edited list, or a wrong type."""
    if isinstance(value, bytes | str):
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        if text.lstrip().startswith("{"):
            mutated, how = mutate_text_config(rng, text.encode("utf-8"), "json")
            return mutated, "attr-config:" + how
        return rng.choice([b"", b"\xff\xfe\x00garbage", text.encode() * 1000, 7]), "attr-string"
    array = np.asarray(value)
    choice = rng.randrange(6)
    if choice == 0 and array.ndim == 1 and len(array) > 1:
        return np.delete(array, rng.randrange(len(array))), "attr-drop-item"
    if choice == 1 and array.ndim == 1 and len(array):
        return np.append(array, array[rng.randrange(len(array))]), "attr-duplicate-item"
    if choice == 2 and array.ndim == 1 and len(array) > 1:
        shuffled = list(array)
        rng.shuffle(shuffled)
        return np.array(shuffled, dtype=array.dtype), "attr-shuffle"
    if choice == 3 and array.dtype.kind == "S" and array.size:
        edited = array.copy().reshape(-1)
        edited[rng.randrange(edited.size)] = rng.choice([b"", b"/", b"..", b"\xff\xfe",
                                                         b"missing:0", b"a" * 200])
        return edited.reshape(array.shape), "attr-edit-item"
    if choice == 4:
        return np.array([], dtype=array.dtype if array.dtype.kind != "O" else "S1"), "attr-empty"
    return rng.choice([np.int64(2**62), np.float32("nan"), np.zeros((3, 3)), b"x",
                       np.array([b"a", b"b"])]), "attr-type"


def _mutate_attribute(rng, file):
    owners = [item for item in _hdf5_objects(file) if len(item.attrs)]
    if not owners:
        return "no-attributes"
    owner = rng.choice(owners)
    name = rng.choice(list(owner.attrs))
    if rng.random() < 0.1:
        del owner.attrs[name]
        return "attr-delete"
    value, how = _mutated_attribute(rng, owner.attrs[name])
    owner.attrs[name] = value
    return how


def _mutate_dataset(rng, file):
    datasets = [item for item in _hdf5_objects(file) if isinstance(item, h5py.Dataset)]
    if not datasets:
        return _mutate_attribute(rng, file)
    dataset = rng.choice(datasets)
    name, parent = dataset.name, dataset.parent
    data = dataset[()]
    del parent[name.rsplit("/", 1)[1]]
    leaf = name.rsplit("/", 1)[1]
    choice = rng.randrange(6)
    if choice == 0:  # a declared-size bomb: never written, read as fill value
        parent.create_dataset(leaf, shape=rng.choice([(2**15, 2**15), (2**31,), (1 << 40,)]),
                              dtype="float32", fillvalue=1.0)
        return "dataset-fill-bomb"
    if choice == 1:  # gzip-compressed, chunked and large
        parent.create_dataset(leaf, shape=(2**14, 2**14), dtype="float32", chunks=(1024, 1024),
                              compression="gzip", fillvalue=0.0)
        return "dataset-gzip-bomb"
    if choice == 2:
        parent.create_dataset(leaf, data=np.zeros(np.shape(data)[::-1] or (3,), "float64"))
        return "dataset-reshape"
    if choice == 3:
        parent.create_dataset(leaf, data=np.asarray(data).astype(rng.choice(
            ["float16", "int8", "int64", "complex64", "S4", "bool"])))
        return "dataset-dtype"
    if choice == 4:
        parent.create_group(leaf)
        return "dataset-to-group"
    parent.create_dataset(leaf, data=np.zeros((0,), "float32"))
    return "dataset-empty"


def mutate_hdf5(rng: random.Random, content: bytes, data_spans=()) -> tuple[bytes, str]:
    """An HDF5 file mutated as bytes (mostly), or through h5py: an attribute (the model config,
    the weight and layer name lists) or a dataset replaced."""
    if rng.random() < 0.65:
        return mutate_bytes(rng, content, data_spans)
    buffer = io.BytesIO(content)
    try:
        with h5py.File(buffer, "r+") as file:
            how = (_mutate_attribute if rng.random() < 0.75 else _mutate_dataset)(rng, file)
    except Exception:  # a value h5py will not write (say a NUL in a string): bytes instead
        return mutate_bytes(rng, content, data_spans)
    return buffer.getvalue(), "h5:" + how


# ------------------------------------------------------------------------------------------------
# .keras zips
# ------------------------------------------------------------------------------------------------


def read_zip_members(content: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def write_zip(members: list[tuple[str, bytes]], compression=zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", compression) as archive:
        warnings.simplefilter("ignore")  # a duplicate member name is one of the mutations
        for name, data in members:
            archive.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


def _mutate_member(rng, name: str, data: bytes, spans) -> tuple[bytes, str]:
    if name.endswith(".json"):
        return mutate_text_config(rng, data, "json")
    if name.endswith(".h5"):
        return mutate_hdf5(rng, data, spans.get(name, ()))
    return mutate_bytes(rng, data)


def _zip_structure(rng, members: list[tuple[str, bytes]]) -> tuple[list, str]:
    members = list(members)
    choice = rng.randrange(5)
    if choice == 0 and members:
        members.pop(rng.randrange(len(members)))
        return members, "zip-drop-member"
    if choice == 1 and members:
        members.append(rng.choice(members))
        return members, "zip-duplicate-member"
    if choice == 2:
        members.append((rng.choice(["../escape.txt", "/abs/path", "assets/x", "a" * 300,
                                    "model.weights.npz", "config.json/"]), b"junk"))
        return members, "zip-extra-member"
    if choice == 3 and members:
        index = rng.randrange(len(members))
        name, data = members[index]
        members[index] = (name, data + b" " * (8 << 20))
        return members, "zip-padded-member"
    rng.shuffle(members)
    return members, "zip-reorder"


def mutate_keras(rng: random.Random, content: bytes, members: list[tuple[str, bytes]],
                 spans: dict) -> tuple[bytes, str]:
    """A `.keras` zip: an inner member mutated and re-zipped with correct CRCs (mostly), the
    zip's member list changed, or the zip's own bytes mutated (which the CRC check sees)."""
    roll = rng.random()
    if roll < 0.15:
        return mutate_bytes(rng, content)
    if roll < 0.3:
        new_members, how = _zip_structure(rng, members)
        return write_zip(new_members), how
    weights = {"config.json": 4, "model.weights.h5": 4, "metadata.json": 1}
    names = [name for name, _ in members]
    index = rng.choices(range(len(members)), [weights.get(n, 1) for n in names])[0]
    name, data = members[index]
    mutated, how = _mutate_member(rng, name, data, spans)
    new_members = list(members)
    new_members[index] = (name, mutated)
    compression = rng.choice([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
    return write_zip(new_members, compression), f"member:{name}:{how}"


# ------------------------------------------------------------------------------------------------
# ONNX
# ------------------------------------------------------------------------------------------------


def onnx_data_spans(content: bytes) -> list[tuple[int, int]]:
    """(offset, length) of every initializer's raw bytes in a trusted ONNX file."""
    model = onnx.load_from_string(content)
    spans = []
    for tensor in model.graph.initializer:
        if len(tensor.raw_data) >= 16:
            offset = content.find(tensor.raw_data)
            if offset >= 0:
                spans.append((offset, len(tensor.raw_data)))
    return spans


def _onnx_names(graph) -> list[str]:
    names = [value.name for value in graph.input] + [t.name for t in graph.initializer]
    return names + [output for node in graph.node for output in node.output]


def _onnx_op_type(rng, model):
    node = rng.choice(model.graph.node)
    node.op_type = rng.choice(ONNX_OPS + [n.op_type for n in model.graph.node])
    return "op-type"


def _onnx_attribute(rng, model):
    nodes = [node for node in model.graph.node if node.attribute]
    if not nodes:
        return _onnx_op_type(rng, model)
    node = rng.choice(nodes)
    attribute = rng.choice(node.attribute)
    choice = rng.randrange(5)
    if choice == 0:
        node.attribute.remove(attribute)
        return "attr-remove"
    if choice == 1:
        extra = node.attribute.add()
        extra.CopyFrom(attribute)
        extra.name = rng.choice(["axsi", attribute.name, "", "axis"])
        return "attr-add"
    if choice == 2:
        attribute.type = rng.randrange(0, 16)
        return "attr-type"
    if attribute.ints or choice == 3:
        del attribute.ints[:]
        attribute.ints.extend(rng.choice(INTERESTING_INTEGERS) for _ in range(rng.randrange(5)))
        attribute.i = rng.choice(INTERESTING_INTEGERS)
        return "attr-ints"
    attribute.f = rng.choice(INTERESTING_FLOATS)
    del attribute.floats[:]
    attribute.floats.extend(rng.choice(INTERESTING_FLOATS) for _ in range(rng.randrange(4)))
    return "attr-floats"


def _onnx_wiring(rng, model):
    graph = model.graph
    names = _onnx_names(graph) + ["", "missing"]
    node = rng.choice(graph.node)
    choice = rng.randrange(5)
    if choice == 0 and node.input:
        node.input[rng.randrange(len(node.input))] = rng.choice(names)
        return "rewire-input"
    if choice == 1 and node.output:
        node.output[rng.randrange(len(node.output))] = rng.choice(names)
        return "rewire-output"
    if choice == 2:
        copy_node = graph.node.add()
        copy_node.CopyFrom(node)
        return "duplicate-node"
    if choice == 3:
        graph.node.remove(node)
        return "delete-node"
    nodes = list(graph.node)
    rng.shuffle(nodes)
    del graph.node[:]
    graph.node.extend(nodes)
    return "shuffle-nodes"


def _onnx_initializer(rng, model):
    if not model.graph.initializer:
        return _onnx_wiring(rng, model)
    tensor = rng.choice(model.graph.initializer)
    choice = rng.randrange(7)
    if choice == 0 and tensor.dims:
        tensor.dims[rng.randrange(len(tensor.dims))] = rng.choice(INTERESTING_INTEGERS)
        return "init-dim"
    if choice == 1:
        tensor.dims.append(rng.choice([0, 1, 2, 2**31]))
        return "init-add-dim"
    if choice == 2:
        tensor.data_type = rng.randrange(0, 26)
        return "init-dtype"
    if choice == 3 and tensor.raw_data:
        tensor.raw_data = tensor.raw_data[:rng.randrange(len(tensor.raw_data))]
        return "init-truncate"
    if choice == 4:
        tensor.float_data.extend([1.0] * rng.choice([1, 3]))
        tensor.int64_data.extend([2**62] * rng.choice([0, 2]))
        return "init-typed-data"
    if choice == 5:
        tensor.data_location = onnx.TensorProto.EXTERNAL
        del tensor.external_data[:]
        for key, value in [("location", rng.choice(["weights.bin", "model.onnx", "/etc/passwd",
                                                    "../../etc/passwd", "/dev/zero", "a\u0000b",
                                                    "", "."])),
                           ("offset", str(rng.choice(INTERESTING_INTEGERS))),
                           ("length", str(rng.choice(INTERESTING_INTEGERS)))]:
            if rng.random() < 0.85:
                entry = tensor.external_data.add()
                entry.key, entry.value = key, value
        return "init-external"
    tensor.name = rng.choice(_onnx_names(model.graph))
    return "init-rename"


def _onnx_value_info(rng, model):
    values = list(model.graph.input) + list(model.graph.output)
    value = rng.choice(values)
    tensor_type = value.type.tensor_type
    choice = rng.randrange(4)
    if choice == 0:
        tensor_type.elem_type = rng.randrange(0, 26)
        return "io-dtype"
    if choice == 1 and tensor_type.shape.dim:
        dim = tensor_type.shape.dim[rng.randrange(len(tensor_type.shape.dim))]
        if rng.random() < 0.7:
            dim.dim_value = rng.choice(INTERESTING_INTEGERS)
        else:
            dim.dim_param = rng.choice(["N", "", "\u00e9"])
        return "io-dim"
    if choice == 2:
        tensor_type.shape.dim.add().dim_value = rng.choice([0, 1, 5, 2**31])
        return "io-add-dim"
    value.type.ClearField("tensor_type")
    return "io-untyped"


def _onnx_model_fields(rng, model):
    choice = rng.randrange(3)
    if choice == 0 and model.opset_import:
        model.opset_import[0].version = rng.choice([0, 1, 6, 7, 11, 13, 17, 21, 99, 2**31])
        return "opset"
    if choice == 1 and model.opset_import:
        model.opset_import[0].domain = rng.choice(["", "ai.onnx", "com.microsoft", "evil"])
        return "opset-domain"
    model.ir_version = rng.choice([0, 1, 3, 7, 10, 99, 2**40])
    return "ir-version"


ONNX_MUTATIONS = [_onnx_op_type, _onnx_attribute, _onnx_attribute, _onnx_wiring,
                  _onnx_initializer, _onnx_initializer, _onnx_value_info, _onnx_model_fields]


def mutate_onnx(rng: random.Random, content: bytes, data_spans=()) -> tuple[bytes, str]:
    """An ONNX file mutated as protobuf fields (mostly) or as bytes."""
    if rng.random() < 0.35:
        return mutate_bytes(rng, content, data_spans)
    model = onnx.load_from_string(content)
    names = [rng.choice(ONNX_MUTATIONS)(rng, model) for _ in range(stack_depth(rng))]
    try:
        return model.SerializeToString(), "onnx:" + "+".join(names)
    except Exception:  # a field protobuf refuses to write: fall back to bytes
        return mutate_bytes(rng, content, data_spans)

