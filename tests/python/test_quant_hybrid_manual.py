"""Manual hybrid quantization, toolkit2's hybrid_quantization_step1 / step2 (quant_hybrid_cfg.py, quant_cfg_yaml.py):
the three files, editing the cfg, proposal=True, custom_hybrid, bad files and arguments, and step 2 against
build(auto_hybrid=True). Pure Python (onnx and onnxruntime); cosines are computed here with onnxruntime."""
from __future__ import annotations

import re

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from test_quant_hybrid import build, hostile_chain, prep, quantized_inputs, samples, worst_cosine  # noqa: E402

HOSTILE = ["conv1", "conv2"]  # the Convs around the tensor with the 300x channel (test_quant_hybrid.py)
CFG_LINE = re.compile(r"^    (#\s*)?(\S+): (\S+)$")


def step1(tmp_path, monkeypatch, model=None, data=None, config=None, **options):
    """Runs step 1 in tmp_path; returns the paths of chain.model, chain.data, chain.quantization.cfg."""
    monkeypatch.chdir(tmp_path)
    rknn = prep.RKNN()
    rknn.config(**(config or {}))
    rknn.load_onnx(hostile_chain() if model is None else model)
    assert rknn.hybrid_quantization_step1(dataset=samples() if data is None else data, **options) == 0
    return tuple(str(tmp_path / f"chain.{ext}") for ext in ("model", "data", "quantization.cfg"))


def step2(paths):
    rknn = prep.RKNN()
    assert rknn.hybrid_quantization_step2(*paths) == 0
    return rknn


def listed(cfg_path) -> dict:
    """custom_quantize_layers as written: node -> dtype for the lines that are not commented out."""
    entries, inside = {}, False
    for line in open(cfg_path, encoding="utf-8").read().splitlines():
        if not line.startswith(" "):
            inside = line.startswith("custom_quantize_layers:")
            continue
        match = CFG_LINE.match(line)
        if inside and match and not match.group(1):
            entries[match.group(2)] = match.group(3)
    return entries


