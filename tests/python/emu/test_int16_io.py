"""I/O of 16-bit quantized (w16a16i, opset-21 QDQ) models as the NPU shows it: an input read only by per-tensor
int16/uint16 QuantizeLinear nodes and an output made by a per-tensor 16-bit DequantizeLinear report INT16 / UINT16
with zp and scale (rknn-api.md §7.7, §7.9); rknn_inputs_set quantizes float data with round-half-to-even and
saturation to -32768..32767 (0..65535), takes the model's own 16-bit type as quantized values, and want_float=0
returns the 16-bit values. Expected values come from numpy's statement of the rule and from onnxruntime."""
from __future__ import annotations

import json

import numpy as np
import pytest
from onnx import TensorProto, helper

import emu_models as M
import rknn_ctypes as R
from nc1hwc2 import to_nc1hwc2  # tests/python, on the path through emu_models
from qdq_graph import qdq_conv_graph
from test_native_attrs import from_nc1hwc2
from test_zero_copy import mem_array, set_io

ort = pytest.importorskip("onnxruntime")

QNT_NONE, QNT_AFFINE_ASYMMETRIC = 0, 2  # rknn_tensor_qnt_type
OPSET = 21  # 16-bit Q/DQ in the default domain
X_SCALE, X_ZP = np.float32(1.0 / 64), -3
Y_SCALE, Y_ZP = np.float32(0.001), 5
# Platform -> (int16 C2, native row alignment in pixels), rknn-api.md §7.6.
PLATFORMS = {"rk3588": (8, 16), "rk3576": (8, 16), "rk3562": (8, 16), "rk3566": (4, 8), "rk3568": (4, 8)}
RANGE = {np.int16: (-32768, 32767), np.uint16: (0, 65535)}


def conv_model(zp_type=np.int16, x_zp=X_ZP, y_zp=Y_ZP, extra_reader=False):
    """x [1,3,6,6] -> Q/DQ -> Conv -> Q/DQ -> y [1,4,6,6], with 16-bit activations; the conv's sums are exact in
    float (power-of-two scales), so onnxruntime and the emulator quantize the same values."""
    return M.make_model(*qdq_conv_graph(X_SCALE, x_zp, Y_SCALE, y_zp, zp_type, extra_reader, w_scale=1.0 / 128),
                        opset=OPSET)


def round_trip_model(zp_type, zp, scale, shape=(1, 5, 3, 6), metadata=None):
    """y = DequantizeLinear(QuantizeLinear(x)) with one scale and zero point: y's 16-bit values are x's."""
    inits = [M.init("s", np.float32(scale)), M.init("z", zp_type(zp))]
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"]),
             helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"])]
    return M.make_model(nodes, [M.vi("x", TensorProto.FLOAT, list(shape))], [M.vi("y", TensorProto.FLOAT, list(shape))],
                        inits, metadata=metadata, opset=OPSET)


def quantize(x, scale, zp, dtype):
    """The NPU's rule, in numpy: round half to even of x / scale, plus zp, saturated to the type's range."""
    lo, hi = RANGE[dtype]
    with np.errstate(invalid="ignore", over="ignore"):
        return np.clip(np.round(x.astype(np.float32) / np.float32(scale)) + zp, lo, hi).astype(dtype)


def reference(model, x):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})


