"""Runs one ONNX backend node test through the emulator's C API, as an application would, and compares the
outputs as ONNX's backend test does (rtol 1e-3, atol 1e-7 for floats with NaN == NaN; exact otherwise; dtype and
shape must match).
"""
from __future__ import annotations

import ctypes as C
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python" / "emu"))

import rknn_ctypes as R  # noqa: E402
from emu_session import NUMPY_OF_TYPE, TYPE_OF_NUMPY  # noqa: E402

RTOL = 1e-3
ATOL = 1e-7


@dataclass
class Outcome:
    passed: bool
    reason: str = ""  # one line
    detail: str = ""  # more lines, shown with -v


class TestFailure(Exception):
    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def _read_tensor(path: Path) -> np.ndarray:
    return numpy_helper.to_array(onnx.load_tensor(str(path)))


def _data_files(data_set: Path, prefix: str) -> list[Path]:
    files = list(data_set.glob(f"{prefix}_*.pb"))
    return sorted(files, key=lambda p: int(p.stem.split("_")[-1]))


def compare(name: str, actual: np.ndarray, expected: np.ndarray) -> None:
    """Raises TestFailure describing the first way `actual` differs from `expected`."""
    if actual.dtype != expected.dtype:
        raise TestFailure(f"{name}: dtype {actual.dtype}, expected {expected.dtype}")
    if actual.shape != expected.shape:
        raise TestFailure(f"{name}: shape {actual.shape}, expected {expected.shape}")
    if expected.dtype.kind == "f":
        a = actual.astype(np.float64)
        e = expected.astype(np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            diff = np.abs(a - e)
            # Infinities must match exactly (sign included), as in np.testing.assert_allclose.
            finite = np.isfinite(a) & np.isfinite(e)
            close = (finite & (diff <= ATOL + RTOL * np.abs(e))) | (np.isnan(a) & np.isnan(e)) | (a == e)
        if close.all():
            return
        bad = ~close
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = diff / np.abs(e)
        known = bad & ~np.isnan(diff)  # a NaN against a number has no distance
        max_abs = float(diff[known].max()) if known.any() else float("nan")
        max_rel = float(rel[known].max()) if known.any() else float("nan")
    else:
        bad = actual != expected
        if not bad.any():
            return
        diff = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
        max_abs = float(diff.max())
        max_rel = float("nan")
    first = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else ()
    count = int(bad.sum())
    raise TestFailure(
        f"{name}: {count} of {expected.size} values differ (max abs diff {max_abs:.3g})",
        f"  {name}: mismatches {count}/{expected.size}, max abs diff {max_abs:.6g}, max rel diff {max_rel:.6g}\n"
        f"  first mismatch at index {first}: got {actual[first].item()!r}, expected {expected[first].item()!r}")


class EmulatorHarness:
    """The emulator library, loaded once per worker process (EZRKNN_EMU_EXACT_FP32 must be set before)."""

    def __init__(self, library: Path, scratch_dir: Path):
        self.lib = R.load(library)
        self.scratch_dir = scratch_dir  # where pinned copies of models go

    def last_error(self) -> str:
        return (self.lib.ezrknn_emu_last_error() or b"").decode(errors="replace").strip()

    def _check(self, function: str, code: int) -> None:
        if code != 0:
            raise TestFailure(f"{function} returned {code}: {self.last_error()}")

    def _attr(self, ctx: int, cmd: int, index: int) -> R.rknn_tensor_attr:
        attr = R.rknn_tensor_attr()
        attr.index = index
        self._check("rknn_query", self.lib.rknn_query(ctx, cmd, C.byref(attr), C.sizeof(attr)))
        return attr

    def run_test(self, model_path: Path, data_sets: list[Path], n_inputs: int, output_names: list[str],
                 pinned: list[int] = ()) -> Outcome:
        """Runs every data set; with `pinned` inputs, each data set runs on its own copy of the model in which those
        inputs are initializers holding that data set's values."""
        try:
            if not pinned:
                self._run_model(model_path, data_sets, list(range(n_inputs)), output_names)
            for data_set in data_sets if pinned else ():
                values = [_read_tensor(p) for p in _data_files(data_set, "input")]
                pinned_model = self._pin(model_path, values, pinned)
                fed = [i for i in range(n_inputs) if i not in pinned]
                self._run_model(pinned_model, [data_set], fed, output_names)
            return Outcome(True)
        except TestFailure as failure:
            return Outcome(False, failure.reason, failure.detail)

    def _pin(self, model_path: Path, values: list[np.ndarray], pinned: list[int]) -> Path:
        model = onnx.load(str(model_path))
        initializers = {t.name for t in model.graph.initializer}
        graph_inputs = [vi for vi in model.graph.input if vi.name not in initializers]
        if len(values) != len(graph_inputs):
            raise TestFailure(f"{len(values)} input files for {len(graph_inputs)} graph inputs")
        for i in pinned:
            model.graph.initializer.append(numpy_helper.from_array(values[i], graph_inputs[i].name))
            model.graph.input.remove(graph_inputs[i])
        path = Path(self.scratch_dir) / "pinned.onnx"
        onnx.save(model, str(path))
        return path

    def _run_model(self, model_path: Path, data_sets: list[Path], fed: list[int], output_names: list[str]) -> None:
        ctx = R.rknn_context(0)
        path = C.create_string_buffer(str(model_path).encode())
        code = self.lib.rknn_init(C.byref(ctx), C.cast(path, C.c_void_p), 0, 0, None)
        if code != 0:
            raise TestFailure(f"rknn_init returned {code}: {self.last_error()}")
        try:
            for data_set in data_sets:
                self._run_data_set(ctx.value, data_set, fed, output_names)
        finally:
            self.lib.rknn_destroy(ctx.value)

    def _run_data_set(self, ctx: int, data_set: Path, fed: list[int], output_names: list[str]) -> None:
        """Feeds the inputs of `data_set` whose indices are in `fed` (the others are pinned), runs, compares."""
        n_inputs = len(fed)
        io = R.rknn_input_output_num()
        self._check("rknn_query", self.lib.rknn_query(ctx, R.RKNN_QUERY_IN_OUT_NUM, C.byref(io), C.sizeof(io)))
        if io.n_input != n_inputs or io.n_output != len(output_names):
            raise TestFailure(f"rknn_query(IN_OUT_NUM) reports {io.n_input} inputs and {io.n_output} outputs; "
                              f"the model has {n_inputs} and {len(output_names)}")

        files = _data_files(data_set, "input")
        if len(files) < max(fed, default=-1) + 1:
            raise TestFailure(f"{data_set.name} has {len(files)} input files for {n_inputs} graph inputs")
        inputs = [_read_tensor(files[i]) for i in fed]
        keep = []
        if n_inputs:
            array = (R.rknn_input * n_inputs)()
            for i, value in enumerate(inputs):
                data = np.ascontiguousarray(value)
                if data.dtype not in TYPE_OF_NUMPY:
                    raise TestFailure(f"input {i} has dtype {data.dtype}, which the RKNN ABI cannot carry")
                backing = data if data.nbytes else np.zeros(1, np.uint8)  # never a NULL buffer
                keep.append(backing)
                array[i].index = i
                array[i].buf = backing.ctypes.data_as(C.c_void_p)
                array[i].size = data.nbytes
                array[i].pass_through = 0
                array[i].type = TYPE_OF_NUMPY[data.dtype]
                array[i].fmt = R.RKNN_TENSOR_NCHW if data.ndim == 4 else R.RKNN_TENSOR_UNDEFINED
            self._check("rknn_inputs_set", self.lib.rknn_inputs_set(ctx, n_inputs, array))
        self._check("rknn_run", self.lib.rknn_run(ctx, None))

        expected = [_read_tensor(p) for p in _data_files(data_set, "output")]
        if len(expected) != len(output_names):
            raise TestFailure(f"{data_set.name} has {len(expected)} output files for {len(output_names)} outputs")
        attrs = [self._attr(ctx, R.RKNN_QUERY_OUTPUT_ATTR, i) for i in range(len(output_names))]
        outputs = (R.rknn_output * len(attrs))()
        buffers = []
        for i, attr in enumerate(attrs):
            if attr.type not in NUMPY_OF_TYPE:
                raise TestFailure(f"output {i} '{output_names[i]}' has rknn type {attr.type}, not a plain dtype")
            buf = np.zeros(max(attr.size, 1), np.uint8)
            buffers.append(buf)
            outputs[i].want_float = 0
            outputs[i].is_prealloc = 1
            outputs[i].index = i
            outputs[i].buf = buf.ctypes.data_as(C.c_void_p)
            outputs[i].size = attr.size
        self._check("rknn_outputs_get", self.lib.rknn_outputs_get(ctx, len(attrs), outputs, None))
        self.lib.rknn_outputs_release(ctx, len(attrs), outputs)

        for i, (attr, buf, want) in enumerate(zip(attrs, buffers, expected)):
            dtype = np.dtype(NUMPY_OF_TYPE[attr.type])
            dims = tuple(attr.dims[k] for k in range(attr.n_dims))
            n = int(np.prod(dims, dtype=np.int64))
            got = buf[: n * dtype.itemsize].view(dtype).reshape(dims)
            if attr.fmt == R.RKNN_TENSOR_NHWC and got.ndim == 4:
                got = got.transpose(0, 3, 1, 2)
            compare(f"output {i} '{output_names[i]}'", got, want)
