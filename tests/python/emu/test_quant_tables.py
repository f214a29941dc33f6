"""QDQ activations, MaxPool and Concat on the table kernels (QLinearLookup, QLinearMaxPool, QLinearConcat): every
code through the fused kernel against the same model left unfused (its scales made Constant nodes, which the QDQ
fusion does not take) and against onnxruntime. docs/emulator.md lists the measured differences from onnxruntime."""
from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import rknn_ctypes as R
from emu_models import make_model, run_ort, run_reference, to_bytes, vi
from emu_session import RknnCallError

ort = pytest.importorskip("onnxruntime")

OPSET = 18  # HardSwish (14) and Mish (18) included; Clip takes its bounds as inputs
EXACT = {"rknn.exact_fp32": "1"}


def tensor_type(dtype):
    return TensorProto.INT8 if dtype == np.int8 else TensorProto.UINT8


def zero_point(dtype, v):
    """A zero point `v` steps above the middle of the type's range."""
    return np.int8(v) if dtype == np.int8 else np.uint8(v + 128)


def all_codes(dtype, repeat=1):
    info = np.iinfo(dtype)
    return np.tile(np.arange(info.min, info.max + 1), repeat).astype(dtype)


class QdqModel:
    """Nodes and initializers of a QDQ model. With `unfused` every scale is a Constant node instead of an
    initializer: the emulator then runs DequantizeLinear -> float op -> QuantizeLinear as written."""

    def __init__(self, unfused=False):
        self.nodes, self.inits, self.unfused = [], [], unfused

    def param(self, name, value):
        value = np.asarray(value)
        if self.unfused and value.dtype == np.float32:
            self.nodes.append(helper.make_node("Constant", [], [name], value=numpy_helper.from_array(value, name)))
        else:
            self.inits.append(numpy_helper.from_array(value, name))
        return name

    def dq(self, x, scale, zp, out):
        self.nodes.append(helper.make_node("DequantizeLinear", [x, self.param(out + "_s", np.float32(scale)),
                                                                self.param(out + "_z", zp)], [out]))

    def q(self, x, scale, zp, out, name="q"):
        self.nodes.append(helper.make_node("QuantizeLinear", [x, self.param(out + "_s", np.float32(scale)),
                                                              self.param(out + "_z", zp)], [out], name=name))

    def build(self, inputs, outputs):
        model = make_model(self.nodes, inputs, outputs, self.inits, metadata=EXACT, check=False)
        model.opset_import[0].version = OPSET
        return model


# op, attributes, extra inputs (name, value), input scale, output scale, output zero point (steps above the middle)
ACTIVATIONS = [
    ("Sigmoid", {}, [], 0.031, 1 / 256, -128),
    ("HardSigmoid", {"alpha": 0.25, "beta": 0.4}, [], 0.029, 1 / 256, -128),
    ("LeakyRelu", {"alpha": 0.1}, [], 0.021, 0.017, -3),
    ("Tanh", {}, [], 0.023, 1 / 128, 0),
    ("HardSwish", {}, [], 0.047, 0.031, -40),
    ("Relu", {}, [], 0.013, 0.011, -7),
    ("Clip", {}, [("lo", -0.4), ("hi", 1.1)], 0.013, 0.009, 2),
    ("Clip", {}, [("", None), ("hi", 0.6)], 0.013, 0.009, 2),
    ("Elu", {"alpha": 0.7}, [], 0.021, 0.017, -20),
    ("Softplus", {}, [], 0.043, 0.029, -120),
    ("Mish", {}, [], 0.043, 0.027, -90),
    ("Pow", {}, [("e", 2.0)], 0.021, 0.031, -128),
    ("Pow", {}, [("e", 0.5)], 0.011, 0.013, -128),  # negative bases give NaN, which quantizes to the zero point
]


def activation_model(op, attrs, extra, x_scale, y_scale, y_zp, dtype, n, unfused=False):
    m = QdqModel(unfused)
    m.dq("x", x_scale, zero_point(dtype, 5), "d")
    ins = ["d"] + [m.param(name, np.float32(v)) if name else "" for name, v in extra]
    m.nodes.append(helper.make_node(op, ins, ["a"], name="act", **attrs))
    m.q("a", y_scale, zero_point(dtype, y_zp), "y")
    t = tensor_type(dtype)
    return m.build([vi("x", t, [n])], [vi("y", t, [n])])


