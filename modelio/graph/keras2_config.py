"""A model's config in the Keras 2 dialect (what tf-keras 2.x `model.to_json()` and
`model.save("x.h5")` write), so that tf-keras loads the files modelio writes of Keras 2 models.

It is made from the Keras 3 document (`serialize_layer(model)`) by a walk over plain dicts:

* entries lose Keras 3's `module`, `registered_name`, `build_config` and `compile_config`; a
  layer entry gets its `name` beside the config;
* `inbound_nodes` become Keras 2's lists: one node is `[[layer, node_index, tensor_index,
  kwargs], ...]`, an entry per tensor of the first call argument, with the other call arguments
  (by their names in the layer's `call`) and keyword arguments in `kwargs`, tensors there written
  as `[layer, node_index, tensor_index]`;
* nested Functional models (and Sequential models that start with an InputLayer) own a node 0
  in Keras 2, made when they were built; calls of them count from 1 (`construction offset`);
* dtype policies become a dtype name (`"float32"`) or `{"class_name": "Policy", ...}` for mixed
  precision; initializers, regularizers and constraints lose `module`/`registered_name`;
* InputLayer's `batch_shape` is Keras 2's `batch_input_shape`; keys Keras 3 renamed are renamed
  back (each layer's `_legacy_keys`, read backwards), keys Keras 2 has no argument for are dropped
  when they hold Keras 2's behaviour and refused otherwise (`KERAS3_ONLY_KEYS`);
* mask call arguments that are the masks tf-keras passes by itself are left out, with the
  operations that only computed them (keras2_masks.py);
* Keras 3 operations become tf-keras's `TFOpLambda` / `SlicingOpLambda` calls of the TensorFlow
  function that computes the same (`KERAS2_OPERATION_FORMS`, filled by
  modelio/ops/tf_function_forms.py); a registered custom class is named "package>Name" and a
  custom activation function by its name, as tf-keras writes them.

What has no Keras 2 form (operations without such a function or with arguments TensorFlow
computes otherwise, quantized policies, an InputLayer marked `optional`, a Keras 3 argument set
away from the Keras 2 behaviour, an explicit attention mask tf-keras has no argument for) is
refused by name: an UnsupportedError, never a file tf-keras would misread.
"""

from __future__ import annotations

import inspect
from contextvars import ContextVar

from ..errors import UnsupportedError
from .keras2_masks import without_implicit_masks
from .registry import KERAS2_OPERATION_FORMS, LAYER_CLASSES, OPERATION_CLASSES

KERAS2_VERSION = "2.21.0"
# how tf-keras writes `...` in a SlicingOpLambda's slice_spec
TF_KERAS_ELLIPSIS = {"class_name": "__ellipsis__"}
MIXED_POLICIES = ("mixed_float16", "mixed_bfloat16")
# the names modelio writes, in Keras 3 files, for Keras 2 meanings Keras 3 gives another name
KERAS2_ACTIVATION_NAMES = {"modelio>hard_sigmoid_keras2": "hard_sigmoid"}
# tf-keras 2.21's activation names (tf_keras.activations), which it resolves before custom ones
TF_KERAS_ACTIVATIONS = frozenset((
    "elu", "exponential", "gelu", "hard_sigmoid", "linear", "log_softmax", "mish", "relu",
    "relu6", "selu", "sigmoid", "silu", "softmax", "softplus", "softsign", "swish", "tanh"))
