"""build(do_quantization=True, auto_hybrid=True): the search for the nodes to keep float (quant_hybrid.py), its
options and their bad values, and the CLI's --auto-hybrid. Pure Python (onnx and onnxruntime); the emulator runs
auto-hybrid PP-OCR models in test_quant_real_models.py."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "python" / "ztu_somemodelruntime_ez_rknn_async"
SHAPE = [1, 3, 8, 8]


def _load():
    spec = importlib.util.spec_from_file_location("ezrknn_model_prep_hybrid", PACKAGE_DIR / "model_prep.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


prep = _load()


def hostile_chain() -> onnx.ModelProto:
    """Five 1x1/3x3 Convs with Relus. The second Conv's channel 0 is 300x larger than its other channels and the
    third Conv ignores that channel: int8 over the min/max range of that tensor leaves the other seven channels a
    step as large as their values, so the int8 model is far off while every other tensor is harmless."""
    rng = np.random.default_rng(3)
    w = [rng.normal(0, 0.4, (8, 3, 3, 3)), rng.normal(0, 0.4, (8, 8, 1, 1)), rng.normal(0, 0.4, (8, 8, 1, 1)),
         rng.normal(0, 0.4, (8, 8, 1, 1)), rng.normal(0, 0.4, (4, 8, 1, 1))]
    w[1][0] *= 300.0
    w[2][:, 0] = 0.0
    inits = [numpy_helper.from_array(v.astype(np.float32), f"w{i}") for i, v in enumerate(w)]
    nodes, x = [], "x"
    for i in range(5):
        nodes.append(helper.make_node("Conv", [x, f"w{i}"], [f"c{i}"], name=f"conv{i}",
                                      pads=[1, 1, 1, 1] if i == 0 else [0, 0, 0, 0]))
        x = f"c{i}"
        if i < 4:
            nodes.append(helper.make_node("Relu", [x], [f"r{i}"], name=f"relu{i}"))
            x = f"r{i}"
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
                              [helper.make_tensor_value_info("c4", TensorProto.FLOAT, [1, 4, 8, 8])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


def samples(n=12, seed=1):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, SHAPE).astype(np.float32) for _ in range(n)]


def worst_cosine(float_model, quant_model, data) -> float:
    so = ort.SessionOptions()
    so.log_severity_level = 3
    f = ort.InferenceSession(float_model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    q = ort.InferenceSession(quant_model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    worst = 1.0
    for x in data:
        a = f.run(None, {"x": x})[0].ravel().astype(np.float64)
        b = q.run(None, {"x": x})[0].ravel().astype(np.float64)
        worst = min(worst, float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b))))
    return worst


def build(model, data, auto_hybrid=True, **config):
    rknn = prep.RKNN()
    rknn.config(**config)
    rknn.load_onnx(model)
    assert rknn.build(do_quantization=True, dataset=data, auto_hybrid=auto_hybrid) == 0
    return rknn


def quantized_inputs(model) -> set:
    """Names of the nodes whose first input comes from a DequantizeLinear (nodes running on int8 data)."""
    dq = {n.output[0] for n in model.graph.node if n.op_type == "DequantizeLinear"}
    return {n.name for n in model.graph.node if n.op_type != "QuantizeLinear" and n.input and n.input[0] in dq}


def test_int8_alone_misses_the_threshold_and_the_search_keeps_the_hostile_convs_float(capsys):
    model, data = hostile_chain(), samples()
    plain = build(model, data, auto_hybrid=False)
    assert worst_cosine(model, plain._built, data) < 0.98  # the case the search exists for
    assert plain.hybrid_nodes() == []

    rknn = build(model, data)
    nodes = rknn.hybrid_nodes()
    got = worst_cosine(model, rknn._built, data)
    assert got >= 0.98
    assert rknn.accuracy_report()["c4"] == pytest.approx(got, abs=1e-6)
    # The tensor with the 300x channel is written by conv1 and read by conv2: both must compute in float.
    assert {"conv1", "conv2"} <= set(nodes)
    assert "conv2" not in quantized_inputs(rknn._built)
    # ... and the search stops there: the last Conv, far from it, still reads int8 data.
    assert "conv4" not in nodes and "conv4" in quantized_inputs(rknn._built)
    err = capsys.readouterr().err
    assert "I auto_hybrid: int8 everywhere: lowest cosine" in err and "grow:" in err


def test_a_model_that_keeps_the_threshold_in_int8_stays_int8(capsys):
    model, data = hostile_chain(), samples()
    rknn = build(model, data, auto_hybrid_cos_thresh=0.05)
    assert rknn.hybrid_nodes() == []
    assert "conv1" in quantized_inputs(rknn._built) and "conv2" in quantized_inputs(rknn._built)
    assert "rank" not in capsys.readouterr().err  # no search was needed


def test_a_stricter_threshold_keeps_more_float():
    model, data = hostile_chain(), samples()
    loose = build(model, data, auto_hybrid_cos_thresh=0.95)
    strict = build(model, data, auto_hybrid_cos_thresh=0.9999)
    assert worst_cosine(model, loose._built, data) >= 0.95
    assert worst_cosine(model, strict._built, data) >= 0.9999
    assert len(strict.hybrid_nodes()) >= len(loose.hybrid_nodes()) > 0


@pytest.mark.parametrize("value, error, text", [
    ("0.9", TypeError, "must be a number"), (True, TypeError, "must be a number"),
    (0, ValueError, "between 0 and 1"), (1.0, ValueError, "between 0 and 1"), (1.5, ValueError, "between 0 and 1"),
    (float("nan"), ValueError, "between 0 and 1")])
def test_bad_thresholds_are_refused(value, error, text):
    with pytest.raises(error, match=text):
        prep.RKNN().config(auto_hybrid_cos_thresh=value)


def test_bad_uses_are_refused():
    with pytest.raises(TypeError, match="auto_hybrid is an option of build"):
        prep.RKNN().config(auto_hybrid=True)
    with pytest.raises(NotImplementedError, match="auto_hybrid_euc_thresh is not implemented"):
        prep.RKNN().config(auto_hybrid_euc_thresh=0.1)
    rknn = prep.RKNN()
    rknn.load_onnx(hostile_chain())
    with pytest.raises(ValueError, match="needs do_quantization=True"):
        rknn.build(auto_hybrid=True)
    with pytest.raises(TypeError, match="auto_hybrid must be True or False"):
        rknn.build(do_quantization=True, dataset=samples(2), auto_hybrid="yes")
    with pytest.raises(RuntimeError, match="no quantized build"):
        rknn.hybrid_nodes()
    rknn.config(auto_hybrid_cos_thresh=None)  # None restores the default


def test_cli_auto_hybrid(tmp_path):
    model_path = tmp_path / "chain.onnx"
    onnx.save(hostile_chain(), str(model_path))
    lines = []
    for n, x in enumerate(samples()):
        np.save(tmp_path / f"s{n}.npy", x)
        lines.append(f"s{n}.npy")
    (tmp_path / "dataset.txt").write_text("\n".join(lines) + "\n")
    out = tmp_path / "chain.rknn"
    from test_model_prep import run_cli

    done = run_cli("prepare", str(model_path), "-o", str(out), "--dataset", str(tmp_path / "dataset.txt"),
                   "--auto-hybrid", "--auto-hybrid-cos-thresh", "0.99")
    assert done.returncode == 0, done.stderr
    assert "auto hybrid:" in done.stdout and "conv1" in done.stdout
    assert worst_cosine(hostile_chain(), onnx.load(str(out)), samples()) >= 0.99
    bad = run_cli("prepare", str(model_path), "-o", str(out), "--auto-hybrid")
    assert bad.returncode == 2 and "--auto-hybrid needs --dataset" in bad.stderr
    bad = run_cli("prepare", str(model_path), "-o", str(out), "--dataset", str(tmp_path / "dataset.txt"),
                  "--auto-hybrid-cos-thresh", "0.9")
    assert bad.returncode == 2 and "give both" in bad.stderr
