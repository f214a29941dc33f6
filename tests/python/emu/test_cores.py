"""Emulated NPU cores: core masks per platform, target-platform refusal, one context per thread, the timing model
(EZRKNN_EMU_LATENCY_US, rknn.latency_us), PERF_RUN and PERF_DETAIL."""
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


def tiny():
    return M.to_bytes(M.add_const([2]))


X2 = np.array([1.0, -2.0], np.float32)


def run_once(ctx):
    ctx.inputs_set(X2)
    ctx.run()


def perf_run(ctx):
    code, p = ctx.query(R.RKNN_QUERY_PERF_RUN, R.rknn_perf_run())
    assert code == 0
    return p.run_duration


# --- core masks ---------------------------------------------------------------------------------------------------

ALL_MASKS = {
    "AUTO": R.RKNN_NPU_CORE_AUTO, "0": R.RKNN_NPU_CORE_0, "1": R.RKNN_NPU_CORE_1, "2": R.RKNN_NPU_CORE_2,
    "0_1": R.RKNN_NPU_CORE_0_1, "0_1_2": R.RKNN_NPU_CORE_0_1_2, "ALL": R.RKNN_NPU_CORE_ALL,
}


@pytest.mark.parametrize("platform,accepted", [
    ("rk3588", {"AUTO", "0", "1", "2", "0_1", "0_1_2", "ALL"}),
    ("rk3576", {"AUTO", "0", "1", "0_1", "ALL"}),
])
def test_masks_on_multi_core_platforms(emu, monkeypatch, platform, accepted):
    monkeypatch.setenv("EZRKNN_EMU_PLATFORM", platform)
    ctx = emu.open(tiny())
    want = M.fp16(M.fp16(X2) + np.float32(1 / 3))
    for name, mask in ALL_MASKS.items():
        code = ctx.lib.rknn_set_core_mask(ctx.handle, mask)
        if name in accepted:
            assert code == 0, (platform, name, emu.last_error())
            # Every accepted mask runs and gives the same result.
            (y,) = ctx.infer(X2)
            np.testing.assert_array_equal(y, want)
        else:
            assert code == R.RKNN_ERR_PARAM_INVALID, (platform, name)
            assert f"core mode {mask} " in emu.last_error(), emu.last_error()
    for mask in (5, 6, 8, 0x10000, -1):
        assert ctx.lib.rknn_set_core_mask(ctx.handle, mask) == R.RKNN_ERR_PARAM_INVALID, (platform, mask)
    assert ctx.lib.rknn_set_core_mask(ctx.handle, 6) == R.RKNN_ERR_PARAM_INVALID
    assert "core mode 6 (0x6) is not supported on " + platform in emu.last_error()


@pytest.mark.parametrize("platform", ["rk3568", "rk3566", "rk3562"])
def test_single_core_platforms_refuse_every_mask(emu, monkeypatch, platform):
    monkeypatch.setenv("EZRKNN_EMU_PLATFORM", platform)
    ctx = emu.open(tiny())
    for mask in list(ALL_MASKS.values()) + [5, 6]:
        assert ctx.lib.rknn_set_core_mask(ctx.handle, mask) == R.RKNN_ERR_TARGET_PLATFORM_UNMATCH, (platform, mask)
    run_once(ctx)  # still runs, on its one core


# --- target platform ------------------------------------------------------------------------------------------------

def test_model_for_another_platform_is_refused(emu, monkeypatch):
    model = M.to_bytes(M.add_const([2], metadata={"rknn.target_platform": "rk3576"}))
    code, _ = emu.init(model)
    assert code == R.RKNN_ERR_TARGET_PLATFORM_UNMATCH
    err = emu.last_error()
    assert "This rknn model is for rk3576, but current platform is rk3588" in err
    assert "EZRKNN_EMU_PLATFORM=rk3576" in err
    monkeypatch.setenv("EZRKNN_EMU_PLATFORM", "RK3576")
    emu.open(model)  # accepted on the platform it names


# --- one context per thread -----------------------------------------------------------------------------------------

