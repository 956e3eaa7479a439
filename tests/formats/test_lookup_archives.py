"""`.keras` archives holding lookup layers, written by real Keras 3.15.1 on the TensorFlow backend
(fixtures/keras3_lookup_files/, tools/lookup_file_fixtures.py): vocabularies come from the
archive's `assets/` (size-checked, never from outside the archive), tf_idf weights from the
variable Keras names `idf_weights`, and modelio writes both back where Keras does
(fixtures/evidence/keras3_loads_modelio_lookup_files.txt: real Keras loads modelio's archives)."""

import functools
import zipfile
from pathlib import Path

import numpy as np
import pytest

import modelio
from modelio.errors import FormatError, ModelioError, UnsupportedError
from modelio.formats import keras_zip
from modelio.inputs import read_inputs

FILES = Path(__file__).resolve().parents[2] / "fixtures" / "keras3_lookup_files"
ARCHIVES = sorted(path.stem for path in FILES.glob("*.keras"))


@functools.cache
def loaded(stem: str):
    """The archive loaded once (the tests below only read the model: predict, save, export)."""
    return modelio.load_model(FILES / f"{stem}.keras")


def recorded(stem: str) -> tuple[dict, list]:
    with np.load(FILES / f"{stem}.npz") as archive:
        inputs = {key[len("input:"):]: archive[key] for key in archive.files
                  if key.startswith("input:")}
        count = sum(key.startswith("output:") for key in archive.files)
        outputs = [archive[f"output:{i}"] for i in range(count)]
    return inputs, outputs


def predict(model, inputs: dict) -> list:
    out = model.predict(inputs if len(inputs) > 1 else next(iter(inputs.values())))
    return out if isinstance(out, list) else [out]


def assert_matches(outputs, expected):
    for got, want in zip(outputs, expected, strict=True):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def members(path) -> list:
    with zipfile.ZipFile(path) as archive:
        return sorted(name for name in archive.namelist() if name != "metadata.json")


@pytest.mark.parametrize("stem", ARCHIVES)
def test_keras_archive_with_lookup_layers_loads_and_matches(stem):
    model = loaded(stem)
    inputs, expected = recorded(stem)
    assert_matches(predict(model, inputs), expected)


@pytest.mark.parametrize("stem", ARCHIVES)
def test_written_archive_has_kerass_members_and_reloads(stem, tmp_path):
    model = loaded(stem)
    target = tmp_path / f"{stem}.keras"
    modelio.save_model(model, target)
    assert members(target) == members(FILES / f"{stem}.keras")
    with zipfile.ZipFile(target) as written, zipfile.ZipFile(FILES / f"{stem}.keras") as original:
        for name in original.namelist():
            if name.startswith("assets/"):
                assert written.read(name) == original.read(name)
    modelio.clear_session()
    inputs, expected = recorded(stem)
    assert_matches(predict(modelio.load_model(target), inputs), expected)


def test_string_inputs_read_from_an_npz_file(tmp_path):
    model = loaded("text_classifier")
    inputs, expected = recorded("text_classifier")
    np.savez(tmp_path / "x.npz", text=inputs["text"])
    arrays = read_inputs(model, [str(tmp_path / "x.npz")])
    assert_matches([model.predict(arrays[0])], expected)