def open_and_run(emu, model, *xs):
    ctx = emu.open(to_bytes(model), flag=R.RKNN_FLAG_COLLECT_PERF_MASK)
    ctx.inputs_set(*xs)
    ctx.run()
    got = ctx.outputs_get(want_float=False)[0]
    code, detail = ctx.query(R.RKNN_QUERY_PERF_DETAIL, R.rknn_perf_detail())
    assert code == 0
    return got, detail.perf_data.decode()


# Codes onnxruntime quantizes one step differently, measured over the 256 codes of each type: its float ops differ
# from the emulator's (oneDNN / libm) by an ULP now and then, which matters where a value lies within an ULP of a
# rounding tie. docs/emulator.md, "Remaining deviations from onnxruntime".
ORT_DIFFERENT_CODES = {}


@pytest.mark.parametrize("dtype", [np.int8, np.uint8], ids=["int8", "uint8"])
@pytest.mark.parametrize("case", ACTIVATIONS, ids=[f"{c[0]}_{c[2][-1][1]}" if c[2] else c[0] for c in ACTIVATIONS])
def test_activation_table_matches_the_unfused_path_on_every_code(emu, case, dtype):
    op, attrs, extra, xs, ys, yz = case
    x = all_codes(dtype, repeat=4)
    fused, detail = open_and_run(emu, activation_model(op, attrs, extra, xs, ys, yz, dtype, x.size), x)
    assert "QLinearLookup node 'act'" in detail, detail
    assert "QuantizeLinear" not in detail, detail
    unfused, plain = open_and_run(emu, activation_model(op, attrs, extra, xs, ys, yz, dtype, x.size, True), x)
    assert "QLinearLookup" not in plain and f"{op} node 'act'" in plain, plain
    np.testing.assert_array_equal(fused, unfused)
    assert len(np.unique(fused)) > 8  # the scales make the table span many codes: the comparison means something


@pytest.mark.parametrize("dtype", [np.int8, np.uint8], ids=["int8", "uint8"])
@pytest.mark.parametrize("case", ACTIVATIONS, ids=[f"{c[0]}_{c[2][-1][1]}" if c[2] else c[0] for c in ACTIVATIONS])
def test_activation_table_against_onnxruntime(emu, case, dtype):
    op, attrs, extra, xs, ys, yz = case
    x = all_codes(dtype)
    model = activation_model(op, attrs, extra, xs, ys, yz, dtype, x.size)
    want = run_ort(model, {"x": x})[0]
    got, _ = open_and_run(emu, model, x)
    diff = np.abs(got.astype(np.int32) - want.astype(np.int32))
    assert diff.max() <= 1
    assert np.count_nonzero(diff) <= ORT_DIFFERENT_CODES.get((op, np.dtype(dtype).name), 0), np.flatnonzero(diff)


def max_pool_model(dtype, x_scale, x_zp, y_scale, y_zp, unfused=False):
    m = QdqModel(unfused)
    m.dq("x", x_scale, zero_point(dtype, x_zp), "d")
    m.nodes.append(helper.make_node("MaxPool", ["d"], ["p"], name="pool", kernel_shape=[3, 3], strides=[2, 2],
                                    pads=[1, 1, 1, 1]))
    m.q("p", y_scale, zero_point(dtype, y_zp), "y")
    t = tensor_type(dtype)
    return m.build([vi("x", t, [2, 8, 16, 16])], [vi("y", t, [2, 8, 8, 8])])


@pytest.mark.parametrize("dtype", [np.int8, np.uint8], ids=["int8", "uint8"])
@pytest.mark.parametrize("y_params", [(0.021, -3), (0.033, 10)], ids=["same_params", "requantized"])
def test_qdq_max_pool_runs_on_the_codes(emu, dtype, y_params):
    info = np.iinfo(dtype)
    x = np.random.default_rng(7).integers(info.min, info.max + 1, size=[2, 8, 16, 16]).astype(dtype)
    model = max_pool_model(dtype, 0.021, -3, *y_params)
    got, detail = open_and_run(emu, model, x)
    assert "QLinearMaxPool node 'pool'" in detail and "QuantizeLinear" not in detail, detail
    unfused, plain = open_and_run(emu, max_pool_model(dtype, 0.021, -3, *y_params, unfused=True), x)
    assert "MaxPool node 'pool'" in plain and "QLinearMaxPool" not in plain, plain
    np.testing.assert_array_equal(got, unfused)
    np.testing.assert_array_equal(got.reshape(2, 8, 8, 8), run_ort(model, {"x": x})[0])


