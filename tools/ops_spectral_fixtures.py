"""Record Keras 3's spectral operations (`keras.ops.fft`, `fft2`, `ifft2`, `rfft`, `irfft`,
`stft`, `istft`: keras.src.ops.math's FFT, FFT2, IFFT2, RFFT, IRFFT, STFT, ISTFT), one tiny
functional model per case, into fixtures/keras3/ops_spectral_cases.npz.

Run from the repository root in the Keras 3 environment:

    KERAS_BACKEND=torch ../kenv/bin/python tools/ops_spectral_fixtures.py

Complex values travel as (real, imag) pairs of float tensors, so every case is a real-valued
graph. The cases cover each argument: RFFT/IRFFT's fft_length (default, cropping, zero-padding,
odd lengths), STFT's window ("hann", "hamming", a list, None), center, sequence_length shorter
than fft_length and inputs of rank 3; ISTFT on both of the torch backend's paths (torch.istft
when sequence_length == fft_length with center and a window; otherwise irfft, a window divided
by its overlapped squares and overlap-add) with and without `length`.

Keras's TensorFlow backend computes other numbers in some of these cases (run on the recorded
inputs with keras 3.15.1 + TensorFlow): STFT/ISTFT with an odd sequence_length (stft_float64,
istft_float64: another window), and ISTFT where the torch backend calls torch.istft
(istft_length_shorter, istft_random_rank4: TensorFlow divides by the periodic sum of squared
windows instead of the exact overlap envelope; istft_length_longer: TensorFlow returns 36
samples where Keras declares and torch gives 40). Every FFT, FFT2, IFFT2, RFFT and IRFFT case
agrees. modelio follows the torch backend, recorded here.
"""

import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO_ROOT, "tools"))

from ops_case_fixtures import record_cases, spec  # noqa: E402

OUT = os.path.join(REPO_ROOT, "fixtures", "keras3", "ops_spectral_cases.npz")
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


def main():
    import keras
    from keras import ops
    record_cases(keras, cases(ops), OUT, SEED)


if __name__ == "__main__":
    main()
