"""The raw C API harness the benches compare against: the emulator's RKNN C ABI called through ctypes, as a C
application would, with no engine in between. One thread per context; each thread loops on its own context.

    from raw_harness import RawRunner, drive, load_emulator
"""
from __future__ import annotations

import ctypes as C
import sys
import threading
import time
from pathlib import Path
from typing import Callable, List, Sequence

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "python" / "emu"))

import rknn_ctypes as R  # noqa: E402
from emu_session import Emulator  # noqa: E402


def load_emulator(build_dir: str | Path) -> Emulator:
    """The emulator library of a build folder, opened through ctypes; exits with a message when it is missing."""
    library = Path(build_dir) / "lib" / "librknnrt_emu.so"
    if not library.is_file():
        sys.exit(f"librknnrt_emu.so not found at {library}; build it or pass --build-dir")
    return Emulator(R.load(library))


class RawRunner:
    """One context with prebuilt rknn_input/rknn_output structs for a one-input, one-output float model.

    once(): rknn_inputs_set, rknn_run, rknn_outputs_get (float32, preallocated), rknn_outputs_release.
    run_only(): rknn_run alone, on the inputs set at construction.
    """

    def __init__(self, ctx, x: np.ndarray, out_elems: int):
        self.lib, self.handle, self.x = ctx.lib, ctx.handle, np.ascontiguousarray(x, np.float32)
        self.inp = (R.rknn_input * 1)()
        self.inp[0].index, self.inp[0].buf, self.inp[0].size = 0, self.x.ctypes.data_as(C.c_void_p), self.x.nbytes
        self.inp[0].type = R.RKNN_TENSOR_FLOAT32
        self.inp[0].fmt = R.RKNN_TENSOR_NCHW if self.x.ndim == 4 else R.RKNN_TENSOR_UNDEFINED
        self.out_buf = np.empty(out_elems, np.float32)
        self.out = (R.rknn_output * 1)()
        self.out[0].index, self.out[0].want_float, self.out[0].is_prealloc = 0, 1, 1
        self.out[0].buf, self.out[0].size = self.out_buf.ctypes.data_as(C.c_void_p), self.out_buf.nbytes
        if self.lib.rknn_inputs_set(self.handle, 1, self.inp):
            raise RuntimeError("raw harness: rknn_inputs_set failed")

    def once(self) -> None:
        lib, h = self.lib, self.handle
        if lib.rknn_inputs_set(h, 1, self.inp) or lib.rknn_run(h, None) or lib.rknn_outputs_get(h, 1, self.out, None):
            raise RuntimeError("raw harness call failed")
        lib.rknn_outputs_release(h, 1, self.out)

    def run_only(self) -> None:
        if self.lib.rknn_run(self.handle, None):
            raise RuntimeError("raw harness: rknn_run failed")


def drive(steps: Sequence[Callable[[], None]], seconds: float) -> float:
    """Calls each step in a loop on its own thread for `seconds` (all threads start together); runs per second."""
    counts: List[int] = [0] * len(steps)
    barrier = threading.Barrier(len(steps) + 1)
    stop = [0.0]

    def work(i: int, step: Callable[[], None]) -> None:
        barrier.wait()
        n = 0
        while time.perf_counter() < stop[0]:
            step()
            n += 1
        counts[i] = n

    threads = [threading.Thread(target=work, args=(i, s)) for i, s in enumerate(steps)]
    for t in threads:
        t.start()
    start = time.perf_counter()
    stop[0] = start + seconds
    barrier.wait()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


def pinned_contexts(emu: Emulator, model_bytes: bytes, cores: int) -> list:
    """A context and cores - 1 dups of it, context i pinned to core i (rknn_set_core_mask)."""
    base = emu.open(model_bytes)
    contexts = [base] + [base.dup() for _ in range(cores - 1)]
    for core, ctx in enumerate(contexts):
        emu.check("rknn_set_core_mask", ctx.lib.rknn_set_core_mask(ctx.handle, 1 << core))
    return contexts
