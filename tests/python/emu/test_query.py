"""rknn_query: counts, attributes under the NPU's conventions (rknn-api.md §7.5–§7.6), versions, metadata."""
from __future__ import annotations

import ctypes as C
import re

import numpy as np
import pytest
from onnx import TensorProto

import emu_models as M
import rknn_ctypes as R


@pytest.fixture
def conv(emu):
    return emu.open(M.to_bytes(M.conv_net()))


def test_in_out_num(conv):
    assert conv.in_out_num() == (1, 3)


def test_4d_input_attr_is_nhwc_fp16(conv):
    a = conv.attr(0)
    assert a.index == 0
    assert a.name == b"image"
    assert a.n_dims == 4 and a.shape == (1, 16, 16, 3)  # [N,H,W,C]
    assert a.fmt == R.RKNN_TENSOR_NHWC
    assert a.type == R.RKNN_TENSOR_FLOAT16
    assert a.qnt_type == R.RKNN_TENSOR_QNT_NONE and a.zp == 0 and a.scale == 1.0
    assert a.n_elems == 3 * 16 * 16
    assert a.size == a.n_elems * 2
    assert a.w_stride == 16
    assert a.size_with_stride == a.size
    assert a.pass_through == 0 and a.h_stride == 0


def test_4d_output_attr_is_nchw_with_native_size(conv):
    a = conv.attr(0, output=True)
    assert a.name == b"features"
    assert a.shape == (1, 8, 4, 4) and a.fmt == R.RKNN_TENSOR_NCHW
    assert a.type == R.RKNN_TENSOR_FLOAT16
    assert a.n_elems == 128 and a.size == 256
    assert a.w_stride == 0
    # NC1HWC2 on rk3588 fp16: C2 = 8, W padded to 16: 1 * ceil(8/8) * 4 * 16 * 8 * 2 bytes.
    assert a.size_with_stride == 1 * 1 * 4 * 16 * 8 * 2


def test_non_4d_output_attr(conv):
    for index, name in ((1, b"logits"), (2, b"probs")):
        a = conv.attr(index, output=True)
        assert a.name == name
        assert a.shape == (1, 10) and a.fmt == R.RKNN_TENSOR_UNDEFINED
        assert a.type == R.RKNN_TENSOR_FLOAT16
        assert a.size == 20 and a.size_with_stride == 20 and a.w_stride == 0


@pytest.mark.parametrize("platform,c2,padded_w", [("rk3588", 8, 32), ("rk3576", 8, 32), ("rk3562", 8, 32),
                                                  ("rk3566", 4, 24), ("RK3568", 4, 24)])