def set_float(cfg_path, names):
    """Uncomments the `name: float16` lines of `names`, as a user editing the file would."""
    lines = open(cfg_path, encoding="utf-8").read().splitlines()
    for i, line in enumerate(lines):
        match = CFG_LINE.match(line)
        if match and match.group(1) and match.group(2) in names:
            lines[i] = f"    {match.group(2)}: float16"
    with open(cfg_path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def test_step1_writes_the_model_the_data_and_the_cfg(tmp_path, monkeypatch):
    model_path, data_path, cfg_path = step1(tmp_path, monkeypatch)
    written = onnx.load(model_path)
    assert [n.name for n in written.graph.node] == [f"{op}{i}" for i in range(5) for op in ("conv", "relu")][:-1]
    assert listed(cfg_path) == {}  # int8 everywhere until the user lists nodes
    text = open(cfg_path, encoding="utf-8").read()
    assert "\ncustom_quantize_layers:\n    # conv0: float16\n" in text and "    # conv2: float16" in text
    # The reference section: w1's channel 0 is 300x larger, so is its symmetric int8 scale (max |w| / 127).
    w1 = numpy_helper.to_array(next(t for t in hostile_chain().graph.initializer if t.name == "w1"))
    scales = re.search(r"^    w1:\n(?:        .*\n)*?        scale: \[(.*)\]$", text, re.M).group(1)
    expected = np.abs(w1).reshape(8, -1).max(axis=1) / 127
    np.testing.assert_allclose([float(v) for v in scales.split(",")], expected, rtol=1e-6)
    x_part = re.search(r"^    x:\n((?:        .*\n)+)", text, re.M).group(1)
    assert "dtype: int8" in x_part and "zero_point:" in x_part
    with np.load(data_path) as data:  # the calibration inputs, for step 2's accuracy report
        stored = sorted(k for k in data.files if k.startswith("feed_"))
        assert len(stored) == 12
        np.testing.assert_array_equal(data["feed_3_0"], samples()[3])
    with pytest.raises(RuntimeError, match="nothing built"):
        rknn = prep.RKNN()
        rknn.load_onnx(hostile_chain())
        rknn.hybrid_quantization_step1(dataset=samples(2))
        rknn.export_rknn(str(tmp_path / "x.rknn"))


def test_files_are_named_after_the_model_file(tmp_path, monkeypatch, capsys):
    source = tmp_path / "my net.onnx"
    onnx.save(hostile_chain(), str(source))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    rknn = prep.RKNN()
    rknn.load_onnx(str(source))
    rknn.hybrid_quantization_step1(dataset=samples(2))
    assert sorted(p.name for p in work.iterdir()) == ["my_net.data", "my_net.model", "my_net.quantization.cfg"]
    assert f"I hybrid_quantization_step1: wrote {work / 'my_net.model'}, " in capsys.readouterr().err


def test_float16_in_the_cfg_reaches_the_cosine_int8_misses(tmp_path, monkeypatch):
    paths = step1(tmp_path, monkeypatch)
    data = samples()
    plain = step2(paths)
    assert worst_cosine(hostile_chain(), plain._built, data) < 0.98
    assert plain.hybrid_nodes() == []

    set_float(paths[2], HOSTILE)
    assert listed(paths[2]) == {"conv1": "float16", "conv2": "float16"}
    rknn = step2(paths)
    got = worst_cosine(hostile_chain(), rknn._built, data)
    assert got >= 0.98
    assert rknn.accuracy_report()["c4"] == pytest.approx(got, abs=1e-5)
    assert rknn.hybrid_nodes() == HOSTILE
    assert "conv2" not in quantized_inputs(rknn._built) and "conv4" in quantized_inputs(rknn._built)
    out = tmp_path / "chain.rknn"
    assert rknn.export_rknn(str(out)) == 0
    assert worst_cosine(hostile_chain(), onnx.load(str(out)), data) == pytest.approx(got, abs=1e-9)


def test_proposal_lists_the_nodes_the_search_keeps_float(tmp_path, monkeypatch, capsys):
    paths = step1(tmp_path, monkeypatch, proposal=True)
    assert listed(paths[2]) == {name: "float16" for name in HOSTILE}
    assert "I auto_hybrid: grow:" in capsys.readouterr().err
    assert worst_cosine(hostile_chain(), step2(paths)._built, samples()) >= 0.98


def test_custom_hybrid_lists_the_nodes_between_two_tensors(tmp_path, monkeypatch):
    paths = step1(tmp_path, monkeypatch, custom_hybrid=[["r0", "c2"]])
    assert listed(paths[2]) == {"conv1": "float16", "relu1": "float16", "conv2": "float16"}
    paths = step1(tmp_path, monkeypatch, custom_hybrid=[["x", "c0"], ["r2", "c3"]])
    assert listed(paths[2]) == {"conv0": "float16", "conv3": "float16"}


def diamond() -> onnx.ModelProto:
    """x -> Relu -> t1; t1 -> Sigmoid -> t2 and t1 -> Tanh -> t3; Add(t2, t3) -> t4 -> Relu -> y."""
    nodes = [helper.make_node("Relu", ["x"], ["t1"], name="n1"),
             helper.make_node("Sigmoid", ["t1"], ["t2"], name="n2"),
             helper.make_node("Tanh", ["t1"], ["t3"], name="n3"),
             helper.make_node("Add", ["t2", "t3"], ["t4"], name="n4"),
             helper.make_node("Relu", ["t4"], ["y"], name="n5")]
    graph = helper.make_graph(nodes, "diamond", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def test_nodes_between_follows_every_branch():
    between = prep._sibling("quant_hybrid_cfg").nodes_between
    assert between(diamond(), [["t1", "t4"]]) == ["n2", "n3", "n4"]
    assert between(diamond(), [["x", "t2"]]) == ["n1", "n2"]
    assert between(diamond(), [["t3", "y"], ["x", "t1"]]) == ["n1", "n4", "n5"]
    with pytest.raises(ValueError, match="no path from tensor 't2' to tensor 't3'"):
        between(diamond(), [["t2", "t3"]])


@pytest.mark.parametrize("custom_hybrid, error, text", [
    ([["x", "nowhere"]], ValueError, "no tensor 'nowhere'"),
    ([["r2", "r0"]], ValueError, "no path from tensor 'r2' to tensor 'r0'"),
    ([["c1", "c1"]], ValueError, "no path"),
    ("x", TypeError, "list of \\[start_tensor, end_tensor\\] pairs"),
    ([], TypeError, "non-empty list"),
    ([["x"]], TypeError, "must be a pair of tensor names"),
    ([["x", 3]], TypeError, "must be a pair of tensor names")])
def test_bad_custom_hybrid_is_refused(tmp_path, monkeypatch, custom_hybrid, error, text):
    with pytest.raises(error, match=text):
        step1(tmp_path, monkeypatch, data=samples(2), custom_hybrid=custom_hybrid)


def test_custom_hybrid_names_a_tensor_the_folds_removed(tmp_path, monkeypatch):
    """Conv -> BatchNormalization: the fold leaves one Conv writing the BN's output; the Conv's own output is gone."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.normal(0, 0.5, (4, 3, 1, 1)).astype(np.float32), "w"),
             *(numpy_helper.from_array(v.astype(np.float32), n) for n, v in
               (("s", rng.uniform(0.5, 1.5, 4)), ("b", rng.normal(0, 1, 4)), ("m", rng.normal(0, 1, 4)),
                ("v", rng.uniform(0.5, 1.5, 4))))]
    nodes = [helper.make_node("Conv", ["x", "w"], ["conv_out"], name="conv"),
             helper.make_node("BatchNormalization", ["conv_out", "s", "b", "m", "v"], ["bn_out"], name="bn"),
             helper.make_node("Relu", ["bn_out"], ["y"], name="relu")]
    graph = helper.make_graph(nodes, "bn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    with pytest.raises(ValueError, match="'conv_out'.*the loaded model has it, but folding"):
        step1(tmp_path, monkeypatch, model=model, data=samples(2), custom_hybrid=[["x", "conv_out"]])


def test_bad_step1_arguments_are_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rknn = prep.RKNN()
    with pytest.raises(RuntimeError, match="no model loaded"):
        rknn.hybrid_quantization_step1(dataset=samples(2))
    rknn.load_onnx(hostile_chain())
    for options, error, text in [({}, ValueError, "needs dataset="),
                                 ({"proposal_dataset_size": 0}, ValueError, "proposal_dataset_size must be >= 1"),
                                 ({"proposal_dataset_size": "1"}, TypeError, "proposal_dataset_size must be an int"),
                                 ({"proposal": "yes"}, TypeError, "proposal must be True or False"),
                                 ({"rknn_batch_size": 4}, NotImplementedError, "rknn_batch_size")]:
        with pytest.raises(error, match=text):
            rknn.hybrid_quantization_step1(**options)
    assert list(tmp_path.iterdir()) == []  # nothing written by a refused call


BAD_EDITS = [  # (the entries under custom_quantize_layers, the edited line the error names (1 = first), error text)
    ("    convX: float16", 1, r"node 'convX' is not a node of chain\.model; close names: conv"),
    ("    conv1: int4", 1, r"node 'conv1': dtype 'int4' is not supported; use float16"),
    ("    conv1: int16", 1, r"dtype 'int16' is not supported.*w16a16i"),
    ("    conv1 float16", 1, r"expected 'key: value'"),
    ("    conv1: float16\n    conv1: float16", 2, r"'conv1' is given twice \(first on line \d+\)"),
    ("    \"conv1: float16", 1, r"a \" quote is not closed"),
    ("    - conv1", 1, r"'- item' lists are not supported"),
    ("    conv1: float16\n      conv2: float16", 2, r"indented under 'conv1', which already has a value on line"),
    ("    conv1: float16\n  conv2: float16", 2, r"indented by 2 spaces where this mapping's keys are indented by 4"),
    ("\tconv1: float16", 1, r"a tab in the indentation"),
    ("    conv1: {dtype: float16}", 1, r"flow mappings"),
    ("    conv1:\n        dtype: float16", 1, r"node 'conv1': dtype .* is not supported"),
    ("layers:\n    conv1: float16", 1, r"unknown section 'layers'"),
]


@pytest.mark.parametrize("edit, edited_line, text", BAD_EDITS)
def test_bad_cfg_entries_name_the_line(tmp_path, monkeypatch, edit, edited_line, text):
    paths = step1(tmp_path, monkeypatch, data=samples(2))
    lines = open(paths[2], encoding="utf-8").read().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("custom_quantize_layers:"))
    lines[at] = "custom_quantize_layers:"
    lines[at + 1:at + 1] = edit.split("\n")
    with open(paths[2], "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=text) as failure:
        step2(paths)
    assert f"quantization.cfg line {at + 1 + edited_line}:" in str(failure.value)


def test_cfg_without_its_section_is_refused(tmp_path, monkeypatch):
    paths = step1(tmp_path, monkeypatch, data=samples(2))
    text = open(paths[2], encoding="utf-8").read().replace("    # conv1: float16", "    conv1: float16")
    with open(paths[2], "w", encoding="utf-8", newline="\r\n") as f:
        f.write("\ufeff" + text)  # a Windows editor's BOM and line ends are fine
    assert step2(paths).hybrid_nodes() == ["conv1"]
    with open(paths[2], "wb") as f:
        f.write(b"custom_quantize_layers:\n    conv1: float16 \xff\n")
    with pytest.raises(ValueError, match="not a UTF-8 text file"):
        step2(paths)
    with open(paths[2], "w", encoding="utf-8") as f:
        f.write("# empty\n")
    with pytest.raises(ValueError, match="no 'custom_quantize_layers:' section"):
        step2(paths)


def test_missing_and_mismatched_files_are_refused(tmp_path, monkeypatch):
    paths = step1(tmp_path, monkeypatch, data=samples(2))
    for i, what in enumerate(("model_input", "data_input", "model_quantization_cfg")):
        missing = list(paths)
        missing[i] = str(tmp_path / "absent.file")
        with pytest.raises(FileNotFoundError, match=f"{what} '.*absent.file' does not exist"):
            step2(missing)
    other = tmp_path / "other"
    other.mkdir()
    changed = hostile_chain()
    changed.graph.initializer[0].raw_data = numpy_helper.from_array(
        numpy_helper.to_array(changed.graph.initializer[0]) * 2).raw_data
    other_paths = step1(other, monkeypatch, model=changed, data=samples(2))
    with pytest.raises(ValueError, match="was written with another model than model_input"):
        step2([other_paths[0], paths[1], paths[2]])
    (tmp_path / "junk.data").write_bytes(b"not an archive")
    with pytest.raises(ValueError, match="is not a .data file written by hybrid_quantization_step1"):
        step2([paths[0], str(tmp_path / "junk.data"), paths[2]])
    with np.load(paths[1]) as data:
        arrays = {k: data[k] for k in data.files}
    for key, value in (("calibration", np.array("{not json")), ("feed_1_0", None), ("settings", np.array("[]"))):
        damaged = dict(arrays)
        if value is None:
            del damaged[key]
        else:
            damaged[key] = value
        with open(tmp_path / "damaged.data", "wb") as f:
            np.savez(f, **damaged)
        with pytest.raises(ValueError, match="damaged.data' is damaged: .*run hybrid_quantization_step1 again"):
            step2([paths[0], str(tmp_path / "damaged.data"), paths[2]])
    (tmp_path / "junk.model").write_bytes(b"\xff\xff\xff")
    with pytest.raises(ValueError, match="is not an ONNX model"):
        step2([str(tmp_path / "junk.model"), paths[1], paths[2]])
    with pytest.raises(TypeError, match="model_input must be a non-empty path"):
        step2([None, paths[1], paths[2]])


def test_step2_equals_build_auto_hybrid_for_the_same_nodes(tmp_path, monkeypatch):
    """With mmse ranges and mean/std: step 2 restores the configuration and the searched ranges."""
    config = {"quantized_algorithm": "mmse", "mean_values": [[0.1, 0.0, -0.1]], "std_values": [[0.9, 1.0, 1.1]],
              "custom_string": "hybrid", "target_platform": "rk3576"}
    reference = build(hostile_chain(), samples(), **config)
    assert reference.hybrid_nodes()
    paths = step1(tmp_path, monkeypatch, config=config)
    set_float(paths[2], reference.hybrid_nodes())
    rknn = step2(paths)
    assert rknn.hybrid_nodes() == reference.hybrid_nodes()
    assert rknn._built.graph == reference._built.graph
    assert list(rknn._built.metadata_props) == list(reference._built.metadata_props)
    assert rknn.accuracy_report()["c4"] == pytest.approx(reference.accuracy_report()["c4"], abs=1e-5)


def test_step2_does_not_calibrate_again(tmp_path, monkeypatch):
    """Inputs 10x larger in the .data change the accuracy report but not the quantization: the ranges come from
    step 1's calibration (where onnxruntime can cache it)."""
    q = prep._quantization()
    if not q._has_calibration_cache():
        pytest.skip("this onnxruntime has no calibration cache: step 2 calibrates again on the stored inputs")
    paths = step1(tmp_path, monkeypatch)
    set_float(paths[2], HOSTILE)
    before = step2(paths)._built
    with np.load(paths[1]) as data:
        arrays = {k: data[k] * 10 if k.startswith("feed_") else data[k] for k in data.files}
    with open(paths[1], "wb") as f:
        np.savez(f, **arrays)
    after = step2(paths)._built
    assert after.graph == before.graph


def test_without_a_calibration_cache_step2_calibrates_on_the_stored_inputs_with_the_same_result(tmp_path, monkeypatch):
    """An onnxruntime whose quantize_static has no calibration_cache_path: the .data holds no cache."""
    import onnxruntime.quantization as ortq

    paths = step1(tmp_path, monkeypatch)
    set_float(paths[2], HOSTILE)
    with_cache = step2(paths)._built
    real = ortq.quantize_static

    def without_cache(*args, **kwargs):
        assert "calibration_cache_path" not in kwargs
        return real(*args, **kwargs)

    monkeypatch.setattr(ortq, "quantize_static", without_cache)
    other = tmp_path / "no_cache"
    other.mkdir()
    paths = step1(other, monkeypatch)
    with np.load(paths[1]) as data:
        assert str(data["calibration"]) == ""
    set_float(paths[2], HOSTILE)
    assert step2(paths)._built.graph == with_cache.graph


@pytest.mark.parametrize("name", ["conv", "Conv@12", "@x", "a: b", "it's", "#x", "true", "123", "ü-conv", "x # y",
                                  "[0]", "/backbone/conv1/Conv"])
def test_cfg_keys_round_trip_through_the_yaml_subset(name):
    y = prep._sibling("quant_cfg_yaml")
    text = f"custom_quantize_layers:\n    {y.quote(name)}: float16  # a comment\n"
    tree = y.parse(text, "t.cfg")
    assert dict(tree["custom_quantize_layers"]) == {name: "float16"}
    assert tree["custom_quantize_layers"].lines[name] == 2


def test_yaml_subset_refuses_keys_under_a_key_with_a_value():
    y = prep._sibling("quant_cfg_yaml")
    with pytest.raises(ValueError, match="t.cfg line 3: indented under 'custom_quantize_layers', which already has a "
                                         "value on line 2"):
        y.parse("# c\ncustom_quantize_layers: {}\n    conv1: float16\n", "t.cfg")
    tree = y.parse("a:\n    b: [1, 2.5, '3']\nc: {}\n", "t.cfg")
    assert tree == {"a": {"b": ["1", "2.5", "3"]}, "c": {}}


def test_two_inputs_in_another_order_with_mean_std_round_trip(tmp_path, monkeypatch):
    """The .data keeps each input's samples under its own name: step 2 equals build() for a model whose inputs
    load_onnx(inputs=...) lists in another order than the graph."""
    w = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3, 1, 1) - 2.5, "w")
    nodes = [helper.make_node("Mul", ["a", "b"], ["s"], name="mul"),
             helper.make_node("Conv", ["s", "w"], ["y"], name="conv")]
    graph = helper.make_graph(nodes, "two", [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 3, 4, 4])
                                             for n in ("a", "b")],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 4, 4])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    rng = np.random.default_rng(0)
    data = [[rng.normal(0, 1, (1, 3, 4, 4)).astype(np.float32), rng.uniform(0, 9, (1, 3, 4, 4)).astype(np.float32)]
            for _ in range(3)]
    config = {"mean_values": [[0.5], [1, 2, 3]], "std_values": [[2], [1]]}
    reference = prep.RKNN()
    reference.config(**config)
    reference.load_onnx(model, inputs=["b", "a"])
    reference.build(do_quantization=True, dataset=data)
    monkeypatch.chdir(tmp_path)
    rknn = prep.RKNN()
    rknn.config(**config)
    rknn.load_onnx(model, inputs=["b", "a"])
    rknn.hybrid_quantization_step1(dataset=data)
    rknn = step2([str(tmp_path / f"two.{ext}") for ext in ("model", "data", "quantization.cfg")])
    assert rknn._built == reference._built
    assert rknn.accuracy_report() == pytest.approx(reference.accuracy_report(), abs=1e-6)