def concat_model(dtype, params, constant_input=None, unfused=False):
    """DQ(x_i) -> Concat(axis 1) -> Q(y); `params` holds (scale, zero point) of each input and then of y. With
    `constant_input`, an int8 initializer of shape [2, 3, 4, 5] joins as the last input."""
    m = QdqModel(unfused)
    t = tensor_type(dtype)
    names, ins = [], []
    for i, (s, z) in enumerate(params[:-1]):
        m.dq(f"x{i}", s, zero_point(dtype, z), f"d{i}")
        names.append(f"d{i}")
        ins.append(vi(f"x{i}", t, [2, 2 + i, 4, 5]))
    channels = sum(2 + i for i in range(len(params) - 1))
    if constant_input is not None:
        m.inits.append(numpy_helper.from_array(constant_input.astype(dtype), "c"))
        m.dq("c", 0.05, zero_point(dtype, 1), "dc")
        names.append("dc")
        channels += constant_input.shape[1]
    m.nodes.append(helper.make_node("Concat", names, ["c_out"], name="cat", axis=1))
    m.q("c_out", params[-1][0], zero_point(dtype, params[-1][1]), "y")
    return m.build(ins, [vi("y", t, [2, channels, 4, 5])])


CONCATS = [
    ([(0.02, 0), (0.02, 0), (0.02, 0)], False),      # every input quantized like y: bytes copied
    ([(0.02, 0), (0.013, 5), (0.041, -9), (0.02, 0)], False),
    ([(0.02, 0), (0.013, 5), (0.027, -3)], True),      # an initializer input
]


@pytest.mark.parametrize("dtype", [np.int8, np.uint8], ids=["int8", "uint8"])
@pytest.mark.parametrize("params,constant", CONCATS, ids=["copies", "requantizes", "constant_input"])
def test_qdq_concat_matches_onnxruntime_and_the_unfused_path(emu, dtype, params, constant):
    info = np.iinfo(dtype)
    rng = np.random.default_rng(9)
    c = rng.integers(info.min, info.max + 1, size=[2, 3, 4, 5]) if constant else None
    xs = [rng.integers(info.min, info.max + 1, size=[2, 2 + i, 4, 5]).astype(dtype) for i in range(len(params) - 1)]
    model = concat_model(dtype, params, c)
    got, detail = open_and_run(emu, model, *xs)
    assert "QLinearConcat node 'cat'" in detail and "QuantizeLinear" not in detail, detail
    unfused, plain = open_and_run(emu, concat_model(dtype, params, c, unfused=True), *xs)
    assert "Concat node 'cat'" in plain and "QLinearConcat" not in plain, plain
    np.testing.assert_array_equal(got, unfused)
    want = run_ort(model, {f"x{i}": x for i, x in enumerate(xs)})[0]
    np.testing.assert_array_equal(got.reshape(want.shape), want)


# --- bad or unusual parameters: refused naming the node, or left unfused -----------------------------------------

@pytest.mark.parametrize("scale", [0.0, -0.01, float("inf")], ids=["zero", "negative", "inf"])
@pytest.mark.parametrize("which", ["x", "y"])
def test_bad_scales_are_refused_naming_the_quantization_node(emu, scale, which):
    m = QdqModel()
    m.dq("x", scale if which == "x" else 0.02, np.int8(0), "d")
    m.nodes[-1].name = "dq"
    m.nodes.append(helper.make_node("Sigmoid", ["d"], ["a"], name="act"))
    m.q("a", scale if which == "y" else 1 / 256, np.int8(-128), "y", name="q")
    model = m.build([vi("x", TensorProto.INT8, [16])], [vi("y", TensorProto.INT8, [16])])
    with pytest.raises(RknnCallError):
        emu.open(to_bytes(model))
    message = emu.last_error()
    assert f"{'DequantizeLinear' if which == 'x' else 'QuantizeLinear'} node '{'dq' if which == 'x' else 'q'}'" \
        in message, message
    assert "positive and finite" in message, message