def test_native_output_size_follows_the_platform(emu, monkeypatch, platform, c2, padded_w):
    monkeypatch.setenv("EZRKNN_EMU_PLATFORM", platform)
    ctx = emu.open(M.to_bytes(M.add_const([1, 10, 3, 20])))
    a = ctx.attr(0, output=True)
    # W = 20 padded to the platform's row alignment: 16 pixels (rk3588/rk3576/rk3562) or 8 (rk356x).
    assert a.size_with_stride == 1 * -(-10 // c2) * 3 * padded_w * c2 * 2


def test_integer_attrs_keep_their_type(emu):
    cases = [(TensorProto.INT64, R.RKNN_TENSOR_INT64, 8), (TensorProto.INT32, R.RKNN_TENSOR_INT32, 4),
             (TensorProto.UINT8, R.RKNN_TENSOR_UINT8, 1), (TensorProto.INT8, R.RKNN_TENSOR_INT8, 1),
             (TensorProto.BOOL, R.RKNN_TENSOR_BOOL, 1), (TensorProto.INT16, R.RKNN_TENSOR_INT16, 2)]
    for onnx_type, rknn_type, size in cases:
        ctx = emu.open(M.to_bytes(M.reshape_int(onnx_type, [2, 6], [3, 4])))
        i, o = ctx.attr(0), ctx.attr(0, output=True)
        assert (i.type, o.type) == (rknn_type, rknn_type)
        assert i.shape == (2, 6) and o.shape == (3, 4)
        assert i.size == 12 * size and o.size == 12 * size
        assert i.fmt == o.fmt == R.RKNN_TENSOR_UNDEFINED


def test_int8_4d_output_uses_the_int8_c2(emu):
    ctx = emu.open(M.to_bytes(M.reshape_int(TensorProto.INT8, [1, 40, 5, 5], [1, 20, 10, 5])))
    a = ctx.attr(0, output=True)
    assert a.type == R.RKNN_TENSOR_INT8 and a.shape == (1, 20, 10, 5)
    assert a.size_with_stride == 1 * 2 * 10 * 16 * 16 * 1  # C2 = 16 on rk3588
    i = ctx.attr(0)
    assert i.shape == (1, 5, 5, 40) and i.fmt == R.RKNN_TENSOR_NHWC


def test_exact_fp32_from_metadata_reports_float32(emu):
    ctx = emu.open(M.to_bytes(M.conv_net(metadata={"rknn.exact_fp32": "true"})))
    a = ctx.attr(0)
    assert a.type == R.RKNN_TENSOR_FLOAT32 and a.fmt == R.RKNN_TENSOR_NHWC and a.size == 3 * 16 * 16 * 4
    o = ctx.attr(0, output=True)
    assert o.type == R.RKNN_TENSOR_FLOAT32 and o.fmt == R.RKNN_TENSOR_NCHW


def test_exact_fp32_from_environment(emu, monkeypatch):
    monkeypatch.setenv("EZRKNN_EMU_EXACT_FP32", "1")
    ctx = emu.open(M.to_bytes(M.conv_net()))
    assert ctx.attr(0).type == R.RKNN_TENSOR_FLOAT32


def test_float16_model_reports_float16_in_both_modes(emu, monkeypatch):
    assert emu.open(M.to_bytes(M.float16_io())).attr(0).type == R.RKNN_TENSOR_FLOAT16
    monkeypatch.setenv("EZRKNN_EMU_EXACT_FP32", "1")
    assert emu.open(M.to_bytes(M.float16_io())).attr(0).type == R.RKNN_TENSOR_FLOAT16


def test_long_names_are_truncated(emu):
    from onnx import helper

    name = "n" * 300
    model = M.make_model([helper.make_node("Relu", [name], ["y"], name="relu")], [M.vi(name, TensorProto.FLOAT, [2])],
                         [M.vi("y", TensorProto.FLOAT, [2])])
    a = emu.open(M.to_bytes(model)).attr(0)
    assert a.name == b"n" * 255


def test_sdk_version(conv, emu_lib):
    code, v = conv.query(R.RKNN_QUERY_SDK_VERSION, R.rknn_sdk_version())
    assert code == 0
    version = emu_lib.ezrknn_emu_version().decode()
    assert v.api_version.decode() == f"2.3.2 (ezrknn emulator {version})"
    assert re.match(r"^\d+\.\d+\.\d+", v.api_version.decode())
    assert f"ezrknn emulator {version}" in v.drv_version.decode()


def test_custom_string(emu):
    ctx = emu.open(M.to_bytes(M.add_const([2], metadata={"rknn.custom_string": "RGB;mean=0;std=255"})))
    code, s = ctx.query(R.RKNN_QUERY_CUSTOM_STRING, R.rknn_custom_string())
    assert code == 0 and s.string == b"RGB;mean=0;std=255"
    code, s = emu.open(M.to_bytes(M.add_const([2]))).query(R.RKNN_QUERY_CUSTOM_STRING, R.rknn_custom_string())
    assert code == 0 and s.string == b""


def test_custom_string_is_truncated_to_1023_bytes(emu):
    ctx = emu.open(M.to_bytes(M.add_const([2], metadata={"rknn.custom_string": "x" * 2000})))
    code, s = ctx.query(R.RKNN_QUERY_CUSTOM_STRING, R.rknn_custom_string())
    assert code == 0 and s.string == b"x" * 1023


def test_target_platform_metadata_is_accepted_on_that_platform(emu, monkeypatch):
    monkeypatch.setenv("EZRKNN_EMU_PLATFORM", "rk3566")
    ctx = emu.open(M.to_bytes(M.add_const([2], metadata={"rknn.target_platform": "rk3566"})))
    assert ctx.in_out_num() == (1, 1)


def test_mem_size_and_perf_run(conv):
    code, m = conv.query(R.RKNN_QUERY_MEM_SIZE, R.rknn_mem_size())
    assert code == 0
    assert m.total_weight_size > 0
    assert m.total_dma_allocated_size >= m.total_weight_size + m.total_internal_size
    assert m.total_sram_size == 0 and m.free_sram_size == 0
    code, p = conv.query(R.RKNN_QUERY_PERF_RUN, R.rknn_perf_run())
    assert code == 0 and p.run_duration == 0
    conv.inputs_set(np.zeros((1, 3, 16, 16), np.float32))
    conv.run()
    code, p = conv.query(R.RKNN_QUERY_PERF_RUN, R.rknn_perf_run())
    assert code == 0 and p.run_duration >= 0


def test_current_attrs_equal_the_attrs_of_a_static_model(conv):
    for output in (False, True):
        cmd = R.RKNN_QUERY_CURRENT_OUTPUT_ATTR if output else R.RKNN_QUERY_CURRENT_INPUT_ATTR
        assert bytes(conv.attr(0, output, cmd=cmd)) == bytes(conv.attr(0, output))


def test_dynamic_range_reports_no_dynamic_shapes(conv):
    r = R.rknn_input_range()
    r.index = 0
    code, r = conv.query(R.RKNN_QUERY_INPUT_DYNAMIC_RANGE, r)
    assert code == 0 and r.shape_number == 0 and r.name == b"image"


def test_wrong_size_is_param_invalid(conv):
    num = R.rknn_input_output_num()
    assert conv.query(R.RKNN_QUERY_IN_OUT_NUM, num, size=4)[0] == R.RKNN_ERR_PARAM_INVALID
    attr = R.rknn_tensor_attr()
    assert conv.query(R.RKNN_QUERY_INPUT_ATTR, attr, size=372)[0] == R.RKNN_ERR_PARAM_INVALID
    assert "376" in conv.emu.last_error()
    assert conv.query(R.RKNN_QUERY_OUTPUT_ATTR, attr, size=1000)[0] == R.RKNN_ERR_PARAM_INVALID
    assert conv.query(R.RKNN_QUERY_SDK_VERSION, R.rknn_sdk_version(), size=256)[0] == R.RKNN_ERR_PARAM_INVALID
    assert conv.query(R.RKNN_QUERY_CUSTOM_STRING, R.rknn_custom_string(), size=0)[0] == R.RKNN_ERR_PARAM_INVALID


def test_bad_index_is_param_invalid(conv):
    for cmd, index in ((R.RKNN_QUERY_INPUT_ATTR, 1), (R.RKNN_QUERY_OUTPUT_ATTR, 3),
                       (R.RKNN_QUERY_INPUT_ATTR, 0xFFFFFFFF)):
        a = R.rknn_tensor_attr()
        a.index = index
        assert conv.query(cmd, a)[0] == R.RKNN_ERR_PARAM_INVALID
        assert "out of range" in conv.emu.last_error()


def test_null_info_and_unknown_command(conv, emu_lib):
    assert emu_lib.rknn_query(conv.handle, R.RKNN_QUERY_IN_OUT_NUM, None, 8) == R.RKNN_ERR_PARAM_INVALID
    num = R.rknn_input_output_num()
    for cmd in (99, 18, -1, 0x7FFFFFFF):  # ints a C caller can pass in the enum parameter
        assert emu_lib.rknn_query(conv.handle, cmd, C.byref(num), 8) == R.RKNN_ERR_PARAM_INVALID


def test_bad_context(emu_lib):
    num = R.rknn_input_output_num()
    assert emu_lib.rknn_query(777, R.RKNN_QUERY_IN_OUT_NUM, C.byref(num), 8) == R.RKNN_ERR_CTX_INVALID
    assert "777" in emu_lib.ezrknn_emu_last_error().decode()