def hard_values(scale, zp, dtype, count=400):
    """Ties (k + 0.5) * scale on both sides of zero, values beyond both ends of the range, +-inf, and plain ones."""
    lo, hi = RANGE[dtype]
    rng = np.random.default_rng(7)
    ties = (rng.integers(lo - zp - 40, hi - zp + 40, count) + 0.5) * float(scale)
    near_ends = np.array([lo - zp - 0.5, lo - zp - 1.5, hi - zp + 0.5, hi - zp - 0.5, 0.5, -0.5, 1.5, -1.5]) * scale
    far = np.array([1e30, -1e30, np.inf, -np.inf, 0.0, -0.0])
    plain = rng.uniform((lo - zp - 100) * scale, (hi - zp + 100) * scale, count)
    return np.concatenate([ties, near_ends, far, plain]).astype(np.float32)


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_attrs_report_int16_with_zero_point_scale_and_two_byte_sizes(emu, monkeypatch, platform):
    monkeypatch.setenv("EZRKNN_EMU_PLATFORM", platform)
    c2, row = PLATFORMS[platform]
    ctx = emu.open(M.to_bytes(conv_model()))
    a = ctx.attr(0)
    assert (a.type, a.qnt_type, a.zp, a.fmt) == (R.RKNN_TENSOR_INT16, QNT_AFFINE_ASYMMETRIC, X_ZP, R.RKNN_TENSOR_NHWC)
    assert a.scale == pytest.approx(float(X_SCALE), rel=1e-7)
    assert a.size == a.size_with_stride == 3 * 6 * 6 * 2
    o = ctx.attr(0, output=True)
    assert (o.type, o.qnt_type, o.zp, o.fmt) == (R.RKNN_TENSOR_INT16, QNT_AFFINE_ASYMMETRIC, Y_ZP, R.RKNN_TENSOR_NCHW)
    assert o.scale == pytest.approx(float(Y_SCALE), rel=1e-7)
    assert o.size == 4 * 6 * 6 * 2
    c1 = -(-4 // c2)
    assert o.size_with_stride == c1 * 6 * (-(-6 // row) * row) * c2 * 2  # the NC1HWC2 native size
    # Native: NC1HWC2 with the platform's int16 C2 (int16 has no NHWC native input layout, §7.5).
    for output, channels in ((False, 3), (True, 4)):
        native_cmd = R.RKNN_QUERY_NATIVE_OUTPUT_ATTR if output else R.RKNN_QUERY_NATIVE_INPUT_ATTR
        n = ctx.attr(0, output=output, cmd=native_cmd)
        assert (n.type, n.fmt, n.zp) == (R.RKNN_TENSOR_INT16, R.RKNN_TENSOR_NC1HWC2, Y_ZP if output else X_ZP)
        assert n.shape == (1, -(-channels // c2), 6, 6, c2)
        assert n.size == n.n_elems * 2 and n.w_stride == -(-6 // row) * row
        nhwc_cmd = R.RKNN_QUERY_NATIVE_NHWC_OUTPUT_ATTR if output else R.RKNN_QUERY_NATIVE_NHWC_INPUT_ATTR
        v = ctx.attr(0, output=output, cmd=nhwc_cmd)  # no NHWC layout for int16: dense NCHW
        assert (v.type, v.fmt, v.shape, v.size) == (R.RKNN_TENSOR_INT16, R.RKNN_TENSOR_NCHW, (1, channels, 6, 6),
                                                    channels * 36 * 2)


def test_uint16_model_reports_uint16(emu):
    ctx = emu.open(M.to_bytes(conv_model(np.uint16, 32768, 40000)))
    a, o = ctx.attr(0), ctx.attr(0, output=True)
    assert (a.type, a.zp, o.type, o.zp) == (R.RKNN_TENSOR_UINT16, 32768, R.RKNN_TENSOR_UINT16, 40000)
    assert a.size == 3 * 6 * 6 * 2


@pytest.mark.parametrize("dtype,zp,scale", [(np.int16, -3, 1.0 / 64), (np.int16, 1200, 0.37),
                                            (np.uint16, 40000, 1.0 / 64), (np.uint16, 0, 0.05)])
def test_float_input_is_quantized_with_ties_to_even_and_saturation(emu, dtype, zp, scale):
    x = hard_values(np.float32(scale), zp, dtype)
    model = round_trip_model(dtype, zp, scale, shape=(1, x.size))
    ctx = emu.open(M.to_bytes(model))
    got_q = ctx.infer(x.reshape(1, -1), want_float=False)[0]
    assert got_q.dtype == dtype
    want_q = quantize(x, scale, zp, dtype).reshape(1, -1)
    lo, hi = RANGE[dtype]
    assert (want_q == lo).any() and (want_q == hi).any()  # the values saturate at both ends
    np.testing.assert_array_equal(got_q, want_q)
    finite = np.isfinite(x)  # onnxruntime's QuantizeLinear is the reference for the float result of finite values
    got_f = ctx.outputs_get(want_float=True)[0].ravel()
    np.testing.assert_array_equal(got_f[finite], reference(model, x.reshape(1, -1))[0].ravel()[finite])


def test_float16_and_uint8_data_are_values_to_quantize(emu):
    scale, zp = np.float32(1.0 / 64), -3
    ctx = emu.open(M.to_bytes(round_trip_model(np.int16, zp, scale, shape=(2, 300))))
    ties = ((np.arange(600) - 300 + 0.5) * scale).reshape(2, 300).astype(np.float16)  # exact in float16
    np.testing.assert_array_equal(ctx.infer(ties, want_float=False)[0], quantize(ties, scale, zp, np.int16))
    pixels = np.arange(600).reshape(2, 300).astype(np.uint8)
    np.testing.assert_array_equal(ctx.infer(pixels, want_float=False)[0], quantize(pixels, scale, zp, np.int16))


def test_mean_std_apply_before_quantization_but_not_to_int16_data(emu):
    mean, std = np.float32([100, 0, 10]), np.float32([4, 1, 0.5])
    meta = {"rknn.mean_values": json.dumps([mean.tolist()]), "rknn.std_values": json.dumps([std.tolist()])}
    ctx = emu.open(M.to_bytes(round_trip_model(np.int16, 7, 1.0 / 64, shape=(1, 3, 4, 5), metadata=meta)))
    pixels = np.random.default_rng(8).integers(0, 256, (1, 3, 4, 5)).astype(np.uint8)
    normalized = (pixels.astype(np.float32) - mean[:, None, None]) / std[:, None, None]
    np.testing.assert_array_equal(ctx.infer(pixels, want_float=False)[0], quantize(normalized, 1.0 / 64, 7, np.int16))
    q = quantize(normalized, 1.0 / 64, 7, np.int16)
    np.testing.assert_array_equal(ctx.infer(q, want_float=False)[0], q)  # already normalized and quantized


def test_conv_outputs_match_onnxruntime_and_native_values_are_its_quantization(emu):
    model = conv_model()
    x = np.random.default_rng(3).uniform(-2.5, 2.5, size=(1, 3, 6, 6)).astype(np.float32)
    want = reference(model, x)[0]
    ctx = emu.open(M.to_bytes(model))
    got = ctx.infer(x)[0].reshape(want.shape)
    np.testing.assert_array_equal(got, want)
    raw = ctx.outputs_get(want_float=False)[0]
    assert raw.dtype == np.int16
    assert len(np.unique(raw)) > 100  # 16-bit values with a real spread, beyond what int8 could hold
    np.testing.assert_array_equal(raw.reshape(want.shape), quantize(want, Y_SCALE, Y_ZP, np.int16))


def test_int16_input_is_taken_as_quantized_values(emu):
    model = conv_model()
    q = np.random.default_rng(4).integers(-200, 200, size=(1, 3, 6, 6)).astype(np.int16)
    ctx = emu.open(M.to_bytes(model))
    from_int16 = ctx.infer(q)[0].reshape(1, 4, 6, 6)
    dequantized = ((q.astype(np.float64) - X_ZP) * X_SCALE).astype(np.float32)
    np.testing.assert_array_equal(from_int16, reference(model, dequantized)[0])
    np.testing.assert_array_equal(ctx.infer(dequantized)[0].reshape(1, 4, 6, 6), from_int16)


@pytest.mark.parametrize("platform", ["rk3588", "rk3568"])
def test_pass_through_int16_in_the_native_layout(emu, monkeypatch, platform):
    monkeypatch.setenv("EZRKNN_EMU_PLATFORM", platform)
    model = conv_model()
    q = np.random.default_rng(5).integers(-300, 300, size=(1, 3, 6, 6)).astype(np.int16)
    ctx = emu.open(M.to_bytes(model))
    n = ctx.attr(0, cmd=R.RKNN_QUERY_NATIVE_INPUT_ATTR)
    c2 = PLATFORMS[platform][0]
    packed = to_nc1hwc2(q, c2, n.w_stride)
    assert packed.nbytes == n.size_with_stride
    (got,) = ctx.infer(packed, pass_through=1, want_float=False)
    dequantized = ((q.astype(np.float64) - X_ZP) * X_SCALE).astype(np.float32)
    want = reference(model, dequantized)[0]
    np.testing.assert_array_equal(got.reshape(want.shape), quantize(want, Y_SCALE, Y_ZP, np.int16))
    (dense,) = ctx.infer(to_nc1hwc2(q, c2, 6), pass_through=1, want_float=False)  # rows without padding
    np.testing.assert_array_equal(dense, got)


def test_readers_that_disagree_on_scale_leave_the_input_float(emu):
    """An input read by two int16 QuantizeLinear nodes of different scales has no single quantization: it stays a
    float input, as the 8-bit rule does; the outputs, made by 16-bit DequantizeLinear nodes, are still INT16."""
    inits = [M.init("s1", np.float32(0.01)), M.init("s2", np.float32(0.02)), M.init("z", np.int16(0))]
    nodes = [helper.make_node("QuantizeLinear", ["x", "s1", "z"], ["q1"]),
             helper.make_node("DequantizeLinear", ["q1", "s1", "z"], ["y1"]),
             helper.make_node("QuantizeLinear", ["x", "s2", "z"], ["q2"]),
             helper.make_node("DequantizeLinear", ["q2", "s2", "z"], ["y2"])]
    model = M.make_model(nodes, [M.vi("x", TensorProto.FLOAT, [2, 8])],
                         [M.vi("y1", TensorProto.FLOAT, [2, 8]), M.vi("y2", TensorProto.FLOAT, [2, 8])], inits,
                         opset=OPSET)
    ctx = emu.open(M.to_bytes(model))
    a = ctx.attr(0)
    assert (a.type, a.qnt_type) == (R.RKNN_TENSOR_FLOAT16, QNT_NONE)
    assert [o.type for o in ctx.output_attrs()] == [R.RKNN_TENSOR_INT16] * 2
    x = np.linspace(-3, 3, 16, dtype=np.float32).reshape(2, 8)
    y1, y2 = ctx.infer(x, want_float=False)
    x16 = x.astype(np.float16).astype(np.float32)  # a float input travels as fp16
    np.testing.assert_array_equal(y1, quantize(x16, 0.01, 0, np.int16))
    np.testing.assert_array_equal(y2, quantize(x16, 0.02, 0, np.int16))
    # int16 data is not a value type of a float input: refused with the accepted types named.
    code = ctx.raw_inputs_set([{"data": np.zeros((2, 8), np.int16)}])
    assert code == R.RKNN_ERR_PARAM_INVALID and "RKNN_TENSOR_INT16" in emu.last_error()


def test_input_with_a_float_reader_stays_float(emu):
    ctx = emu.open(M.to_bytes(conv_model(extra_reader=True)))
    assert ctx.attr(0).qnt_type == QNT_NONE and ctx.attr(0).type == R.RKNN_TENSOR_FLOAT16
    assert ctx.attr(0, output=True).type == R.RKNN_TENSOR_INT16


def test_bad_buffers_are_param_invalid(emu):
    ctx = emu.open(M.to_bytes(conv_model()))
    q = np.zeros((1, 3, 6, 6), np.int16)
    assert ctx.raw_inputs_set([{"data": q, "size": q.nbytes - 2}]) == R.RKNN_ERR_PARAM_INVALID
    assert "108 elements of RKNN_TENSOR_INT16" in emu.last_error()
    assert ctx.raw_inputs_set([{"data": q.astype(np.int32)}]) == R.RKNN_ERR_PARAM_INVALID
    assert "RKNN_TENSOR_INT16 (quantized values)" in emu.last_error()
    assert ctx.raw_inputs_set([{"data": q.view(np.uint16)}]) == R.RKNN_ERR_PARAM_INVALID  # not the model's type


def test_zero_copy_float_input_and_native_int16_output(emu, emu_lib, mems):
    """rknn_set_io_mem: a float32 NCHW input mem is quantized like rknn_inputs_set data, a native int16 input mem
    is taken as is (pass_through), and the native output mem holds the int16 values in NC1HWC2."""
    model = conv_model()
    ctx = emu.open(M.to_bytes(model))
    x = np.random.default_rng(6).uniform(-2, 2, size=(1, 3, 6, 6)).astype(np.float32)
    want = quantize(reference(model, x)[0], Y_SCALE, Y_ZP, np.int16)

    def mem(size):
        m = emu_lib.rknn_create_mem(ctx.handle, size)
        assert m, emu.last_error()
        mems.append(m)
        return m

    ia, oa = ctx.attr(0), ctx.attr(0, output=True, cmd=R.RKNN_QUERY_NATIVE_OUTPUT_ATTR)
    ia.type, ia.fmt = R.RKNN_TENSOR_FLOAT32, R.RKNN_TENSOR_NCHW
    im, om = mem(x.nbytes), mem(oa.size_with_stride)
    mem_array(im, np.float32)[:] = x.ravel()
    assert set_io(ctx, im, ia) == 0 and set_io(ctx, om, oa) == 0, emu.last_error()
    ctx.run()
    got = from_nc1hwc2(mem_array(om, np.int16), (1, 4, 6, 6), oa.dims[4], oa.w_stride)
    np.testing.assert_array_equal(got, want)

    na = ctx.attr(0, cmd=R.RKNN_QUERY_NATIVE_INPUT_ATTR)
    na.pass_through = 1
    nm = mem(na.size_with_stride)
    mem_array(nm, np.int16)[:] = to_nc1hwc2(quantize(x, X_SCALE, X_ZP, np.int16), na.dims[4], na.w_stride).ravel()
    mem_array(om, np.int16)[:] = 0
    assert set_io(ctx, nm, na) == 0, emu.last_error()
    ctx.run()
    np.testing.assert_array_equal(from_nc1hwc2(mem_array(om, np.int16), (1, 4, 6, 6), oa.dims[4], oa.w_stride), want)
