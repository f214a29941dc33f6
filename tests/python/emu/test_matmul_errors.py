"""Every bad call of the matmul API gets its RKNN code and a message that says what to fix; none crashes."""
from __future__ import annotations

import ctypes as C

import numpy as np
import pytest

import emu_models as M
import rknn_ctypes as R
from emu_matmul import Matmul, make_info, quant_params

F32 = R.RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT32
I32 = R.RKNN_INT8_MM_INT8_TO_INT32


@pytest.fixture
def mm(emu_lib):
    m = Matmul(emu_lib, 4, 16, 8, I32)
    assert m.code == 0
    yield m
    m.destroy()


def expect(emu, code, want, *fragments):
    assert code == want, f"returned {code}, wanted {want}: {emu.last_error()}"
    for f in fragments:
        assert f in emu.last_error(), emu.last_error()


def create(lib, info):
    ctx = R.rknn_context(0)
    io = R.rknn_matmul_io_attr()
    return lib.rknn_matmul_create(C.byref(ctx), C.byref(info), C.byref(io)), ctx.value


def test_create_null_pointers(emu, emu_lib):
    info, io, ctx = make_info(2, 8, 2, F32), R.rknn_matmul_io_attr(), R.rknn_context(7)
    expect(emu, emu_lib.rknn_matmul_create(None, C.byref(info), C.byref(io)), R.RKNN_ERR_PARAM_INVALID, "ctx is NULL")
    expect(emu, emu_lib.rknn_matmul_create(C.byref(ctx), None, C.byref(io)), R.RKNN_ERR_PARAM_INVALID,
           "info is NULL")
    assert ctx.value == 0  # cleared on failure, so a stale value cannot be mistaken for a context
    expect(emu, emu_lib.rknn_matmul_create(C.byref(ctx), C.byref(info), None), R.RKNN_ERR_PARAM_INVALID,
           "io_attr is NULL")


@pytest.mark.parametrize("mkn", [(0, 8, 2), (2, 0, 2), (2, 8, 0), (-1, 8, 2), (2, -8, 2)])
def test_create_non_positive_dims(emu, emu_lib, mkn):
    code, ctx = create(emu_lib, make_info(*mkn, F32))
    expect(emu, code, R.RKNN_ERR_PARAM_INVALID, "M, K and N must all be greater than 0")
    assert ctx == 0


def test_create_oversized(emu, emu_lib):
    code, _ = create(emu_lib, make_info(70000, 70000, 2, F32))
    expect(emu, code, R.RKNN_ERR_PARAM_INVALID, "more than the 32-bit size")


@pytest.mark.parametrize("mm_type", [0, 13, 14, 16, -3, 1000])
def test_create_unknown_type(emu, emu_lib, mm_type):
    code, _ = create(emu_lib, make_info(2, 8, 2, mm_type))
    expect(emu, code, R.RKNN_ERR_PARAM_INVALID, f"info->type {mm_type} is not an rknn_matmul_type",
           "RKNN_INT8_MM_INT8_TO_INT32 (2)")


@pytest.mark.parametrize("mm_type", [7, 8, 10, 11, 12, 15])
def test_create_int4_types_are_refused(emu, emu_lib, mm_type):
    code, _ = create(emu_lib, make_info(2, 32, 32, mm_type))
    expect(emu, code, R.RKNN_ERR_PARAM_INVALID, "has int4 operands, which the ezrknn emulator does not compute")


@pytest.mark.parametrize("field,value,fragment", [
    ("b_layout", R.RKNN_MM_LAYOUT_NATIVE, "info->B_layout is RKNN_MM_LAYOUT_NATIVE (1)"),
    ("ac_layout", R.RKNN_MM_LAYOUT_NATIVE, "info->AC_layout is RKNN_MM_LAYOUT_NATIVE (1)"),
    ("b_layout", 5, "info->B_layout is 5"),
    ("ac_layout", R.RKNN_MM_LAYOUT_TP_NORM, "info->AC_layout is 2"),
    ("b_quant", R.RKNN_QUANT_TYPE_PER_GROUP_SYM, "per-group quantization (4, 5)"),
    ("b_quant", -1, "info->B_quant_type is -1"),
    ("ac_quant", R.RKNN_QUANT_TYPE_PER_CHANNEL_SYM, "info->AC_quant_type is 2"),
])
def test_create_unsupported_layouts(emu, emu_lib, field, value, fragment):
    code, _ = create(emu_lib, make_info(2, 32, 32, I32, **{field: value}))
    expect(emu, code, R.RKNN_ERR_PARAM_INVALID, fragment)