def test_a_context_used_by_two_threads_at_once_is_an_error(emu, monkeypatch):
    monkeypatch.setenv("EZRKNN_EMU_LATENCY_US", "300000")
    ctx = emu.open(tiny())
    ctx.inputs_set(X2)
    started = threading.Event()
    result = []

    def long_run():
        started.set()
        result.append(ctx.lib.rknn_run(ctx.handle, None))

    t = threading.Thread(target=long_run)
    t.start()
    started.wait()
    time.sleep(0.08)  # the run is holding the context for 300 ms
    t0 = time.monotonic()
    assert ctx.lib.rknn_run(ctx.handle, None) == R.RKNN_ERR_FAIL
    assert time.monotonic() - t0 < 0.15  # refused at once, not after waiting for the other run
    err = emu.last_error()
    assert f"context {ctx.handle} is in use by another thread (rknn_run" in err, err
    assert "rknn_dup_context" in err
    code, _ = ctx.query(R.RKNN_QUERY_PERF_RUN, R.rknn_perf_run())
    assert code == R.RKNN_ERR_FAIL
    # rknn_destroy waits for the call in flight, then destroys.
    assert ctx.destroy() == 0
    t.join()
    assert result == [0]
    assert ctx.lib.rknn_destroy(ctx.handle) == R.RKNN_ERR_CTX_INVALID


def test_dup_contexts_on_threads_do_not_conflict(emu, monkeypatch):
    monkeypatch.setenv("EZRKNN_EMU_LATENCY_US", "1000")
    base = emu.open(tiny())
    contexts = [base] + [base.dup() for _ in range(2)]
    errors = []

    def worker(ctx):
        try:
            for _ in range(30):
                run_once(ctx)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(c,)) for c in contexts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


# --- timing model ----------------------------------------------------------------------------------------------------

def timed_runs(ctx, n):
    ctx.inputs_set(X2)
    t0 = time.perf_counter()
    for _ in range(n):
        ctx.run()
    return (time.perf_counter() - t0) / n


def test_a_slow_core_is_slower(emu, monkeypatch):
    monkeypatch.setenv("EZRKNN_EMU_LATENCY_US", "0:20000,1:2000,2:2000")
    slow = emu.open(tiny())
    fast = slow.dup()
    assert slow.lib.rknn_set_core_mask(slow.handle, R.RKNN_NPU_CORE_0) == 0
    assert fast.lib.rknn_set_core_mask(fast.handle, R.RKNN_NPU_CORE_1) == 0
    t_slow = timed_runs(slow, 10)
    t_fast = timed_runs(fast, 10)
    assert t_slow >= 0.020  # the core is held for at least its modelled time
    assert t_fast >= 0.002
    assert t_slow > 3 * t_fast, (t_slow, t_fast)
    assert perf_run(slow) == 20000 and perf_run(fast) == 2000


def test_perf_run_reports_the_modelled_time(emu, monkeypatch):
    monkeypatch.setenv("EZRKNN_EMU_LATENCY_US", "3000")
    ctx = emu.open(tiny())
    run_once(ctx)
    assert perf_run(ctx) == 3000
    # Tensor-parallel masks: 3000 / 1.5 and 3000 / 1.8 (docs/emulator.md, timing model).
    for mask, want in ((R.RKNN_NPU_CORE_0_1, 2000), (R.RKNN_NPU_CORE_0_1_2, 1667), (R.RKNN_NPU_CORE_ALL, 1667),
                       (R.RKNN_NPU_CORE_2, 3000)):
        assert ctx.lib.rknn_set_core_mask(ctx.handle, mask) == 0
        t = timed_runs(ctx, 3)
        assert perf_run(ctx) == want, mask
        assert t >= want * 1e-6


def test_without_latency_perf_run_is_the_real_time(emu):
    ctx = emu.open(M.to_bytes(M.conv_net()))
    ctx.inputs_set(np.zeros((1, 3, 16, 16), np.float32))
    t0 = time.perf_counter()
    ctx.run()
    wall_us = (time.perf_counter() - t0) * 1e6
    assert 0 <= perf_run(ctx) <= wall_us + 1000


