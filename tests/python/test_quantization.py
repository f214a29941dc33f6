"""build(do_quantization=True) of the model-preparation helper: calibration data (arrays or a .txt list of .npy
files), per-channel or per-layer int8 weights, int8 or uint8 activations, the accuracy report, and a clear error for
every bad value. Pure Python: needs onnx and onnxruntime, not the compiled runtime."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "python" / "ztu_somemodelruntime_ez_rknn_async"


def _load():
    spec = importlib.util.spec_from_file_location("ezrknn_model_prep_quant", PACKAGE_DIR / "model_prep.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


prep = _load()
SHAPE = [1, 3, 8, 8]


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    """Conv(3->4) + Relu -> Conv(4->2): a float model with two outputs."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.normal(0, 0.3, (4, 3, 3, 3)).astype(np.float32), "w1"),
             numpy_helper.from_array(rng.normal(0, 0.1, 4).astype(np.float32), "b1"),
             numpy_helper.from_array(rng.normal(0, 0.3, (2, 4, 1, 1)).astype(np.float32), "w2")]
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
                              [helper.make_tensor_value_info("r1", TensorProto.FLOAT, [1, 4, 8, 8]),
                               helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 8, 8])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = tmp_path_factory.mktemp("quant") / "float.onnx"
    onnx.save(model, str(path))
    return path


def samples(n=8, seed=1):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, SHAPE).astype(np.float32) for _ in range(n)]


def built(model_path, dataset, **config):
    rknn = prep.RKNN()
    rknn.config(**config)
    rknn.load_onnx(model_path)
    assert rknn.build(do_quantization=True, dataset=dataset) == 0
    return rknn


def cosine(a, b):
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_quantized_model_is_qdq_with_int8_weights_and_a_true_accuracy_report(model_path, tmp_path):
    data = samples()
    rknn = built(model_path, data)
    out = tmp_path / "q.rknn"
    assert rknn.export_rknn(out) == 0
    q = onnx.load(str(out))
    ops = [n.op_type for n in q.graph.node]
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    weights = {t.name: numpy_helper.to_array(t) for t in q.graph.initializer}
    assert any(v.dtype == np.int8 and v.ndim == 4 for v in weights.values())
    # The report, recomputed here from both models on the same inputs.
    f = ort.InferenceSession(str(model_path))
    s = ort.InferenceSession(str(out))
    report = rknn.accuracy_report()
    assert set(report) == {"r1", "y"}
    for name in report:
        want = min(cosine(f.run([name], {"x": x})[0], s.run([name], {"x": x})[0]) for x in data)
        assert report[name] == pytest.approx(want, abs=1e-9)
        assert report[name] > 0.98


def test_per_channel_and_per_layer_weights(model_path):
    def weight_scales(rknn):
        q = rknn._built
        inits = {t.name: numpy_helper.to_array(t) for t in q.graph.initializer}
        return [inits[n.input[1]] for n in q.graph.node
                if n.op_type == "DequantizeLinear" and inits.get(n.input[0]) is not None
                and inits[n.input[0]].dtype == np.int8 and inits[n.input[0]].ndim == 4]
    per_channel = weight_scales(built(model_path, samples(), quantized_method="channel"))
    assert sorted(s.shape for s in per_channel) == [(2,), (4,)]
    per_layer = weight_scales(built(model_path, samples(), quantized_method="layer"))
    assert [s.shape for s in per_layer] == [(), ()]


@pytest.mark.parametrize("dtype, zp_type", [("w8a8", np.int8), ("asymmetric_quantized-8", np.int8),
                                            ("w8a8_uint8", np.uint8), ("w16a16i", np.int16)])
def test_activation_dtype(model_path, dtype, zp_type):
    q = built(model_path, samples(), quantized_dtype=dtype)._built
    inits = {t.name: numpy_helper.to_array(t) for t in q.graph.initializer}
    first_q = next(n for n in q.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == "x")
    assert inits[first_q.input[2]].dtype == zp_type


