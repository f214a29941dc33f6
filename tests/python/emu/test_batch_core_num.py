"""rknn_set_batch_core_num (rknn-api.md §7.4): accepted counts per platform, and a batched model's run split over
that many cores: shorter modelled time, more cores held, the same results."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import emu_models as M
import rknn_ctypes as R


@pytest.fixture(autouse=True)
def no_latency(monkeypatch):
    monkeypatch.delenv("EZRKNN_EMU_LATENCY_US", raising=False)
    monkeypatch.delenv("EZRKNN_EMU_FAULTS", raising=False)


def batched(batch):
    return M.to_bytes(M.add_const([batch, 4]))


def perf_run(ctx):
    code, p = ctx.query(R.RKNN_QUERY_PERF_RUN, R.rknn_perf_run())
    assert code == 0
    return p.run_duration


@pytest.mark.parametrize("platform,cores", [("rk3588", 3), ("rk3576", 2)])
def test_counts_per_platform(emu, monkeypatch, platform, cores):
    monkeypatch.setenv("EZRKNN_EMU_PLATFORM", platform)
    ctx = emu.open(batched(2))
    for n in range(1, cores + 1):
        assert ctx.lib.rknn_set_batch_core_num(ctx.handle, n) == 0, (platform, n)
    for n in (0, -1, cores + 1, 16):
        assert ctx.lib.rknn_set_batch_core_num(ctx.handle, n) == R.RKNN_ERR_PARAM_INVALID, (platform, n)
        assert f"core_num is {n}; {platform} has {cores} NPU cores, so use 1 to {cores}" in emu.last_error()


@pytest.mark.parametrize("platform", ["rk3568", "rk3566", "rk3562"])
def test_single_core_platforms_refuse(emu, monkeypatch, platform):
    monkeypatch.setenv("EZRKNN_EMU_PLATFORM", platform)
    ctx = emu.open(batched(2))
    for n in (1, 2):
        assert ctx.lib.rknn_set_batch_core_num(ctx.handle, n) == R.RKNN_ERR_TARGET_PLATFORM_UNMATCH
    assert "batch core numbers are only valid on multi-core NPUs" in emu.last_error()


def test_stale_context(emu):
    ctx = emu.open(batched(2))
    handle = ctx.handle
    ctx.destroy()
    assert emu.lib.rknn_set_batch_core_num(handle, 2) == R.RKNN_ERR_CTX_INVALID


@pytest.mark.parametrize("batch,n,modelled", [
    (3, 1, 6000), (3, 2, 4000), (3, 3, 2000),  # ceil(3 / n) of the 3 items on the slowest core
    (4, 3, 3000),
    (1, 3, 6000),  # nothing to split
])
def test_modelled_time_and_results(emu, monkeypatch, batch, n, modelled):
    monkeypatch.setenv("EZRKNN_EMU_LATENCY_US", "6000")
    ctx = emu.open(batched(batch))
    x = np.arange(batch * 4, dtype=np.float32).reshape(batch, 4) / 7
    (alone,) = ctx.infer(x)
    assert ctx.lib.rknn_set_batch_core_num(ctx.handle, n) == 0
    (split,) = ctx.infer(x)
    np.testing.assert_array_equal(split, alone)
    np.testing.assert_allclose(split, x + 1 / 3, atol=2e-3)
    assert perf_run(ctx) == modelled


def test_a_split_run_holds_the_first_n_cores(emu, monkeypatch):
    monkeypatch.setenv("EZRKNN_EMU_LATENCY_US", "300000")
    big = emu.open(batched(2))
    assert big.lib.rknn_set_batch_core_num(big.handle, 2) == 0  # cores 0 and 1, 150 ms each
    other = emu.open(batched(1))
    x_big, x_other = np.ones((2, 4), np.float32), np.ones((1, 4), np.float32)
    big.inputs_set(x_big)
    other.inputs_set(x_other)

    def both(mask):
        assert other.lib.rknn_set_core_mask(other.handle, mask) == 0
        t = threading.Thread(target=big.run)
        start = time.monotonic()
        t.start()
        time.sleep(0.03)  # the split run has its cores by now
        other.run()
        waited = time.monotonic() - start
        t.join()
        return waited

    assert both(R.RKNN_NPU_CORE_1) >= 0.44  # waits for the split run to free core 1, then runs 300 ms
    assert both(R.RKNN_NPU_CORE_2) < 0.42  # core 2 is free
