"""`modelio plot`: DOT written by modelio, SVG/PNG through Graphviz's `dot` program."""

import re
import shutil
import subprocess

import pytest

import modelio
from modelio.plot import model_to_dot, quote

DOT = shutil.which("dot")
needs_dot = pytest.mark.skipif(DOT is None, reason="Graphviz 'dot' is not installed")


def parse_check(text: str) -> None:
    """Let Graphviz itself parse the DOT text (the only real validity check)."""
    finished = subprocess.run([DOT, "-Tsvg"], input=text.encode(), capture_output=True, timeout=60)
    assert finished.returncode == 0, finished.stderr.decode()


@needs_dot
def test_plot_writes_dot_with_every_layer_edge_and_nested_cluster(modelio_cli, fixtures_dir, tmp_path):
    source = fixtures_dir / "keras3_files/nested_sequential.keras"
    output = tmp_path / "graph.dot"
    result = modelio_cli("plot", source, "-o", output)
    assert result.returncode == 0 and result.stdout == f"wrote {output}\n", result.stderr
    text = output.read_text()
    parse_check(text)
    model = modelio.load_model(source)
    inner = model.get_layer("inner")
    assert 'subgraph cluster_0 {' in text and 'label="inner (Sequential)";' in text
    boxes = dict(re.findall(r'(layer_\d+) \[label="([^"]*)"\];', text))
    labels = {label.split("\\n")[0]: (box, label) for box, label in boxes.items()}
    for layer in [*model.operations, *inner.operations]:
        if layer is not inner:
            assert layer.name in labels, layer.name
    assert labels["add"][1] == "add\\nAdd\\n(None, 4)"
    edges = set(re.findall(r"(layer_\d+) -> (layer_\d+);", text))
    box = {name: box for name, (box, _) in labels.items()}
    # x feeds the nested model's input and add; the nested model's last layer feeds add.
    last_inner = inner.layers[-1].name
    assert {(box["x"], box[inner.operations[0].name]), (box[last_inner], box["add"]),
            (box["add"], box["head"])} <= edges


@needs_dot
def test_plot_renders_svg_through_dot(modelio_cli, fixtures_dir, tmp_path):
    output = tmp_path / "graph.svg"
    result = modelio_cli("plot", fixtures_dir / "keras2_files/shared_layers.h5", "-o", output)
    assert result.returncode == 0, result.stderr
    assert b"<svg" in output.read_bytes() and b"applied_twice" in output.read_bytes()


def test_plot_without_dot_program_is_a_clear_error(modelio_cli, one_line_error, fixtures_dir,
                                                   tmp_path):
    import os
    environment = dict(os.environ, PATH=str(tmp_path))  # no 'dot' in an empty folder
    output = tmp_path / "graph.png"
    one_line_error(modelio_cli("plot", fixtures_dir / "keras3_files/mlp.keras", "-o", output,
                               env=environment),
                   "rendering .png needs the Graphviz 'dot' program, which is not installed")
    assert not output.exists()


@needs_dot
@pytest.mark.parametrize("fixture", ["keras3_files/text_rnn.keras",
                                     "keras3_files/nested_model_as_output.keras",
                                     "keras2_files/nested_functional.h5",
                                     "keras3_files/transformer_block.keras"])
def test_model_to_dot_parses_for_fixture_models(fixtures_dir, fixture):
    model = modelio.load_model(fixtures_dir / fixture)
    text = model_to_dot(model)
    parse_check(text)
    edges = len(re.findall(r" -> ", text))
    assert edges >= len(model.operations) - len(model.inputs)  # every non-input layer is fed


@needs_dot
def test_model_to_dot_escapes_names():
    inputs = modelio.Input((3,), name='in"put\\')
    outputs = modelio.layers.Dense(2, name="dense {x}; y")(inputs)
    model = modelio.Model(inputs, outputs, name='a "model"')
    text = model_to_dot(model)
    parse_check(text)
    assert quote('in"put\\') == '"in\\"put\\\\"' and '"in\\"put\\\\\\nInputLayer\\n(None, 3)"' in text