def test_mixed_8bit_types_stay_unfused_and_still_match_onnxruntime(emu):
    """int8 in, uint8 out: no table kernel (they are for one type), the float path as written."""
    m = QdqModel()
    m.dq("x", 0.031, np.int8(3), "d")
    m.nodes.append(helper.make_node("Sigmoid", ["d"], ["a"], name="act"))
    m.q("a", 1 / 256, np.uint8(0), "y")
    model = m.build([vi("x", TensorProto.INT8, [256])], [vi("y", TensorProto.UINT8, [256])])
    x = all_codes(np.int8)
    got, detail = open_and_run(emu, model, x)
    assert "Sigmoid node 'act'" in detail and "QLinearLookup" not in detail, detail
    np.testing.assert_array_equal(got, run_ort(model, {"x": x})[0])


def test_an_activation_whose_output_is_also_a_graph_output_stays_unfused(emu):
    m = QdqModel()
    m.dq("x", 0.031, np.int8(3), "d")
    m.nodes.append(helper.make_node("Tanh", ["d"], ["a"], name="act"))
    m.q("a", 1 / 128, np.int8(0), "y")
    model = m.build([vi("x", TensorProto.INT8, [256])],
                    [vi("y", TensorProto.INT8, [256]), vi("a", TensorProto.FLOAT, [256])])
    x = all_codes(np.int8)
    ctx = emu.open(to_bytes(model), flag=R.RKNN_FLAG_COLLECT_PERF_MASK)
    ctx.inputs_set(x)
    ctx.run()
    _, detail = ctx.query(R.RKNN_QUERY_PERF_DETAIL, R.rknn_perf_detail())
    assert "Tanh node 'act'" in detail.perf_data.decode()


# --- ops that move codes: run on the 8-bit data, requantized only when DQ and Q differ ---------------------------

I64 = np.int64
# op, attributes, further inputs (name, value; "" = absent), output shape; the input is [2, 4, 6, 6]
MOVES = [
    ("Reshape", {}, [("shape", np.array([2, 24, 6], I64))], [2, 24, 6]),
    ("Flatten", {"axis": 2}, [], [8, 36]),
    ("Transpose", {"perm": [0, 2, 3, 1]}, [], [2, 6, 6, 4]),
    ("Squeeze", {}, [], None),  # added below on a [2, 1, 4, 6, 6] input
    ("Unsqueeze", {}, [("axes", np.array([1], I64))], [2, 1, 4, 6, 6]),
    ("Slice", {}, [("starts", np.array([1, 0], I64)), ("ends", np.array([6, 3], I64)), ("axes", np.array([3, 1], I64)),
                   ("steps", np.array([2, 1], I64))], [2, 3, 6, 3]),
    ("Resize", {"mode": "nearest"}, [("", None), ("scales", np.array([1, 1, 2, 1.5], np.float32))], [2, 4, 12, 9]),
    ("DepthToSpace", {"blocksize": 2}, [], [2, 1, 12, 12]),
    ("SpaceToDepth", {"blocksize": 2}, [], [2, 16, 3, 3]),
    ("Gather", {"axis": 3}, [("idx", np.array([[5, 0], [-1, 2]], I64))], [2, 4, 6, 2, 2]),
    ("GatherElements", {"axis": 1}, [("idx", np.random.default_rng(2).integers(-4, 4, size=[2, 3, 6, 6]))],
     [2, 3, 6, 6]),
    ("Expand", {}, [("shape", np.array([3, 1, 1, 1, 1], I64))], [3, 2, 4, 6, 6]),
    ("Tile", {}, [("repeats", np.array([1, 2, 1, 3], I64))], [2, 8, 6, 18]),
]


def move_model(op, attrs, extra, out_shape, in_shape, dtype, y_params, unfused=False):
    m = QdqModel(unfused)
    m.dq("x", 0.021, zero_point(dtype, -3), "d")
    ins = ["d"] + [m.param(name, value) if name else "" for name, value in extra]
    m.nodes.append(helper.make_node(op, ins, ["m"], name="mv", **attrs))
    m.q("m", y_params[0], zero_point(dtype, y_params[1]), "y")
    t = tensor_type(dtype)
    return m.build([vi("x", t, in_shape)], [vi("y", t, out_shape)])