def test_create_dynamic_shape_bad_arguments(emu, emu_lib):
    info = make_info(0, 0, 0, F32)
    shapes = (R.rknn_matmul_shape * 2)(R.rknn_matmul_shape(2, 8, 2), R.rknn_matmul_shape(4, 0, 2))
    ios = (R.rknn_matmul_io_attr * 2)()
    ctx = R.rknn_context(0)
    f = emu_lib.rknn_matmul_create_dynamic_shape
    expect(emu, f(C.byref(ctx), C.byref(info), 0, shapes, ios), R.RKNN_ERR_PARAM_INVALID, "shape_num is 0")
    expect(emu, f(C.byref(ctx), C.byref(info), -2, shapes, ios), R.RKNN_ERR_PARAM_INVALID, "shape_num is -2")
    expect(emu, f(C.byref(ctx), C.byref(info), 1, None, ios), R.RKNN_ERR_PARAM_INVALID, "dynamic_shapes is NULL")
    expect(emu, f(C.byref(ctx), C.byref(info), 1, shapes, None), R.RKNN_ERR_PARAM_INVALID, "io_attrs is NULL")
    expect(emu, f(C.byref(ctx), C.byref(info), 2, shapes, ios), R.RKNN_ERR_PARAM_INVALID,
           "dynamic_shapes[1] has (M=4, K=0, N=2)")
    assert ctx.value == 0


def test_set_io_mem_bad_arguments(emu, emu_lib, mm):
    mem = emu_lib.rknn_create_mem(mm.ctx, mm.io.A.size)  # a matmul context serves rknn_create_mem
    assert mem
    try:
        f = emu_lib.rknn_matmul_set_io_mem
        expect(emu, f(mm.ctx, None, C.byref(mm.io.A)), R.RKNN_ERR_PARAM_INVALID, "mem is NULL")
        expect(emu, f(mm.ctx, mem, None), R.RKNN_ERR_PARAM_INVALID, "attr is NULL")
        other = R.rknn_matmul_tensor_attr.from_buffer_copy(mm.io.A)
        other.name = b"D"
        expect(emu, f(mm.ctx, mem, C.byref(other)), R.RKNN_ERR_PARAM_INVALID, 'attr->name is "D"')
        other.name = b"A"
        other.type = R.RKNN_TENSOR_FLOAT16
        expect(emu, f(mm.ctx, mem, C.byref(other)), R.RKNN_ERR_PARAM_INVALID, "attr->type of A is 1",
               "takes it as INT8")
        expect(emu, f(mm.ctx, mem, C.byref(mm.io.B)), R.RKNN_ERR_PARAM_INVALID,
               f"mem->size is {mm.io.A.size} bytes, but B needs {mm.io.B.size}")
        fake = R.rknn_tensor_mem.from_buffer_copy(mem.contents)
        expect(emu, f(mm.ctx, C.byref(fake), C.byref(mm.io.A)), R.RKNN_ERR_PARAM_INVALID)
        assert f(mm.ctx, mem, C.byref(mm.io.A)) == 0
    finally:
        assert emu_lib.rknn_destroy_mem(mm.ctx, mem) == 0


def test_run_needs_every_operand(emu, mm):
    expect(emu, mm.run(), R.RKNN_ERR_INPUT_INVALID, "A has no memory")
    assert mm.bind("A") == 0 and mm.bind("B") == 0
    expect(emu, mm.run(), R.RKNN_ERR_OUTPUT_INVALID, "C has no memory")
    assert mm.bind("C") == 0
    assert mm.run() == 0


def test_quant_params_bad_arguments(emu, emu_lib):
    mm = Matmul(emu_lib, 2, 8, 4, I32, b_quant=R.RKNN_QUANT_TYPE_PER_CHANNEL_SYM,
                ac_quant=R.RKNN_QUANT_TYPE_PER_LAYER_ASYM)
    fmm = Matmul(emu_lib, 2, 8, 4, F32)
    try:
        f = emu_lib.rknn_matmul_set_quant_params
        expect(emu, f(mm.ctx, None), R.RKNN_ERR_PARAM_INVALID, "params is NULL")
        cases = [
            (("X", [1.0]), 'params->name is "X"'),
            (("A", [1.0, 2.0]), "A is quantized per layer: give 1 scale"),
            (("B", [1.0, 2.0, 3.0]), "B is quantized per channel: give N = 4 scales"),
            (("B", [1.0] * 4, [0, 1, 0, 0]), "the quant type is symmetric (_SYM), so zero points must be 0"),
            (("A", [1.0], [200]), "int8 zero points lie in -128..127"),
            (("A", [-1.0]), "scales must be finite and greater than 0"),
            (("A", [float("nan")]), "scales must be finite and greater than 0"),
            (("A", [1.0], [1, 2]), "params->zp_len of A is 2"),
        ]
        for args, fragment in cases:
            p, keep = quant_params(*args)
            expect(emu, f(mm.ctx, C.byref(p)), R.RKNN_ERR_PARAM_INVALID, fragment)
        p = R.rknn_quant_params()
        p.name = b"A"
        expect(emu, f(mm.ctx, C.byref(p)), R.RKNN_ERR_PARAM_INVALID, "params->scale of A is NULL")
        p, keep = quant_params("A", [0.5])
        expect(emu, f(fmm.ctx, C.byref(p)), R.RKNN_ERR_PARAM_INVALID, "A is FP16",
               "quantization parameters apply to int8 operands")
        expect(emu, emu_lib.rknn_matmul_get_quant_params(mm.ctx, None, None), R.RKNN_ERR_PARAM_INVALID,
               "params is NULL")
    finally:
        mm.destroy()
        fmm.destroy()