@pytest.mark.parametrize("algorithm", ["normal", "mmse"])
def test_w16a16i_is_a_16_bit_model_in_the_default_domain(model_path, algorithm):
    """toolkit2's w16a16i: int16 weights and activations. 16-bit Q/DQ nodes are default-domain from opset 21 on (no
    com.microsoft contrib ops, which the NPU would not know); with 65,536 levels every algorithm keeps min/max."""
    data = samples(6)
    rknn = built(model_path, data, quantized_dtype="w16a16i", quantized_algorithm=algorithm)
    q = rknn._built
    assert [o.version for o in q.opset_import if o.domain in ("", "ai.onnx")] == [21]
    assert {n.domain for n in q.graph.node} == {""}
    inits = {t.name: numpy_helper.to_array(t) for t in q.graph.initializer}
    weights = [inits[n.input[0]] for n in q.graph.node if n.op_type == "DequantizeLinear"
               and n.input[0] in inits and inits[n.input[0]].ndim == 4]
    assert len(weights) == 2 and all(w.dtype == np.int16 for w in weights)
    first_q = next(n for n in q.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == "x")
    span = max(float(x.max()) for x in data) - min(float(x.min()) for x in data)
    assert float(inits[first_q.input[1]]) == pytest.approx(span / 65535, rel=1e-5)
    assert min(rknn.accuracy_report().values()) > 0.99999  # 16 bits: next to float


def test_dataset_txt_of_npy_files(model_path, tmp_path):
    data = samples(3)
    lines = []
    for i, x in enumerate(data):
        np.save(tmp_path / f"s{i}.npy", x)
        lines.append(f"s{i}.npy")
    (tmp_path / "dataset.txt").write_text("\n".join(lines) + "\n\n")
    from_file = built(model_path, str(tmp_path / "dataset.txt"))
    from_list = built(model_path, data)
    assert from_file.accuracy_report() == from_list.accuracy_report()
    assert from_file._built.SerializeToString() == from_list._built.SerializeToString()


def test_cli_prepare_quantizes_from_a_dataset_txt(model_path, tmp_path):
    from test_model_prep import run_cli

    for i, x in enumerate(samples(4)):
        np.save(tmp_path / f"s{i}.npy", x)
    (tmp_path / "dataset.txt").write_text("".join(f"s{i}.npy\n" for i in range(4)))
    out = tmp_path / "cli_int8.rknn"
    result = run_cli("prepare", str(model_path), "-o", str(out), "--dataset", str(tmp_path / "dataset.txt"),
                     "--quantized-method", "layer", "--quantized-algorithm", "mmse")
    assert result.returncode == 0, result.stderr
    api = built(model_path, samples(4), quantized_method="layer", quantized_algorithm="mmse")
    assert onnx.load(str(out)).graph == api._built.graph  # the same QDQ model as the Python API writes
    report = api.accuracy_report()
    for name in ("r1", "y"):
        assert f"output '{name}': cosine {report[name]:.6f} against the float model" in result.stdout


@pytest.mark.parametrize("args, text", [
    (["--quantized-algorithm", "mmse"], "--quantized-algorithm needs --dataset"),
    (["--dataset", "missing.txt"], "no such file"),
    (["--dataset", "DATASET", "--quantized-dtype", "w4a16"], "quantized_dtype 'w4a16' is not supported"),
])
def test_cli_prepare_bad_quantization_arguments(model_path, tmp_path, args, text):
    from test_model_prep import run_cli

    np.save(tmp_path / "s.npy", samples(1)[0])
    (tmp_path / "dataset.txt").write_text("s.npy\n")
    args = [str(tmp_path / "dataset.txt") if a == "DATASET" else a for a in args]
    result = run_cli("prepare", str(model_path), "-o", str(tmp_path / "x.rknn"), *args)
    assert result.returncode == 2 and text in result.stderr, result.stderr


def test_bad_datasets_are_refused(model_path, tmp_path):
    rknn = prep.RKNN()
    rknn.load_onnx(model_path)
    with pytest.raises(ValueError, match="dataset is empty"):
        rknn.build(do_quantization=True, dataset=[])
    with pytest.raises(ValueError, match="needs dataset="):
        rknn.build(do_quantization=True)
    with pytest.raises(ValueError, match=r"sample 0 has 2 array\(s\) but the model takes 1"):
        rknn.build(do_quantization=True, dataset=[[samples(1)[0], samples(1)[0]]])
    with pytest.raises(ValueError, match=r"sample 0, input 'x': shape \[1, 3, 4, 4\] does not fit"):
        rknn.build(do_quantization=True, dataset=[np.zeros((1, 3, 4, 4), np.float32)])
    with pytest.raises(TypeError, match="not one array"):
        rknn.build(do_quantization=True, dataset=np.zeros(SHAPE, np.float32))
    with pytest.raises(TypeError, match="expected a numpy array"):
        rknn.build(do_quantization=True, dataset=[[[0.0] * 3]])
    with pytest.raises(FileNotFoundError, match="no such file"):
        rknn.build(do_quantization=True, dataset=str(tmp_path / "missing.txt"))
    (tmp_path / "bad.txt").write_text("image.jpg\n")
    with pytest.raises(ValueError, match="not a .npy file"):
        rknn.build(do_quantization=True, dataset=str(tmp_path / "bad.txt"))
    (tmp_path / "gone.txt").write_text("gone.npy\n")
    with pytest.raises(FileNotFoundError, match="line 1: no such file"):
        rknn.build(do_quantization=True, dataset=str(tmp_path / "gone.txt"))
    (tmp_path / "empty.txt").write_text("\n")
    with pytest.raises(ValueError, match="dataset is empty"):
        rknn.build(do_quantization=True, dataset=str(tmp_path / "empty.txt"))
    with pytest.raises(ValueError, match="only used with do_quantization=True"):
        rknn.build(do_quantization=False, dataset=samples(1))