@pytest.mark.parametrize("dtype", [np.int8, np.uint8], ids=["int8", "uint8"])
@pytest.mark.parametrize("y_params", [(0.021, -3), (0.034, 7)], ids=["same_params", "requantized"])
@pytest.mark.parametrize("case", MOVES, ids=[c[0] for c in MOVES])
def test_ops_that_move_codes_run_on_them(emu, case, dtype, y_params):
    op, attrs, extra, out_shape = case
    in_shape = [2, 4, 6, 6]
    if op == "Squeeze":
        in_shape, out_shape, extra = [2, 1, 4, 6, 6], [2, 4, 6, 6], [("axes", np.array([1], I64))]
    info = np.iinfo(dtype)
    x = np.random.default_rng(5).integers(info.min, info.max + 1, size=in_shape).astype(dtype)
    model = move_model(op, attrs, extra, out_shape, in_shape, dtype, y_params)
    got, detail = open_and_run(emu, model, x)
    assert f"QLinear{op} node 'mv'" in detail and "QuantizeLinear" not in detail, detail
    unfused, plain = open_and_run(emu, move_model(op, attrs, extra, out_shape, in_shape, dtype, y_params, True), x)
    assert f"{op} node 'mv'" in plain and f"QLinear{op}" not in plain, plain
    np.testing.assert_array_equal(got, unfused)
    want = run_ort(model, {"x": x})[0]
    np.testing.assert_array_equal(got.reshape(want.shape), want)


@pytest.mark.parametrize("attrs", [{"mode": "linear"}, {"coordinate_transformation_mode": "tf_crop_and_resize",
                                                        "extrapolation_value": 0.5}], ids=["linear", "crop"])
def test_resize_that_computes_values_stays_on_the_float_path(emu, attrs):
    """Linear sampling computes new values; a crop writes extrapolation_value, a float, outside the input."""
    roi = ("roi", np.array([0, 0, -0.2, 0.1, 1, 1, 0.9, 1.3], np.float32))
    extra = [roi if "extrapolation_value" in attrs else ("", None), ("scales", np.array([1, 1, 2, 2], np.float32))]
    model = move_model("Resize", attrs, extra, [2, 4, 12, 12], [2, 4, 6, 6], np.int8, (0.021, -3))
    x = np.random.default_rng(6).integers(-128, 128, size=[2, 4, 6, 6]).astype(np.int8)
    _, detail = open_and_run(emu, model, x)
    assert "Resize node 'mv'" in detail and "QLinearResize" not in detail, detail


def exact_codes_of_linear_resize(x, zp):
    """Linear Resize (half_pixel, scales [1, 1, 2, 2]) of the codes minus their zero point, exactly: the values are
    integers and the weights multiples of 1/16, so float32 holds every sum (the reference evaluator computes them)."""
    node = helper.make_node("Resize", ["c", "", "scales"], ["v"], mode="linear")
    model = make_model([node], [vi("c", TensorProto.FLOAT, list(x.shape))], [vi("v", TensorProto.FLOAT, None)],
                       [numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")], check=False)
    return run_reference(model, {"c": (x.astype(np.float32) - np.float32(zp))})[0].astype(np.float64)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8], ids=["int8", "uint8"])
@pytest.mark.parametrize("y_params", [(0.021, -3), (0.034, 7)], ids=["same_params", "requantized"])
def test_linear_resize_in_a_qdq_model_matches_the_reference_evaluator(emu, dtype, y_params):
    """DQ -> linear Resize -> Q rounds the resized values once to float32, as the spec's reference implementation
    does. onnxruntime rounds after every product and sum, which decides some exact ties of the QuantizeLinear: with
    equal parameters a bilinear 2x value is k/16 of a step, and k = 8 (mod 16) is a tie. docs/emulator.md, "Resize"."""
    extra = [("", None), ("scales", np.array([1, 1, 2, 2], np.float32))]
    model = move_model("Resize", {"mode": "linear"}, extra, [2, 4, 12, 12], [2, 4, 6, 6], dtype, y_params)
    info = np.iinfo(dtype)
    x = np.random.default_rng(6).integers(info.min, info.max + 1, size=[2, 4, 6, 6]).astype(dtype)
    got, _ = open_and_run(emu, model, x)
    got = got.reshape(2, 4, 12, 12)
    np.testing.assert_array_equal(got, run_reference(model, {"x": x})[0])
    want = run_ort(model, {"x": x})[0]
    apart = got.astype(np.int32) != want.astype(np.int32)
    assert np.abs(got.astype(np.int32) - want.astype(np.int32)).max() <= 1
    if y_params[0] != 0.021:
        assert not apart.any()  # measured: no sum of this ratio lies near a tie
        return
    v = exact_codes_of_linear_resize(x, zero_point(dtype, -3))
    ties = v - np.floor(v) == 0.5
    assert ties.sum() > 50  # the case is tie-heavy, so the rounding order shows
    assert apart.sum() > 0 and not (apart & ~ties).any(), np.argwhere(apart & ~ties)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8], ids=["int8", "uint8"])
