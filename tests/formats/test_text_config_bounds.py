"""JSON and YAML architectures are bounded before they are parsed: by size, by the number of
values they can hold, by nesting and string length, and (YAML) by refusing anchors, aliases and
tags. Hostile texts are generated here; those that could crash the process, exhaust memory or hang
are loaded in a child process with an address-space limit (config_safety_support._run_in_child).
"""

import json
import re
import tracemalloc
import zipfile

import pytest
import yaml
from config_safety_support import _run_in_child, deadline, expect
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import modelio
from modelio import layers
from modelio.errors import ConfigError, FormatError, UnsafeContentError
from modelio.formats import config as text_config
from modelio.formats import probe
from modelio.saving import file_metadata

DEEP = 100_000
DEEP_YAML = {
    "flow_lists": "[" * DEEP + "]" * DEEP,
    "block_sequences": "- " * DEEP + "1\n",
    # libyaml's scanner does work per open flow level for each token: quadratic, a hang at 100k
    "flow_mappings": "{a: " * DEEP + "1" + "}" * DEEP,
    "unclosed_flow_lists": "[" * DEEP,
}


@pytest.fixture(params=["libyaml", "pure_python"])
def yaml_loader(request, monkeypatch):
    """Runs a test with libyaml's C loader and with PyYAML's pure-Python one (used when PyYAML was
    built without libyaml)."""
    if request.param == "libyaml":
        if not text_config.YAML_HAS_C_LOADER:
            pytest.skip("PyYAML without libyaml")
    else:
        monkeypatch.setattr(text_config, "_YamlBase", yaml.SafeLoader)
    return request.param


def _nodes(document) -> int:
    """Values and keys in a parsed document."""
    count, pending = 0, [document]
    while pending:
        item = pending.pop()
        count += 1
        if isinstance(item, dict):
            count += len(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return count


# ------------------------------------------------------------------------------------------------
# Nesting: libyaml's C composer recurses without a guard, so depth is refused before it composes
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", list(DEEP_YAML))
@pytest.mark.parametrize("how", ["load_model", "model_from_yaml"])
def test_yaml_nested_a_hundred_thousand_deep_is_refused_without_crashing(shape, how, tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text(DEEP_YAML[shape])
    request = ({"kind": "path", "path": str(path)} if how == "load_model" else
               {"kind": "text", "loader": "model_from_yaml", "path": str(path)})
    outcome = _run_in_child(request, timeout=60)
    assert outcome["result"] == "modelio", outcome
    assert outcome["type"] == "FormatError"
    assert outcome["message"].startswith(f"{path}:1:")
    assert f"nests deeper than {text_config.MAX_NESTING} levels" in outcome["message"]


@pytest.mark.parametrize("shape", list(DEEP_YAML))
def test_yaml_nesting_is_refused_by_both_loaders(shape, yaml_loader):
    error = expect(FormatError, modelio.model_from_yaml, DEEP_YAML[shape], "deep.yaml", seconds=10)
    assert f"nests deeper than {text_config.MAX_NESTING} levels" in str(error)


def test_yaml_nesting_up_to_the_limit_is_read(yaml_loader):
    depth = text_config.MAX_NESTING
    assert text_config.config_from_yaml("[" * depth + "]" * depth) is not None
    with pytest.raises(FormatError, match="nests deeper"):
        text_config.config_from_yaml("[" * (depth + 1) + "]" * (depth + 1))


def test_json_nested_a_hundred_thousand_deep_is_refused_in_a_child(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"a":' * DEEP + "1" + "}" * DEEP)
    outcome = _run_in_child({"kind": "path", "path": str(path)})
    assert outcome["result"] == "modelio", outcome
    assert str(path) in outcome["message"] and "nests deeper" in outcome["message"]


# ------------------------------------------------------------------------------------------------
# Number of values: refused before the parse builds them
# ------------------------------------------------------------------------------------------------


def test_three_megabyte_yaml_flow_list_is_refused_by_its_node_count(tmp_path):
    path = tmp_path / "flow.yaml"
    path.write_text("[" + ",".join(["0"] * 1_500_000) + "]")
    outcome = _run_in_child({"kind": "path", "path": str(path)}, timeout=120)
    assert outcome["result"] == "modelio", outcome
    assert outcome["type"] == "FormatError"
    assert outcome["message"].startswith(f"{path}:1:")
    assert f"more than {text_config.MAX_YAML_NODES:,} YAML nodes" in outcome["message"]


def test_sixty_megabyte_json_list_is_refused_before_it_is_parsed(tmp_path):
    path = tmp_path / "list.json"
    path.write_text("[" + ",".join(["{}"] * 20_000_000) + "]")
    outcome = _run_in_child({"kind": "path", "path": str(path)}, timeout=120)
    assert outcome["result"] == "modelio", outcome
    assert outcome["type"] == "FormatError"
    assert outcome["message"].startswith(f"{path}: the JSON may hold up to 40,000,001 values")
    assert f"more than the {text_config.MAX_JSON_NODES:,} modelio reads" in outcome["message"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=5),
                                                                      children, max_size=5),
    max_leaves=40),
    indent=st.sampled_from([None, 0, 2]))
