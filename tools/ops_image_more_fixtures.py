"""Record what Keras 3 makes of the `keras.ops.image` calls modelio/ops/image_more.py and
image_sampling.py implement (RGBToHSV, HSVToRGB, ExtractPatches, GaussianBlur, SobelEdges, SSIM,
AffineTransform, PerspectiveTransform, MapCoordinates, ScaleAndTranslate) into
fixtures/keras3/ops_image_more_cases.npz, one tiny functional model per case.

    KERAS_BACKEND=torch ../kenv/bin/python tools/ops_image_more_fixtures.py
    KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=3 ../k2env/bin/python \
        tools/ops_image_more_fixtures.py --tf-outputs

`--tf-outputs` reruns every recorded case's config under the TensorFlow backend on the same
inputs and writes to ops_image_more_cases_tf.npz the outputs of the cases where it disagrees
with the torch backend (modelio matches TensorFlow; tests/ops/test_ops_image_more.py lists
them):

* SobelEdges: torch pads with zeros, TensorFlow (tf.image.sobel_edges) reflects the border.
* GaussianBlur with an even or non-square kernel: torch pads `kernel_size[0] // 2` on every side,
  TensorFlow pads "same" (the image keeps its size, as Keras's symbolic shape says).
* AffineTransform: torch ignores the projective terms c0, c1 (it even mixes them into the
  channel coordinate); with fill_mode "wrap" torch wraps the neighbour indices while TensorFlow
  wraps the sample position; "nearest" interpolation rounds halves away from zero in
  TensorFlow, to even in torch.
* HSVToRGB of hues outside [0, 1]: torch wraps them, TensorFlow does not.
* RGBToHSV of values below the dtype's epsilon: torch zeroes them first, TensorFlow does not.
* MapCoordinates "reflect": TensorFlow mirrors negative indices (|i|), torch reflects them.

TensorFlow refuses AffineTransform's "mirror" and fails on MapCoordinates' "mirror" (an index
out of range); there modelio follows the torch backend.

ElasticTransform is not recorded: the torch backend draws its displacement field from torch's
global random state (the seed only reaches a generator on the "meta" device), so its outputs
cannot be reproduced from the model.
"""

import os
import sys

import numpy as np

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)

from case_archive import read_case_archive, write_npz  # noqa: E402
from ops_case_fixtures import as_list, record_cases, spec  # noqa: E402

REPO_ROOT = os.path.dirname(TOOLS)
OUT = os.path.join(REPO_ROOT, "fixtures", "keras3", "ops_image_more_cases.npz")
TF_OUT = OUT.replace(".npz", "_tf.npz")
SEED = 1700

UNIT_IMAGE = spec((4, 5, 3), low=0.0, high=1.0)


