"""Record Keras 3's spectral operations (`keras.ops.fft`, `fft2`, `ifft2`, `rfft`, `irfft`,
`stft`, `istft`: keras.src.ops.math's FFT, FFT2, IFFT2, RFFT, IRFFT, STFT, ISTFT), one tiny
functional model per case, into fixtures/keras3/ops_spectral_cases.npz.

Run from the repository root in the Keras 3 environment, then (`--tf-outputs`) in the one
with TensorFlow, which runs every recorded case on Keras's TensorFlow backend and keeps the
outputs that differ from the torch backend's (beyond 1e-5) in ops_spectral_cases_tf.npz, with
the list of those cases (`disagree_json`):

    KERAS_BACKEND=torch ../kenv/bin/python tools/ops_spectral_fixtures.py
    KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=3 ../k2env/bin/python \
        tools/ops_spectral_fixtures.py --tf-outputs

Complex values travel as (real, imag) pairs of float tensors, so every case is a real-valued
graph. The cases cover each argument: RFFT/IRFFT's fft_length (default, cropping, zero-padding,
odd lengths), STFT's window ("hann", "hamming", a list, None), center, sequence_length shorter
than fft_length and inputs of rank 3; ISTFT on both of the torch backend's paths (torch.istft
when sequence_length == fft_length with center and a window; otherwise irfft, a window divided
by its overlapped squares and overlap-add) with and without `length`.

Keras's TensorFlow backend computes other numbers in some of these cases (`--tf-outputs`,
keras 3.15.1 + TensorFlow, on the recorded inputs): STFT/ISTFT with an odd sequence_length
(stft_float64, istft_float64: tf.signal's odd "periodic" window is the symmetric one), and
ISTFT where the torch backend calls torch.istft (istft_length_shorter, istft_random_rank4:
TensorFlow divides by the squared window summed per hop instead of the exact overlap
envelope; istft_length_longer: TensorFlow returns 36 samples where Keras declares and torch
gives 40). Every FFT, FFT2, IFFT2, RFFT and IRFFT case agrees. modelio matches the TensorFlow
backend there, and refuses a `length` past the frames (TensorFlow's shape is not Keras's).
The torch backend fails on the cases of `tf_only_cases` (recorded as failures here); the
`--tf-outputs` run records them whole from the TensorFlow backend in
ops_spectral_cases_tf_only.npz.
"""

import argparse
import json
import os
import sys

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO_ROOT, "tools"))

from case_archive import read_case_archive, write_npz  # noqa: E402
from ops_case_fixtures import as_list, record_cases, spec  # noqa: E402

OUT = os.path.join(REPO_ROOT, "fixtures", "keras3", "ops_spectral_cases.npz")
TF_OUT = os.path.join(REPO_ROOT, "fixtures", "keras3", "ops_spectral_cases_tf.npz")
TF_ONLY_OUT = os.path.join(REPO_ROOT, "fixtures", "keras3", "ops_spectral_cases_tf_only.npz")
TF_ONLY_SEED = 1718
TOLERANCE = 1e-5
SEED = 1717
LIST_WINDOW = [0.25, 0.5, 1.0, 1.0, 0.75, 0.5]


def cases(ops):
    """(name, [input specs], function of the Keras inputs) per case."""
    out = []

    def add(name, specs, fn):
        out.append((name, specs, fn))

    pair = [spec((3, 8)), spec((3, 8))]
    add("fft", pair, lambda re, im: ops.fft((re, im)))
    add("fft_odd_length", [spec((5,)), spec((5,))], lambda re, im: ops.fft((re, im)))
    add("fft_float64", [spec((2, 6), "float64"), spec((2, 6), "float64")],
        lambda re, im: ops.fft((re, im)))
    add("fft2", [spec((4, 6)), spec((4, 6))], lambda re, im: ops.fft2((re, im)))
    add("fft2_rank4", [spec((2, 3, 5)), spec((2, 3, 5))], lambda re, im: ops.fft2((re, im)))
    add("ifft2", [spec((4, 6)), spec((4, 6))], lambda re, im: ops.ifft2((re, im)))
    add("ifft2_odd", [spec((3, 5)), spec((3, 5))], lambda re, im: ops.ifft2((re, im)))
    add("rfft", [spec((3, 8))], lambda x: ops.rfft(x))
    add("rfft_odd", [spec((7,))], lambda x: ops.rfft(x))
    add("rfft_pad", [spec((7,))], lambda x: ops.rfft(x, fft_length=10))
    add("rfft_crop", [spec((2, 8))], lambda x: ops.rfft(x, fft_length=5))
    add("irfft", [spec((3, 5)), spec((3, 5))], lambda re, im: ops.irfft((re, im)))
    add("irfft_odd", [spec((4,)), spec((4,))], lambda re, im: ops.irfft((re, im), fft_length=7))
    add("irfft_crop", [spec((5,)), spec((5,))], lambda re, im: ops.irfft((re, im), fft_length=4))
    add("irfft_pad", [spec((5,)), spec((5,))], lambda re, im: ops.irfft((re, im), fft_length=12))
    add("rfft_irfft_roundtrip", [spec((9,))],
        lambda x: ops.irfft(ops.rfft(x), fft_length=9))
    add("fft_chain", pair, lambda re, im: ops.fft(ops.fft((re * 0.5, im))))
    signal = [spec((32,))]
    add("stft", signal, lambda x: ops.stft(x, 8, 4, 8))
    add("stft_hamming_short_window", signal,
        lambda x: ops.stft(x, 6, 3, 8, window="hamming"))
    add("stft_no_window_no_center", signal,
        lambda x: ops.stft(x, 8, 2, 8, window=None, center=False))
    add("stft_list_window_rank3", [spec((2, 24))],
        lambda x: ops.stft(x, 6, 4, 7, window=LIST_WINDOW))
    add("stft_float64", [spec((20,), "float64")], lambda x: ops.stft(x, 5, 2, 6))
    # ISTFT on torch.istft's path (sequence_length == fft_length, center, a window)
    add("istft_of_stft", signal, lambda x: ops.istft(ops.stft(x, 8, 4, 8), 8, 4, 8))
    add("istft_length_shorter", signal,
        lambda x: ops.istft(ops.stft(x, 8, 2, 8, window="hamming"), 8, 2, 8, length=27,
                            window="hamming"))
    add("istft_length_longer", signal,
        lambda x: ops.istft(ops.stft(x, 8, 4, 8), 8, 4, 8, length=40))
    add("istft_random_rank4", [spec((2, 5, 5)), spec((2, 5, 5))],
        lambda re, im: ops.istft((re, im), 8, 3, 8))
    # ISTFT on the irfft + overlap-add path
    add("istft_short_window", signal,
        lambda x: ops.istft(ops.stft(x, 6, 3, 8, window="hamming"), 6, 3, 8,
                            window="hamming"))
    add("istft_no_window_no_center", [spec((6, 5)), spec((6, 5))],
        lambda re, im: ops.istft((re, im), 8, 4, 8, window=None, center=False))
    add("istft_list_window_length", [spec((7, 4)), spec((7, 4))],
        lambda re, im: ops.istft((re, im), 6, 3, 7, length=20, window=LIST_WINDOW,
                                 center=False))
    add("istft_hann_no_center", [spec((6, 5)), spec((6, 5))],
        lambda re, im: ops.istft((re, im), 8, 2, 8, center=False))
    add("istft_float64", [spec((6, 4), "float64"), spec((6, 4), "float64")],
        lambda re, im: ops.istft((re, im), 5, 2, 6, length=12))
    return out