def test_json_value_bound_is_never_below_the_real_count(document, indent):
    text = json.dumps(document, indent=indent)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(text_config, "MAX_JSON_NODES", _nodes(document) - 1)
        with pytest.raises(FormatError, match="values and keys"):
            text_config.config_from_json(text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=5),
                                                                      children, max_size=5),
    max_leaves=40),
    flow=st.booleans())
def test_yaml_node_count_is_exact(document, flow):
    text = yaml.safe_dump(document, default_flow_style=flow)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(text_config, "MAX_YAML_NODES", _nodes(document))
        assert text_config.config_from_yaml(text) == document
        patch.setattr(text_config, "MAX_YAML_NODES", _nodes(document) - 1)
        with pytest.raises(FormatError, match="YAML nodes"):
            text_config.config_from_yaml(text)


def test_keras_archive_config_with_millions_of_values_is_refused_naming_the_member(tmp_path):
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", "[" + ",".join(["0"] * 5_000_000) + "]")
        archive.writestr("model.weights.h5", b"")
        archive.writestr("metadata.json", "{}")
    error = expect(FormatError, modelio.load_model, path, seconds=20)
    assert str(error).startswith(f"{path}:config.json: the JSON may hold up to 5,000,001 values")


# ------------------------------------------------------------------------------------------------
# Size: refused before reading or parsing
# ------------------------------------------------------------------------------------------------


def test_json_file_larger_than_the_limit_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "huge.json"
    with open(path, "wb") as handle:  # sparse: no disk used
        handle.truncate(probe.MAX_CONFIG_BYTES + 1)
    tracemalloc.start()
    try:
        error = expect(FormatError, modelio.load_model, path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(error).startswith(f"{path}: {probe.MAX_CONFIG_BYTES + 1:,} bytes")
    assert f"larger than the {probe.MAX_CONFIG_BYTES:,} bytes" in str(error)
    assert peak < 1024 * 1024


def test_yaml_file_larger_than_the_yaml_limit_is_refused_before_parsing(tmp_path, monkeypatch):
    path = tmp_path / "huge.yaml"
    text = "# " + "x" * text_config.MAX_YAML_BYTES + "\nclass_name: Dense\n"
    path.write_text(text)
    parsed = []
    monkeypatch.setattr(text_config, "_check_yaml_events", lambda *args: parsed.append(args))
    error = expect(FormatError, modelio.load_model, path)
    assert str(error).startswith(f"{path}: {len(text):,} characters of YAML")
    assert f"more than the {text_config.MAX_YAML_BYTES:,}" in str(error)
    assert parsed == []


def test_json_text_larger_than_the_limit_is_refused_by_model_from_json():
    text = " " * text_config.MAX_JSON_BYTES + "{}"
    error = expect(FormatError, modelio.model_from_json, text, "big.json")
    assert str(error).startswith("big.json: ") and "characters of JSON" in str(error)


# ------------------------------------------------------------------------------------------------
# String length
# ------------------------------------------------------------------------------------------------

LONG_NAME = "n" * (text_config.MAX_STRING_CHARS + 1)


def test_yaml_scalar_longer_than_the_limit_is_refused_before_composing(yaml_loader):
    text = f"class_name: Dense\nconfig: {{name: {LONG_NAME}, units: 2}}\n"
    error = expect(FormatError, modelio.model_from_yaml, text, "long.yaml")
    assert str(error).startswith("long.yaml:2:16: a scalar of 1,048,577 characters")
    assert f"more than the {text_config.MAX_STRING_CHARS:,} allowed" in str(error)


@pytest.mark.parametrize("where", ["value", "key"])
def test_json_string_longer_than_the_limit_is_refused(where):
    config = {"name": LONG_NAME, "units": 2} if where == "value" else {"name": "d", LONG_NAME: 2}
    text = json.dumps({"class_name": "Dense", "config": config})
    error = expect(ConfigError, modelio.model_from_json, text, "long.json")
    assert str(error).startswith("long.json: a string of 1,048,577 characters ('nnnn")
    assert len(str(error)) < 200


# ------------------------------------------------------------------------------------------------
# Anchors, aliases, tags, values PyYAML cannot build
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text,where,what", [
    ("a: &x 1\n", "2:4", "anchor &x"),
    ("a: 1\nb: [1, *x]\n", "3:8", "alias *x"),
    ("a: &x [1]\nb: *x\n", "2:4", "anchor &x"),
])
def test_yaml_anchors_and_aliases_are_refused_with_their_place(text, where, what, yaml_loader):
    error = expect(UnsafeContentError, modelio.model_from_yaml, "\n" + text, "m.yaml")
    assert str(error).startswith(f"m.yaml:{where}: YAML anchors and aliases are not allowed ({what};")