DROPPED_ENTRY_KEYS = ("module", "registered_name", "build_config", "compile_config")
# Keras 3 config keys tf-keras 2.21's constructors do not take, with the value that means what
# tf-keras does without them: dropped when they hold it, refused otherwise.
_LORA = {"lora_rank": None, "lora_alpha": None, "quantization_config": None}
_SEED = {"seed": None}
_CHANNELS_LAST = {"data_format": "channels_last"}
# call arguments tf-keras's layers do not take: Keras 3 writes the masks of MultiHeadAttention's
# inputs so; tf-keras reads them from the inputs themselves
KERAS3_ONLY_CALL_ARGUMENTS = ("query_mask", "value_mask", "key_mask")
KERAS3_ONLY_KEYS: dict[str, dict] = {
    "*": {"optional": False},
    "Dense": _LORA, "Embedding": _LORA, "EinsumDense": {**_LORA, "gptq_unpacked_column_size": None},
    "LSTM": {**_SEED, "use_cudnn": "auto"}, "GRU": {**_SEED, "use_cudnn": "auto"},
    "SimpleRNN": _SEED, "LSTMCell": _SEED, "GRUCell": _SEED, "SimpleRNNCell": _SEED,
    "ConvLSTM1D": _SEED, "ConvLSTM2D": _SEED, "ConvLSTM3D": _SEED, "Attention": _SEED,
    "SpatialDropout1D": _SEED, "SpatialDropout2D": _SEED, "SpatialDropout3D": _SEED,
    "MultiHeadAttention": {**_SEED, "flash_attention": None, "sliding_window": None,
                           "use_gate": False},
    "IntegerLookup": {"oov_method": "floormod", "salt": None}, "StringLookup": {"salt": None},
    "Resizing": {**_CHANNELS_LAST, "antialias": False, "fill_mode": "constant",
                 "fill_value": 0.0, "pad_to_aspect_ratio": False},
    "CenterCrop": _CHANNELS_LAST, "RandomCrop": _CHANNELS_LAST, "RandomFlip": _CHANNELS_LAST,
    "RandomRotation": _CHANNELS_LAST, "RandomTranslation": _CHANNELS_LAST,
    "RandomZoom": _CHANNELS_LAST, "ZeroPadding1D": _CHANNELS_LAST,
    "RandomContrast": {**_CHANNELS_LAST, "value_range": [0, 255]},
    "RandomBrightness": _CHANNELS_LAST,
    "LayerNormalization": {"rms_scaling": False},
}


# the implicit mask arguments of the model being converted (see keras2_masks.implicit_masks)
_IMPLICIT_MASKS: ContextVar[frozenset] = ContextVar("implicit_masks", default=frozenset())


def keras2_document(document: dict, implicit_masks: frozenset = frozenset()) -> dict:
    """The Keras 2 form of a Keras 3 model (or layer) document `{"class_name", "config", ...}`;
    `document` is not changed. `implicit_masks` (`keras2_masks.implicit_masks(model)`) names the
    mask call arguments tf-keras passes by itself, which the Keras 2 form leaves out."""
    token = _IMPLICIT_MASKS.set(frozenset(implicit_masks))
    try:
        return _entry(document, where="")
    finally:
        _IMPLICIT_MASKS.reset(token)


def _entry(entry: dict, where: str) -> dict:
    class_name = entry.get("class_name")
    module = entry.get("module") or ""
    label = f"{where}layer '{_name_of(entry)}' ({class_name})"
    if _is_operation(entry):
        raise UnsupportedError(f"{label}: a Keras 3 operation ({module}.{class_name}) has no "
                               f"Keras 2 form; save this model in the Keras 3 dialect")
    config = entry.get("config")
    if class_name in ("Functional", "Model"):
        config = _functional_config(config, f"{label}: ")
    elif class_name == "Sequential":
        config = _sequential_config(config, f"{label}: ")
    elif isinstance(config, dict):
        config = _layer_config(class_name, config, label)
        if class_name == "MultiHeadAttention":
            config = _with_attention_shapes(config, entry.get("build_config"), label)
    registered = entry.get("registered_name")
    if isinstance(registered, str) and ">" in registered:
        class_name = registered  # tf-keras names a registered custom class "package>Name"
    converted = {"class_name": class_name, "config": config}
    for key, value in entry.items():
        if key not in converted and key not in DROPPED_ENTRY_KEYS:
            converted[key] = value
    return converted


def _is_operation(entry: dict) -> bool:
    class_name = entry.get("class_name")
    return ".ops." in (entry.get("module") or "") or (
        class_name in OPERATION_CLASSES and class_name not in LAYER_CLASSES)


