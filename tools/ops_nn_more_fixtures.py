"""Record Keras 3's `keras.ops.nn` adaptive pools, transposed and separable convolutions,
unfold / fold and CTC loss / decoding, one tiny functional model per case, into
fixtures/keras3/ops_nn_more_cases.npz (through ops_case_fixtures.record_cases).

Run from the repository root:

    KERAS_BACKEND=torch ../kenv/bin/python tools/ops_nn_more_fixtures.py
    KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=3 ../k2env/bin/python \
        tools/ops_nn_more_fixtures.py --tf-outputs

`--tf-outputs` runs every recorded case under the TensorFlow backend on the recorded inputs and
writes how far its outputs are from torch's to fixtures/evidence/ops_nn_more_tensorflow_vs_torch.txt;
the outputs of cases where they differ (more than 1e-5) go to
fixtures/keras3/ops_nn_more_cases_tf.npz, which the tests then match.

Findings (keras 3.15.1):
* The symbolic shape Keras gives `adaptive_average_pool` / `adaptive_max_pool` on
  channels_last inputs is wrong (`inputs.shape[:-len(output_size)] + output_size +
  (channels,)`: one axis too many) while the computed tensor is right; an int `output_size`
  cannot be called symbolically at all (`len(int)`). The cases here pool last in their model.
* `ctc_decode(strategy="beam_search")` is recorded to show modelio refusing it.
* Negative `mask_index`: TensorFlow counts it from the end (num_classes + mask_index); torch's
  ctc_loss refuses it and torch's greedy decoder never finds it (nothing is blank).
"""

import json
import os
import sys

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO_ROOT, "tools"))

from case_archive import Buffers, read_case_archive, write_npz  # noqa: E402
from ops_case_fixtures import as_list, random_input, record_cases, spec  # noqa: E402

OUT = os.path.join(REPO_ROOT, "fixtures", "keras3", "ops_nn_more_cases.npz")
TF_OUT = OUT.replace(".npz", "_tf.npz")
EAGER_OUT = OUT.replace("_cases.npz", "_eager_cases.npz")
TF_EVIDENCE = os.path.join(REPO_ROOT, "fixtures", "evidence", "ops_nn_more_tensorflow_vs_torch.txt")
SEED = 1307


def _kernel(*shape):
    size = int(np.prod(shape))
    return (np.sin(np.arange(size, dtype="float32") * 0.7) * 0.5).reshape(shape)


