"""A thin Python face over the ctypes declarations: one call per RKNN function, return codes kept visible."""
from __future__ import annotations

import ctypes as C

import numpy as np

import rknn_ctypes as R

NUMPY_OF_TYPE = {
    R.RKNN_TENSOR_FLOAT32: np.float32,
    R.RKNN_TENSOR_FLOAT16: np.float16,
    R.RKNN_TENSOR_INT8: np.int8,
    R.RKNN_TENSOR_UINT8: np.uint8,
    R.RKNN_TENSOR_INT16: np.int16,
    R.RKNN_TENSOR_UINT16: np.uint16,
    R.RKNN_TENSOR_INT32: np.int32,
    R.RKNN_TENSOR_UINT32: np.uint32,
    R.RKNN_TENSOR_INT64: np.int64,
    R.RKNN_TENSOR_BOOL: np.bool_,
}
TYPE_OF_NUMPY = {np.dtype(v): k for k, v in NUMPY_OF_TYPE.items()}


class RknnCallError(AssertionError):
    def __init__(self, function, code, detail):
        super().__init__(f"{function} returned {code}: {detail}")
        self.code = code


class Emulator:
    def __init__(self, lib):
        self.lib = lib
        self._open = []

    # --- lifetime ---------------------------------------------------------------------------------------------
    def init(self, model, flag=0, extend=None):
        """rknn_init from bytes (size > 0) or a path (size == 0). Returns (code, context)."""
        ctx = R.rknn_context(0)
        if isinstance(model, (bytes, bytearray)):
            buf = C.create_string_buffer(bytes(model), len(model))
            code = self.lib.rknn_init(C.byref(ctx), C.cast(buf, C.c_void_p), len(model), flag, extend)
        else:
            path = C.create_string_buffer(str(model).encode())
            code = self.lib.rknn_init(C.byref(ctx), C.cast(path, C.c_void_p), 0, flag, extend)
        if code == 0:
            self._open.append(ctx.value)
        return code, ctx.value

    def open(self, model, flag=0) -> "Context":
        code, ctx = self.init(model, flag)
        self.check("rknn_init", code)
        return Context(self, ctx)

    def dup(self, ctx):
        src = R.rknn_context(ctx)
        out = R.rknn_context(0)
        code = self.lib.rknn_dup_context(C.byref(src), C.byref(out))
        if code == 0:
            self._open.append(out.value)
        return code, out.value

    def destroy(self, ctx):
        code = self.lib.rknn_destroy(ctx)
        if ctx in self._open:
            self._open.remove(ctx)
        return code

    def destroy_all(self):
        for ctx in list(self._open):
            self.destroy(ctx)

    def last_error(self) -> str:
        return self.lib.ezrknn_emu_last_error().decode()

    def check(self, function, code):
        if code != 0:
            raise RknnCallError(function, code, self.last_error())