def _ranges_module():
    spec = importlib.util.spec_from_file_location("ezrknn_quant_ranges_test", PACKAGE_DIR / "quant_ranges.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_quant(v, lo, hi):
    scale = (hi - lo) / 255
    return np.clip(np.round((v - lo) / scale), 0, 255) * scale + lo


def test_mmse_ranges_clip_the_tails_and_lower_the_squared_error(tmp_path):
    """A Relu over Laplace-distributed inputs (long thin tails, as activations have): mmse's range for the input is
    narrower than min/max, and fake-quantizing the calibration data with it gives less squared error."""
    shape = [1, 8, 64, 64]
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    rng = np.random.default_rng(5)
    data = [rng.laplace(0, 1, shape).astype(np.float32) for _ in range(8)]
    ranges = _ranges_module().mmse_ranges(model, [{"x": x} for x in data])
    values = np.concatenate([x.ravel() for x in data]).astype(np.float64)
    lo, hi = ranges["x"]
    assert values.min() < lo < 0 < hi < values.max()
    assert hi - lo < 0.9 * (values.max() - values.min())
    mse = lambda a, b: float(np.mean((values - fake_quant(values, a, b)) ** 2))  # noqa: E731
    assert mse(lo, hi) < 0.8 * mse(values.min(), values.max())
    assert ranges["y"][0] == 0.0 and 0 < ranges["y"][1] < values.max()


@pytest.mark.parametrize("algorithm, search", [("mmse", "mmse_ranges"), ("kl_divergence", "kl_ranges")])
def test_the_algorithm_gives_build_its_activation_ranges(model_path, algorithm, search):
    data = [np.random.default_rng(s).laplace(0, 1, SHAPE).astype(np.float32) for s in range(400)]

    def input_scale(algorithm):
        q = built(model_path, data, quantized_algorithm=algorithm)._built
        inits = {t.name: numpy_helper.to_array(t) for t in q.graph.initializer}
        return next(float(inits[n.input[1]]) for n in q.graph.node if n.op_type == "QuantizeLinear"
                    and n.input[0] == "x")

    lo, hi = getattr(_ranges_module(), search)(onnx.load(str(model_path)), [{"x": x} for x in data])["x"]
    assert input_scale(algorithm) == pytest.approx((hi - lo) / 255, rel=1e-5)
    span = max(float(x.max()) for x in data) - min(float(x.min()) for x in data)
    assert input_scale("normal") == pytest.approx(span / 255, rel=1e-5)
    assert input_scale(algorithm) < input_scale("normal")


def relu_model(shape):
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def test_kl_ranges_clip_long_tails_and_keep_a_uniform_range():
    """Laplace values (long thin tails): KL's range drops the tails but keeps the bulk (|x| <= 3 holds 95%);
    uniform values have no tail to drop, so the range stays min/max up to a histogram bin."""
    shape = [1, 4, 128, 128]
    rng = np.random.default_rng(9)
    laplace = rng.laplace(0, 1, shape).astype(np.float32)
    uniform = rng.uniform(-3, 5, shape).astype(np.float32)
    ranges = _ranges_module()
    lo, hi = ranges.kl_ranges(relu_model(shape), [{"x": laplace}])["x"]
    assert float(laplace.min()) <= lo < -3.0 and 3.0 < hi <= float(laplace.max())
    assert hi - lo < 0.95 * (float(laplace.max()) - float(laplace.min()))
    lo, hi = ranges.kl_ranges(relu_model(shape), [{"x": uniform}])["x"]
    step = (float(uniform.max()) - float(uniform.min())) / ranges.KL_BINS
    assert lo == pytest.approx(float(uniform.min()), abs=step) and hi == pytest.approx(float(uniform.max()), abs=step)


def test_kl_ranges_ignore_the_spike_of_exact_zeros():
    """A Relu's output: half its values are exactly 0, which int8 represents exactly. Without discounting that
    spike, the divergence of every wide range is dominated by it and KL picks a far too narrow range."""
    shape = [1, 4, 128, 128]
    x = np.random.default_rng(4).exponential(1.0, shape).astype(np.float32)
    x[:, :2] = 0.0
    lo, hi = _ranges_module().kl_ranges(relu_model(shape), [{"x": x}])["y"]
    assert lo == 0.0 and hi > 3.0  # P(exp(1) > 3) = 5%: clipping there loses a visible tail


def test_kl_ranges_keep_min_max_on_too_few_values():
    shape = [1, 2, 8, 8]  # 128 values: far fewer than a histogram of 256 levels needs
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    x[0, 0, 0, 0] = 30.0
    lo, hi = _ranges_module().kl_ranges(relu_model(shape), [{"x": x}])["x"]
    assert (lo, hi) == (float(x.min()), 30.0)


@pytest.mark.parametrize("algorithm", ["mmse", "kl_divergence"])
def test_range_search_refuses_calibration_data_that_is_not_finite(model_path, algorithm):
    data = samples(3)
    data[1][0, 0, 2, 2] = np.inf
    with pytest.raises(ValueError, match=f"quantized_algorithm='{algorithm}': tensor 'x' is not finite"):
        built(model_path, data, quantized_algorithm=algorithm)


@pytest.mark.parametrize("option, value, error, text", [
    ("quantized_dtype", "w4a16", ValueError, "quantized_dtype 'w4a16' is not supported"),
    ("quantized_dtype", 8, TypeError, "quantized_dtype must be a str"),
    ("quantized_algorithm", "best", ValueError, "'best' is not one of normal"),
    ("quantized_method", "tensor", ValueError, "'tensor' is not one of channel, layer"),
])
def test_bad_quantization_options_are_refused(option, value, error, text):
    with pytest.raises(error, match=text):
        prep.RKNN().config(**{option: value})


def test_normal_algorithm_is_accepted_and_report_needs_a_quantized_build(model_path):
    rknn = prep.RKNN()
    assert rknn.config(quantized_algorithm="normal", quantized_dtype="w8a8", quantized_method="channel") == 0
    rknn.load_onnx(model_path)
    rknn.build(do_quantization=False)
    with pytest.raises(RuntimeError, match="no quantized build"):
        rknn.accuracy_report()


def test_an_opset_11_model_is_converted_to_opset_13_for_per_channel_weights(model_path, tmp_path):
    """Per-channel weights need DequantizeLinear's axis (opset 13); PP-OCR's models are opset 11 and 12."""
    old = onnx.load(str(model_path))
    old.opset_import[0].version = 11
    path = tmp_path / "opset11.onnx"
    onnx.save(old, str(path))
    rknn = built(path, samples(), quantized_method="channel")
    model = rknn._built
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [13]
    assert any(n.op_type == "DequantizeLinear" and any(a.name == "axis" for a in n.attribute) for n in model.graph.node)
    onnx.checker.check_model(model)
    assert min(rknn.accuracy_report().values()) > 0.98


def test_weights_in_constant_nodes_are_quantized_too(model_path, tmp_path):
    """paddle2onnx (PP-OCR) keeps every weight in a Constant node: they must become int8 weights like initializers."""
    model = onnx.load(str(model_path))
    constants = []
    for t in list(model.graph.initializer):
        constants.append(helper.make_node("Constant", [], [t.name], value=t))
    del model.graph.initializer[:]
    nodes = constants + list(model.graph.node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    path = tmp_path / "constants.onnx"
    onnx.save(model, str(path))
    q = built(path, samples())._built
    inits = {t.name: numpy_helper.to_array(t) for t in q.graph.initializer}
    int8_weights = [inits[n.input[0]] for n in q.graph.node
                    if n.op_type == "DequantizeLinear" and n.input[0] in inits and inits[n.input[0]].ndim == 4]
    assert len(int8_weights) == 2 and all(w.dtype == np.int8 for w in int8_weights)
    assert not any(n.op_type == "Constant" for n in q.graph.node)