def cases(ops):
    out = []

    def add(name, specs, fn):
        out.append((name, specs, fn))

    for kind in ("average", "max"):
        pool = getattr(ops, f"adaptive_{kind}_pool")
        add(f"adaptive_{kind}_pool_2d", [spec((5, 7, 3))], lambda x, p=pool: p(x, (2, 3)))
        add(f"adaptive_{kind}_pool_2d_even", [spec((4, 6, 2))], lambda x, p=pool: p(x, (2, 3)))
        add(f"adaptive_{kind}_pool_1d_first", [spec((3, 7))],
            lambda x, p=pool: ops.relu(p(x, (3,), data_format="channels_first")))
        add(f"adaptive_{kind}_pool_2d_first_up", [spec((2, 3, 5))],
            lambda x, p=pool: p(x, (4, 3), data_format="channels_first"))
        add(f"adaptive_{kind}_pool_3d", [spec((4, 5, 3, 2))], lambda x, p=pool: p(x, (2, 2, 3)))

    add("separable_conv_2d", [spec((5, 5, 3))],
        lambda x: ops.separable_conv(x, _kernel(3, 3, 3, 2), _kernel(1, 1, 6, 4),
                                     padding="same"))
    add("separable_conv_2d_strided_dilated", [spec((7, 6, 2))],
        lambda x: ops.separable_conv(x, _kernel(2, 3, 2, 1), _kernel(1, 1, 2, 3), strides=1,
                                     dilation_rate=2))
    add("separable_conv_1d_first", [spec((3, 9))],
        lambda x: ops.separable_conv(x, _kernel(3, 3, 2), _kernel(1, 6, 2), strides=2,
                                     data_format="channels_first"))

    add("unfold", [spec((3, 4, 5))], lambda x: ops.unfold(x, 2))
    add("unfold_arguments", [spec((2, 5, 6))],
        lambda x: ops.unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)))
    add("fold", [spec((8, 4))], lambda x: ops.fold(x, (4, 4), 2, stride=2))
    add("fold_overlapping", [spec((12, 8))],
        lambda x: ops.fold(x, (3, 4), (2, 3), dilation=(1, 1), padding=(1, 0), stride=1))
    add("fold_uncovered", [spec((4, 4))], lambda x: ops.fold(x, 5, 2, stride=2))
    add("fold_dilated", [spec((8, 6))],
        lambda x: ops.fold(x, (5, 4), 2, dilation=2, padding=(1, 0), stride=(2, 1)))
    add("unfold_fold", [spec((2, 4, 4))],
        lambda x: ops.fold(ops.unfold(x, 3, padding=1), 4, 3, padding=1))

    logits = spec((6, 5), low=-3.0, high=3.0)
    lengths = spec((), "int32", 4, 7)
    add("ctc_loss", [spec((3,), "int32", 1, 5), logits, spec((), "int32", 1, 4), lengths],
        lambda t, o, tl, ol: ops.ctc_loss(t, o, tl, ol))
    add("ctc_loss_mask_last", [spec((2,), "int32", 0, 4), logits, spec((), "int32", 0, 3),
                               lengths],
        lambda t, o, tl, ol: ops.ctc_loss(t, o, tl, ol, mask_index=4))
    add("ctc_loss_repeats", [spec((4,), "int32", 1, 3), spec((8, 3)), spec((), "int32", 2, 5),
                             spec((), "int32", 6, 9)],
        lambda t, o, tl, ol: ops.ctc_loss(t, o, tl, ol))
    add("ctc_loss_infeasible", [spec((3,), "int32", 1, 3), spec((4, 3)), spec((), "int32", 3, 4),
                                spec((), "int32", 2, 4)],
        lambda t, o, tl, ol: ops.ctc_loss(t, o, tl, ol))
    decode_in = [spec((8, 3), low=-2.0, high=2.0), spec((), "int32", 4, 9)]
    add("ctc_decode", decode_in, lambda x, n: list(ops.ctc_decode(x, n)))
    add("ctc_decode_no_merge", decode_in,
        lambda x, n: list(ops.ctc_decode(x, n, merge_repeated=False, mask_index=2)))
    add("ctc_decode_mask_none", [spec((7, 4)), spec((), "int32", 3, 8)],
        lambda x, n: list(ops.ctc_decode(x, n, mask_index=None)))
    add("ctc_decode_negative_mask", decode_in,
        lambda x, n: list(ops.ctc_decode(x, n, mask_index=-1)))
    add("ctc_decode_beam_search", decode_in,
        lambda x, n: list(ops.ctc_decode(x, n, strategy="beam_search", beam_width=4,
                                         top_paths=2)))
    # (after the others: the inputs of the cases above stay as first recorded)
    add("ctc_loss_no_frames", [spec((2,), "int32", 1, 3), spec((4, 3)), spec((), "int32", 0, 1),
                               spec((), "int32", 0, 1)],
        lambda t, o, tl, ol: ops.ctc_loss(t, o, tl, ol))
    add("ctc_loss_one_frame", [spec((2,), "int32", 1, 3), spec((1, 3)), spec((), "int32", 0, 2),
                               spec((), "int32", 1, 2)],
        lambda t, o, tl, ol: ops.ctc_loss(t, o, tl, ol))
    return out


def eager_cases(ops):
    """Cases whose functional model Keras builds and writes but cannot run: ConvTranspose.call
    hands `output_padding` to the backend as `padding` and `padding` as `output_padding`
    (keras 3.15.1, every backend), so the expected outputs come from calling the same
    `keras.ops` function eagerly on the inputs."""
    out = []

    def add(name, specs, fn):
        out.append((name, specs, fn))

    add("conv_transpose_2d_valid", [spec((4, 4, 3))],
        lambda x: ops.conv_transpose(x, _kernel(3, 3, 2, 3), strides=2))
    add("conv_transpose_2d_same", [spec((4, 5, 3))],
        lambda x: ops.conv_transpose(x, _kernel(3, 3, 2, 3), strides=(2, 1), padding="same"))
    add("conv_transpose_1d_output_padding", [spec((5, 2))],
        lambda x: ops.conv_transpose(x, _kernel(3, 4, 2), strides=2, padding="same",
                                     output_padding=1))
    add("conv_transpose_1d_valid_output_padding", [spec((4, 2))],
        lambda x: ops.conv_transpose(x, _kernel(4, 3, 2), strides=3, output_padding=2))
    add("conv_transpose_2d_first_dilated", [spec((3, 4, 4))],
        lambda x: ops.conv_transpose(x, _kernel(2, 3, 2, 3), dilation_rate=(2, 1),
                                     data_format="channels_first"))
    add("conv_transpose_3d", [spec((3, 3, 2, 2))],
        lambda x: ops.conv_transpose(x, _kernel(2, 2, 2, 3, 2), strides=2, padding="same"))

    return out