class Context:
    """One rknn_context with helpers for the common calls; every helper raises on a non-zero code unless the
    raw_* variant is used."""

    def __init__(self, emu: Emulator, handle: int):
        self.emu = emu
        self.lib = emu.lib
        self.handle = handle

    def destroy(self):
        return self.emu.destroy(self.handle)

    def dup(self) -> "Context":
        code, out = self.emu.dup(self.handle)
        self.emu.check("rknn_dup_context", code)
        return Context(self.emu, out)

    # --- queries ---------------------------------------------------------------------------------------------
    def query(self, cmd, struct, size=None):
        code = self.lib.rknn_query(self.handle, cmd, C.byref(struct), C.sizeof(struct) if size is None else size)
        return code, struct

    def in_out_num(self):
        code, r = self.query(R.RKNN_QUERY_IN_OUT_NUM, R.rknn_input_output_num())
        self.emu.check("rknn_query", code)
        return r.n_input, r.n_output

    def attr(self, index, output=False, cmd=None):
        a = R.rknn_tensor_attr()
        a.index = index
        if cmd is None:
            cmd = R.RKNN_QUERY_OUTPUT_ATTR if output else R.RKNN_QUERY_INPUT_ATTR
        code, a = self.query(cmd, a)
        self.emu.check("rknn_query", code)
        return a

    def input_attrs(self):
        return [self.attr(i) for i in range(self.in_out_num()[0])]

    def output_attrs(self):
        return [self.attr(i, output=True) for i in range(self.in_out_num()[1])]

    # --- inference -------------------------------------------------------------------------------------------
    def raw_inputs_set(self, specs):
        """specs: list of dicts with index, data (ndarray), and optional type/fmt/pass_through/size."""
        arr = (R.rknn_input * len(specs))()
        keep = []
        for i, spec in enumerate(specs):
            data = np.ascontiguousarray(spec["data"])
            keep.append(data)
            arr[i].index = spec.get("index", i)
            arr[i].buf = data.ctypes.data_as(C.c_void_p) if data.size else None
            arr[i].size = spec.get("size", data.nbytes)
            arr[i].pass_through = spec.get("pass_through", 0)
            arr[i].type = spec.get("type", TYPE_OF_NUMPY.get(data.dtype, R.RKNN_TENSOR_FLOAT32))
            arr[i].fmt = spec.get("fmt", R.RKNN_TENSOR_NCHW if data.ndim == 4 else R.RKNN_TENSOR_UNDEFINED)
        return self.lib.rknn_inputs_set(self.handle, len(specs), arr)

    def inputs_set(self, *arrays, fmt=None, **kw):
        specs = []
        for i, a in enumerate(arrays):
            spec = {"index": i, "data": a, **kw}
            if fmt is not None:
                spec["fmt"] = fmt
            specs.append(spec)
        self.emu.check("rknn_inputs_set", self.raw_inputs_set(specs))

    def run(self, extend=None):
        code = self.lib.rknn_run(self.handle, extend)
        self.emu.check("rknn_run", code)

    def outputs_get(self, want_float=True, prealloc=False, indices=None, extend=None, attr_cmd=None):
        """Returns numpy arrays: float32 when want_float, else of the attr type. Shapes are the attr dims
        (OUTPUT_ATTR, or attr_cmd such as RKNN_QUERY_CURRENT_OUTPUT_ATTR)."""
        attrs = [self.attr(i, output=True, cmd=attr_cmd) for i in range(self.in_out_num()[1])]
        indices = list(range(len(attrs))) if indices is None else indices
        outs = (R.rknn_output * len(indices))()
        buffers = []
        for k, i in enumerate(indices):
            outs[k].index = i
            outs[k].want_float = 1 if want_float else 0
            outs[k].is_prealloc = 1 if prealloc else 0
            if prealloc:
                dtype = np.float32 if want_float else NUMPY_OF_TYPE[attrs[i].type]
                b = np.empty(attrs[i].n_elems, dtype=dtype)
                buffers.append(b)
                outs[k].buf = b.ctypes.data_as(C.c_void_p)
                outs[k].size = b.nbytes
        code = self.lib.rknn_outputs_get(self.handle, len(indices), outs, extend)
        self.emu.check("rknn_outputs_get", code)
        results = []
        for k, i in enumerate(indices):
            a = attrs[i]
            dtype = np.float32 if want_float else NUMPY_OF_TYPE[a.type]
            if prealloc:
                data = buffers[k]
            else:
                assert outs[k].size == a.n_elems * np.dtype(dtype).itemsize
                data = np.frombuffer(C.string_at(outs[k].buf, outs[k].size), dtype=dtype).copy()
            results.append(data.reshape(a.shape))
        if not prealloc:
            self.emu.check("rknn_outputs_release", self.lib.rknn_outputs_release(self.handle, len(indices), outs))
        return results

    def infer(self, *arrays, want_float=True, **kw):
        self.inputs_set(*arrays, **kw)
        self.run()
        return self.outputs_get(want_float=want_float)
