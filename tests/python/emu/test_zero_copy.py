"""Zero-copy memory (rknn-api.md §7.10): rknn_create_mem*, rknn_set_io_mem with the conversions of UG Tables 5-4
to 5-6, rknn_mem_sync, rknn_destroy_mem, weight/internal memory, MODEL_BUFFER_ZERO_COPY, and every bad input
returning an RKNN code instead of crashing. Expected data is computed with numpy."""
from __future__ import annotations

import ctypes as C
import mmap
import os
import threading

import numpy as np
import pytest
from onnx import TensorProto

import emu_models as M
import rknn_ctypes as R
from test_native_attrs import from_nc1hwc2, native, to_nc1hwc2, to_nhwc_strided

NO_CONTEXT = R.RKNN_MEM_FLAG_ALLOC_NO_CONTEXT


def expected_fp16(x):
    return M.fp16(M.fp16(x) + np.float32(1 / 3))


def mem_array(mem, dtype, count=None, offset=0):
    """A numpy view of a mem's bytes (virt_addr + offset)."""
    m = mem.contents
    count = (m.size - offset) // np.dtype(dtype).itemsize if count is None else count
    buf = (C.c_uint8 * (count * np.dtype(dtype).itemsize)).from_address(m.virt_addr + m.offset + offset)
    return np.frombuffer(buf, dtype=dtype, count=count)


@pytest.fixture
def add4d(emu):
    return emu.open(M.to_bytes(M.add_const([1, 3, 4, 5])))


def create(emu_lib, mems, ctx, size, flags=None):
    m = emu_lib.rknn_create_mem(ctx, size) if flags is None else emu_lib.rknn_create_mem2(ctx, size, flags)
    assert m, emu_lib.ezrknn_emu_last_error().decode()
    mems.append(m)
    return m


def set_io(ctx, mem, attr):
    return ctx.lib.rknn_set_io_mem(ctx.handle, mem, C.byref(attr))


# --- create / destroy ------------------------------------------------------------------------------------------

def test_create_mem_fields_and_fd(emu_lib, add4d, mems):
    m = create(emu_lib, mems, add4d.handle, 5000)
    s = m.contents
    assert s.virt_addr and s.phys_addr and s.fd >= 0 and s.offset == 0 and s.size == 5000
    assert s.flags == R.RKNN_TENSOR_MEMORY_FLAGS_ALLOC_INSIDE | (R.RKNN_FLAG_MEMORY_CACHEABLE << 8)
    view = mem_array(m, np.uint8)
    view[:] = np.arange(5000) % 251
    with mmap.mmap(s.fd, 5000) as other:  # the fd is a real one: its mapping shows the same bytes
        assert bytes(other[:5000]) == view.tobytes()
        other[7] = 99
    assert view[7] == 99


@pytest.mark.parametrize("alloc,encoded", [
    (R.RKNN_FLAG_MEMORY_FLAGS_DEFAULT, 0x101), (R.RKNN_FLAG_MEMORY_CACHEABLE, 0x101),
    (R.RKNN_FLAG_MEMORY_NON_CACHEABLE, 0x201), (R.RKNN_FLAG_MEMORY_TRY_ALLOC_SRAM, 0x501),
    (NO_CONTEXT | R.RKNN_FLAG_MEMORY_NON_CACHEABLE, 0x20201)])
def test_create_mem2_keeps_the_alloc_flags(emu_lib, add4d, mems, alloc, encoded):
    ctx = 0 if alloc & NO_CONTEXT else add4d.handle
    m = create(emu_lib, mems, ctx, 64, alloc)
    assert m.contents.flags == encoded
    assert m.contents.flags & 0xFF == R.RKNN_TENSOR_MEMORY_FLAGS_ALLOC_INSIDE


def test_phys_addresses_are_unique(emu_lib, add4d, mems):
    addrs = [create(emu_lib, mems, add4d.handle, 100).contents.phys_addr for _ in range(10)]
    assert len(set(addrs)) == 10 and all(addrs)


