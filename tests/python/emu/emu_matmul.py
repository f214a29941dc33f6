"""The matmul API of librknnrt_emu.so driven through ctypes as a C program would (rknn_matmul_api.h): create a
context, put A and B in mems from rknn_create_mem, run, read C. Return codes stay visible to the tests."""
from __future__ import annotations

import ctypes as C

import numpy as np

import rknn_ctypes as R

# Operand dtypes per rknn_matmul_type: (A, B, C).
DTYPES = {
    R.RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT32: (np.float16, np.float16, np.float32),
    R.RKNN_INT8_MM_INT8_TO_INT32: (np.int8, np.int8, np.int32),
    R.RKNN_INT8_MM_INT8_TO_INT8: (np.int8, np.int8, np.int8),
    R.RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT16: (np.float16, np.float16, np.float16),
    R.RKNN_FLOAT16_MM_INT8_TO_FLOAT32: (np.float16, np.int8, np.float32),
    R.RKNN_FLOAT16_MM_INT8_TO_FLOAT16: (np.float16, np.int8, np.float16),
    R.RKNN_INT8_MM_INT8_TO_FLOAT32: (np.int8, np.int8, np.float32),
}


def make_info(M, K, N, mm_type, b_layout=R.RKNN_MM_LAYOUT_NORM, b_quant=R.RKNN_QUANT_TYPE_PER_LAYER_SYM,
              ac_layout=R.RKNN_MM_LAYOUT_NORM, ac_quant=R.RKNN_QUANT_TYPE_PER_LAYER_SYM):
    info = R.rknn_matmul_info()
    info.M, info.K, info.N, info.type = M, K, N, mm_type
    info.B_layout, info.B_quant_type, info.AC_layout, info.AC_quant_type = b_layout, b_quant, ac_layout, ac_quant
    return info


def quant_params(name, scales, zps=None):
    """An rknn_quant_params and the arrays it points at (keep both alive)."""
    scale = (C.c_float * len(scales))(*scales)
    zp = (C.c_int32 * len(zps))(*zps) if zps is not None else None
    p = R.rknn_quant_params()
    p.name = name.encode()
    p.scale = C.cast(scale, C.POINTER(C.c_float))
    p.scale_len = len(scales)
    p.zp = C.cast(zp, C.POINTER(C.c_int32)) if zp is not None else None
    p.zp_len = len(zps) if zps is not None else 0
    return p, (scale, zp)


class Matmul:
    """One matmul context with a mem per operand. `shapes` (a list of (M, K, N)) makes a dynamic-shape context."""

    def __init__(self, lib, M, K, N, mm_type, shapes=None, **info_kw):
        self.lib = lib
        self.type = mm_type
        self.info = make_info(M, K, N, mm_type, **info_kw)
        self.handle = R.rknn_context(0)
        self.mems = {}
        if shapes is None:
            self.io = R.rknn_matmul_io_attr()
            self.code = lib.rknn_matmul_create(C.byref(self.handle), C.byref(self.info), C.byref(self.io))
            self.io_attrs = [self.io]
        else:
            arr = (R.rknn_matmul_shape * len(shapes))(*[R.rknn_matmul_shape(*s) for s in shapes])
            self.io_attrs = (R.rknn_matmul_io_attr * len(shapes))()
            self.code = lib.rknn_matmul_create_dynamic_shape(C.byref(self.handle), C.byref(self.info), len(shapes),
                                                             arr, self.io_attrs)
            self.io = self.io_attrs[0]

    @property
    def ctx(self):
        return self.handle.value

    def attr(self, name):
        return getattr(self.io, name)

    def bind(self, name, size=None, attr=None):
        """rknn_create_mem on this context + rknn_matmul_set_io_mem; returns the code of set_io_mem."""
        attr = attr if attr is not None else self.attr(name)
        size = attr.size if size is None else size
        old = self.mems.pop(name, None)
        if old:
            self.lib.rknn_destroy_mem(self.ctx, old)
        mem = self.lib.rknn_create_mem(self.ctx, size)
        assert mem, f"rknn_create_mem({size}) failed"
        self.mems[name] = mem
        return self.lib.rknn_matmul_set_io_mem(self.ctx, mem, C.byref(attr))

    def write(self, name, array):
        data = np.ascontiguousarray(array)
        mem = self.mems[name].contents
        assert data.nbytes <= mem.size
        C.memmove(mem.virt_addr, data.ctypes.data, data.nbytes)

    def read(self, name, dtype, shape):
        mem = self.mems[name].contents
        count = int(np.prod(shape))
        raw = (C.c_uint8 * (count * np.dtype(dtype).itemsize)).from_address(mem.virt_addr)
        return np.frombuffer(bytes(raw), dtype=dtype).reshape(shape)

    def set_shape(self, M, K, N):
        shape = R.rknn_matmul_shape(M, K, N)
        return self.lib.rknn_matmul_set_dynamic_shape(self.ctx, C.byref(shape))

    def run(self):
        return self.lib.rknn_matmul_run(self.ctx)

    def compute(self, a, b):
        """Binds fresh mems for A, B, C (under the current io attr), writes a and b, runs; returns C as numpy."""
        a_t, b_t, c_t = DTYPES[self.type]
        for name in "ABC":
            assert self.bind(name) == 0, name
        self.write("A", a.astype(a_t))
        self.write("B", b.astype(b_t))
        code = self.run()
        assert code == 0, f"rknn_matmul_run returned {code}"
        return self.read("C", c_t, (a.shape[0], self.io.C.dims[1]))

    def destroy(self):
        for mem in self.mems.values():
            self.lib.rknn_destroy_mem(self.ctx, mem)
        self.mems = {}
        return self.lib.rknn_matmul_destroy(self.ctx)