@pytest.mark.parametrize("tag", ["!!python/tuple [1, 2]", "!!python/object/apply:os.system [ls]",
                                 "!!binary aGk=", "!!set {a: null}", "!!timestamp 2001-12-14",
                                 "!!omap [a: 1]", "!local {}", "!<tag:example.com,2000:x> 1"])
def test_yaml_tags_other_than_the_json_types_are_refused(tag, yaml_loader):
    error = expect(UnsafeContentError, modelio.model_from_yaml, f"class_name: Dense\nvalue: {tag}\n",
                   "m.yaml")
    assert str(error).startswith("m.yaml:2:8: refusing YAML tag ")
    assert "\n" not in str(error)


def test_yaml_explicit_json_type_tags_are_read(yaml_loader):
    text = "a: !!str 5\nb: !!int '7'\nc: !!float 1\nd: !!bool true\ne: !!null ~\nf: !!seq [1]\ng: ! x\n"
    assert text_config.config_from_yaml(text) == {"a": "5", "b": 7, "c": 1.0, "d": True, "e": None,
                                                 "f": [1], "g": "x"}


@pytest.mark.parametrize("text", ["a: 2001-13-45", "a: 0000-01-01", "a: !!int abc",
                                  "a: !!bool maybe", "a: !!float x", "{[1]: 2}", "a: !!map [1]"])
def test_yaml_values_that_cannot_be_built_are_format_errors(text, yaml_loader):
    error = expect(FormatError, modelio.model_from_yaml, text, "m.yaml")
    assert type(error) is FormatError
    assert str(error).startswith("m.yaml") and "not valid YAML" in str(error)
    assert "\n" not in str(error)


def test_yaml_metadata_is_read_with_the_same_refusals(tmp_path):
    path = tmp_path / "model.yaml"
    path.write_text("keras_version: &v 2.15.0\nbackend: *v\n")
    error = expect(UnsafeContentError, file_metadata, path)
    assert str(error).startswith(f"{path}:1:16: YAML anchors and aliases are not allowed")


# ------------------------------------------------------------------------------------------------
# Messages: one line, file:line:column
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text,expected", [
    ("class_name: Dense\nconfig: {name: d, units: [1, 2\n",
     r"m\.yaml:3:1: not valid YAML \(while parsing a flow sequence: [^\n]+\)"),
    ("class_name: Dense\n\tconfig: {}\n", r"m\.yaml:2:1: not valid YAML \([^\n]+\)"),
])
def test_yaml_syntax_error_is_one_line_with_file_line_and_column(text, expected, yaml_loader):
    # (libyaml and the pure-Python parser word the problem differently)
    assert re.fullmatch(expected, str(expect(FormatError, modelio.model_from_yaml, text, "m.yaml")))


def test_json_syntax_error_is_one_line_with_file_line_and_column():
    error = expect(FormatError, modelio.model_from_json, '{"class_name": "Dense",\n "config": }',
                   "m.json")
    assert str(error) == "m.json:2:12: not valid JSON (Expecting value)"


# ------------------------------------------------------------------------------------------------
# Real models stay well inside the limits
# ------------------------------------------------------------------------------------------------


def _residual_stack(blocks: int):
    inputs = modelio.Input((8, 8, 4))
    outputs = inputs
    for _ in range(blocks):
        branch = layers.Conv2D(4, 3, padding="same")(outputs)
        branch = layers.BatchNormalization()(branch)
        branch = layers.ReLU()(branch)
        outputs = layers.Add()([outputs, branch])
    return modelio.Model(inputs, outputs)


def test_a_thousand_layer_model_loads_from_json_and_yaml_with_room_to_spare():
    model = _residual_stack(250)
    assert len(model.layers) == 1001
    json_text, yaml_text = model.to_json(indent=2), model.to_yaml()
    nodes = _nodes(json.loads(json_text))
    assert nodes * 2 < text_config.MAX_YAML_NODES and nodes * 20 < text_config.MAX_JSON_NODES
    assert len(json_text) * 20 < text_config.MAX_JSON_BYTES
    assert len(yaml_text) * 10 < text_config.MAX_YAML_BYTES
    with deadline(120):
        from_json = modelio.model_from_json(json_text)
        from_yaml = modelio.model_from_yaml(yaml_text)
    assert from_json.get_config() == from_yaml.get_config() == model.get_config()
