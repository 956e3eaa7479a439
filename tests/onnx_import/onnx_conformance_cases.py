"""The ONNX project's conformance cases that modelio's importer is measured on, and how one runs.

Shared by tests/onnx_import/test_conformance.py and tools/onnx_conformance.py (the README table).
Two sources, both shipped with the installed `onnx` package:
- node cases (`onnx.backend.test.loader.load_model_tests(kind="node")`, built in memory): every
  case whose graph is a single node of an op in SELECTED_OPS, and the "<case>_expanded" variants
  of those cases (the op's function body: core ops and shape arithmetic on the same data);
- the models under onnx/backend/test/data/pytorch-converted/ (model.onnx + test_data_set_*).
"""

import functools
import glob
import os
import warnings
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import numpy_helper

from modelio.errors import ModelioError
from modelio.onnx.backend import ModelioRep
from modelio.onnx.importer import CONVERTERS

# The ops issue 7 lists, then the ones the core importer adds for shape arithmetic and math.
ISSUE_OPS = (
    "Gemm", "MatMul", "Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool",
    "GlobalMaxPool", "BatchNormalization", "LayerNormalization", "Relu", "LeakyRelu", "PRelu",
    "Elu", "Selu", "Sigmoid", "HardSigmoid", "Tanh", "Softmax", "LogSoftmax", "Softplus",
    "Gelu", "Erf", "Clip", "Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Mean", "Concat",
    "Flatten", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Pad", "Resize", "Upsample",
    "Gather", "LSTM", "GRU", "RNN", "LRN", "Dropout", "Identity", "Constant", "ConstantOfShape",
)
CORE_EXTRA_OPS = (
    "Softsign", "Exp", "Log", "Sqrt", "Abs", "Neg", "Reciprocal", "Floor", "Ceil", "Pow",
    "Shape", "Slice", "Cast", "Range", "Expand", "Where", "Equal", "Less", "Greater",
    "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin",
)
# issue 14's missing ops (onnx_ops.py, onnx_ops_keras.py)
ISSUE14_OPS = (
    "Einsum", "TopK", "ArgMax", "ArgMin", "CumSum", "CumProd", "GatherElements", "GatherND",
    "ScatterND", "ScatterElements", "Scatter", "Mod", "Trilu", "Hardmax", "BitShift", "LpPool",
    "LpNormalization", "MeanVarianceNormalization", "Shrink", "ThresholdedRelu", "Celu", "Mish",
    "HardSwish", "Sign", "IsNaN", "IsInf", "Not", "And", "Or", "Xor", "BitwiseAnd", "BitwiseOr",
    "BitwiseXor", "BitwiseNot", "Size", "EyeLike", "OneHot", "ReverseSequence", "SpaceToDepth",
    "DepthToSpace", "Compress", "Det", "NonZero", "Unique",
    # converted before, measured here on their newest opset versions' cases
    "Sin", "Cos", "Round", "GreaterOrEqual", "LessOrEqual", "InstanceNormalization", "Split",
    "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceProd", "ReduceSumSquare",
)
QUANTIZED_OPS = (
    "QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul", "ConvInteger",
    "MatMulInteger", "DynamicQuantizeLinear",
)
SELECTED_OPS = ISSUE_OPS + CORE_EXTRA_OPS + ISSUE14_OPS + QUANTIZED_OPS

PYTORCH_CONVERTED = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data",
                                 "pytorch-converted")
# Tolerances of onnx.backend.test for the model directories (the node cases carry their own).
MODEL_RTOL, MODEL_ATOL = 1e-3, 1e-7


@dataclass
class Case:
    """One conformance case: a model and (inputs, expected outputs) pairs."""

    name: str
    op: str  # the single node's op, or "pytorch-converted"
    model: onnx.ModelProto
    data_sets: list = field(default_factory=list)
    rtol: float = MODEL_RTOL
    atol: float = MODEL_ATOL

    @property
    def ops(self) -> set:
        return {node.op_type for node in self.model.graph.node}

    @property
    def claimed(self) -> bool:
        """Whether modelio has a converter for every op of the case."""
        return all(op in CONVERTERS for op in self.ops)