def _layer_config(class_name: str, config: dict, label: str) -> dict:
    config = {key: _activation(value, key, label) if key.endswith("activation")
              else _value(value, label) for key, value in config.items()}
    if "dtype" in config:
        config["dtype"] = _dtype(config["dtype"], label)
    if class_name == "InputLayer" and "batch_shape" in config:
        config["batch_input_shape"] = config.pop("batch_shape")
    for keras2_key, keras3_key in getattr(LAYER_CLASSES.get(class_name), "_legacy_keys",
                                          {}).items():
        if keras3_key is not None and keras3_key in config and keras2_key not in config:
            config[keras2_key] = config.pop(keras3_key)
    for table in (KERAS3_ONLY_KEYS["*"], KERAS3_ONLY_KEYS.get(class_name, {})):
        for key, keras2_value in table.items():
            if key not in config:
                continue
            value = config.pop(key)
            if value != keras2_value:
                raise UnsupportedError(f"{label}: {key}={value!r} has no Keras 2 form "
                                       f"(tf-keras always behaves as {key}={keras2_value!r})")
    return config


def _with_attention_shapes(config: dict, build_config, label: str) -> dict:
    """tf-keras builds a MultiHeadAttention from the shapes in its config (Keras 3 keeps them in
    `build_config`); without them it is created without weights."""
    shapes = (build_config or {}).get("shapes_dict") if isinstance(build_config, dict) else None
    if not isinstance(shapes, dict) or "query_shape" not in shapes or "value_shape" not in shapes:
        raise UnsupportedError(f"{label}: an unbuilt MultiHeadAttention has no Keras 2 form "
                               f"(tf-keras needs its input shapes)")
    return {**config, "query_shape": shapes["query_shape"],
            "key_shape": shapes.get("key_shape") or shapes["value_shape"],
            "value_shape": shapes["value_shape"]}


def _activation(value, key: str, label: str):
    """Activation names: Keras 2's hard_sigmoid (0.2x + 0.5), which modelio writes for Keras 3
    under its own name, is tf-keras's `hard_sigmoid`; Keras 3's (x/6 + 0.5) has no tf-keras name."""
    if isinstance(value, dict):
        for key_name in ("registered_name", "config"):
            if isinstance(value.get(key_name), str) and value[key_name] in KERAS2_ACTIVATION_NAMES:
                return KERAS2_ACTIVATION_NAMES[value[key_name]]
        if value.get("class_name") == "function" and isinstance(value.get("config"), str):
            return _custom_function_name(value, key, label)
    if value == "hard_sigmoid":
        raise UnsupportedError(f"{label}: {key}='hard_sigmoid' means x/6 + 0.5 in Keras 3 and "
                               f"0.2x + 0.5 in tf-keras; it has no Keras 2 form")
    return value


def _custom_function_name(value: dict, key: str, label: str) -> str:
    """A custom function is written as tf-keras writes it: by its name ("package>name" when
    registered), which tf-keras finds in custom_objects, unless tf-keras has a function of its
    own under that name, which it would take instead."""
    registered = value.get("registered_name")
    name = registered if isinstance(registered, str) and ">" in registered else value["config"]
    if name in TF_KERAS_ACTIVATIONS:
        raise UnsupportedError(f"{label}: {key} is a custom function named {name!r}, which "
                               f"tf-keras would read as its own {name!r}")
    return name


def _value(value, label: str):
    """A config value with Keras 3's object wrappers (module, registered_name) removed."""
    if isinstance(value, list):
        return [_value(item, label) for item in value]
    if not isinstance(value, dict):
        return value
    if value.get("class_name") in ("DTypePolicy", "FloatDTypePolicy", "QuantizedDTypePolicy",
                                   "QuantizedFloat8DTypePolicy"):
        return _dtype(value, label)
    if "class_name" in value and "config" in value:
        if _is_layer_entry(value):
            return _entry(value, f"{label}: ")
        return {"class_name": value["class_name"], "config": _value(value["config"], label)}
    return {key: _value(item, label) for key, item in value.items()}


