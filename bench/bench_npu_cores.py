"""Throughput of the emulated NPU cores against the timing model's limit.

With EZRKNN_EMU_LATENCY_US (default 2000 µs per run) and a tiny model, N threads each drive their own dup'd context
through the emulator's C ABI (ctypes, as an application would) for a few seconds. The modelled limit is
min(threads, cores) × 1e6 / latency runs/s; a tensor-parallel mask on one context is limited by 1e6 / (latency /
speedup). The ratio measured / modelled says how much of the emulated NPU the scheduling overhead leaves unused.

    .venv/bin/python bench/bench_npu_cores.py [--build-dir build/release] [--seconds 3] [--latency-us 2000]
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
from raw_harness import REPO, R, RawRunner, drive, load_emulator

import emu_models as M  # raw_harness put tests/python/emu on sys.path

CORES = 3  # rk3588
SPEEDUP = {1: 1.0, 2: 1.5, 3: 1.8}  # docs/emulator.md, "Timing model"


def runs_per_second(contexts, seconds: float) -> float:
    x = np.array([1.0, 2.0], np.float32)
    return drive([RawRunner(ctx, x, 2).run_only for ctx in contexts], seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", default=os.environ.get("EZRKNN_BUILD_DIR", str(REPO / "build" / "release")))
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--latency-us", type=int, default=2000)
    args = parser.parse_args()

    os.environ["EZRKNN_EMU_PLATFORM"] = "rk3588"
    os.environ["EZRKNN_EMU_LATENCY_US"] = str(args.latency_us)
    os.environ.pop("EZRKNN_EMU_FAULTS", None)
    emu = load_emulator(args.build_dir)
    base = emu.open(M.to_bytes(M.add_const([2])))
    contexts = [base] + [base.dup() for _ in range(3)]
    per_core = 1e6 / args.latency_us

    rows = []
    for threads in (1, 2, 3, 4):
        limit = min(threads, CORES) * per_core
        rows.append((f"{threads} thread(s), own context, AUTO", runs_per_second(contexts[:threads], args.seconds),
                     limit))
    for i, ctx in enumerate(contexts[:3]):
        emu.check("rknn_set_core_mask", ctx.lib.rknn_set_core_mask(ctx.handle, 1 << i))
    rows.append(("3 threads, pinned CORE_0/1/2", runs_per_second(contexts[:3], args.seconds), CORES * per_core))
    emu.check("rknn_set_core_mask", base.lib.rknn_set_core_mask(base.handle, R.RKNN_NPU_CORE_0_1_2))
    rows.append(("1 thread, CORE_0_1_2 (tensor parallel)", runs_per_second(contexts[:1], args.seconds),
                 per_core * SPEEDUP[3]))
    emu.destroy_all()

    print(f"emulated rk3588, EZRKNN_EMU_LATENCY_US={args.latency_us}, tiny model (Add of 2 floats), "
          f"{args.seconds:g} s per row, {os.cpu_count()} host CPUs")
    print(f"{'configuration':42} {'runs/s':>9} {'modelled':>9} {'ratio':>6}")
    for name, measured, limit in rows:
        print(f"{name:42} {measured:9.0f} {limit:9.0f} {measured / limit:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
