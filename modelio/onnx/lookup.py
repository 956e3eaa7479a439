"""ONNX lowerings of the lookup family (modelio/layers/lookup/): IntegerLookup and StringLookup
through the ONNX-ML LabelEncoder (tokens to indices, or indices back to tokens), with the mask
token, one OOV index or floormod OOV buckets, and the one_hot / multi_hot / count / tf_idf
encodings; tf-keras's DynamicLookup and DynamicEmbedding (a LabelEncoder from the stored
vocabulary, first occurrence of a repeated token winning, unknown tokens to `vocabulary_size`;
then a Gather of the embedding rows). What ONNX cannot express is refused when the model is exported, naming the layer:
hashed OOV buckets and Hashing / HashedCrossing (ONNX has no FarmHash or SipHash), lookups
with num_oov_indices=0 (Keras raises on an unknown token; an ONNX graph cannot), and
TextVectorization (ONNX has no regex punctuation stripping nor ASCII-only lowercasing)."""

import numpy as np

from ..errors import UnsupportedError
from ..layers import lookup
from .builder import ML_DOMAIN
from .encoding import encode
from .export_support import cast_to
from .registry import lowers

_INT64_MAX = int(np.iinfo(np.int64).max)


def _refuse(layer, why: str):
    raise UnsupportedError(f"layer '{layer.name}' ({type(layer).__name__}): cannot be exported to "
                           f"ONNX: {why}")


def _label_encoder(graph, x: str, hint: str, keys: list, values: list, key_is_string: bool,
                   value_is_string: bool, default) -> str:
    attributes = {"keys_strings" if key_is_string else "keys_int64s": keys,
                  "values_strings" if value_is_string else "values_int64s": values,
                  "default_string" if value_is_string else "default_int64": default}
    return graph.node("LabelEncoder", [x], hint, domain=ML_DOMAIN, **attributes)


def _lookup(graph, layer, x: str, hint: str) -> str:
    """int64 indices of the tokens in `x` (int64 or string)."""
    layer._require_vocabulary()
    if layer.num_oov_indices == 0:
        _refuse(layer, "with num_oov_indices=0 Keras raises on an unknown token, which an ONNX "
                       "graph cannot do")
    hashed = layer.is_string or layer.oov_method == "farmhash"
    if layer.num_oov_indices > 1 and hashed:
        _refuse(layer, "its OOV buckets hash tokens with TensorFlow's FarmHash/SipHash, which "
                       "ONNX has no operator for")
    tokens = layer.table.tokens.tolist()
    keys = list(tokens)
    values = list(range(layer.token_start, layer.token_start + len(tokens)))
    if layer.mask_token is not None:
        keys.append(layer.mask_token)
        values.append(0 if layer.output_mode == "int" else _INT64_MAX)
    default = layer.oov_start if layer.num_oov_indices == 1 else -1
    indices = _label_encoder(graph, x, hint, keys, values, layer.is_string, False, default)
    if layer.num_oov_indices > 1:  # integer tokens, floormod buckets
        buckets = graph.node("Add", [graph.node("Mod", [x, graph.ints(layer.num_oov_indices,
                                                                      f"{hint}/oov")], hint),
                                     graph.ints(layer.oov_start, f"{hint}/oov_start")], hint)
        unknown = graph.node("Equal", [indices, graph.ints(-1, f"{hint}/unknown")], hint)
        indices = graph.node("Where", [unknown, buckets, indices], hint)
    return indices


@lowers(lookup.StringLookup, lookup.IntegerLookup)
def index_lookup(graph, node, args, kwargs):
    layer = node.layer
    hint = layer.name
    input_dtype = node.input_tensors[0].dtype
    if layer.invert:
        x = cast_to(graph, args[0], input_dtype, "int64", hint)
        layer._require_vocabulary()
        tokens = layer.table.tokens.tolist()
        keys = list(range(layer.token_start, layer.token_start + len(tokens)))
        values = list(tokens)
        if layer.mask_token is not None:
            keys.append(0)
            values.append(layer.mask_token)
        default = layer.oov_token if layer.is_string else (
            -1 if layer.oov_token is None else layer.oov_token)
        return _label_encoder(graph, x, hint, keys, values, False, layer.is_string, default)
    if layer.is_string:
        if input_dtype != "string":
            _refuse(layer, f"it takes string inputs, got {input_dtype}")
        x = args[0]
    else:
        x = cast_to(graph, args[0], input_dtype, "int64", hint)
    indices = _lookup(graph, layer, x, hint)
    if layer.output_mode == "int":
        return indices
    if layer.output_mode == "tf_idf":
        counts = encode(graph, indices, node.input_tensors[0].shape, "count", layer.depth,
                        "float32", hint)
        weights = graph.constant(layer.idf_weights.value.astype(np.float32), f"{hint}/idf_weights")
        return graph.node("Mul", [counts, weights], hint)
    return encode(graph, indices, node.input_tensors[0].shape, layer.output_mode, layer.depth,
                  "int64", hint)


@lowers(lookup.Hashing, lookup.HashedCrossing)
def hashing(graph, node, args, kwargs):
    _refuse(node.layer, "ONNX has no operator for TensorFlow's FarmHash / SipHash string hashes")


@lowers(lookup.TextVectorization)
def text_vectorization(graph, node, args, kwargs):
    _refuse(node.layer, "ONNX's string operators cannot express its standardization "
                        "(TensorFlow's ASCII-only lowercasing and punctuation stripping) and "
                        "splitting")


def _dynamic_indices(graph, layer, lookup_layer, x: str, input_dtype, hint: str) -> str:
    """int64 index of each token's first occurrence in the stored vocabulary (the LabelEncoder
    keys are deduplicated, keeping the first), `vocabulary_size` for unknown tokens."""
    if lookup_layer.is_string:
        if input_dtype != "string":
            _refuse(layer, f"it holds a string vocabulary, got {input_dtype} inputs")
    else:
        if input_dtype == "string":
            _refuse(layer, "it holds an integer vocabulary, got string inputs")
        x = cast_to(graph, x, input_dtype, "int64", hint)
    tokens = lookup_layer.current_vocabulary().tolist()
    first = {}
    for index, token in enumerate(tokens):
        first.setdefault(token, index)
    return _label_encoder(graph, x, hint, list(first), list(first.values()),
                          lookup_layer.is_string, False, lookup_layer.oov_index)


@lowers(lookup.DynamicLookup)
def dynamic_lookup(graph, node, args, kwargs):
    layer = node.layer
    return _dynamic_indices(graph, layer, layer, args[0], node.input_tensors[0].dtype, layer.name)


@lowers(lookup.DynamicEmbedding)
def dynamic_embedding(graph, node, args, kwargs):
    layer = node.layer
    indices = _dynamic_indices(graph, layer, layer.lookup_layer, args[0], node.input_tensors[0].dtype,
                               layer.name)
    return graph.node("Gather", [graph.weight(layer.embeddings), indices], layer.name, axis=0)
