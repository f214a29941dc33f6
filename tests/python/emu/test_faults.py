"""Fault injection (EZRKNN_EMU_FAULTS): chosen calls fail with a chosen code or stall, every N-th call or at random
with a seed; bad syntax fails the affected call with RKNN_ERR_PARAM_INVALID."""
from __future__ import annotations

import ctypes as C
import time

import numpy as np
import pytest

import emu_models as M
import rknn_ctypes as R

X2 = np.array([1.0, -2.0], np.float32)
MARK = "injected fault (EZRKNN_EMU_FAULTS"


@pytest.fixture
def faults(emu, emu_lib, monkeypatch):
    """Sets EZRKNN_EMU_FAULTS after making the library see it unset once, so counting starts afresh even when an
    earlier test used the same text."""
    monkeypatch.delenv("EZRKNN_EMU_LATENCY_US", raising=False)

    def reset():
        monkeypatch.delenv("EZRKNN_EMU_FAULTS", raising=False)
        ctx = R.rknn_context(0)
        # rknn_init consults the fault plan before it looks at the model (NULL here: it then fails with -5).
        assert emu_lib.rknn_init(C.byref(ctx), None, 0, 0, None) == R.RKNN_ERR_PARAM_INVALID

    def set_faults(text):
        reset()
        monkeypatch.setenv("EZRKNN_EMU_FAULTS", text)

    yield set_faults
    reset()


@pytest.fixture
def model():
    return M.to_bytes(M.add_const([2]))


def test_run_fails_every_third_call(emu, faults, model):
    ctx = emu.open(model)
    ctx.inputs_set(X2)
    faults("run:code=-1:every=3")
    codes = [ctx.lib.rknn_run(ctx.handle, None) for _ in range(7)]
    assert codes == [0, 0, -1, 0, 0, -1, 0]
    faults("run:code=-2:every=3")
    codes = [ctx.lib.rknn_run(ctx.handle, None) for _ in range(3)]
    assert codes == [0, 0, R.RKNN_ERR_FAIL - 1]
    assert MARK in emu.last_error() and "RKNN_ERR_TIMEOUT -2" in emu.last_error(), emu.last_error()


def test_outputs_get_stalls_every_second_call(emu, faults, model):
    ctx = emu.open(model)
    ctx.inputs_set(X2)
    ctx.run()
    faults("outputs_get:stall_ms=200:every=2")
    durations = []
    for _ in range(4):
        t0 = time.perf_counter()
        (y,) = ctx.outputs_get()  # a stall alone does not fail the call
        durations.append(time.perf_counter() - t0)
        np.testing.assert_array_equal(y, M.fp16(M.fp16(X2) + np.float32(1 / 3)))
    assert durations[1] >= 0.2 and durations[3] >= 0.2, durations
    assert durations[0] < 0.15 and durations[2] < 0.15, durations


def test_outputs_get_can_stall_and_fail(emu, faults, model):
    ctx = emu.open(model)
    ctx.inputs_set(X2)
    ctx.run()
    faults("outputs_get:stall_ms=100:code=-9")
    out = (R.rknn_output * 1)()
    out[0].want_float = 1
    t0 = time.perf_counter()
    assert ctx.lib.rknn_outputs_get(ctx.handle, 1, out, None) == R.RKNN_ERR_OUTPUT_INVALID
    assert time.perf_counter() - t0 >= 0.1
    assert MARK in emu.last_error()


def init_codes(emu, model, n):
    codes = []
    for _ in range(n):
        code, ctx = emu.init(model)
        codes.append(code)
        if code == 0:
            emu.destroy(ctx)
    return codes


def test_init_fails_at_random_reproducibly(emu, faults, model):
    faults("init:code=-6:prob=0.5:seed=7")
    first = init_codes(emu, model, 40)
    assert set(first) <= {0, -6}
    assert 8 <= first.count(-6) <= 32, first
    faults("init:code=-6:prob=0.5:seed=7")  # same text, fresh start: the same sequence
    assert init_codes(emu, model, 40) == first
    faults("init:code=-6:prob=0.5:seed=8")
    assert init_codes(emu, model, 40) != first


def test_create_mem_and_create_mem2_return_null(emu, faults, model):
    ctx = emu.open(model)
    faults("create_mem:code=-4:every=2;create_mem2:code=-4")
    first = ctx.lib.rknn_create_mem(ctx.handle, 64)
    if not first and "not implemented" in emu.last_error():
        pytest.skip("rknn_create_mem is not implemented in this build")
    assert first
    assert not ctx.lib.rknn_create_mem(ctx.handle, 64)
    assert MARK in emu.last_error() and "RKNN_ERR_MALLOC_FAIL -4" in emu.last_error()
    assert not ctx.lib.rknn_create_mem2(ctx.handle, 64, 0)
    assert MARK in emu.last_error()
    assert ctx.lib.rknn_destroy_mem(ctx.handle, first) == 0


@pytest.mark.parametrize("text", ["run:code=oops", "explode:code=-1", "run:every=2", "run:code=-1:prob=2"])
def test_bad_syntax_fails_the_affected_call(emu, faults, model, text):
    ctx = emu.open(model)
    ctx.inputs_set(X2)
    faults(text)
    assert ctx.lib.rknn_run(ctx.handle, None) == R.RKNN_ERR_PARAM_INVALID
    assert f'EZRKNN_EMU_FAULTS="{text}" is not valid' in emu.last_error(), emu.last_error()
    code, _ = emu.init(model)
    assert code == R.RKNN_ERR_PARAM_INVALID
    # Calls that faults do not apply to keep working.
    assert ctx.in_out_num() == (1, 1)