def cases(ops):
    out = []

    def add(name, specs, fn):
        out.append((name, specs, fn))

    image = ops.image

    def special_rgb(x):
        # random pixels, then grey ones (zero saturation), black ones, r == g ties and values
        # below float32's epsilon
        gray = ops.repeat(x[..., :1], 3, axis=-1)
        ties = ops.concatenate([x[..., :1], x[..., :1], x[..., 2:] * 0.5], axis=-1)
        return ops.concatenate([x, gray, x * 0.0, ties, x * 1e-8], axis=1)

    add("rgb_to_hsv", [UNIT_IMAGE], lambda x: image.rgb_to_hsv(special_rgb(x)))
    add("rgb_to_hsv_channels_first", [spec((3, 4, 5), low=0.0, high=1.0)],
        lambda x: image.rgb_to_hsv(x, data_format="channels_first"))
    add("hsv_to_rgb", [spec((4, 5, 1), low=-1.0, high=2.0), spec((4, 5, 2), low=0.0, high=1.0)],
        lambda h, sv: image.hsv_to_rgb(ops.concatenate([h, sv], axis=-1)))
    add("hsv_to_rgb_channels_first", [spec((3, 4, 5), low=0.0, high=1.0)],
        lambda x: image.hsv_to_rgb(x, data_format="channels_first"))
    add("hsv_round_trip", [UNIT_IMAGE],
        lambda x: image.hsv_to_rgb(image.rgb_to_hsv(special_rgb(x))))

    add("extract_patches", [spec((4, 4, 2))], lambda x: image.extract_patches(x, 2))
    add("extract_patches_same", [spec((5, 7, 2))],
        lambda x: image.extract_patches(x, (2, 3), strides=(1, 2), padding="same"))
    add("extract_patches_dilated", [spec((5, 6, 1))],
        lambda x: image.extract_patches(x, (2, 2), strides=1, dilation_rate=2))
    add("extract_patches_channels_first", [spec((2, 5, 4))],
        lambda x: image.extract_patches(x, 2, strides=(2, 1), data_format="channels_first"))
    add("extract_patches_3d", [spec((4, 4, 5, 2))],
        lambda x: image.extract_patches(x, (2, 2, 3), strides=(2, 1, 2)))
    add("extract_patches_3d_same", [spec((2, 3, 4, 3))],
        lambda x: image.extract_patches_3d(x, 2, strides=1, padding="same",
                                           data_format="channels_first"))

    add("gaussian_blur", [spec((5, 6, 2))], lambda x: image.gaussian_blur(x))
    add("gaussian_blur_sigmas", [spec((6, 7, 2))],
        lambda x: image.gaussian_blur(x, kernel_size=(5, 5), sigma=(1.5, 0.7)))
    add("gaussian_blur_channels_first", [spec((2, 5, 6))],
        lambda x: image.gaussian_blur(x, kernel_size=(3, 3), sigma=(0.8, 2.0),
                                      data_format="channels_first"))
    add("gaussian_blur_non_square", [spec((6, 7, 1))],
        lambda x: image.gaussian_blur(x, kernel_size=(3, 5), sigma=(1.0, 2.0)))
    add("gaussian_blur_even", [spec((5, 6, 2))],
        lambda x: image.gaussian_blur(x, kernel_size=(4, 4), sigma=(1.2, 1.2)))

    add("sobel_edges", [spec((5, 6, 2))], lambda x: image.sobel_edges(x))
    add("sobel_edges_channels_first", [spec((2, 4, 5))],
        lambda x: image.sobel_edges(x, data_format="channels_first"))

    add("ssim", [spec((12, 12, 3), low=0.0, high=1.0), spec((12, 12, 3), low=0.0, high=1.0)],
        lambda a, b: image.ssim(a, b))
    add("ssim_arguments", [spec((2, 6, 5), low=0.0, high=2.0), spec((2, 6, 5), low=0.0, high=2.0)],
        lambda a, b: image.ssim(a, b * 0.5 + a * 0.5, max_val=2.0, filter_size=3,
                                filter_sigma=0.8, k1=0.02, k2=0.05,
                                data_format="channels_first"))

    affine = np.array([0.9, 0.2, 0.3, -0.15, 1.1, -0.4, 0.0, 0.0], "float32")
    mask = np.array([1, 1, 1, 1, 1, 1, 0, 0], "float32")

    def transform(t):
        return t * mask + affine

    noise = spec((8,), low=-0.1, high=0.1)
    for fill in ("constant", "nearest", "reflect", "wrap", "mirror"):
        for interpolation in ("bilinear", "nearest"):
            add(f"affine_{fill}_{interpolation}", [spec((5, 6, 2)), noise],
                lambda x, t, fill=fill, interpolation=interpolation: image.affine_transform(
                    x, transform(t) * 1.0 + np.array([0, 0, 2.5, 0, 0, -3, 0, 0], "float32"),
                    interpolation=interpolation, fill_mode=fill, fill_value=0.5))
    add("affine_channels_first", [spec((2, 5, 6)), noise],
        lambda x, t: image.affine_transform(x, transform(t), data_format="channels_first"))
    add("affine_shared_transform", [spec((5, 6, 2))],
        lambda x: image.affine_transform(
            x, np.array([[0.5, 0.0, 1.0, 0.0, 0.5, 0.5, 0.0, 0.0],
                         [1.5, 0.0, -1.0, 0.0, 0.5, 0.0, 0.0, 0.0]], "float32"),
            interpolation="nearest"))
    add("affine_projective", [spec((5, 6, 2)), noise],
        lambda x, t: image.affine_transform(
            x, transform(t) + np.array([0, 0, 0, 0, 0, 0, 0.05, -0.03], "float32")))

    start = np.array([[0, 0], [0, 4], [5, 0], [5, 4]], "float32")
    corners = spec((4, 2), low=-0.6, high=0.6)
    add("perspective_transform", [spec((5, 6, 2)), corners],
        lambda x, p: image.perspective_transform(x, p * 0.0 + start, p + start, fill_value=0.25))
    add("perspective_transform_nearest_channels_first", [spec((2, 5, 6)), corners, corners],
        lambda x, p, q: image.perspective_transform(
            x, q + start, p + start, interpolation="nearest", data_format="channels_first"))

    add("perspective_transform_constant_points", [spec((5, 6, 2))],
        lambda x: image.perspective_transform(
            x, start, start + np.array([[0.3, -0.2], [-0.4, 0.1], [0.2, 0.5], [-0.1, -0.3]],
                                       "float32"), interpolation="bilinear"))

    coordinates = np.stack(np.meshgrid(np.linspace(-1.3, 3.6, 4), np.linspace(-2.2, 6.4, 5),
                                       indexing="ij")).astype("float32")
    for fill in ("constant", "nearest", "wrap", "mirror", "reflect"):
        for order in (0, 1):
            add(f"map_coordinates_{fill}_{order}", [spec((3, 4))],
                lambda x, fill=fill, order=order: image.map_coordinates(
                    x[0], coordinates, order, fill_mode=fill, fill_value=-1.0))
    add("map_coordinates_batch", [spec((3, 4)), spec((3, 6), low=-1.0, high=4.0)],
        lambda x, c: image.map_coordinates(x, ops.transpose(c, (1, 0, 2)), 1))

    for method, antialias in (("linear", True), ("bilinear", False), ("cubic", True),
                              ("lanczos3", True), ("lanczos5", False), ("bicubic", False)):
        add(f"scale_and_translate_{method}_{antialias}", [spec((5, 6, 2))],
            lambda x, method=method, antialias=antialias: image.scale_and_translate(
                x, (2, 7, 4, 2), np.array([1.4, 0.7], "float32"),
                np.array([-0.5, 0.3], "float32"), (1, 2), method, antialias=antialias))
    return out