def _is_layer_entry(value: dict) -> bool:
    """A layer nested in a layer's config (Bidirectional's `layer`, RNN's `cell`), told apart
    from initializers and the like by its module (`Identity` is both)."""
    module = value.get("module") or ""
    return "inbound_nodes" in value or module.startswith(
        ("keras.layers", "keras.src.layers", "keras.models", "keras.src.models"))


def _dtype(value, label: str):
    if not isinstance(value, dict):
        return value
    name = (value.get("config") or {}).get("name")
    if value.get("class_name", "").startswith("Quantized") or (
            isinstance(name, str) and name.split("_")[0] in ("int8", "int4", "float8")):
        raise UnsupportedError(f"{label}: the quantized dtype policy {name!r} has no Keras 2 "
                               f"form; save this model in the Keras 3 dialect")
    if name in MIXED_POLICIES:
        return {"class_name": "Policy", "config": {"name": name}}
    return name


# ----- models ------------------------------------------------------------------------------------

def _sequential_config(config: dict, where: str) -> dict:
    layers = [_entry(layer, where) for layer in config.get("layers", [])]
    converted = {"name": config.get("name"), "layers": layers}
    if "build_input_shape" in config:
        converted["build_input_shape"] = config["build_input_shape"]
    return converted


def _functional_config(config: dict, where: str) -> dict:
    config = without_implicit_masks(config, _IMPLICIT_MASKS.get(), _is_operation)
    entries = config.get("layers", [])
    offsets = {_name_of(entry): 1 for entry in entries if _owns_construction_node(entry)}
    endpoint_offsets = {name: 1 for name, entry in zip(map(_name_of, entries), entries)
                        if name in offsets and entry.get("class_name") == "Sequential"}
    layers = []
    for entry in entries:
        if _is_operation(entry):
            layers.append(_operation_entry(entry, offsets, where))
            continue
        converted = _entry({key: value for key, value in entry.items() if key != "inbound_nodes"},
                           where)
        converted["name"] = _name_of(entry)
        call_names = _call_argument_names(entry.get("class_name"))
        converted["inbound_nodes"] = [
            _keras2_node(node, call_names, offsets, f"{where}layer '{_name_of(entry)}': ")
            for node in entry.get("inbound_nodes", [])]
        layers.append(converted)
    return {
        "name": config.get("name"),
        "trainable": config.get("trainable", True),
        "layers": layers,
        # Keras 3 already counts a nested Functional's construction node in its endpoints
        "input_layers": _endpoints(config.get("input_layers"), endpoint_offsets),
        "output_layers": _endpoints(config.get("output_layers"), endpoint_offsets),
    }


def _operation_entry(entry: dict, offsets: dict, where: str) -> dict:
    """A Keras 3 operation as the tf-keras `TFOpLambda` (or `SlicingOpLambda`) calling the
    TensorFlow function that computes the same (`KERAS2_OPERATION_FORMS`); refused by name where
    there is none."""
    class_name, name = entry.get("class_name"), _name_of(entry)
    label = f"{where}layer '{name}' ({class_name})"
    form = KERAS2_OPERATION_FORMS.get(class_name)
    if form is None:
        raise UnsupportedError(f"{label}: a Keras 3 operation ({entry.get('module')}.{class_name}) "
                               f"has no Keras 2 form; save this model in the Keras 3 dialect")
    calls = []
    for node in entry.get("inbound_nodes", []):
        try:
            calls.append(form(class_name, entry.get("config") or {}, node.get("args", []),
                              node.get("kwargs", {})))
        except UnsupportedError as exc:
            raise UnsupportedError(f"{label}: no TensorFlow function computes this call as Keras "
                                   f"3 does ({exc}); save this model in the Keras 3 dialect") \
                from exc
    if len({(call.class_name, call.function) for call in calls}) > 1:
        raise UnsupportedError(f"{label}: its calls map to different TensorFlow functions")
    keras2_class, function = (calls[0].class_name, calls[0].function) if calls else (
        "TFOpLambda", None)
    return {"class_name": keras2_class,
            "config": {"name": name, "trainable": True, "dtype": "float32", "function": function},
            "name": name,
            "inbound_nodes": [_tf_function_node(call, offsets, f"{label}: ") for call in calls]}


