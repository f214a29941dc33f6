"""QDQ Gemm, GlobalAveragePool and AveragePool: the emulator fuses them into QGemm, QLinearGlobalAveragePool and
QLinearAveragePool as onnxruntime does, and must give the same bits as onnxruntime on the same models. PERF_DETAIL
shows which kernels ran; patterns onnxruntime does not fuse stay on the float path, and bad quantization parameters
are refused at rknn_init naming the node."""
from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

import rknn_ctypes as R
from emu_models import init, make_model, run_ort, to_bytes, vi

ort = pytest.importorskip("onnxruntime")

EXACT = {"rknn.exact_fp32": "1"}
TYPES = {np.int8: TensorProto.INT8, np.uint8: TensorProto.UINT8}


def perf_text(emu, model, *inputs):
    ctx = emu.open(to_bytes(model), flag=R.RKNN_FLAG_COLLECT_PERF_MASK)
    ctx.infer(*inputs, want_float=False)
    code, d = ctx.query(R.RKNN_QUERY_PERF_DETAIL, R.rknn_perf_detail())
    assert code == 0
    return d.perf_data.decode()


# --- pools ----------------------------------------------------------------------------------------------------------

def qdq_pool_model(op, dtype, shape, out_shape, xs, xz, ys, yz, attrs=None, relu=False, opset=None):
    """DQ(x) -> op [-> Relu] -> Q(y), x and y graph inputs / outputs of one 8-bit type (opset 13 unless `opset`)."""
    t = TYPES[dtype]
    inits = [init("xs", np.float32(xs)), init("xz", dtype(xz)), init("ys", np.float32(ys)), init("yz", dtype(yz))]
    nodes = [helper.make_node("DequantizeLinear", ["x", "xs", "xz"], ["d"]),
             helper.make_node(op, ["d"], ["p"], name="pool", **(attrs or {}))]
    if relu:
        nodes.append(helper.make_node("Relu", ["p"], ["r"]))
    nodes.append(helper.make_node("QuantizeLinear", ["r" if relu else "p", "ys", "yz"], ["y"]))
    model = make_model(nodes, [vi("x", t, shape)], [vi("y", t, out_shape)], inits, metadata=EXACT, check=not opset)
    if opset:
        model.opset_import[0].version = opset
    return model


def codes(rng, dtype, shape, kind="random"):
    info = np.iinfo(dtype)
    if kind == "max":
        return np.full(shape, info.max, dtype)
    if kind == "min":
        return np.full(shape, info.min, dtype)
    return rng.integers(info.min, info.max + 1, size=shape).astype(dtype)


def assert_same_as_ort(emu, model, x):
    want = run_ort(model, {"x": x})[0]
    got = emu.open(to_bytes(model)).infer(x, want_float=False)[0].reshape(want.shape)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    return want


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("hw", [(1, 1), (7, 7), (20, 20), (3, 11)])
@pytest.mark.parametrize("kind", ["random", "max", "min"])
def test_qdq_global_average_pool_matches_onnxruntime(emu, dtype, hw, kind):
    rng = np.random.default_rng(hw[0] * 100 + hw[1])
    info = np.iinfo(dtype)
    shape = [2, 48, *hw]
    for trial in range(4):
        xs, ys = np.float32(rng.uniform(0.002, 0.05)), np.float32(rng.uniform(0.002, 0.05))
        if trial == 0:
            ys = np.float32(xs / 3)  # many exact ties
        xz, yz = (int(v) for v in rng.integers(info.min, info.max + 1, size=2))
        model = qdq_pool_model("GlobalAveragePool", dtype, shape, shape[:2] + [1, 1], xs, xz, ys, yz)
        assert_same_as_ort(emu, model, codes(rng, dtype, shape, kind))


def planes_with_every_sum(n):
    """uint8 planes of n codes whose sums are 0, 1, ..., 255 * n: every accumulator a plane can have."""
    sums = np.arange(255 * n + 1)
    full, rest = sums // 255, sums % 255
    x = np.where(np.arange(n)[None, :] < full[:, None], 255, 0)
    x[np.arange(sums.size), np.minimum(full, n - 1)] += np.where(full < n, rest, 0)
    assert (x.sum(axis=1) == sums).all()
    return x.astype(np.uint8)