def test_a_plain_8bit_max_pool_matches_onnxruntime(emu, dtype):
    """MaxPool-12 takes int8 and uint8 itself, with no Q/DQ around it."""
    t = tensor_type(dtype)
    node = helper.make_node("MaxPool", ["x"], ["y"], name="pool", kernel_shape=[3, 3], strides=[2, 2],
                            pads=[1, 1, 1, 1], ceil_mode=1)
    model = make_model([node], [vi("x", t, [1, 3, 10, 10])], [vi("y", t, [1, 3, 6, 6])], check=False)
    model.opset_import[0].version = OPSET
    info = np.iinfo(dtype)
    x = np.random.default_rng(8).integers(info.min, info.max + 1, size=[1, 3, 10, 10]).astype(dtype)
    got = emu.open(to_bytes(model)).infer(x, want_float=False)[0]
    np.testing.assert_array_equal(got.reshape(1, 3, 6, 6), run_ort(model, {"x": x})[0])


def split_model(dtype, with_sizes, unfused=False):
    """DQ(x [2, 4, 6, 6]) -> Split(axis 1) -> Q per output: the first output keeps x's parameters, the second is
    requantized. Sizes [1, 3] from the split input, or num_outputs=2."""
    m = QdqModel(unfused)
    m.dq("x", 0.021, zero_point(dtype, -3), "d")
    if with_sizes:
        m.nodes.append(helper.make_node("Split", ["d", m.param("sizes", np.array([1, 3], I64))], ["a", "b"],
                                        name="sp", axis=1))
    else:
        m.nodes.append(helper.make_node("Split", ["d"], ["a", "b"], name="sp", axis=1, num_outputs=2))
    m.q("a", 0.021, zero_point(dtype, -3), "ya", name="qa")
    m.q("b", 0.029, zero_point(dtype, 6), "yb", name="qb")
    t = tensor_type(dtype)
    c0, c1 = (1, 3) if with_sizes else (2, 2)
    return m.build([vi("x", t, [2, 4, 6, 6])], [vi("ya", t, [2, c0, 6, 6]), vi("yb", t, [2, c1, 6, 6])])


@pytest.mark.parametrize("dtype", [np.int8, np.uint8], ids=["int8", "uint8"])
@pytest.mark.parametrize("with_sizes", [True, False], ids=["split_input", "num_outputs"])
def test_qdq_split_runs_on_the_codes(emu, dtype, with_sizes):
    info = np.iinfo(dtype)
    x = np.random.default_rng(4).integers(info.min, info.max + 1, size=[2, 4, 6, 6]).astype(dtype)
    model = split_model(dtype, with_sizes)
    ctx = emu.open(to_bytes(model), flag=R.RKNN_FLAG_COLLECT_PERF_MASK)
    ctx.inputs_set(x)
    ctx.run()
    got = ctx.outputs_get(want_float=False)
    _, detail = ctx.query(R.RKNN_QUERY_PERF_DETAIL, R.rknn_perf_detail())
    detail = detail.perf_data.decode()
    assert "QLinearSplit node 'sp'" in detail and "QuantizeLinear" not in detail, detail
    plain = emu.open(to_bytes(split_model(dtype, with_sizes, unfused=True)))
    plain.inputs_set(x)
    plain.run()
    unfused = plain.outputs_get(want_float=False)
    want = run_ort(model, {"x": x})
    for g, u, w in zip(got, unfused, want):
        np.testing.assert_array_equal(g, u)
        np.testing.assert_array_equal(g.reshape(w.shape), w)
