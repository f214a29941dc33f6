#!/usr/bin/env python3
"""The int8 PP-OCR direction classifier (MobileNetV3 0.35, input 1x3x48x192) against its float model on the
emulator, and against onnxruntime on the same QDQ model.

Both models come from the model-preparation helper (`ezrknn prepare`): int8 with mmse calibration on the dataset
lines, and float (the emulator runs it with fp16 semantics). Each measurement is a child process (the emulator
through its C ABI, librknnrt_emu.so of EZRKNN_BUILD_DIR; ORT with intra_op_num_threads) that prints its median
latency; the rounds interleave the three so a noisy, shared machine slows them alike, and the table shows the
median over the rounds and the ratios int8/fp16 and emulator/ORT at 1 and 2 threads.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "python" / "emu"))


def child(engine: str, model: str, threads: int, runs: int, warmup: int) -> None:
    import onnx

    graph_input = onnx.load(model, load_external_data=False).graph.input[0]
    shape = [d.dim_value for d in graph_input.type.tensor_type.shape.dim]
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    if engine == "emulator":
        os.environ["EZRKNN_EMU_THREADS"] = str(threads)
        import rknn_ctypes
        from emu_session import Emulator

        build = Path(os.environ.get("EZRKNN_BUILD_DIR", REPO / "build" / "release"))
        ctx = Emulator(rknn_ctypes.load(build / "lib" / "librknnrt_emu.so")).open(model)
        run = lambda: ctx.infer(x)  # noqa: E731
    else:
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        run = lambda: sess.run(None, {name: x})  # noqa: E731
    for _ in range(warmup):
        run()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        run()
        times.append((time.perf_counter() - t) * 1e3)
    print(json.dumps({"median_ms": statistics.median(times)}))


def measure(engine: str, model: Path, threads: int, runs: int, warmup: int) -> float:
    cmd = [sys.executable, __file__, "--child", engine, str(model), str(threads), str(runs), str(warmup)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])["median_ms"]


def prepare(source: Path, dataset: Path, out: Path) -> tuple[Path, Path]:
    """The int8 and float models of `source` in `out`, made once by `ezrknn prepare`."""
    out.mkdir(parents=True, exist_ok=True)
    cli = [str(Path(sys.executable).parent / "ezrknn"), "prepare", str(source)]  # the console script of this venv
    int8, fp = out / "cls_int8.rknn", out / "cls_fp.rknn"
    if not int8.exists():
        subprocess.run(cli + ["-o", str(int8), "--dataset", str(dataset), "--quantized-algorithm", "mmse"], check=True)
    if not fp.exists():
        subprocess.run(cli + ["-o", str(fp)], check=True)
    return int8, fp


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("/tmp/clsq/cls.onnx"), help="the float PP-OCR cls ONNX")
    parser.add_argument("--dataset", type=Path, default=Path("/tmp/clsq/dataset.txt"), help="calibration lines")
    parser.add_argument("--out", type=Path,
                        default=Path(os.environ.get("EZRKNN_BUILD_DIR", "build/release")) / "models" / "bench_cls")
    parser.add_argument("--runs", type=int, default=400, help="timed runs per child")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; the table shows their median")
    args = parser.parse_args()
    int8, fp = prepare(args.model, args.dataset, args.out)
    configs = {"emu int8": ("emulator", int8), "emu fp16": ("emulator", fp), "ort int8 QDQ": ("ort", int8)}
    print(f"{'threads':>7} {'emu int8 ms':>11} {'emu fp16 ms':>11} {'ort QDQ ms':>10} {'int8/fp16':>9} "
          f"{'int8/ort':>8}")
    for threads in (1, 2):
        samples: dict[str, list[float]] = {k: [] for k in configs}
        for _ in range(args.rounds):
            for key, (engine, path) in configs.items():
                samples[key].append(measure(engine, path, threads, args.runs, args.warmup))
        med = {k: statistics.median(v) for k, v in samples.items()}
        print(f"{threads:>7} {med['emu int8']:>11.3f} {med['emu fp16']:>11.3f} {med['ort int8 QDQ']:>10.3f} "
              f"{med['emu int8'] / med['emu fp16']:>9.2f} {med['emu int8'] / med['ort int8 QDQ']:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