def test_latency_from_model_metadata_and_environment_precedence(emu, monkeypatch):
    model = M.to_bytes(M.add_const([2], metadata={"rknn.latency_us": "5000"}))
    ctx = emu.open(model)
    run_once(ctx)
    assert perf_run(ctx) == 5000
    monkeypatch.setenv("EZRKNN_EMU_LATENCY_US", "700")
    ctx2 = emu.open(model)
    run_once(ctx2)
    assert perf_run(ctx2) == 700


@pytest.mark.parametrize("text", ["fast", "2ms", "-3", "0:100,9:100", "0:1,0:2", "0:"])
def test_bad_latency_fails_init_naming_the_variable(emu, monkeypatch, text):
    monkeypatch.setenv("EZRKNN_EMU_LATENCY_US", text)
    code, _ = emu.init(tiny())
    assert code == R.RKNN_ERR_PARAM_INVALID
    assert f'EZRKNN_EMU_LATENCY_US="{text}" is not valid' in emu.last_error(), emu.last_error()


def test_bad_latency_metadata_fails_init(emu):
    code, _ = emu.init(M.to_bytes(M.add_const([2], metadata={"rknn.latency_us": "soon"})))
    assert code == R.RKNN_ERR_PARAM_INVALID
    assert 'rknn.latency_us="soon" is not valid' in emu.last_error()


def runs_per_second(contexts, seconds):
    counts = [0] * len(contexts)
    stop = time.perf_counter() + seconds

    def worker(i, ctx):
        ctx.inputs_set(X2)
        while time.perf_counter() < stop:
            ctx.run()
            counts[i] += 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(contexts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - t0)


def test_three_contexts_on_three_cores_give_about_three_times_the_throughput(emu, monkeypatch):
    monkeypatch.setenv("EZRKNN_EMU_LATENCY_US", "2000")
    base = emu.open(tiny())
    contexts = [base, base.dup(), base.dup()]
    one = runs_per_second(contexts[:1], 0.6)
    three = runs_per_second(contexts, 0.6)
    assert one <= 520  # one core: at most 1e6 / 2000 runs per second (plus rounding)
    assert three >= 2.5 * one, (one, three)


def test_a_core_serves_one_run_at_a_time(emu, monkeypatch):
    # Three contexts pinned to the same core share its throughput instead of tripling it.
    monkeypatch.setenv("EZRKNN_EMU_LATENCY_US", "2000")
    base = emu.open(tiny())
    contexts = [base, base.dup(), base.dup()]
    for c in contexts:
        assert c.lib.rknn_set_core_mask(c.handle, R.RKNN_NPU_CORE_1) == 0
    assert runs_per_second(contexts, 0.5) <= 520


# --- PERF_DETAIL -------------------------------------------------------------------------------------------------

def perf_detail(ctx):
    code, d = ctx.query(R.RKNN_QUERY_PERF_DETAIL, R.rknn_perf_detail())
    assert code == 0
    text = d.perf_data.decode()  # c_char_p: ctypes copies the NUL-terminated text
    assert d.data_len == len(text.encode()) + 1
    return text


def test_perf_detail_needs_the_collect_perf_flag(emu):
    ctx = emu.open(tiny())
    run_once(ctx)
    assert "RKNN_FLAG_COLLECT_PERF_MASK" in perf_detail(ctx)


def test_perf_detail_lists_every_node(emu):
    ctx = emu.open(M.to_bytes(M.conv_net()), flag=R.RKNN_FLAG_COLLECT_PERF_MASK)
    assert "call rknn_run first" in perf_detail(ctx)
    ctx.inputs_set(np.zeros((1, 3, 16, 16), np.float32))
    ctx.run()
    text = perf_detail(ctx)
    assert "Time(us)" in text and "Conv node" in text and "Total node time" in text, text
    dup = ctx.dup()  # inherits the flag
    run_once_conv = np.ones((1, 3, 16, 16), np.float32)
    dup.inputs_set(run_once_conv)
    dup.run()
    assert "Conv node" in perf_detail(dup)