def test_no_context_mem_is_destroyed_with_any_context(emu_lib, add4d):
    m = emu_lib.rknn_create_mem2(0, 64, NO_CONTEXT)
    assert m
    assert emu_lib.rknn_destroy_mem(add4d.handle, m) == 0


def test_create_mem_bad_input(emu, emu_lib, add4d):
    assert not emu_lib.rknn_create_mem(0, 64)
    assert "RKNN_ERR_CTX_INVALID" in emu.last_error()
    assert not emu_lib.rknn_create_mem(add4d.handle, 0)
    assert "RKNN_ERR_PARAM_INVALID" in emu.last_error()
    assert not emu_lib.rknn_create_mem2(add4d.handle, 1 << 40, 0)
    assert "RKNN_ERR_PARAM_INVALID" in emu.last_error() and "1099511627776" in emu.last_error()
    assert not emu_lib.rknn_create_mem2(0, 1 << 40, NO_CONTEXT)
    assert not emu_lib.rknn_create_mem2(add4d.handle, 64, 0x40)
    assert "alloc_flags" in emu.last_error()
    dead = emu.open(M.to_bytes(M.add_const([2])))
    dead.destroy()
    assert not emu_lib.rknn_create_mem(dead.handle, 64)
    assert "RKNN_ERR_CTX_INVALID" in emu.last_error()


def test_destroy_mem_bad_input(emu, emu_lib, add4d):
    m = emu_lib.rknn_create_mem(add4d.handle, 64)
    assert emu_lib.rknn_destroy_mem(add4d.handle, m) == 0
    assert emu_lib.rknn_destroy_mem(add4d.handle, m) == R.RKNN_ERR_PARAM_INVALID  # twice
    assert "not a live rknn_tensor_mem" in emu.last_error()
    fake = R.rknn_tensor_mem()
    assert emu_lib.rknn_destroy_mem(add4d.handle, C.byref(fake)) == R.RKNN_ERR_PARAM_INVALID
    assert emu_lib.rknn_destroy_mem(add4d.handle, None) == R.RKNN_ERR_PARAM_INVALID
    m = emu_lib.rknn_create_mem(add4d.handle, 64)
    assert emu_lib.rknn_destroy_mem(777, m) == R.RKNN_ERR_CTX_INVALID  # kept: retry with a live ctx or 0
    assert emu_lib.rknn_destroy_mem(0, m) == 0


def test_create_mem_from_fd(emu, emu_lib, add4d, mems):
    base = create(emu_lib, mems, add4d.handle, 8192)
    mem_array(base, np.uint8)[4096:4100] = [1, 2, 3, 4]
    fd = base.contents.fd
    mapped = emu_lib.rknn_create_mem_from_fd(add4d.handle, fd, None, 16, 4096)  # emulator maps the fd itself
    assert mapped
    mems.append(mapped)
    assert mapped.contents.flags & 0xFF == R.RKNN_TENSOR_MEMORY_FLAGS_FROM_FD and mapped.contents.fd == fd
    assert list(mem_array(mapped, np.uint8, 4)) == [1, 2, 3, 4]
    given = emu_lib.rknn_create_mem_from_fd(add4d.handle, fd, base.contents.virt_addr, 16, 4096)
    assert given
    mems.append(given)
    assert given.contents.virt_addr == base.contents.virt_addr and given.contents.offset == 4096
    assert not emu_lib.rknn_create_mem_from_fd(add4d.handle, -1, None, 16, 0)
    assert not emu_lib.rknn_create_mem_from_fd(add4d.handle, fd, None, 8192, 4096)  # past the end of the fd
    assert not emu_lib.rknn_create_mem_from_fd(add4d.handle, fd, None, 0, 0)
    assert emu_lib.rknn_destroy_mem(add4d.handle, mapped) == 0
    os.fstat(fd)  # the caller's fd is still open


def test_create_mem_from_phys(emu, emu_lib, add4d, mems):
    block = (C.c_uint8 * 256)()
    m = emu_lib.rknn_create_mem_from_phys(add4d.handle, 0x3000_0000, C.cast(block, C.c_void_p), 256)
    assert m
    mems.append(m)
    assert m.contents.phys_addr == 0x3000_0000 and m.contents.virt_addr == C.addressof(block)
    assert m.contents.fd == -1 and m.contents.flags & 0xFF == R.RKNN_TENSOR_MEMORY_FLAGS_FROM_PHYS
    assert not emu_lib.rknn_create_mem_from_phys(add4d.handle, 0x3000_0000, None, 256)
    assert "virt_addr" in emu.last_error()