@pytest.mark.parametrize("hw,xs,ys", [((7, 7), 0.04236150160431862, 0.0032794775906950235),
                                      ((20, 20), 0.03832691162824631, 0.0012809013715013862)])
def test_qdq_global_average_pool_matches_onnxruntime_on_every_plane_sum(emu, hw, xs, ys):
    """Scales picked so that x_scale / (y_scale * n) and (x_scale / y_scale) / n round differently: every
    accumulator a plane can hold, so the order of onnxruntime's float operations shows."""
    x = planes_with_every_sum(hw[0] * hw[1]).reshape(1, -1, *hw)
    model = qdq_pool_model("GlobalAveragePool", np.uint8, list(x.shape), [1, x.shape[1], 1, 1], xs, 0, ys, 3)
    assert_same_as_ort(emu, model, x)


POOLS = [  # kernel, strides, pads, count_include_pad, ceil_mode
    ([3, 3], [2, 2], [1, 1, 1, 1], 0, 0),
    ([3, 3], [2, 2], [1, 1, 1, 1], 1, 0),
    ([2, 2], [2, 2], [0, 0, 0, 0], 0, 0),
    ([3, 3], [2, 2], [0, 0, 0, 0], 0, 1),
    ([3, 3], [2, 2], [1, 1, 1, 1], 1, 1),
    ([3, 2], [1, 2], [1, 0, 2, 1], 1, 0),
    ([5, 5], [3, 3], [2, 2, 2, 2], 0, 1),
    ([7, 7], [1, 1], [3, 3, 3, 3], 0, 0),
]


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("kernel,strides,pads,cip,ceil", POOLS)
def test_qdq_average_pool_matches_onnxruntime(emu, dtype, kernel, strides, pads, cip, ceil):
    rng = np.random.default_rng(sum(kernel) * 10 + sum(pads) + cip + 7 * ceil)
    info = np.iinfo(dtype)
    shape = [1, 16, 13, 17]
    attrs = dict(kernel_shape=kernel, strides=strides, pads=pads, count_include_pad=cip, ceil_mode=ceil)
    probe = helper.make_node("AveragePool", ["x"], ["y"], **attrs)
    out_shape = run_ort(make_model([probe], [vi("x", TensorProto.FLOAT, shape)], [vi("y", TensorProto.FLOAT, None)],
                                   check=False),
                        {"x": np.zeros(shape, np.float32)})[0].shape
    for trial in range(3):
        xs, ys = np.float32(rng.uniform(0.002, 0.05)), np.float32(rng.uniform(0.002, 0.05))
        xz, yz = (int(v) for v in rng.integers(info.min, info.max + 1, size=2))
        model = qdq_pool_model("AveragePool", dtype, shape, list(out_shape), xs, xz, ys, yz, attrs)
        assert_same_as_ort(emu, model, codes(rng, dtype, shape, ["random", "max", "min"][trial]))


def test_qdq_average_pool_of_the_former_deviation_is_exact(emu):
    """The model that was 32 of 131,072 one step off on the float path (onnxruntime adds the zero point before
    rounding)."""
    shape = [4, 32, 64, 64]
    attrs = {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}
    model = qdq_pool_model("AveragePool", np.int8, shape, [4, 32, 32, 32], 0.013, 5, 0.021, -3, attrs)
    assert_same_as_ort(emu, model, codes(np.random.default_rng(41), np.int8, shape))


def test_fused_pools_run_on_their_kernels(emu):
    x = codes(np.random.default_rng(3), np.int8, [1, 8, 6, 6])
    gap = qdq_pool_model("GlobalAveragePool", np.int8, [1, 8, 6, 6], [1, 8, 1, 1], 0.02, 0, 0.01, -128, relu=True)
    text = perf_text(emu, gap, x)
    assert "QLinearGlobalAveragePool node 'pool'" in text, text
    assert "QuantizeLinear node" not in text and "Relu node" not in text, text
    avg = qdq_pool_model("AveragePool", np.int8, [1, 8, 6, 6], [1, 8, 3, 3], 0.02, 0, 0.01, 1,
                         {"kernel_shape": [2, 2], "strides": [2, 2]})
    text = perf_text(emu, avg, x)
    assert "QLinearAveragePool node 'pool'" in text and "QuantizeLinear node" not in text, text


