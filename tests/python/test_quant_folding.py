"""quant_folding.fold_for_quantization: BatchNormalization and constant Mul/Add after a Conv go into its weights,
the exported HardSwish becomes one node, the float results stay the same, and nothing is folded where a tensor has
another reader or is a graph output. Pure Python: needs onnx and onnxruntime."""
from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "python" / "ztu_somemodelruntime_ez_rknn_async"
SHAPE = [1, 3, 8, 8]


def _load():
    spec = importlib.util.spec_from_file_location("ezrknn_quant_folding_test", PACKAGE_DIR / "quant_folding.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


folding = _load()


def chain_model(extra_output=None, transposed=False):
    """Conv(3->4) -> BatchNormalization -> Mul by a scalar -> Add per channel -> x*Clip(x+3,0,6)/6 -> Conv(4->2)."""
    rng = np.random.default_rng(0)
    w1 = rng.normal(0, 0.5, (3, 4, 3, 3) if transposed else (4, 3, 3, 3)).astype(np.float32)
    arrays = {"w1": w1, "gamma": rng.uniform(0.5, 2, 4), "beta": rng.normal(0, 1, 4), "mean": rng.normal(0, 1, 4),
              "var": rng.uniform(0.1, 3, 4), "s": np.array(1.7), "b": rng.normal(0, 1, (1, 4, 1, 1)),
              "three": np.array(3.0), "zero": np.array(0.0), "six": np.array(6.0),
              "w2": rng.normal(0, 0.5, (2, 4, 1, 1))}
    inits = [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in arrays.items()]
    conv = "ConvTranspose" if transposed else "Conv"
    nodes = [helper.make_node(conv, ["x", "w1"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "gamma", "beta", "mean", "var"], ["bn"], epsilon=1e-5),
             helper.make_node("Mul", ["s", "bn"], ["m"]),
             helper.make_node("Add", ["m", "b"], ["a"]),
             helper.make_node("Add", ["a", "three"], ["a3"]),
             helper.make_node("Clip", ["a3", "zero", "six"], ["cl"]),
             helper.make_node("Mul", ["a", "cl"], ["prod"]),
             helper.make_node("Div", ["prod", "six"], ["hs"]),
             helper.make_node("Conv", ["hs", "w2"], ["y"])]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 8, 8])]
    if extra_output:
        outputs.append(helper.make_tensor_value_info(extra_output, TensorProto.FLOAT, [1, 4, 8, 8]))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)], outputs,
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


def run(model, x):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})


@pytest.mark.parametrize("transposed", [False, True], ids=["conv", "conv-transpose"])
def test_folds_keep_the_float_results(transposed):
    model = chain_model(transposed=transposed)
    folded = folding.fold_for_quantization(model)
    onnx.checker.check_model(folded)
    assert Counter(n.op_type for n in folded.graph.node) == Counter(
        {"Conv": 1, "ConvTranspose": 1} if transposed else {"Conv": 2}) + Counter({"HardSwish": 1})
    assert any(o.version >= 14 for o in folded.opset_import if o.domain in ("", "ai.onnx"))
    x = np.random.default_rng(1).normal(0, 2, SHAPE).astype(np.float32)
    np.testing.assert_allclose(run(folded, x)[0], run(model, x)[0], rtol=1e-4, atol=1e-4)
    assert len(model.graph.node) == 9  # the input model is left as it was


@pytest.mark.parametrize("output,kept", [("c", ["BatchNormalization", "Mul", "Add"]), ("m", ["Add"]),
                                         ("a3", ["Add", "Clip", "Div"])])
def test_a_tensor_that_is_also_an_output_is_not_folded_away(output, kept):
    model = chain_model(extra_output=output)
    folded = folding.fold_for_quantization(model)
    ops = Counter(n.op_type for n in folded.graph.node)
    for op in kept:
        assert ops[op] >= 1, (output, ops)
    x = np.random.default_rng(2).normal(0, 2, SHAPE).astype(np.float32)
    for got, want in zip(run(folded, x), run(model, x)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_a_constant_that_varies_along_width_is_not_folded():
    model = chain_model()
    b = next(t for t in model.graph.initializer if t.name == "b")
    b.CopyFrom(numpy_helper.from_array(np.arange(8, dtype=np.float32).reshape(1, 1, 1, 8), "b"))
    folded = folding.fold_for_quantization(model)
    assert sum(n.op_type == "Add" for n in folded.graph.node) == 1
    x = np.random.default_rng(3).normal(0, 2, SHAPE).astype(np.float32)
    np.testing.assert_allclose(run(folded, x)[0], run(model, x)[0], rtol=1e-4, atol=1e-4)


def test_weights_still_read_elsewhere_are_kept():
    """The BatchNormalization's mean is also read inside an If branch and listed as a graph input (old IR): folding
    the BatchNormalization must keep that initializer."""
    model = chain_model()
    branch = helper.make_graph([helper.make_node("Identity", ["mean"], ["m_out"])], "branch", [],
                               [helper.make_tensor_value_info("m_out", TensorProto.FLOAT, [4])])
    model.graph.node.append(helper.make_node("If", ["cond"], ["picked"], then_branch=branch, else_branch=branch))
    model.graph.input.append(helper.make_tensor_value_info("cond", TensorProto.BOOL, []))
    model.graph.input.append(helper.make_tensor_value_info("var", TensorProto.FLOAT, [4]))
    model.graph.output.append(helper.make_tensor_value_info("picked", TensorProto.FLOAT, [4]))
    folded = folding.fold_for_quantization(model)
    assert not any(n.op_type == "BatchNormalization" for n in folded.graph.node)
    names = {t.name for t in folded.graph.initializer}
    assert {"mean", "var"} <= names and "gamma" not in names
    x = np.random.default_rng(4).normal(0, 2, SHAPE).astype(np.float32)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    feeds = {"x": x, "cond": np.array(True)}
    want = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"]).run(None, feeds)
    got = ort.InferenceSession(folded.SerializeToString(), so, providers=["CPUExecutionProvider"]).run(None, feeds)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
