"""`keras.ops.nn`'s connectionist temporal classification as Keras 3 graphs record it: `CTCLoss`
and `CTCDecode` (greedy decoding; beam search is refused), registered with Keras's config."""

import numpy as np

from ..errors import UnsupportedError
from ..graph.registry import register_operation
from ..kernels import ctc as ctc_kernels
from .base import spec_of
from .nn_functions import _NN
from .onnx_layer import MAX_RUNTIME_BYTES

__all__ = ["CTCDecode", "CTCLoss", "blank_index"]


def _result_dtype(dtype: str) -> str:
    """Keras's `result_type(dtype, "float32")` for the dtypes CTC takes."""
    return "float64" if dtype == "float64" else "float32"


def blank_index(op, mask_index, classes: int) -> int:
    """The blank class: `mask_index`, counted from the end when negative (TensorFlow's rule;
    torch's backend refuses negative indices), the last class when None."""
    index = classes - 1 if mask_index is None else mask_index
    if index < 0:
        index += classes
    if not 0 <= index < classes:
        op.fail(f"mask_index {mask_index} is out of range for {classes} classes")
    return index


def _check_lengths(op, lengths: np.ndarray, limit: int, what: str) -> np.ndarray:
    lengths = np.asarray(lengths)
    if lengths.dtype.kind not in "iu":
        op.fail(f"{what} must be integers, got {lengths.dtype}")
    if lengths.size and (lengths.min() < 0 or lengths.max() > limit):
        op.fail(f"{what} must lie in [0, {limit}], got {lengths.tolist()}")
    return lengths.astype(np.int64)


def _batch(op, *named_shapes) -> None:
    sizes = {name: shape[0] for name, shape in named_shapes if shape and shape[0] is not None}
    if len(set(sizes.values())) > 1:
        op.fail(f"the batch sizes of {', '.join(sizes)} differ: {sizes}")


@register_operation
class CTCLoss(_NN):
    """The CTC loss of each sample: minus the log-probability, under the softmax of `output`
    ((batch, time, classes) logits), of every alignment of its first `target_length` labels of
    `target` ((batch, max length) integers) to its first `output_length` frames, the class
    `mask_index` being the blank (counted from the end when negative, as TensorFlow does).
    Infinite when no alignment exists, as with the torch backend (TensorFlow gives a large
    finite number there, an artifact of its log-space arithmetic)."""

    ARGUMENTS = {"mask_index": 0}

    def check(self):
        self.check_int("mask_index")

    def call(self, target, output, target_length, output_length):
        self.output_spec(target, output, target_length, output_length)
        classes = output.shape[-1]
        blank = blank_index(self, self.arguments["mask_index"], classes)
        target = np.asarray(target)
        work = output.shape[0] * output.shape[1] * (2 * target.shape[1] + 1) * 8
        if work > MAX_RUNTIME_BYTES:
            self.fail(f"refusing to build the {work} bytes of forward variables of "
                      f"{output.shape[1]} frames and {target.shape[1]} labels (at most "
                      f"{MAX_RUNTIME_BYTES} bytes are computed)")
        if target.size and (target.min() < 0 or target.max() >= classes):
            self.fail(f"target labels must lie in [0, {classes}), got values from "
                      f"{target.min()} to {target.max()}")
        labels = _check_lengths(self, target_length, target.shape[1], "target_length")
        frames = _check_lengths(self, output_length, output.shape[1], "output_length")
        loss = ctc_kernels.ctc_loss(target.astype(np.int64), output, labels, frames, blank)
        return loss.astype(_result_dtype(output.dtype.name))

    def output_spec(self, target, output, target_length, output_length):
        shapes = [(name, tuple(spec_of(value)[0])) for name, value in (
            ("target", target), ("output", output), ("target_length", target_length),
            ("output_length", output_length))]
        expected = {"target": 2, "output": 3, "target_length": 1, "output_length": 1}
        for name, shape in shapes:
            if len(shape) != expected[name]:
                self.fail(f"{name} must have rank {expected[name]}, got shape {shape}")
        if np.dtype(spec_of(target)[1]).kind not in "iu":
            self.fail(f"target must hold integer labels, got {spec_of(target)[1]}")
        _batch(self, *shapes)
        if shapes[1][1][-1] is not None:
            blank_index(self, self.arguments["mask_index"], shapes[1][1][-1])
        return (shapes[0][1][0],), _result_dtype(spec_of(output)[1])


@register_operation
class CTCDecode(_NN):
    """Greedy (best path) CTC decoding of `inputs` ((batch, time, classes) logits) within
    `sequence_lengths`: `[decoded, scores]`, decoded (1, batch, time) int32 holding each
    sample's labels first and -1 after (repeats merged when `merge_repeated`, blanks
    (`mask_index`; None: the last class) dropped), scores (batch, 1) minus the sum of the
    frames' largest logits. `strategy="beam_search"` is refused."""

    ARGUMENTS = {"strategy": "greedy", "beam_width": 100, "top_paths": 1, "merge_repeated": True,
                 "mask_index": 0}

    def check(self):
        if self.arguments["strategy"] == "beam_search":
            raise UnsupportedError(
                f"{self.label}: strategy 'beam_search' is not supported: Keras's torch and "
                f"TensorFlow backends find different beams and scores, so there is no one "
                f"answer to match; modelio decodes greedily only (strategy 'greedy')")
        self.check_choice("strategy", ("greedy",))
        self.check_int("beam_width", minimum=1)
        self.check_int("top_paths", minimum=1)
        self.check_int("mask_index", allow_none=True)
        if not isinstance(self.arguments["merge_repeated"], bool):
            self.fail("merge_repeated must be true or false")

    def call(self, inputs, sequence_lengths):
        self.output_spec(inputs, sequence_lengths)
        blank = blank_index(self, self.arguments["mask_index"], inputs.shape[-1])
        lengths = np.asarray(sequence_lengths)
        if lengths.dtype.kind not in "iu":
            self.fail(f"sequence_lengths must be integers, got {lengths.dtype}")
        dtype = _result_dtype(inputs.dtype.name)
        decoded, scores = ctc_kernels.ctc_greedy_decode(
            inputs.astype(dtype, copy=False), lengths.astype(np.int64),
            self.arguments["merge_repeated"], blank)
        return [decoded, scores]

    def output_spec(self, inputs, sequence_lengths):
        shape, dtype = spec_of(inputs)
        lengths = tuple(spec_of(sequence_lengths)[0])
        if len(shape) != 3 or len(lengths) != 1:
            self.fail(f"expects (batch, time, classes) inputs and (batch,) sequence_lengths, got "
                      f"shapes {tuple(shape)} and {lengths}")
        _batch(self, ("inputs", tuple(shape)), ("sequence_lengths", lengths))
        if shape[-1] is not None:
            blank_index(self, self.arguments["mask_index"], shape[-1])
        return [((1, shape[0], shape[1]), "int32"), ((shape[0], 1), _result_dtype(dtype))]