def test_dilated_average_pool_stays_on_the_float_path(emu):
    model = qdq_pool_model("AveragePool", np.int8, [1, 4, 9, 9], [1, 4, 5, 5], 0.02, 0, 0.01, 1,
                           {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "strides": [2, 2], "dilations": [2, 2]},
                           opset=19)
    text = perf_text(emu, model, codes(np.random.default_rng(4), np.int8, [1, 4, 9, 9]))
    assert "QLinearAveragePool" not in text and "AveragePool node 'pool'" in text, text


# --- Gemm -----------------------------------------------------------------------------------------------------------

def qdq_gemm_model(dtype, M, K, N, trans_a=0, trans_b=0, alpha=1.0, beta=1.0, per_channel=False, bias=False,
                   b_dtype=None, seed=0, bias_shape=None, output="quantized"):
    """DQ(a) -> Gemm(DQ(b initializer) [, DQ(int32 c)]) -> Q(y); a and y are 8-bit graph input / output. With
    output="float" the Gemm's float output is the graph output, with "relu" a Relu after it."""
    rng = np.random.default_rng(seed)
    b_dtype = b_dtype or dtype
    info, binfo = np.iinfo(dtype), np.iinfo(b_dtype)
    b = rng.integers(binfo.min, binfo.max + 1, size=[N, K] if trans_b else [K, N]).astype(b_dtype)
    if per_channel:
        bs = rng.uniform(0.001, 0.01, size=N).astype(np.float32)
        bz = (np.zeros(N) if b_dtype == np.int8 else rng.integers(0, 256, size=N)).astype(b_dtype)
    else:
        bs, bz = np.float32(rng.uniform(0.001, 0.01)), b_dtype(0 if b_dtype == np.int8 else 128)
    a_s, a_z = np.float32(rng.uniform(0.005, 0.05)), dtype(rng.integers(info.min, info.max + 1))
    inits = [init("as", a_s), init("az", a_z), init("b", b), init("bs", bs), init("bz", bz),
             init("ys", np.float32(rng.uniform(0.02, 0.3))), init("yz", dtype(rng.integers(info.min, info.max + 1)))]
    axis = {"axis": 0 if trans_b else 1} if per_channel else {}
    nodes = [helper.make_node("DequantizeLinear", ["a", "as", "az"], ["ad"]),
             helper.make_node("DequantizeLinear", ["b", "bs", "bz"], ["bd"], **axis)]
    ins = ["ad", "bd"]
    if bias:
        shape = bias_shape or [N]
        c = rng.integers(-20000, 20000, size=shape).astype(np.int32)
        cs = (a_s * bs).astype(np.float32)  # the scale quantizers give a bias: per column with per-column b
        cz = np.zeros(cs.shape, np.int32)
        inits += [init("c", c), init("cs", cs), init("cz", cz)]
        nodes.append(helper.make_node("DequantizeLinear", ["c", "cs", "cz"], ["cd"], **({"axis": 0} if per_channel else {})))
        ins.append("cd")
    t = TYPES[dtype]
    gemm_out = "y" if output == "float" else "g"
    nodes.append(helper.make_node("Gemm", ins, [gemm_out], name="gemm", alpha=alpha, beta=beta, transA=trans_a,
                                  transB=trans_b))
    if output == "quantized":
        nodes.append(helper.make_node("QuantizeLinear", ["g", "ys", "yz"], ["y"]))
    elif output == "relu":
        nodes.append(helper.make_node("Relu", ["g"], ["y"]))
    y_type = t if output == "quantized" else TensorProto.FLOAT
    return make_model(nodes, [vi("a", t, [K, M] if trans_a else [M, K])], [vi("y", y_type, [M, N])], inits,
                      metadata=EXACT)


def gemm_input(model, dtype, seed):
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    info = np.iinfo(dtype)
    return np.random.default_rng(seed).integers(info.min, info.max + 1, size=shape).astype(dtype)


@pytest.mark.parametrize("dtype,b_dtype", [(np.int8, np.int8), (np.uint8, np.uint8), (np.uint8, np.int8)])
@pytest.mark.parametrize("trans_a,trans_b", [(0, 0), (0, 1), (1, 0), (1, 1)])
@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("bias,alpha", [(False, 1.0), (True, 1.0), (False, 0.37), (False, 2.5)])
def test_qdq_gemm_matches_onnxruntime(emu, dtype, b_dtype, trans_a, trans_b, per_channel, bias, alpha):
    model = qdq_gemm_model(dtype, 37, 70, 19, trans_a, trans_b, alpha, 1.0, per_channel, bias, b_dtype,
                           seed=trans_a * 2 + trans_b + 10 * per_channel)
    a = gemm_input(model, dtype, 5)
    want = run_ort(model, {"a": a})[0]
    got = emu.open(to_bytes(model)).infer(a, want_float=False)[0].reshape(want.shape)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype,b_dtype", [(np.int8, np.int8), (np.uint8, np.uint8), (np.uint8, np.int8)])
