"""ONNX lowering of the quantized and LoRA kernels of Dense, EinsumDense and Embedding
(modelio/layers/quantization.py, quantized_kernel.py, quantized_embedding.py), computing what
Keras computes:

- int8 with input quantization: the inputs' abs-max scale (ReduceMax of Abs, `127 / (max +
  epsilon)`), Round and Clip to int8, an exact integer product of the stored int8 kernel
  (MatMulInteger for Dense, an int32 Einsum for EinsumDense), then divided by both scales;
- int8 weight-only and int4: the stored integer kernel (int4 unpacked to int8) cast to float and
  dequantized in the graph (`q / scale`, or `(q - zero) * scale` per group), then the product;
- float8 (opset 19+): the inputs divided by their stored scale, clipped, cast to FLOAT8E4M3FN and
  back and multiplied again; the kernel stored as FLOAT8E4M3FN and dequantized by its scale; the
  bias rounded through bfloat16 (as Keras computes a float8 Dense);
- LoRA: the scaled low-rank path added as Keras adds it (the product folded into the float
  kernel when the layer is not quantized).
Embedding tables are gathered as integers and dequantized per row."""

import numpy as np
from onnx import TensorProto

from ..layers.quantization import bfloat16_round_trip, unadjust_scale
from .export_support import need_opset, reduce

__all__ = ["lower_kernel_product", "lower_bias", "lower_embedding_lookup"]

FLOAT8_MAX = 448.0  # the largest finite float8_e4m3fn


def _const(graph, value, hint, dtype=np.float32):
    return graph.constant(np.asarray(value, dtype=dtype), hint)


def _input_quantization(graph, layer, x, axes):
    """`(q as float, scale)` of Keras's abs-max input quantizer over `axes` (kept dims)."""
    (low, high), epsilon = layer.quantization.activation
    name = layer.name
    peak = reduce(graph, "ReduceMax", graph.node("Abs", [x], name), axes, True, name)
    scale = graph.node("Div", [_const(graph, high, f"{name}/q_max"), graph.node(
        "Add", [peak, _const(graph, epsilon, f"{name}/epsilon")], name)], name)
    q = graph.node("Clip", [graph.node("Round", [graph.node("Mul", [x, scale], name)], name),
                            _const(graph, low, f"{name}/q_low"),
                            _const(graph, high, f"{name}/q_high")], name)
    return q, scale


def _align_input_scale(graph, layer, scale, part):
    """Keras's `_adjust_scale_for_quant(scale, "input")` as Transpose / Unsqueeze / Squeeze."""
    name = layer.name
    if part["transpose"]:
        scale = graph.node("Transpose", [scale], name, perm=list(part["transpose"]))
    if part["expand"]:
        scale = graph.node("Unsqueeze", [scale, graph.ints(part["expand"], f"{name}/axes")], name)
    if part["squeeze"]:
        scale = graph.node("Squeeze", [scale, graph.ints(part["squeeze"], f"{name}/axes")], name)
    return scale


def _integer_product(graph, layer, q, kernel, contract):
    """The exact integer product of float-held integers `q` with the int8 kernel `kernel`."""
    if layer.scale_layout() is None:
        q8 = graph.node("Cast", [q], layer.name, to=TensorProto.INT8)
        product = graph.node("MatMulInteger", [q8, kernel], layer.name)
    else:
        q32 = graph.node("Cast", [q], layer.name, to=TensorProto.INT32)
        k32 = graph.node("Cast", [kernel], layer.name, to=TensorProto.INT32)
        product = contract(q32, k32)
    return graph.node("Cast", [product], layer.name, to=TensorProto.FLOAT)