def record_eager_cases(keras, case_list: list, out_path: str, seed: int) -> None:
    """Like record_cases, for `eager_cases`: the config of the symbolic model, seeded inputs,
    the outputs of the same function called eagerly, and the error Keras's model raises."""
    rng = np.random.default_rng(seed)
    buffers, records = Buffers(), []
    for name, specs, fn in case_list:
        inputs = [keras.Input(shape, dtype=dtype, name=f"in{index}")
                  for index, (shape, dtype, _, _) in enumerate(specs)]
        model = keras.Model(inputs, fn(*inputs), name=name)
        config = json.loads(json.dumps(model.get_config()))
        arrays = [random_input(rng, 2, *item) for item in specs]
        expected = [np.asarray(keras.ops.convert_to_numpy(value))
                    for value in as_list(fn(*arrays))]
        try:
            model(arrays)
            model_error = None
        except Exception as exc:  # noqa: BLE001 - recorded: Keras's model cannot run
            model_error = f"{type(exc).__name__}: {exc}"[:300]
        ops_in = [(layer["module"], layer["class_name"]) for layer in config["layers"]
                  if ".ops." in layer["module"]]
        records.append({
            "name": name, "config": config, "ops": ops_in, "keras_model_error": model_error,
            "arrays": {**{f"input_{i}": buffers.add(a) for i, a in enumerate(arrays)},
                       **{f"output_{i}": buffers.add(e) for i, e in enumerate(expected)}},
            "n_inputs": len(arrays), "n_outputs": len(expected),
        })
        print(name, [c for _, c in ops_in], "model fails:" if model_error else "model runs",
              (model_error or "")[:80].replace("\n", " "))
    document = {"keras_version": keras.__version__, "backend": keras.backend.backend(),
                "cases": records}
    write_npz(out_path, {**buffers.arrays(), "cases_json": np.frombuffer(
        json.dumps(document, sort_keys=True).encode("utf-8"), dtype=np.uint8)})
    print(f"wrote {len(records)} cases to {out_path}")


def write_tf_outputs(keras):
    """Run every recorded case under the TensorFlow backend (the model from its config; where
    Keras cannot rebuild or run that model, the case's function called eagerly) and write how
    far TensorFlow's outputs are from the recorded torch ones to TF_EVIDENCE. Tests match
    TensorFlow where the two disagree: its outputs of those cases go to TF_OUT."""
    rows, arrays = [], {}
    functions = {name: fn for name, _, fn in cases(keras.ops)}
    _tf_outputs(keras, OUT, functions, rows, arrays, eager=False)
    functions = {name: fn for name, _, fn in eager_cases(keras.ops)}
    _tf_outputs(keras, EAGER_OUT, functions, rows, arrays, eager=True)
    header = (f"# Keras {keras.__version__}: TensorFlow backend against the recorded torch "
              f"outputs of {os.path.basename(OUT)} and {os.path.basename(EAGER_OUT)}\n"
              f"# columns: case:output, how TensorFlow ran it (model from config, or the "
              f"function eagerly where Keras's model cannot run), max |tensorflow - torch|\n")
    with open(TF_EVIDENCE, "w") as handle:
        handle.write(header + "\n".join(rows) + "\n")
    print(header + "\n".join(rows))
    if arrays:
        write_npz(TF_OUT, arrays)
        print(f"wrote {sorted(arrays)} to {TF_OUT}")


def _tf_outputs(keras, path: str, functions: dict, rows: list, arrays: dict,
                eager: bool) -> None:
    document, read_case_array = read_case_archive(path)
    for case in document["cases"]:
        if "config" not in case:
            continue
        name = case["name"]
        inputs = [read_case_array(case, f"input_{i}") for i in range(case["n_inputs"])]
        how = "eager"
        try:
            if eager:
                raise RuntimeError("Keras's model cannot run")
            model = keras.Model.from_config(json.loads(json.dumps(case["config"])))
            outputs = as_list(model(inputs))
            how = "model"
        except Exception:  # noqa: BLE001 - Keras cannot rebuild or run its own model
            outputs = as_list(functions[name](*map(keras.ops.convert_to_tensor, inputs)))
        for index, value in enumerate(outputs):
            got = np.asarray(keras.ops.convert_to_numpy(value))
            want = read_case_array(case, f"output_{index}")
            if got.shape != want.shape or got.dtype != want.dtype:
                gap = f"differs: {got.dtype}{got.shape} vs torch {want.dtype}{want.shape}"
            else:
                gap = f"{float(np.max(np.abs(got.astype('float64') - want))):.3g}"
            if not gap[0].isdigit() or float(gap) > 1e-5:
                arrays[f"{name}:output_{index}"] = got
            rows.append(f"{name + ':output_' + str(index):48s} {how:6s} {gap}")


def main():
    import keras
    if "--tf-outputs" in sys.argv[1:]:
        write_tf_outputs(keras)
        return
    record_cases(keras, cases(keras.ops), OUT, SEED)
    record_eager_cases(keras, eager_cases(keras.ops), EAGER_OUT, SEED + 1)


if __name__ == "__main__":
    main()