@pytest.mark.parametrize("trans_b,per_channel,bias,alpha", [(0, False, False, 1.0), (1, True, True, 1.0),
                                                            (1, False, True, 1.0), (0, True, False, 0.37)])
@pytest.mark.parametrize("output", ["float", "relu"])
def test_qdq_gemm_with_a_float_output_matches_onnxruntime(emu, dtype, b_dtype, trans_b, per_channel, bias, alpha,
                                                          output):
    """DQ -> Gemm without a QuantizeLinear after it: QGemm with a float32 output, float(c + sum) * ((alpha * sa) * sb),
    the same float bits as onnxruntime's QGemm; a Relu after it runs as its own node."""
    model = qdq_gemm_model(dtype, 21, 50, 13, 0, trans_b, alpha, 1.0, per_channel, bias, b_dtype, seed=3,
                           output=output)
    a = gemm_input(model, dtype, 6)
    want = run_ort(model, {"a": a})[0]
    got = emu.open(to_bytes(model)).infer(a)[0].reshape(want.shape)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, want)
    text = perf_text(emu, model, a)
    assert "QGemm node 'gemm'" in text and "DequantizeLinear" not in text, text
    assert ("Relu node" in text) == (output == "relu"), text


def test_qdq_gemm_alpha_scales_the_input_scale_first(emu):
    """Every product of two int8 codes (K = 1) with scales for which ((alpha * sa) * sb) / sy and
    alpha * ((sa * sb) / sy) differ on 24 of 65,536 outputs: onnxruntime's QGemm uses the first."""
    alpha, a_s, b_s, y_s = 2.753984212875366, 0.030446821823716164, 0.018465526401996613, 0.07665233314037323
    codes_row = np.arange(-128, 128, dtype=np.int8)
    inits = [init("as", np.float32(a_s)), init("az", np.int8(0)), init("b", codes_row.reshape(1, 256)),
             init("bs", np.float32(b_s)), init("bz", np.int8(0)), init("ys", np.float32(y_s)), init("yz", np.int8(0))]
    nodes = [helper.make_node("DequantizeLinear", ["a", "as", "az"], ["ad"]),
             helper.make_node("DequantizeLinear", ["b", "bs", "bz"], ["bd"]),
             helper.make_node("Gemm", ["ad", "bd"], ["g"], name="gemm", alpha=alpha),
             helper.make_node("QuantizeLinear", ["g", "ys", "yz"], ["y"])]
    model = make_model(nodes, [vi("a", TensorProto.INT8, [256, 1])], [vi("y", TensorProto.INT8, [256, 256])], inits,
                       metadata=EXACT)
    a = codes_row.reshape(256, 1)
    want = run_ort(model, {"a": a})[0]
    got = emu.open(to_bytes(model)).infer(a, want_float=False)[0].reshape(want.shape)
    np.testing.assert_array_equal(got, want)


def test_qdq_gemm_runs_on_the_integer_kernel(emu):
    model = qdq_gemm_model(np.int8, 4, 16, 5, trans_b=1, per_channel=True, bias=True)
    text = perf_text(emu, model, gemm_input(model, np.int8, 1))
    assert "QGemm node 'gemm'" in text and "QuantizeLinear node" not in text, text


@pytest.mark.parametrize("case", ["bias with alpha", "bias with beta", "bias of [M, N]"])
def test_qdq_gemm_patterns_onnxruntime_keeps_in_float_stay_unfused(emu, case):
    """alpha and beta would scale the bias too, and a bias of [M, N] is not a per-column vector: such patterns run
    DequantizeLinear -> float Gemm -> QuantizeLinear, as in onnxruntime, and still agree with it to one step."""
    kw = {"bias with alpha": dict(alpha=0.5), "bias with beta": dict(beta=2.0),
          "bias of [M, N]": dict(bias_shape=[6, 5])}[case]
    model = qdq_gemm_model(np.int8, 6, 16, 5, bias=True, **kw)
    a = gemm_input(model, np.int8, 2)
    text = perf_text(emu, model, a)
    assert "QGemm" not in text and "Gemm node 'gemm'" in text, text
    want = run_ort(model, {"a": a})[0]
    got = emu.open(to_bytes(model)).infer(a, want_float=False)[0].reshape(want.shape)
    assert np.abs(got.astype(np.int32) - want.astype(np.int32)).max() <= 1