def rewrite(source: Path, target: Path, change) -> None:
    """A copy of `source` whose members pass through `change(name, data) -> [(name, data)]`."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for info in original.infolist():
            for name, data in change(info.filename, original.read(info)):
                copy.writestr(name, data)


VOCABULARY = "assets/layers/integer_lookup/vocabulary.txt"


def test_missing_vocabulary_asset_is_refused(tmp_path):
    target = tmp_path / "m.keras"
    rewrite(FILES / "lookups_and_hashes.keras", target,
            lambda name, data: [] if name == VOCABULARY else [(name, data)])
    with pytest.raises(ModelioError, match="IntegerLookup.*no vocabulary.txt"):
        modelio.load_model(target)


def test_oversized_vocabulary_asset_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(keras_zip, "MAX_ASSET_BYTES", 16)
    target = tmp_path / "m.keras"
    rewrite(FILES / "lookups_and_hashes.keras", target,
            lambda name, data: [(name, data + b"\n" + b"9" * 40 if name == VOCABULARY else data)])
    with pytest.raises(FormatError, match="declares .* bytes, more than the 16 allowed"):
        modelio.load_model(target)


def test_vocabulary_that_disagrees_with_the_config_is_refused(tmp_path):
    target = tmp_path / "m.keras"
    rewrite(FILES / "lookups_and_hashes.keras", target,
            lambda name, data: [(name, data + b"\n1234" if name == VOCABULARY else data)])
    with pytest.raises(ModelioError, match="vocabulary_size"):
        modelio.load_model(target)


def test_asset_path_escaping_the_archive_is_refused(tmp_path):
    target = tmp_path / "m.keras"
    rewrite(FILES / "lookups_and_hashes.keras", target, lambda name, data: [
        (name, data)] + ([("assets/layers/integer_lookup/../../../../etc/vocabulary.txt", data)]
                         if name == VOCABULARY else []))
    with pytest.raises(FormatError, match="escaping the archive"):
        modelio.load_model(target)


def test_vocabulary_file_path_in_the_config_is_never_read(tmp_path):
    target = tmp_path / "m.keras"

    def point_outside(name, data):
        if name == "config.json":
            data = data.replace(b'"vocabulary": ["cat", "dog", "mat"]',
                                b'"vocabulary": "/etc/passwd"')
            assert b"/etc/passwd" in data
        return [(name, data)]

    rewrite(FILES / "lookups_and_hashes.keras", target, point_outside)
    with pytest.raises(UnsupportedError, match="StringLookup.*file path"):
        modelio.load_model(target)


def test_unread_asset_files_are_reported(tmp_path):
    target = tmp_path / "m.keras"
    rewrite(FILES / "lookups_and_hashes.keras", target, lambda name, data: [(name, data)] + (
        [("assets/layers/dense/extra.txt", b"x")] if name == VOCABULARY else []))
    with pytest.warns(UserWarning, match="extra.txt"):
        modelio.load_model(target)


EXPORT_REFUSED = {"lookups_and_hashes": "Hashing", "text_classifier": "TextVectorization",
                  "tf_idf_bag": "TextVectorization"}


@pytest.mark.parametrize("stem", ARCHIVES)
def test_archive_exports_to_onnx_like_keras_or_is_refused_naming_the_layer(stem):
    import onnxruntime

    model = loaded(stem)
    inputs, expected = recorded(stem)
    if stem in EXPORT_REFUSED:
        with pytest.raises(UnsupportedError, match=EXPORT_REFUSED[stem]):
            modelio.export_onnx(model)
        return
    proto = modelio.export_onnx(model)
    session = onnxruntime.InferenceSession(proto.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    feed = {name: value.astype(object) if value.dtype.kind == "U" else value
            for name, value in inputs.items()}
    assert_matches(session.run(None, feed), expected)


@pytest.mark.parametrize("suffix", [".yaml", ".json", ".h5"])
def test_formats_without_assets_refuse_an_adapted_vocabulary(tmp_path, suffix):
    model = loaded("text_classifier")
    with pytest.raises(UnsupportedError, match="text_vectorization.*only a .keras archive"):
        modelio.save_model(model, tmp_path / f"m{suffix}")
    assert not list(tmp_path.iterdir())


def test_inline_vocabulary_survives_a_yaml_round_trip(tmp_path):
    model = loaded("bag_of_words")
    modelio.save_model(model, tmp_path / "m.yaml")
    inputs, expected = recorded("bag_of_words")
    assert_matches(predict(modelio.load_model(tmp_path / "m.yaml"), inputs), expected)


def test_model_folder_refuses_an_adapted_vocabulary(tmp_path):
    with pytest.raises(UnsupportedError, match="only a .keras archive"):
        modelio.save_model(loaded("text_classifier"), tmp_path / "folder", zipped=False)


def test_sharded_weights_keep_kerass_idf_weights_name(tmp_path):
    import h5py

    model = loaded("tf_idf_bag")
    model.save_weights(tmp_path / "m.weights.json", max_shard_size=0.0001)
    names = []
    for shard in sorted(tmp_path.glob("*.weights.h5")):
        with h5py.File(shard, "r") as handle:
            handle.visit(names.append)
    assert "layers/text_vectorization/vars/idf_weights" in names
    fresh = modelio.load_model(FILES / "tf_idf_bag.keras")
    fresh.load_weights(tmp_path / "m.weights.json")
    inputs, expected = recorded("tf_idf_bag")
    assert_matches(predict(fresh, inputs), expected)
