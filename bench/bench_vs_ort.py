#!/usr/bin/env python3
"""Emulator vs ONNX Runtime on the same models and inputs, side by side in one run.

For each model and thread count, each engine runs in its own child process (so each has its own peak resident
memory), loads the model, warms up, and times `--runs` inferences. The table shows the median latency of each,
the ratio emulator/ORT (target: <= 1.3 at 1 thread), and the peak RSS of each process.

The emulator runs in exact fp32 (EZRKNN_EMU_EXACT_FP32=1), so both engines do the same arithmetic; its intra-op
threads come from EZRKNN_EMU_THREADS, ORT's from intra_op_num_threads.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_models import available_models  # noqa: E402


def child(engine: str, model: str, threads: int, runs: int, warmup: int) -> None:
    """Runs in a fresh process: load, warm up, time, then print one JSON line."""
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    if engine == "emulator":
        os.environ["EZRKNN_EMU_EXACT_FP32"] = "1"
        os.environ["EZRKNN_EMU_THREADS"] = str(threads)
        import ztu_somemodelruntime_ez_rknn_async as ez

        sess = ez.InferenceSession(model, provider_options={"runtime": "emulator"})
    else:
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    load_ms = (time.perf_counter() - t0) * 1e3

    feed = {}
    for arg in sess.get_inputs():
        feed[arg.name] = rng.random([int(d) for d in arg.shape], dtype=np.float32)
    for _ in range(warmup):
        sess.run(None, feed)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        sess.run(None, feed)
        times.append((time.perf_counter() - t) * 1e3)
    print(json.dumps({"median_ms": statistics.median(times), "min_ms": min(times), "load_ms": load_ms,
                      "peak_rss_mb": peak_rss_kb() / 1024.0}))


def peak_rss_kb() -> int:
    """This process's peak resident memory. VmHWM, not getrusage: Linux keeps ru_maxrss across execve, so a child
    would report its parent's peak."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(engine: str, model: Path, threads: int, runs: int, warmup: int) -> dict:
    cmd = [sys.executable, __file__, "--child", engine, str(model), str(threads), str(runs), str(warmup)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"{engine} on {model.name} failed:\n{out.stderr.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _, _, engine, model, threads, runs, warmup = sys.argv
        child(engine, model, int(threads), int(runs), int(warmup))
        return 0

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--models-dir", type=Path,
                        default=Path(os.environ.get("EZRKNN_BUILD_DIR", "build/release")) / "models")
    parser.add_argument("--only", help="substring of the model names to run")
    args = parser.parse_args()

    models = available_models(args.models_dir)
    if args.only:
        models = {k: v for k, v in models.items() if args.only in k}
    header = (f"{'model':<22} {'thr':>3} {'emu ms':>9} {'ORT ms':>9} {'ratio':>6}   "
              f"{'emu MB':>8} {'ORT MB':>8} {'ratio':>6}")
    print(header)
    print("-" * len(header))
    failures = 0
    for name, path in models.items():
        for threads in args.threads:
            try:
                emu = measure("emulator", path, threads, args.runs, args.warmup)
                ref = measure("ort", path, threads, args.runs, args.warmup)
            except RuntimeError as e:
                failures += 1
                print(f"{name:<22} {threads:>3}  FAILED: {str(e).splitlines()[-1]}")
                continue
            print(f"{name:<22} {threads:>3} {emu['median_ms']:>9.2f} {ref['median_ms']:>9.2f} "
                  f"{emu['median_ms'] / ref['median_ms']:>6.2f}   {emu['peak_rss_mb']:>8.1f} "
                  f"{ref['peak_rss_mb']:>8.1f} {emu['peak_rss_mb'] / ref['peak_rss_mb']:>6.2f}", flush=True)
    print("ratio = emulator / ONNX Runtime (median latency; peak resident memory of each engine's own process)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