def _tf_function_node(call, offsets: dict, where: str) -> list:
    """tf-keras keeps a TFOpLambda's first argument as it was: one tensor is one
    `[layer, node_index, tensor_index, kwargs]`, a list of tensors a list of them."""
    kwargs = {key: _kwarg(value, offsets, where) for key, value in call.arguments.items()}
    if isinstance(call.first, list):
        return [[*_shifted(tensor["config"]["keras_history"], offsets), kwargs]
                for tensor in call.first]
    return [*_shifted(call.first["config"]["keras_history"], offsets), kwargs]


def _owns_construction_node(entry: dict) -> bool:
    """tf-keras gives a nested Functional (and a Sequential built on an InputLayer) a node 0 of
    its own; the calls of it in the outer model are nodes 1, 2, ..."""
    class_name = entry.get("class_name")
    if class_name in ("Functional", "Model"):
        return True
    if class_name == "Sequential":
        layers = (entry.get("config") or {}).get("layers") or []
        return bool(layers) and layers[0].get("class_name") == "InputLayer"
    return False


def _endpoints(structure, offsets: dict):
    """Keras 2 writes the inputs and outputs as a list of `[layer, node_index, tensor_index]`
    (a dict of them for named inputs)."""
    if isinstance(structure, dict):
        return {key: _shifted(ref, offsets) for key, ref in structure.items()}
    if isinstance(structure, list) and structure and isinstance(structure[0], str):
        return [_shifted(structure, offsets)]
    return [_shifted(ref, offsets) for ref in structure or []]


def _shifted(ref: list, offsets: dict) -> list:
    name, node_index, tensor_index = ref[:3]
    return [name, node_index + offsets.get(name, 0), tensor_index]


def _keras2_node(node: dict, call_names: list, offsets: dict, where: str) -> list:
    args, kwargs = node.get("args", []), dict(node.get("kwargs", {}))
    for key in KERAS3_ONLY_CALL_ARGUMENTS:
        if kwargs.get(key) is not None:
            raise UnsupportedError(f"{where}the call argument {key} (a mask other than the one "
                                   f"its input carries) has no Keras 2 form")
    if not args:
        raise UnsupportedError(f"{where}a call without positional arguments has no Keras 2 form")
    for index, extra in enumerate(args[1:], start=1):
        if index >= len(call_names):
            raise UnsupportedError(f"{where}call argument {index + 1} has no name to write it "
                                   f"under in Keras 2's node format")
        kwargs[call_names[index]] = extra
    kwargs = {key: _kwarg(value, offsets, where) for key, value in kwargs.items()}
    first = args[0]
    tensors = first if isinstance(first, list) else [first]
    entries = []
    for tensor in tensors:
        if not _is_tensor(tensor):
            raise UnsupportedError(f"{where}the first call argument holds {tensor!r}, not a "
                                   f"tensor; Keras 2's node format cannot write it")
        entries.append([*_shifted(tensor["config"]["keras_history"], offsets), kwargs])
    return entries


def _kwarg(value, offsets: dict, where: str):
    if _is_tensor(value):
        return _shifted(value["config"]["keras_history"], offsets)
    if isinstance(value, list):
        return [_kwarg(item, offsets, where) for item in value]
    if value == TF_KERAS_ELLIPSIS:
        return value
    if isinstance(value, dict):
        if value.get("class_name", "").startswith("__"):
            raise UnsupportedError(f"{where}a call argument {value['class_name']} has no Keras 2 "
                                   f"form")
        return {key: _kwarg(item, offsets, where) for key, item in value.items()}
    return value


def _is_tensor(value) -> bool:
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


def _call_argument_names(class_name) -> list:
    cls = LAYER_CLASSES.get(class_name)
    if cls is None:
        return []
    parameters = list(inspect.signature(cls.call).parameters)
    return parameters[1:]  # without `self`


def _name_of(entry: dict) -> str:
    config = entry.get("config")
    name = config.get("name") if isinstance(config, dict) else None
    return entry.get("name") or name or "?"