def _float8_round_trip(graph, layer, x, scale):
    """Keras's `quantize_and_dequantize` to float8_e4m3fn: x / scale clipped to +-448, cast to
    float8 (nearest even) and back, times scale. (Written with Cast rather than
    QuantizeLinear/DequantizeLinear: onnxruntime 1.32's graph optimizer drops float8 Q/DQ pairs
    as if they were lossless and then computes something else.)"""
    name = layer.name
    limit = float(FLOAT8_MAX)
    clipped = graph.node("Clip", [graph.node("Div", [x, scale], name),
                                  _const(graph, -limit, f"{name}/float8_low"),
                                  _const(graph, limit, f"{name}/float8_high")], name)
    rounded = graph.node("Cast", [graph.node("Cast", [clipped], name,
                                             to=TensorProto.FLOAT8E4M3FN)],
                         name, to=TensorProto.FLOAT)
    return graph.node("Mul", [rounded, scale], name)


def _float8_kernel(graph, layer):
    """The kernel stored as float8 (`kernel / kernel_scale`, clipped and rounded as Keras does)
    and dequantized in the graph."""
    import ml_dtypes  # on demand, as everywhere in modelio

    scale = graph.weight(layer.kernel_scale)
    kernel = layer.value_of(layer.kernel) / np.float32(layer.value_of(layer.kernel_scale))
    stored = np.clip(kernel, -FLOAT8_MAX, FLOAT8_MAX).astype(ml_dtypes.float8_e4m3fn)
    q = graph.weight(layer.kernel, value=stored, layout="float8")
    return graph.node("Mul", [graph.node("Cast", [q], layer.name, to=TensorProto.FLOAT), scale],
                      layer.name)


def lower_kernel_product(graph, layer, x, contract):
    """ONNX nodes for `layer.kernel_product(x)`; `contract(a, b)` adds the layer's own product
    (MatMul or Einsum) of two tensor names."""
    mode, activation = layer.quantization.mode, layer.quantization.activation
    layout, name = layer.scale_layout(), layer.name
    if mode is None:
        kernel = graph.weight(layer.kernel, value=layer.effective_kernel(), layout="lora_merged")
        return contract(x, kernel)
    if mode == "float8":
        need_opset(graph, layer, 19, "float8 quantization (Cast to FLOAT8E4M3FN)")
        qx = _float8_round_trip(graph, layer, x, graph.weight(layer.inputs_scale))
        return contract(qx, _float8_kernel(graph, layer))
    axes = [-1] if layout is None else list(layout["input"]["reduced"])
    scale = graph.weight(layer.kernel_scale)
    if mode == "int8" and activation is not None:
        q, in_scale = _input_quantization(graph, layer, x, axes)
        if layout is not None:
            in_scale = _align_input_scale(graph, layer, in_scale, layout["input"])
        product = _integer_product(graph, layer, q, graph.weight(layer.kernel), contract)
        y = graph.node("Div", [product, graph.node("Mul", [in_scale, scale], name)], name)
    elif layout is None and mode == "int8":
        kernel = graph.node("Cast", [graph.weight(layer.kernel)], name, to=TensorProto.FLOAT)
        y = graph.node("Div", [contract(x, kernel), scale], name)
    elif mode == "int8":
        kernel = graph.node("Cast", [graph.weight(layer.kernel)], name, to=TensorProto.FLOAT)
        unadjusted = graph.weight(layer.kernel_scale, value=_kernel_aligned_scale(layer),
                                  layout="kernel_aligned")
        y = contract(x, graph.node("Div", [kernel, unadjusted], name))
    else:
        y = _int4_product(graph, layer, x, contract, axes)
    if layer.lora.enabled:
        low = graph.node("MatMul", [contract(x, graph.weight(layer.lora_kernel_a)),
                                    graph.weight(layer.lora_kernel_b)], name)
        y = graph.node("Add", [y, graph.node("Mul", [low, _const(
            graph, layer.lora.factor, f"{name}/lora_scale")], name)], name)
    return y


def _kernel_aligned_scale(layer):
    return unadjust_scale(layer.value_of(layer.kernel_scale), layer.scale_layout()["kernel"])


