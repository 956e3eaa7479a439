"""The README's layer table lists every `keras.layers` class (and each tf-keras classic) with the
status modelio's registries give it today."""

from layer_table import REPO, keras_classes, layer_table, readme_table, status

from modelio.graph.registry import LAYER_CLASSES


def test_readme_layer_table_is_current():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert readme_table(text) == layer_table(), "run: python3 tools/layer_table.py"


def test_every_recorded_keras_class_has_a_row_and_a_status():
    table = layer_table()
    for dialect in ("keras3", "keras2"):
        for entry in keras_classes(dialect):
            assert f"{entry['name']} | {status(entry['name'])} |" in table


def test_a_class_modelio_computes_is_listed_as_computed():
    assert status("Dense") == "computed" and "Dense" in LAYER_CLASSES
    assert status("Lambda").startswith("refused: Lambda carries Python bytecode")
    assert status("NoSuchLayer").startswith("not yet")