def test_stale_and_foreign_handles(emu, emu_lib):
    mm = Matmul(emu_lib, 2, 8, 2, F32)
    handle = mm.ctx
    assert mm.destroy() == 0
    expect(emu, emu_lib.rknn_matmul_destroy(handle), R.RKNN_ERR_CTX_INVALID, "not a live matmul context")
    expect(emu, emu_lib.rknn_matmul_run(handle), R.RKNN_ERR_CTX_INVALID, "not a live matmul context")
    shape = R.rknn_matmul_shape(2, 8, 2)
    expect(emu, emu_lib.rknn_matmul_set_dynamic_shape(handle, C.byref(shape)), R.RKNN_ERR_CTX_INVALID)
    expect(emu, emu_lib.rknn_matmul_set_core_mask(handle, 0), R.RKNN_ERR_CTX_INVALID)
    attr = R.rknn_matmul_tensor_attr()
    mem = R.rknn_tensor_mem()
    expect(emu, emu_lib.rknn_matmul_set_io_mem(handle, C.byref(mem), C.byref(attr)), R.RKNN_ERR_CTX_INVALID)
    assert not emu_lib.rknn_create_mem(handle, 64)
    for made_up in (0, 1, 12345, 2**40):
        expect(emu, emu_lib.rknn_matmul_run(made_up), R.RKNN_ERR_CTX_INVALID)
    # Neither kind of context passes for the other.
    model = emu.open(M.to_bytes(M.add_const([2])))
    expect(emu, emu_lib.rknn_matmul_run(model.handle), R.RKNN_ERR_CTX_INVALID)
    expect(emu, emu_lib.rknn_matmul_destroy(model.handle), R.RKNN_ERR_CTX_INVALID)
    live = Matmul(emu_lib, 2, 8, 2, F32)
    try:
        expect(emu, emu_lib.rknn_run(live.ctx, None), R.RKNN_ERR_CTX_INVALID)
        expect(emu, emu_lib.rknn_destroy(live.ctx), R.RKNN_ERR_CTX_INVALID)
    finally:
        assert live.destroy() == 0
    np.testing.assert_allclose(model.infer(np.ones(2, np.float32))[0], 4 / 3, rtol=1e-3)  # the model still works


def test_set_dynamic_shape_null_and_static(emu, mm):
    expect(emu, mm.lib.rknn_matmul_set_dynamic_shape(mm.ctx, None), R.RKNN_ERR_PARAM_INVALID, "shape is NULL")
    assert mm.set_shape(4, 16, 8) == 0  # the one shape of a static context
    expect(emu, mm.set_shape(4, 16, 9), R.RKNN_ERR_PARAM_INVALID, "is not one the context was created with")


def test_b_normal_layout_to_native_layout(emu, emu_lib):
    blob = (C.c_uint8 * 4096)()
    out = (C.c_uint8 * 4096)()
    info = make_info(4, 32, 32, I32)
    f = emu_lib.rknn_B_normal_layout_to_native_layout
    expect(emu, f(None, out, 32, 32, C.byref(info)), R.RKNN_ERR_PARAM_INVALID, "B_input is NULL")
    expect(emu, f(blob, None, 32, 32, C.byref(info)), R.RKNN_ERR_PARAM_INVALID, "B_output is NULL")
    expect(emu, f(blob, out, 32, 32, None), R.RKNN_ERR_PARAM_INVALID, "info is NULL")
    expect(emu, f(blob, out, 0, 32, C.byref(info)), R.RKNN_ERR_PARAM_INVALID, "M, K and N must all be greater")
    info.type = 10
    expect(emu, f(blob, out, 32, 32, C.byref(info)), R.RKNN_ERR_PARAM_INVALID, "int4")
    info.type = I32
    expect(emu, f(blob, out, 32, 32, C.byref(info)), R.RKNN_ERR_FAIL, "has no native matmul layout")
    assert bytes(out) == bytes(4096)  # nothing written