def test_mem_sync(emu_lib, add4d, mems):
    m = create(emu_lib, mems, add4d.handle, 64)
    for mode in (R.RKNN_MEMORY_SYNC_TO_DEVICE, R.RKNN_MEMORY_SYNC_FROM_DEVICE, R.RKNN_MEMORY_SYNC_BIDIRECTIONAL):
        assert emu_lib.rknn_mem_sync(add4d.handle, m, mode) == 0
        assert emu_lib.rknn_mem_sync(0, m, mode) == 0
    assert emu_lib.rknn_mem_sync(add4d.handle, m, 0) == R.RKNN_ERR_PARAM_INVALID
    assert emu_lib.rknn_mem_sync(add4d.handle, m, 7) == R.RKNN_ERR_PARAM_INVALID
    assert emu_lib.rknn_mem_sync(add4d.handle, None, 1) == R.RKNN_ERR_PARAM_INVALID
    assert emu_lib.rknn_mem_sync(add4d.handle, C.byref(R.rknn_tensor_mem()), 1) == R.RKNN_ERR_PARAM_INVALID
    assert emu_lib.rknn_mem_sync(777, m, 1) == R.RKNN_ERR_CTX_INVALID


def test_mem_size_counts_mems_of_the_context(emu_lib, add4d, mems):
    before = add4d.query(R.RKNN_QUERY_MEM_SIZE, R.rknn_mem_size())[1].total_dma_allocated_size
    create(emu_lib, mems, add4d.handle, 10000)
    create(emu_lib, mems, 0, 5000, NO_CONTEXT)  # belongs to no context
    after = add4d.query(R.RKNN_QUERY_MEM_SIZE, R.rknn_mem_size())[1].total_dma_allocated_size
    assert after - before == 10000


def test_device_mem_info_describes_the_model_buffer(add4d):
    code, info = add4d.query(R.RKNN_QUERY_DEVICE_MEM_INFO, R.rknn_tensor_mem())
    assert code == 0
    model = M.to_bytes(M.add_const([1, 3, 4, 5]))
    assert info.size == len(model) and info.virt_addr and info.phys_addr and info.fd == -1
    assert C.string_at(info.virt_addr, info.size) == model


def test_100000_create_destroy_cycles_leak_nothing(emu_lib, add4d):
    def fds():
        return len(os.listdir("/proc/self/fd"))

    def rss_kib():
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))

    create2, destroy = emu_lib.rknn_create_mem2, emu_lib.rknn_destroy_mem
    for _ in range(1000):
        destroy(0, create2(0, 4096, NO_CONTEXT))
    fd0, rss0 = fds(), rss_kib()
    for i in range(100_000):
        m = create2(add4d.handle if i % 2 else 0, 4096, NO_CONTEXT if i % 2 == 0 else 0)
        C.memset(m.contents.virt_addr, 1, 1)  # touch the page: a leaked mapping would cost RSS
        assert destroy(add4d.handle, m) == 0
    assert fds() == fd0
    # 100000 leaked pages would be 400 MiB; the margin leaves room for allocator (or ASan quarantine) growth.
    assert rss_kib() - rss0 < 64 * 1024


def test_threads_create_and_destroy_concurrently(emu_lib, add4d):
    errors = []

    def worker():
        for _ in range(500):
            m = emu_lib.rknn_create_mem(add4d.handle, 1024)
            if not m or emu_lib.rknn_destroy_mem(add4d.handle, m) != 0:
                errors.append(1)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


# --- rknn_set_io_mem -------------------------------------------------------------------------------------------