# --- bad quantization parameters ------------------------------------------------------------------------------------

@pytest.mark.parametrize("build,name", [
    (lambda s: qdq_pool_model("GlobalAveragePool", np.int8, [1, 4, 3, 3], [1, 4, 1, 1], 0.02, 0, s, 0),
     "QLinearGlobalAveragePool node 'pool'"),
    # x's DequantizeLinear is lowered first (its scale is refused there).
    (lambda s: qdq_pool_model("AveragePool", np.int8, [1, 4, 4, 4], [1, 4, 2, 2], s, 0, 0.02, 0,
                              {"kernel_shape": [2, 2], "strides": [2, 2]}), "DequantizeLinear node"),
    (lambda s: qdq_pool_model("AveragePool", np.int8, [1, 4, 4, 4], [1, 4, 2, 2], 0.02, 0, s, 0,
                              {"kernel_shape": [2, 2], "strides": [2, 2]}), "QLinearAveragePool node 'pool'"),
])
@pytest.mark.parametrize("scale", [0.0, -0.5])
def test_zero_or_negative_pool_scales_are_refused_naming_the_node(emu, build, name, scale):
    code, _ = emu.init(to_bytes(build(scale)))
    assert code != 0
    message = emu.last_error()
    assert name in message and "positive and finite" in message, message


@pytest.mark.parametrize("scale", [0.0, -0.5])
def test_zero_or_negative_gemm_scales_are_refused_naming_the_node(emu, scale):
    model = qdq_gemm_model(np.int8, 3, 8, 4, bias=True)
    for t in model.graph.initializer:
        if t.name == "ys":
            t.CopyFrom(init("ys", np.float32(scale)))
    code, _ = emu.init(to_bytes(model))
    assert code != 0
    message = emu.last_error()
    assert "QGemm node 'gemm'" in message and "positive and finite" in message, message


def test_pool_with_mismatched_zero_point_types_stays_unfused_and_runs(emu):
    """An int8 x with a uint8 y: no QLinearAveragePool (onnxruntime's needs one type); the float path runs."""
    inits = [init("xs", np.float32(0.02)), init("xz", np.int8(3)), init("ys", np.float32(0.02)),
             init("yz", np.uint8(200))]
    nodes = [helper.make_node("DequantizeLinear", ["x", "xs", "xz"], ["d"]),
             helper.make_node("AveragePool", ["d"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("QuantizeLinear", ["p", "ys", "yz"], ["y"])]
    model = make_model(nodes, [vi("x", TensorProto.INT8, [1, 2, 4, 4])], [vi("y", TensorProto.UINT8, [1, 2, 2, 2])],
                       inits, metadata=EXACT)
    x = codes(np.random.default_rng(9), np.int8, [1, 2, 4, 4])
    text = perf_text(emu, model, x)
    assert "QLinearAveragePool" not in text and "AveragePool node 'pool'" in text, text
    want = run_ort(model, {"x": x})[0]
    got = emu.open(to_bytes(model)).infer(x, want_float=False)[0].reshape(want.shape)
    assert np.abs(got.astype(np.int32) - want.astype(np.int32)).max() <= 1


@pytest.mark.parametrize("tensor", ["bz", "az"])
def test_gemm_zero_point_of_another_type_is_refused_naming_the_node(emu, tensor):
    """A zero point whose type differs from its tensor's (no value of it is in the tensor's range by construction):
    the pattern is not fused and the DequantizeLinear that reads it refuses the model at rknn_init."""
    model = qdq_gemm_model(np.int8, 3, 8, 4)
    for t in model.graph.initializer:
        if t.name == tensor:
            t.CopyFrom(init(tensor, np.uint8(200)))
    code, _ = emu.init(to_bytes(model))
    assert code != 0
    message = emu.last_error()
    assert "DequantizeLinear node" in message and "zero point" in message, message
