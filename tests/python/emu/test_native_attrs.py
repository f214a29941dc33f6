"""NATIVE_* queries (rknn-api.md §7.5–§7.6) and rknn_inputs_set in native layouts (pass_through, §7.7). Expected
attrs and layouts are computed here from the rules, and data is packed/unpacked with numpy."""
from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto

import emu_models as M
from nc1hwc2 import to_nc1hwc2  # tests/python, on the path through emu_models
import rknn_ctypes as R

# Platform → (C2 int8, C2 fp16, row alignment in pixels), rknn-api.md §7.6.
PLATFORMS = {"rk3588": (16, 8, 16), "rk3576": (16, 8, 16), "rk3562": (16, 8, 16), "rk3566": (8, 4, 8),
             "rk3568": (8, 4, 8)}


def align(value, to):
    return -(-value // to) * to


def from_nc1hwc2(buf, shape, c2, w_stride):
    n, c, h, w = shape
    c1 = -(-c // c2)
    blocks = buf.reshape(n, c1, h, w_stride, c2)[:, :, :, :w, :]
    return blocks.transpose(0, 1, 4, 2, 3).reshape(n, c1 * c2, h, w)[:, :c]


def to_nhwc_strided(x, w_stride):
    n, c, h, w = x.shape
    out = np.zeros((n, h, w_stride, c), x.dtype)
    out[:, :, :w, :] = x.transpose(0, 2, 3, 1)
    return out


def native(ctx, index, output=False, nhwc=False, current=False):
    if current:
        cmd = R.RKNN_QUERY_CURRENT_NATIVE_OUTPUT_ATTR if output else R.RKNN_QUERY_CURRENT_NATIVE_INPUT_ATTR
    elif nhwc:
        cmd = R.RKNN_QUERY_NATIVE_NHWC_OUTPUT_ATTR if output else R.RKNN_QUERY_NATIVE_NHWC_INPUT_ATTR
    else:
        cmd = R.RKNN_QUERY_NATIVE_OUTPUT_ATTR if output else R.RKNN_QUERY_NATIVE_INPUT_ATTR
    return ctx.attr(index, output=output, cmd=cmd)


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_three_channel_input_is_nhwc_with_the_platform_row_alignment(emu, monkeypatch, platform):
    monkeypatch.setenv("EZRKNN_EMU_PLATFORM", platform)
    ctx = emu.open(M.to_bytes(M.add_const([1, 3, 4, 5])))
    a = native(ctx, 0)
    _, _, row = PLATFORMS[platform]
    assert a.fmt == R.RKNN_TENSOR_NHWC and a.type == R.RKNN_TENSOR_FLOAT16
    assert a.shape == (1, 4, 5, 3) and a.name == b"x"
    assert a.w_stride == align(5, row)
    assert a.size == 60 * 2 and a.size_with_stride == 4 * align(5, row) * 3 * 2
    assert bytes(native(ctx, 0, current=True)) == bytes(a)


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_outputs_and_other_channel_counts_are_nc1hwc2(emu, monkeypatch, platform):
    monkeypatch.setenv("EZRKNN_EMU_PLATFORM", platform)
    c2_int8, c2_fp16, row = PLATFORMS[platform]
    ctx = emu.open(M.to_bytes(M.add_const([1, 13, 3, 5])))
    for output in (False, True):
        a = native(ctx, 0, output=output)
        c1 = -(-13 // c2_fp16)
        assert a.fmt == R.RKNN_TENSOR_NC1HWC2 and a.n_dims == 5
        assert a.shape == (1, c1, 3, 5, c2_fp16)
        assert a.n_elems == c1 * 3 * 5 * c2_fp16 and a.size == a.n_elems * 2
        assert a.w_stride == align(5, row)
        assert a.size_with_stride == c1 * 3 * align(5, row) * c2_fp16 * 2
        assert bytes(native(ctx, 0, output=output, current=True)) == bytes(a)
    int8 = emu.open(M.to_bytes(M.reshape_int(TensorProto.INT8, [1, 13, 4, 4], [1, 13, 4, 4])))
    a = native(int8, 0, output=True)
    assert a.type == R.RKNN_TENSOR_INT8 and a.shape == (1, -(-13 // c2_int8), 4, 4, c2_int8)


def test_nhwc_variants(emu):
    ctx = emu.open(M.to_bytes(M.add_const([1, 13, 3, 5])))
    i = native(ctx, 0, nhwc=True)
    assert i.fmt == R.RKNN_TENSOR_NHWC and i.shape == (1, 3, 5, 13) and i.w_stride == 16
    assert i.size_with_stride == 3 * 16 * 13 * 2
    o = native(ctx, 0, output=True, nhwc=True)
    assert o.fmt == R.RKNN_TENSOR_NHWC and o.shape == (1, 3, 5, 13) and o.size_with_stride == o.size == 195 * 2


def test_bool_int64_and_non_4d_tensors(emu):
    for onnx_type in (TensorProto.BOOL, TensorProto.INT64):
        ctx = emu.open(M.to_bytes(M.reshape_int(onnx_type, [1, 3, 2, 2], [1, 3, 2, 2])))
        for output in (False, True):
            a = native(ctx, 0, output=output)
            assert a.fmt == R.RKNN_TENSOR_NCHW and a.shape == (1, 3, 2, 2)
    flat = emu.open(M.to_bytes(M.add_const([2, 3])))
    a = native(flat, 0)
    assert a.fmt == R.RKNN_TENSOR_UNDEFINED and a.shape == (2, 3) and a.size == 12
    assert a.size_with_stride == 16  # the total size of a non-4-D input is aligned like a row (§7.6)


def test_exact_fp32_native_input_is_float32(emu, monkeypatch):
    monkeypatch.setenv("EZRKNN_EMU_EXACT_FP32", "1")
    ctx = emu.open(M.to_bytes(M.add_const([1, 3, 4, 5])))
    a = native(ctx, 0)
    assert a.type == R.RKNN_TENSOR_FLOAT32 and a.fmt == R.RKNN_TENSOR_NHWC and a.size_with_stride == 4 * 16 * 3 * 4
    assert native(ctx, 0, output=True).fmt == R.RKNN_TENSOR_NCHW


def test_native_query_checks_index_and_size(emu):
    ctx = emu.open(M.to_bytes(M.add_const([1, 3, 4, 5])))
    a = R.rknn_tensor_attr()
    a.index = 1
    assert ctx.query(R.RKNN_QUERY_NATIVE_INPUT_ATTR, a)[0] == R.RKNN_ERR_PARAM_INVALID
    assert ctx.query(R.RKNN_QUERY_NATIVE_OUTPUT_ATTR, R.rknn_tensor_attr(), size=100)[0] == R.RKNN_ERR_PARAM_INVALID


# --- rknn_inputs_set in native layouts ---------------------------------------------------------------------------

def expected_fp16(x):
    return M.fp16(M.fp16(x) + np.float32(1 / 3))


@pytest.mark.parametrize("platform", ["rk3588", "rk3566"])
def test_pass_through_padded_nhwc(emu, monkeypatch, platform):
    monkeypatch.setenv("EZRKNN_EMU_PLATFORM", platform)
    ctx = emu.open(M.to_bytes(M.add_const([1, 3, 4, 5])))
    x = np.random.default_rng(1).standard_normal((1, 3, 4, 5)).astype(np.float32)
    w_stride = native(ctx, 0).w_stride
    buf = to_nhwc_strided(x.astype(np.float16), w_stride)
    buf[:, :, 5:, :] = 1000  # padding pixels must be ignored
    assert buf.nbytes == native(ctx, 0).size_with_stride
    (y,) = ctx.infer(buf, pass_through=1)
    np.testing.assert_array_equal(y, expected_fp16(x))


@pytest.mark.parametrize("platform", ["rk3588", "rk3568"])
def test_pass_through_nc1hwc2(emu, monkeypatch, platform):
    monkeypatch.setenv("EZRKNN_EMU_PLATFORM", platform)
    ctx = emu.open(M.to_bytes(M.add_const([1, 13, 3, 5])))
    a = native(ctx, 0)
    c2 = a.dims[4]
    x = np.random.default_rng(2).standard_normal((1, 13, 3, 5)).astype(np.float32)
    padded = to_nc1hwc2(x.astype(np.float16), c2, a.w_stride)
    (y,) = ctx.infer(padded, pass_through=1)
    np.testing.assert_array_equal(y, expected_fp16(x))
    dense = to_nc1hwc2(x.astype(np.float16), c2, 5)  # rows without padding are accepted too
    (y,) = ctx.infer(dense, pass_through=1)
    np.testing.assert_array_equal(y, expected_fp16(x))


def test_pass_through_int8_nc1hwc2(emu):
    ctx = emu.open(M.to_bytes(M.reshape_int(TensorProto.INT8, [1, 20, 2, 3], [1, 20, 2, 3])))
    x = np.random.default_rng(3).integers(-128, 128, (1, 20, 2, 3)).astype(np.int8)
    a = native(ctx, 0)
    assert a.dims[4] == 16
    (y,) = ctx.infer(to_nc1hwc2(x, 16, a.w_stride), pass_through=1, want_float=False)
    np.testing.assert_array_equal(y, x)


def test_nc1hwc2_without_pass_through_is_refused(emu):
    ctx = emu.open(M.to_bytes(M.add_const([1, 13, 3, 5])))
    x = np.zeros((1, 13, 3, 5), np.float32)
    assert ctx.raw_inputs_set([{"data": x, "fmt": R.RKNN_TENSOR_NC1HWC2}]) == R.RKNN_ERR_PARAM_INVALID
    assert "pass_through" in emu.last_error()


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.uint8, np.int8])
@pytest.mark.parametrize("fmt", [R.RKNN_TENSOR_NCHW, R.RKNN_TENSOR_NHWC])
def test_every_user_type_and_layout(emu, dtype, fmt):
    ctx = emu.open(M.to_bytes(M.add_const([1, 4, 3, 5])))
    rng = np.random.default_rng(4)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        x = rng.integers(info.min, info.max + 1, (1, 4, 3, 5)).astype(dtype)
    else:
        x = (rng.standard_normal((1, 4, 3, 5)) * 4).astype(dtype)
    data = x if fmt == R.RKNN_TENSOR_NCHW else np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    (y,) = ctx.infer(data, fmt=fmt)
    np.testing.assert_array_equal(y, expected_fp16(x.astype(np.float32)))


def test_non_4d_input_ignores_any_fmt_value(emu):
    ctx = emu.open(M.to_bytes(M.add_const([2, 3])))
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    for fmt in (R.RKNN_TENSOR_NC1HWC2, -7, 99):
        (y,) = ctx.infer(x, fmt=fmt)
        np.testing.assert_array_equal(y, expected_fp16(x))
