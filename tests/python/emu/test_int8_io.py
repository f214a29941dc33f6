"""I/O of quantized (QDQ) models as the NPU shows it: an input read only by a per-tensor QuantizeLinear and an output
made by a per-tensor DequantizeLinear report INT8 / UINT8 with zp and scale; rknn_inputs_set quantizes float (or
uint8 pixel) data, takes the model's own int8 type as quantized values, and want_float=0 returns the int8 values."""
from __future__ import annotations

import numpy as np
import pytest

import rknn_ctypes as R
from emu_models import make_model, to_bytes
from qdq_graph import qdq_conv_graph  # tests/python, put on sys.path by emu_models

ort = pytest.importorskip("onnxruntime")

QNT_NONE, QNT_AFFINE_ASYMMETRIC = 0, 2  # rknn_tensor_qnt_type
X_SCALE, X_ZP = np.float32(1.0 / 64), -3
Y_SCALE, Y_ZP = np.float32(0.05), 7


def qdq_model(zp_type=np.int8, x_zp=X_ZP, y_zp=Y_ZP, extra_reader=False):
    return make_model(*qdq_conv_graph(X_SCALE, x_zp, Y_SCALE, y_zp, zp_type, extra_reader))


def reference(model, x):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})


def test_attrs_report_int8_with_zero_point_and_scale(emu):
    ctx = emu.open(to_bytes(qdq_model()))
    a = ctx.attr(0)
    assert (a.type, a.qnt_type, a.zp) == (R.RKNN_TENSOR_INT8, QNT_AFFINE_ASYMMETRIC, X_ZP)
    assert a.scale == pytest.approx(float(X_SCALE), rel=1e-7)
    assert a.size == 3 * 6 * 6
    o = ctx.attr(0, output=True)
    assert (o.type, o.qnt_type, o.zp) == (R.RKNN_TENSOR_INT8, QNT_AFFINE_ASYMMETRIC, Y_ZP)
    assert o.scale == pytest.approx(float(Y_SCALE), rel=1e-7)
    assert o.size == 4 * 6 * 6


def test_uint8_model_reports_uint8(emu):
    ctx = emu.open(to_bytes(qdq_model(np.uint8, 128, 100)))
    assert ctx.attr(0).type == R.RKNN_TENSOR_UINT8 and ctx.attr(0).zp == 128
    assert ctx.attr(0, output=True).type == R.RKNN_TENSOR_UINT8


def test_float_input_is_quantized_and_outputs_match_onnxruntime(emu):
    model = qdq_model()
    x = np.random.default_rng(3).uniform(-2.5, 2.5, size=(1, 3, 6, 6)).astype(np.float32)
    want = reference(model, x)[0]
    ctx = emu.open(to_bytes(model))
    got = ctx.infer(x)[0].reshape(want.shape)
    np.testing.assert_array_equal(got, want)
    raw = ctx.outputs_get(want_float=False)[0]
    assert raw.dtype == np.int8
    expect_q = np.clip(np.round(want / Y_SCALE) + Y_ZP, -128, 127).astype(np.int8)
    np.testing.assert_array_equal(raw.reshape(want.shape), expect_q)


def test_int8_input_is_taken_as_quantized_values(emu):
    model = qdq_model()
    x = np.random.default_rng(4).uniform(-2, 2, size=(1, 3, 6, 6)).astype(np.float32)
    q = np.clip(np.round(x / X_SCALE) + X_ZP, -128, 127).astype(np.int8)  # numpy rounds half to even, as the NPU
    ctx = emu.open(to_bytes(model))
    from_float = ctx.infer(x)[0]
    from_int8 = ctx.infer(q)[0]
    np.testing.assert_array_equal(from_int8, from_float)
    dequantized = ((q.astype(np.float64) - X_ZP) * X_SCALE).astype(np.float32)
    np.testing.assert_array_equal(from_float.reshape(1, 4, 6, 6), reference(model, dequantized)[0])


def test_uint8_pixels_are_values_to_quantize(emu):
    model = qdq_model(np.uint8, 0, 100)
    pixels = np.random.default_rng(5).integers(0, 4, size=(1, 3, 6, 6), dtype=np.uint8)
    ctx = emu.open(to_bytes(model))
    # uint8 is the model's own type here: quantized values, i.e. x = (q - 0) / 64.
    got = ctx.infer(pixels)[0].reshape(1, 4, 6, 6)
    want = reference(model, pixels.astype(np.float32) * np.float32(X_SCALE))[0]
    np.testing.assert_array_equal(got, want)


def test_input_with_a_float_reader_stays_float(emu):
    ctx = emu.open(to_bytes(qdq_model(extra_reader=True)))
    assert ctx.attr(0).qnt_type == QNT_NONE
    assert ctx.attr(0).type in (R.RKNN_TENSOR_FLOAT16, R.RKNN_TENSOR_FLOAT32)