def test_native_input_and_output_mems(emu_lib, add4d, mems):
    ia, oa = native(add4d, 0), native(add4d, 0, output=True)
    im = create(emu_lib, mems, add4d.handle, ia.size_with_stride)
    om = create(emu_lib, mems, add4d.handle, oa.size_with_stride)
    assert set_io(add4d, im, ia) == 0 and set_io(add4d, om, oa) == 0
    rng = np.random.default_rng(7)
    for _ in range(2):  # new data written into the bound mem is read at the next rknn_run
        x = rng.standard_normal((1, 3, 4, 5)).astype(np.float32)
        mem_array(im, np.float16)[:] = to_nhwc_strided(x.astype(np.float16), ia.w_stride).ravel()
        add4d.run()
        y = from_nc1hwc2(mem_array(om, np.float16, oa.size_with_stride // 2), (1, 3, 4, 5), oa.dims[4], oa.w_stride)
        np.testing.assert_array_equal(y.astype(np.float32), expected_fp16(x))
        (copied,) = add4d.outputs_get()  # the copying API still sees the same run
        np.testing.assert_array_equal(copied, expected_fp16(x))


@pytest.mark.parametrize("in_type,dtype", [(R.RKNN_TENSOR_UINT8, np.uint8), (R.RKNN_TENSOR_INT8, np.int8),
                                           (R.RKNN_TENSOR_FLOAT32, np.float32), (R.RKNN_TENSOR_FLOAT16, np.float16)])
@pytest.mark.parametrize("in_fmt", [R.RKNN_TENSOR_NHWC, R.RKNN_TENSOR_NCHW])
def test_input_type_and_fmt_conversions(emu_lib, add4d, mems, in_type, dtype, in_fmt):
    a = native(add4d, 0)
    a.type, a.fmt = in_type, in_fmt
    rng = np.random.default_rng(8)
    x = (rng.integers(0, 200, (1, 3, 4, 5)) - (100 if dtype == np.int8 else 0)).astype(dtype)
    if in_fmt == R.RKNN_TENSOR_NHWC:
        data = to_nhwc_strided(x, a.w_stride)
    else:
        data = x
    im = create(emu_lib, mems, add4d.handle, data.nbytes)
    mem_array(im, dtype)[:] = data.ravel()
    assert set_io(add4d, im, a) == 0, add4d.emu.last_error()
    add4d.run()
    np.testing.assert_array_equal(add4d.outputs_get()[0], expected_fp16(x.astype(np.float32)))


@pytest.mark.parametrize("out_type,dtype", [(R.RKNN_TENSOR_FLOAT32, np.float32), (R.RKNN_TENSOR_FLOAT16, np.float16)])
@pytest.mark.parametrize("out_fmt", [R.RKNN_TENSOR_NCHW, R.RKNN_TENSOR_NHWC, R.RKNN_TENSOR_NC1HWC2])
def test_output_type_and_fmt_conversions(emu_lib, add4d, mems, out_type, dtype, out_fmt):
    x = np.random.default_rng(9).standard_normal((1, 3, 4, 5)).astype(np.float32)
    add4d.inputs_set(x)
    a = native(add4d, 0, output=True)
    a.type, a.fmt = out_type, out_fmt
    itemsize = np.dtype(dtype).itemsize
    if out_fmt == R.RKNN_TENSOR_NC1HWC2:
        size = a.n_elems // a.dims[3] * a.w_stride * itemsize
    elif out_fmt == R.RKNN_TENSOR_NHWC:
        a.w_stride = 0  # dense rows
        size = 60 * itemsize
    else:
        size = 60 * itemsize
    om = create(emu_lib, mems, add4d.handle, size)
    assert set_io(add4d, om, a) == 0, add4d.emu.last_error()
    add4d.run()
    raw = mem_array(om, dtype, size // itemsize)
    if out_fmt == R.RKNN_TENSOR_NC1HWC2:
        y = from_nc1hwc2(raw, (1, 3, 4, 5), a.dims[4], a.w_stride)
    elif out_fmt == R.RKNN_TENSOR_NHWC:
        y = raw.reshape(1, 4, 5, 3).transpose(0, 3, 1, 2)
    else:
        y = raw.reshape(1, 3, 4, 5)
    np.testing.assert_array_equal(y.astype(np.float32), expected_fp16(x))


def test_pass_through_input_mem_uses_the_native_layout(emu_lib, mems, emu):
    ctx = emu.open(M.to_bytes(M.add_const([1, 13, 3, 5])))
    a = native(ctx, 0)
    x = np.random.default_rng(10).standard_normal((1, 13, 3, 5)).astype(np.float32)
    data = to_nc1hwc2(x.astype(np.float16), a.dims[4], a.w_stride)
    im = create(emu_lib, mems, ctx.handle, data.nbytes)
    mem_array(im, np.float16)[:] = data.ravel()
    a.type, a.fmt, a.pass_through = R.RKNN_TENSOR_FLOAT32, R.RKNN_TENSOR_NCHW, 1  # type/fmt are not consulted
    assert set_io(ctx, im, a) == 0, emu.last_error()
    ctx.run()
    np.testing.assert_array_equal(ctx.outputs_get()[0], expected_fp16(x))


def test_exact_fp32_nchw_mems_are_used_in_place(emu, emu_lib, mems, monkeypatch):
    monkeypatch.setenv("EZRKNN_EMU_EXACT_FP32", "1")
    ctx = emu.open(M.to_bytes(M.add_const([1, 3, 4, 5])))
    a = ctx.attr(0)
    a.fmt = R.RKNN_TENSOR_NCHW
    im = create(emu_lib, mems, ctx.handle, 240)
    om = create(emu_lib, mems, ctx.handle, 240)
    assert set_io(ctx, im, a) == 0 and set_io(ctx, om, ctx.attr(0, output=True)) == 0
    x = np.random.default_rng(11).standard_normal((1, 3, 4, 5)).astype(np.float32)
    mem_array(im, np.float32)[:] = x.ravel()
    ctx.run()
    np.testing.assert_array_equal(mem_array(om, np.float32).reshape(1, 3, 4, 5), x + np.float32(1 / 3))


def test_integer_model_native_mems(emu, emu_lib, mems):
    ctx = emu.open(M.to_bytes(M.reshape_int(TensorProto.INT8, [1, 20, 2, 3], [1, 20, 2, 3])))
    ia, oa = native(ctx, 0), native(ctx, 0, output=True)
    im = create(emu_lib, mems, ctx.handle, ia.size_with_stride)
    om = create(emu_lib, mems, ctx.handle, oa.size_with_stride)
    x = np.random.default_rng(12).integers(-128, 128, (1, 20, 2, 3)).astype(np.int8)
    mem_array(im, np.int8)[:] = to_nc1hwc2(x, ia.dims[4], ia.w_stride).ravel()
    assert set_io(ctx, im, ia) == 0 and set_io(ctx, om, oa) == 0
    ctx.run()
    np.testing.assert_array_equal(from_nc1hwc2(mem_array(om, np.int8), (1, 20, 2, 3), oa.dims[4], oa.w_stride), x)


def test_inputs_set_replaces_a_bound_input(emu_lib, add4d, mems):
    a = add4d.attr(0)
    a.type, a.fmt = R.RKNN_TENSOR_FLOAT32, R.RKNN_TENSOR_NCHW
    im = create(emu_lib, mems, add4d.handle, 240)
    mem_array(im, np.float32)[:] = 5
    assert set_io(add4d, im, a) == 0
    x = np.zeros((1, 3, 4, 5), np.float32)
    np.testing.assert_array_equal(add4d.infer(x)[0], expected_fp16(x))


def test_set_io_mem_bad_input(emu, emu_lib, add4d, mems):
    a = native(add4d, 0)
    small = create(emu_lib, mems, add4d.handle, a.size_with_stride - 1)
    assert set_io(add4d, small, a) == R.RKNN_ERR_PARAM_INVALID
    assert str(a.size_with_stride) in emu.last_error() and str(a.size_with_stride - 1) in emu.last_error()
    m = create(emu_lib, mems, add4d.handle, 4096)
    wrong_name = native(add4d, 0)
    wrong_name.name = b"nope"
    assert set_io(add4d, m, wrong_name) == R.RKNN_ERR_PARAM_INVALID and "'nope'" in emu.last_error()
    wrong_index = native(add4d, 0)
    wrong_index.index = 1
    assert set_io(add4d, m, wrong_index) == R.RKNN_ERR_PARAM_INVALID and "attr->index" in emu.last_error()
    no_name = R.rknn_tensor_attr()
    no_name.index = 3
    assert set_io(add4d, m, no_name) == R.RKNN_ERR_PARAM_INVALID
    bad_type = native(add4d, 0, output=True)
    bad_type.type = R.RKNN_TENSOR_INT32
    assert set_io(add4d, m, bad_type) == R.RKNN_ERR_PARAM_INVALID and "RKNN_TENSOR_INT32" in emu.last_error()
    bad_fmt = native(add4d, 0)
    bad_fmt.fmt = 9
    assert set_io(add4d, m, bad_fmt) == R.RKNN_ERR_PARAM_INVALID
    narrow = native(add4d, 0)
    narrow.w_stride = 3
    assert set_io(add4d, m, narrow) == R.RKNN_ERR_PARAM_INVALID and "w_stride" in emu.last_error()
    assert emu_lib.rknn_set_io_mem(add4d.handle, None, C.byref(a)) == R.RKNN_ERR_PARAM_INVALID
    assert emu_lib.rknn_set_io_mem(add4d.handle, m, None) == R.RKNN_ERR_PARAM_INVALID
    assert set_io(add4d, C.pointer(R.rknn_tensor_mem()), a) == R.RKNN_ERR_PARAM_INVALID
    freed = emu_lib.rknn_create_mem(add4d.handle, 4096)
    emu_lib.rknn_destroy_mem(add4d.handle, freed)
    assert set_io(add4d, freed, a) == R.RKNN_ERR_PARAM_INVALID
    flat = emu.open(M.to_bytes(M.add_const([2, 3])))
    fa = flat.attr(0)
    fa.fmt = R.RKNN_TENSOR_NC1HWC2
    assert set_io(flat, m, fa) == R.RKNN_ERR_PARAM_INVALID
    flat.destroy()
    assert set_io(flat, m, fa) == R.RKNN_ERR_CTX_INVALID


def test_a_mem_destroyed_while_bound_stays_readable(emu_lib, add4d, mems):
    a = add4d.attr(0)
    a.type, a.fmt = R.RKNN_TENSOR_FLOAT32, R.RKNN_TENSOR_NCHW
    im = emu_lib.rknn_create_mem(add4d.handle, 240)
    mem_array(im, np.float32)[:] = 2
    assert set_io(add4d, im, a) == 0
    assert emu_lib.rknn_destroy_mem(add4d.handle, im) == 0
    add4d.run()  # the binding keeps the storage mapped: no crash, the last data is read
    np.testing.assert_array_equal(add4d.outputs_get()[0], expected_fp16(np.full((1, 3, 4, 5), 2, np.float32)))


# --- weight/internal memory and the zero-copy model buffer ------------------------------------------------------

@pytest.mark.parametrize("flag,needs_weights", [(R.RKNN_FLAG_MEM_ALLOC_OUTSIDE, True),
                                                (R.RKNN_FLAG_INTERNAL_ALLOC_OUTSIDE, False)])
def test_outside_memory_must_be_set_before_run(emu, emu_lib, mems, flag, needs_weights):
    ctx = emu.open(M.to_bytes(M.conv_net()), flag=flag)
    sizes = ctx.query(R.RKNN_QUERY_MEM_SIZE, R.rknn_mem_size())[1]
    x = np.zeros((1, 3, 16, 16), np.float32)
    ctx.inputs_set(x)
    assert ctx.lib.rknn_run(ctx.handle, None) == R.RKNN_ERR_FAIL
    assert "rknn_set_weight_mem" in emu.last_error() if needs_weights else "rknn_set_internal_mem" in emu.last_error()
    if needs_weights:
        small = create(emu_lib, mems, ctx.handle, sizes.total_weight_size - 1)
        assert emu_lib.rknn_set_weight_mem(ctx.handle, small) == R.RKNN_ERR_PARAM_INVALID
        assert str(sizes.total_weight_size) in emu.last_error()
        weights = create(emu_lib, mems, ctx.handle, sizes.total_weight_size)
        assert emu_lib.rknn_set_weight_mem(ctx.handle, weights) == 0
        assert ctx.lib.rknn_run(ctx.handle, None) == R.RKNN_ERR_FAIL  # internal memory still missing
    internal = create(emu_lib, mems, ctx.handle, max(sizes.total_internal_size, 1))
    assert emu_lib.rknn_set_internal_mem(ctx.handle, internal) == 0
    ctx.run()
    plain = emu.open(M.to_bytes(M.conv_net()))
    for got, want in zip(ctx.outputs_get(), plain.infer(x)):
        np.testing.assert_array_equal(got, want)
    assert emu_lib.rknn_set_internal_mem(ctx.handle, None) == R.RKNN_ERR_PARAM_INVALID
    assert emu_lib.rknn_set_weight_mem(ctx.handle, C.byref(R.rknn_tensor_mem())) == R.RKNN_ERR_PARAM_INVALID


def test_model_buffer_zero_copy(emu, emu_lib, mems):
    model = M.to_bytes(M.add_const([1, 3, 4, 5]))
    pad = 128
    m = create(emu_lib, mems, 0, len(model) + pad, NO_CONTEXT)
    C.memmove(m.contents.virt_addr + pad, model, len(model))
    ext = R.rknn_init_extend()
    ext.real_model_offset, ext.real_model_size = pad, len(model)
    ext.model_buffer_fd, ext.model_buffer_flags = m.contents.fd, m.contents.flags
    ctx = R.rknn_context(0)
    code = emu_lib.rknn_init(C.byref(ctx), C.c_void_p(m.contents.virt_addr), m.contents.size,
                             R.RKNN_FLAG_MODEL_BUFFER_ZERO_COPY, C.byref(ext))
    assert code == 0, emu.last_error()
    emu._open.append(ctx.value)
    code, info = emu_lib.rknn_query, R.rknn_tensor_mem()
    assert emu_lib.rknn_query(ctx.value, R.RKNN_QUERY_DEVICE_MEM_INFO, C.byref(info), C.sizeof(info)) == 0
    assert info.fd == m.contents.fd and info.virt_addr == m.contents.virt_addr
    # The model was not copied: the mem may even be destroyed, the context keeps its storage mapped.
    assert emu_lib.rknn_destroy_mem(0, m) == 0
    from emu_session import Context
    c = Context(emu, ctx.value)
    x = np.random.default_rng(13).standard_normal((1, 3, 4, 5)).astype(np.float32)
    np.testing.assert_array_equal(c.infer(x)[0], expected_fp16(x))


def test_model_buffer_zero_copy_bad_input(emu, emu_lib, mems):
    model = M.to_bytes(M.add_const([2]))
    plain = C.create_string_buffer(model, len(model))
    ctx = R.rknn_context(0)
    flag = R.RKNN_FLAG_MODEL_BUFFER_ZERO_COPY
    ext = R.rknn_init_extend()
    assert emu_lib.rknn_init(C.byref(ctx), plain, len(model), flag, C.byref(ext)) == R.RKNN_ERR_PARAM_INVALID
    assert "not inside a live mem" in emu.last_error()
    m = create(emu_lib, mems, 0, len(model), NO_CONTEXT)
    C.memmove(m.contents.virt_addr, model, len(model))
    assert emu_lib.rknn_init(C.byref(ctx), C.c_void_p(m.contents.virt_addr), len(model), flag, None) == \
        R.RKNN_ERR_PARAM_INVALID
    ext.real_model_offset = len(model)
    assert emu_lib.rknn_init(C.byref(ctx), C.c_void_p(m.contents.virt_addr), len(model), flag, C.byref(ext)) == \
        R.RKNN_ERR_PARAM_INVALID
    ext.real_model_offset, ext.real_model_size = 0, len(model) + 1
    assert emu_lib.rknn_init(C.byref(ctx), C.c_void_p(m.contents.virt_addr), len(model), flag, C.byref(ext)) == \
        R.RKNN_ERR_PARAM_INVALID
