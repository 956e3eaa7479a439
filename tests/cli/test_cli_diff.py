"""`modelio diff` / `diff_models`: architecture differences by layer, then weight differences."""

import numpy as np
import pytest

import modelio
from modelio.cli import main
from modelio.diff import diff_models

ROUND_TRIP_SOURCES = ["keras3_files/small_resnet.keras", "keras3_files/shared_layers.keras",
                      "keras3_files/nested_model_as_output.keras", "keras2_files/nested_frozen.h5",
                      "keras2_files/transformer_block.h5", "keras3_h5/text_rnn.h5"]


@pytest.mark.parametrize("source", ROUND_TRIP_SOURCES)
def test_every_format_round_trip_has_no_differences(fixtures_dir, tmp_path, source):
    original = modelio.load_model(fixtures_dir / source)
    for extension in (".keras", ".h5", ".json", ".yaml"):
        folder = tmp_path / extension[1:]
        folder.mkdir()
        modelio.save_model(original, folder / f"model{extension}")
        assert diff_models(original, modelio.load_model(folder / f"model{extension}")) == []


def test_diff_reports_each_changed_weight_with_its_largest_difference(modelio_cli, fixtures_dir,
                                                                      tmp_path):
    model = modelio.load_model(fixtures_dir / "keras3_files/mlp.keras")
    kernel = model.get_layer("dense").weights[0]
    changed = kernel.value.copy()
    changed[2, 3] += 0.25
    kernel.assign(changed)
    modelio.save_model(model, tmp_path / "changed.keras")
    original = modelio.load_model(fixtures_dir / "keras3_files/mlp.keras").get_layer("dense")
    largest = float(np.max(np.abs(original.weights[0].value.astype(np.float64) - changed)))
    result = modelio_cli("diff", fixtures_dir / "keras3_files/mlp.keras", tmp_path / "changed.keras")
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        f"dense: weight 'kernel': max |a - b| = {largest:.3g}",
        f"1 difference(s) between {fixtures_dir / 'keras3_files/mlp.keras'} and "
        f"{tmp_path / 'changed.keras'}"]
    assert main(["diff", "-q", str(fixtures_dir / "keras3_files/mlp.keras"),
                 str(tmp_path / "changed.keras"), "--atol", "0.3"]) == 0


def test_diff_reports_architecture_changes_by_layer():
    def build(units: int, extra: bool, activation: str):
        modelio.clear_session()
        inputs = modelio.Input((4,), name="x")
        hidden = modelio.layers.Dense(units, activation=activation, name="hidden")(inputs)
        if extra:
            hidden = modelio.layers.Dropout(0.5, name="drop")(hidden)
        outputs = modelio.layers.Dense(2, name="head")(hidden)
        return modelio.Model(inputs, outputs, name="net")

    differences = diff_models(build(3, False, "relu"), build(5, True, "tanh"))
    text = [str(difference) for difference in differences]
    assert "drop: added (Dropout)" in text
    assert "hidden: config 'units': 3 -> 5" in text
    assert "hidden: config 'activation': 'relu' -> 'tanh'" in text
    assert "hidden: weight 'kernel': shape (4, 3) -> (4, 5)" in text
    assert "head: inputs hidden[0][0] -> drop[0][0]" in text
    assert {difference.kind for difference in differences} >= {"added", "config", "weight",
                                                               "connectivity"}


def test_diff_of_different_models_lists_removed_and_added_layers(fixtures_dir, capsys):
    first = fixtures_dir / "keras3_files/mlp.keras"
    second = fixtures_dir / "keras3_files/sequential_mlp.keras"
    assert main(["diff", str(first), str(second)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert "model class: 'Functional' -> 'Sequential'" in out
    assert any(line.endswith("removed (Dense)") for line in out)
    assert any(line.endswith("added (Dense)") for line in out)


def test_diff_of_a_weights_file_is_bad_input(modelio_cli, one_line_error, fixtures_dir):
    one_line_error(modelio_cli("diff", fixtures_dir / "keras3_files/mlp.keras",
                               fixtures_dir / "keras3_files/mlp.weights.h5"),
                   "a weights file holds no architecture")