def write_tf_outputs(keras):
    """TensorFlow-backend outputs of every recorded case on the recorded inputs."""
    document, read_case_array = read_case_archive(OUT)

    arrays = {}
    for case in document["cases"]:
        if "config" not in case:
            continue
        inputs = [read_case_array(case, f"input_{i}") for i in range(case["n_inputs"])]
        try:
            model = keras.Model.from_config(case["config"])
            outputs = as_list(model(inputs))
        except Exception as exc:  # noqa: BLE001 - the TensorFlow backend refuses it
            print(f"{case['name']}: TensorFlow fails: {exc}"[:200])
            continue
        outputs = [np.asarray(value) for value in outputs]
        torch_outputs = [read_case_array(case, f"output_{i}") for i in range(len(outputs))]
        if all(ours.shape == theirs.shape and np.allclose(ours, theirs, rtol=1e-5, atol=1e-5)
               for ours, theirs in zip(outputs, torch_outputs)):
            continue  # the backends agree: the torch outputs serve
        for index, value in enumerate(outputs):
            arrays[f"{case['name']}:output_{index}"] = value
    write_npz(TF_OUT, arrays)
    print(f"wrote {sorted(arrays)} ({keras.backend.backend()}) to {TF_OUT}")


def main():
    import keras
    from keras import ops
    if "--tf-outputs" in sys.argv[1:]:
        write_tf_outputs(keras)
        return
    record_cases(keras, cases(ops), OUT, SEED)


if __name__ == "__main__":
    main()
