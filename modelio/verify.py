"""`modelio verify`: does the ONNX export compute what modelio's numpy kernels compute (and, given
a recording, what Keras computed)? The model is exported in memory and run with onnxruntime, an
optional dependency imported only here."""

from dataclasses import dataclass

import numpy as np

from . import progress
from .errors import FormatError, UnsupportedError
from .outputs import predict_outputs, unique_output_names


@dataclass
class OutputCheck:
    """One output's comparison: `differences` pairs what the numpy result was compared with
    ("onnxruntime", then "recorded" when there is a recording) and the largest absolute difference."""

    name: str
    differences: list[tuple[str, float]]
    passed: bool

    @property
    def largest(self) -> float:
        return max(value for _, value in self.differences)


def require_onnxruntime():
    """The `onnxruntime` module, or an UnsupportedError saying how to install it."""
    try:
        import onnxruntime
    except ImportError as exc:
        raise UnsupportedError("verify needs onnxruntime: pip install onnxruntime") from exc
    return onnxruntime


def verify_model(model, inputs: list, recorded: list | None = None, opset: int | None = None,
                 atol: float = 1e-4, source: str = "") -> list[OutputCheck]:
    """Export `model` to ONNX (at `opset`) in memory, run `inputs` (in input order) through
    onnxruntime and through the numpy kernels, and compare every output; with `recorded`
    (outputs in output order) each is also compared with the recording. An output passes when
    every difference is at most `atol`. `source` names the model in errors."""
    onnxruntime = require_onnxruntime()
    from .onnx import export_onnx

    with progress.step("exporting to ONNX"):
        proto = export_onnx(model, opset=opset)
    try:
        session = onnxruntime.InferenceSession(proto.SerializeToString(),
                                               providers=["CPUExecutionProvider"])
        onnx_outputs = session.run(None, {entry.name: array for entry, array
                                          in zip(session.get_inputs(), inputs)})
    except Exception as exc:  # onnxruntime raises its own exception types
        raise UnsupportedError(f"{source}: onnxruntime could not run the exported graph "
                               f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from exc
    numpy_outputs = predict_outputs(model, inputs, batch_size=None)
    checks = []
    for index, name in enumerate(unique_output_names(model)):
        mine = np.asarray(numpy_outputs[index], np.float64)
        differences = [("onnxruntime", largest_difference(mine, onnx_outputs[index]))]
        if recorded is not None:
            differences.append(("recorded", largest_difference(mine, recorded[index])))
        passed = all(value <= atol for _, value in differences)  # False for nan
        checks.append(OutputCheck(name, differences, passed))
    return checks


def worst_difference(checks: list[OutputCheck]) -> float:
    """The largest difference over all outputs (0 when there are none)."""
    worst = 0.0
    for check in checks:
        worst = max(worst, check.largest)
    return worst


def largest_difference(mine: np.ndarray, theirs) -> float:
    """max |mine - theirs| over all elements (0 for empty arrays); shapes must agree."""
    theirs = np.asarray(theirs, np.float64)
    if mine.shape != theirs.shape:
        raise FormatError(f"output shapes differ: numpy {mine.shape}, compared with {theirs.shape}")
    return float(np.max(np.abs(mine - theirs))) if mine.size else 0.0