def _int4_product(graph, layer, x, contract, axes):
    name, layout = layer.name, layer.scale_layout()
    unpacked = layer.integer_kernel()
    q = graph.node("Cast", [graph.weight(layer.kernel, value=unpacked, layout="int4_unpacked")],
                   name, to=TensorProto.FLOAT)
    if layer.quantization.grouped:
        groups = layer.value_of(layer.g_idx).astype(np.int64)
        scale_rows = np.take(layer.value_of(layer.kernel_scale), groups, axis=0)
        zero_rows = np.take(layer.value_of(layer.kernel_zero), groups, axis=0).astype(np.float32)
        kernel = graph.node("Mul", [
            graph.node("Sub", [q, graph.weight(layer.kernel_zero, value=zero_rows,
                                               layout="per_row")], name),
            graph.weight(layer.kernel_scale, value=scale_rows, layout="per_row")], name)
        kernel = graph.node("Reshape", [kernel, graph.ints(layer.kernel_shape, f"{name}/shape")],
                            name)
        return contract(x, kernel)
    scale = graph.weight(layer.kernel_scale)
    activation = layer.quantization.activation
    if layout is None:
        if activation is None:
            return graph.node("Div", [contract(x, q), scale], name)
        qx, in_scale = _input_quantization(graph, layer, x, axes)
        product = _integer_product(graph, layer, qx, graph.weight(
            layer.kernel, value=unpacked, layout="int4_unpacked"), contract)
        return graph.node("Div", [product, graph.node("Mul", [scale, in_scale], name)], name)
    kernel = graph.node("Reshape", [graph.node("Div", [q, scale], name),
                                    graph.ints(layer.kernel_shape, f"{name}/shape")], name)
    if activation is None:
        return contract(x, kernel)
    qx, in_scale = _input_quantization(graph, layer, x, axes)
    in_scale = _align_input_scale(graph, layer, in_scale, layout["input"])
    return graph.node("Div", [contract(qx, kernel), in_scale], name)


def lower_bias(graph, layer, y):
    """The bias added as the layer's mode adds it (float8: rounded through bfloat16)."""
    if layer.bias is None:
        return y
    if layer.quantization.mode == "float8":
        bias = graph.weight(layer.bias, value=bfloat16_round_trip(layer.value_of(layer.bias)),
                            layout="bfloat16_rounded")
    else:
        bias = graph.weight(layer.bias)
    return graph.node("Add", [y, bias], layer.name)


def lower_embedding_lookup(graph, layer, indices):
    """Gather of a quantized or LoRA table, dequantized per row as Keras's lookup does."""
    mode, name = layer.quantization.mode, layer.name
    if mode is None:
        table = graph.weight(layer.embeddings, value=layer.effective_embeddings(),
                             layout="lora_merged")
        return graph.node("Gather", [table, indices], name, axis=0)
    table = graph.weight(layer.embeddings, value=layer.integer_embeddings(), layout="unpacked")
    rows = graph.node("Cast", [graph.node("Gather", [table, indices], name, axis=0)], name,
                      to=TensorProto.FLOAT)
    scale = layer.value_of(layer.embeddings_scale)
    if layer.g_idx is None:
        column = graph.weight(layer.embeddings_scale, value=scale.reshape(-1, 1), layout="column")
        y = graph.node("Div", [rows, graph.node("Gather", [column, indices], name, axis=0)], name)
    else:
        groups = layer.value_of(layer.g_idx).astype(np.int64)
        scales = np.take(scale, groups, axis=1)
        zeros = np.take(layer.value_of(layer.embeddings_zero), groups, axis=1).astype(np.float32)
        zero_rows = graph.node("Gather", [graph.weight(layer.embeddings_zero, value=zeros,
                                                       layout="per_column"), indices], name, axis=0)
        scale_rows = graph.node("Gather", [graph.weight(layer.embeddings_scale, value=scales,
                                                        layout="per_column"), indices], name,
                                axis=0)
        y = graph.node("Mul", [graph.node("Sub", [rows, zero_rows], name), scale_rows], name)
    if layer.lora.enabled:
        low = graph.node("MatMul", [graph.node("Gather", [graph.weight(layer.lora_embeddings_a),
                                                          indices], name, axis=0),
                                    graph.weight(layer.lora_embeddings_b)], name)
        y = graph.node("Add", [y, graph.node("Mul", [low, _const(
            graph, layer.lora.factor, f"{name}/lora_scale")], name)], name)
    return y