def tf_only_cases(ops):
    """ISTFT cases the torch backend fails on and the TensorFlow backend computes (recorded in
    both runs: the torch run records the failure)."""
    pair = [spec((5, 7)), spec((5, 7))]
    return [
        # torch.istft wants fft_length // 2 + 1 bins; TensorFlow's irfft drops the extra ones
        ("istft_extra_bins", pair, lambda re, im: ops.istft((re, im), 8, 4, 8)),
        # torch.istft's overlap-add condition fails; TensorFlow's inverse window is zero there
        ("istft_vanishing_window", [spec((5, 5)), spec((5, 5))],
         lambda re, im: ops.istft((re, im), 8, 8, 8)),
        # the torch backend's overlap-add needs fft_length / frames <= stride <= fft_length
        ("istft_stride_past_frame", [spec((3, 5)), spec((3, 5))],
         lambda re, im: ops.istft((re, im), 8, 10, 8, window=None, center=False)),
        ("istft_few_frames", [spec((2, 5)), spec((2, 5))],
         lambda re, im: ops.istft((re, im), 7, 3, 8, window="hamming", center=False)),
    ]


def write_tf_outputs(keras):
    """Run every case recorded in OUT on Keras's TensorFlow backend, with the recorded inputs;
    keep the outputs of the cases whose outputs differ from the recorded (torch backend) ones
    in shape or beyond TOLERANCE, and the list of those cases with the largest difference."""
    document, read = read_case_archive(OUT)

    arrays, disagree = {}, []
    for case in document["cases"]:
        if "config" not in case:
            continue
        model = keras.Model.from_config(case["config"])
        inputs = [read(case, f"input_{i}") for i in range(case["n_inputs"])]
        outputs = [np.asarray(keras.ops.convert_to_numpy(value))
                   for value in as_list(model(inputs))]
        recorded = [read(case, f"output_{i}") for i in range(case["n_outputs"])]
        shapes = [list(value.shape) for value in outputs]
        if shapes != [list(value.shape) for value in recorded]:
            difference = "shape"
        else:
            largest = max(float(np.max(np.abs(a.astype(np.float64) - b), initial=0.0))
                          for a, b in zip(outputs, recorded))
            if largest <= TOLERANCE:
                continue
            difference = largest
        disagree.append({"name": case["name"], "difference": difference,
                         "tf_shapes": shapes})
        for index, value in enumerate(outputs):
            arrays[f"{case['name']}:output_{index}"] = value
        print(case["name"], "differs:", difference, shapes)
    document = {"keras_version": keras.__version__, "backend": keras.backend.backend(),
                "tolerance": TOLERANCE, "disagree": disagree}
    arrays["disagree_json"] = np.frombuffer(json.dumps(document, sort_keys=True).encode("utf-8"),
                                            dtype=np.uint8)
    write_npz(TF_OUT, arrays)
    print(f"wrote {len(disagree)} cases ({keras.backend.backend()}) to {TF_OUT}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tf-outputs", action="store_true",
                        help="record the TensorFlow backend's outputs where they differ")
    arguments = parser.parse_args()
    import keras
    from keras import ops
    if arguments.tf_outputs:
        write_tf_outputs(keras)
        record_cases(keras, tf_only_cases(ops), TF_ONLY_OUT, TF_ONLY_SEED)
        return
    record_cases(keras, cases(ops) + tf_only_cases(ops), OUT, SEED)


if __name__ == "__main__":
    main()
