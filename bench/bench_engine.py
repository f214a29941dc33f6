"""The async engine against the emulator's timing model and against a raw C API harness, side by side in one run.

1. Throughput: a single-Relu model, 1x3x32x32 float input, modelled latency 2 ms, schedule=[0,1,2]. Runs/s of
   run_async and run_pipeline divided by the modelled limit (3 cores / 2 ms = 1500) and by a raw harness (one
   thread per dup'd context pinned to a core, calling rknn_inputs_set/run/outputs_get through ctypes). The same at
   1x3x224x224, for information, and at 1x3x32x32 with threads_per_core=2 (two contexts per core), which the
   raw harness (one thread per core) does not have.
2. Overhead: run() p50 on a one-element Add model (latency 0) minus the p50 of the same inference through the raw C
   calls, in µs; and the run_async round trip (submit to callback) minus the same raw p50.
3. Memory: resident set after 100,000 run_async calls minus after the first 1,000.

    .venv/bin/python bench/bench_engine.py [--build-dir build/release] [--seconds 3]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from raw_harness import REPO, RawRunner, drive, load_emulator, pinned_contexts

import emu_models as M  # raw_harness put tests/python/emu on sys.path
from onnx import TensorProto, helper

LATENCY_US = 2000
CORES = 3
LIMIT = CORES * 1e6 / LATENCY_US


def relu_model(side: int):
    shape = [1, 3, side, side]
    return M.make_model([helper.make_node("Relu", ["x"], ["y"])], [M.vi("x", TensorProto.FLOAT, shape)],
                        [M.vi("y", TensorProto.FLOAT, shape)])


def raw_throughput(emu, model_bytes, x, seconds):
    """One thread per dup'd context pinned to a core: inputs_set, run, outputs_get, as a C application would."""
    contexts = pinned_contexts(emu, model_bytes, CORES)
    rate = drive([RawRunner(c, x.copy(), x.size).once for c in contexts], seconds)
    for c in contexts:
        c.destroy()
    return rate


def engine_async_throughput(sess, x, seconds):
    done = [0]
    lock = threading.Lock()

    def cb(results, user_data, err):
        if err:
            raise RuntimeError(err)
        with lock:
            done[0] += 1

    feed = [x]
    start = time.perf_counter()
    stop = start + seconds
    while time.perf_counter() < stop:
        sess.run_async(None, feed, cb)
    sess.wait_callbacks()
    return done[0] / (time.perf_counter() - start)


def engine_pipeline_throughput(sess, x, seconds):
    feed = [x]
    n = 0
    start = time.perf_counter()
    stop = start + seconds
    while time.perf_counter() < stop:
        if sess.run_pipeline(feed, depth=6) is not None:
            n += 1
    n += len(sess.flush_pipeline())
    return n / (time.perf_counter() - start)


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", default=os.environ.get("EZRKNN_BUILD_DIR", str(REPO / "build" / "release")))
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1, help="throughput rounds; the medians are printed")
    args = parser.parse_args()
    os.environ["EZRKNN_EMU_PLATFORM"] = "rk3588"
    os.environ.pop("EZRKNN_EMU_FAULTS", None)
    import ztu_somemodelruntime_ez_rknn_async as ort

    emu = load_emulator(args.build_dir)
    tmp = Path(tempfile.mkdtemp(prefix="bench_engine_"))

    print(f"throughput, modelled latency {LATENCY_US} us, schedule=[0,1,2], limit {LIMIT:.0f} runs/s, "
          f"{os.cpu_count()} host CPUs, median of {args.repeat} x {args.seconds:g} s")
    print(f"{'input':<14}{'path':<17}{'runs/s':>6}{'raw C':>9}{'/limit':>9}{'/raw':>8}")
    os.environ["EZRKNN_EMU_LATENCY_US"] = str(LATENCY_US)
    for side in (32, 224):
        model = relu_model(side)
        path = tmp / f"relu{side}.onnx"
        path.write_bytes(M.to_bytes(model))
        x = np.random.default_rng(0).standard_normal((1, 3, side, side)).astype(np.float32)
        rows = [("run_async", engine_async_throughput, 1), ("run_pipeline", engine_pipeline_throughput, 1)]
        if side == 32:  # for information: two contexts per core keep each core busy back to back
            rows.append(("run_async tpc=2", engine_async_throughput, 2))
        # Rounds alternate the harness and the engine, so a change in the machine's load hits both; medians.
        raw_rates, rates = [], {name: [] for name, _, _ in rows}
        for _ in range(args.repeat):
            raw_rates.append(raw_throughput(emu, M.to_bytes(model), x, args.seconds))
            for name, fn, threads_per_core in rows:
                sess = ort.InferenceSession(str(path), provider_options={
                    "schedule": [0, 1, 2], "max_queue_size": 6, "threads_per_core": threads_per_core})
                rates[name].append(fn(sess, x, args.seconds))
                sess.close()
        raw = float(np.median(raw_rates))
        for name, _, _ in rows:
            rate = float(np.median(rates[name]))
            print(f"{'1x3x%dx%d' % (side, side):<14}{name:<17}{rate:6.0f}{raw:9.0f}{rate / LIMIT:9.3f}{rate / raw:8.3f}")

    os.environ["EZRKNN_EMU_LATENCY_US"] = "0"
    add = M.add_const([1])
    path = tmp / "add1.onnx"
    path.write_bytes(M.to_bytes(add))
    x = np.array([1.5], np.float32)
    base = emu.open(M.to_bytes(add))
    raw = RawRunner(base, x, 1)
    sess = ort.InferenceSession(str(path))
    name = sess.get_inputs()[0].name
    n = 3000
    for _ in range(200):
        raw.once()
        sess.run(None, {name: x})
    raw_t, run_t, async_t = [], [], []
    ev = threading.Event()
    for _ in range(n):
        t0 = time.perf_counter_ns()
        raw.once()
        t1 = time.perf_counter_ns()
        sess.run(None, {name: x})
        t2 = time.perf_counter_ns()
        ev.clear()
        sess.run_async(None, {name: x}, lambda r, u, e: ev.set())
        ev.wait()
        t3 = time.perf_counter_ns()
        raw_t.append(t1 - t0)
        run_t.append(t2 - t1)
        async_t.append(t3 - t2)
    p50 = lambda v: float(np.median(v)) / 1000.0  # noqa: E731
    print(f"\noverhead, one-element Add, latency 0, p50 of {n}: raw C {p50(raw_t):.1f} us, run() {p50(run_t):.1f} us, "
          f"run_async round trip {p50(async_t):.1f} us")
    print(f"run() - raw C = {p50(run_t) - p50(raw_t):.1f} us (target <= 20); "
          f"run_async round trip - raw C = {p50(async_t) - p50(raw_t):.1f} us")
    base.destroy()

    def noop(results, user_data, err):
        pass

    feed = {name: x}
    for _ in range(1000):
        sess.run_async(None, feed, noop)
    sess.wait_callbacks()
    after_first = rss_bytes()
    for _ in range(args.calls - 1000):
        sess.run_async(None, feed, noop)
    sess.wait_callbacks()
    grown = rss_bytes() - after_first
    print(f"\nmemory: RSS after {args.calls} run_async - after the first 1000 = {grown / 1e6:.2f} MB (target < 5)")
    sess.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