@functools.cache
def node_cases() -> tuple:
    """The single-node conformance cases of the selected ops, sorted by name."""
    from onnx.backend.test.loader import load_model_tests

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tests = load_model_tests(kind="node")
    models = {}
    for test in tests:
        model = getattr(test, "model", None)
        if model is None and test.model_dir:  # onnx < 1.23 ships the cases as files
            model = onnx.load(os.path.join(test.model_dir, "model.onnx"))
        if model is not None:
            models[test.name] = (test, model)
    single_ops = {name: model.graph.node[0].op_type for name, (_, model) in models.items()
                  if len(model.graph.node) == 1}
    cases = []
    for name, (test, model) in models.items():
        # A case "<base>_expanded..." runs the op's function body (core ops, shape arithmetic)
        # on the base case's data: it counts for the base case's op.
        op = single_ops.get(name) or single_ops.get(name.split("_expanded")[0]) \
            if len(model.graph.node) == 1 or "_expanded" in name else None
        if op in SELECTED_OPS:
            cases.append(Case(name, op, model, _data_sets(test), test.rtol, test.atol))
    return tuple(sorted(cases, key=lambda case: case.name))


@functools.cache
def pytorch_cases() -> tuple:
    """The pytorch-converted model directories, with their recorded data sets."""
    cases = []
    for folder in sorted(glob.glob(os.path.join(PYTORCH_CONVERTED, "test_*"))):
        model = onnx.load(os.path.join(folder, "model.onnx"))
        cases.append(Case(os.path.basename(folder), "pytorch-converted", model,
                          _folder_data_sets(folder)))
    return tuple(cases)


def _data_sets(test) -> list:
    if getattr(test, "data_sets", None):
        return [([_as_array(value) for value in inputs], [_as_array(value) for value in outputs])
                for inputs, outputs in test.data_sets]
    return _folder_data_sets(test.model_dir)


def _folder_data_sets(folder: str) -> list:
    return [(_read_tensors(data_folder, "input"), _read_tensors(data_folder, "output"))
            for data_folder in sorted(glob.glob(os.path.join(folder, "test_data_set_*")))]


def _as_array(value):
    """A data-set value as numpy (a few cases store TensorProtos)."""
    return numpy_helper.to_array(value) if isinstance(value, onnx.TensorProto) else value


def _read_tensors(folder: str, kind: str) -> list:
    arrays = []
    for index in range(len(glob.glob(os.path.join(folder, f"{kind}_*.pb")))):
        tensor = onnx.TensorProto()
        with open(os.path.join(folder, f"{kind}_{index}.pb"), "rb") as file:
            tensor.ParseFromString(file.read())
        arrays.append(numpy_helper.to_array(tensor))
    return arrays


def run(model, inputs: list) -> list:
    """The model's outputs for `inputs`, all at once (ONNX graphs may act on the first axis,
    which `predict` would split into batches)."""
    outputs = model(list(inputs))
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def check_case(case: Case) -> None:
    """Run the case's model through modelio's ONNX backend (import, then numpy kernels; inputs
    an op needs as constants are bound per run) and compare every data set; AssertionError on a
    mismatch, ModelioError when modelio refuses the model."""
    rep = ModelioRep(case.model, source=case.name)
    for inputs, expected in case.data_sets:
        outputs = list(rep.run(inputs))
        assert len(outputs) == len(expected), f"{case.name}: {len(outputs)} outputs"
        for index, (got, want) in enumerate(zip(outputs, expected)):
            got, want = np.asarray(got), np.asarray(want)
            assert got.shape == want.shape, \
                f"{case.name} output {index}: shape {got.shape}, expected {want.shape}"
            assert got.dtype == want.dtype, \
                f"{case.name} output {index}: dtype {got.dtype}, expected {want.dtype}"
            np.testing.assert_allclose(got, want, rtol=case.rtol, atol=case.atol,
                                       err_msg=f"{case.name} output {index}")


def outcome(case: Case) -> tuple:
    """("pass" | "refused" | "fail" | "not imported", detail)."""
    if not case.claimed:
        return "not imported", ", ".join(sorted(op for op in case.ops if op not in CONVERTERS))
    try:
        check_case(case)
    except ModelioError as exc:
        return "refused", str(exc)
    except AssertionError as exc:
        return "fail", str(exc).splitlines()[0] if str(exc) else "mismatch"
    except Exception as exc:  # a raw exception is a bug: report it as a failure
        return "fail", f"{type(exc).__name__}: {exc}"
    return "pass", ""
