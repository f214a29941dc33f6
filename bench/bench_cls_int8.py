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
import os
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests" / "python"))
sys.path.insert(0, str(REPO / "tools"))

from bench_int8 import measure  # noqa: E402  (its child process times one engine)


MODELS_DIR = Path(os.environ.get("EZRKNN_BUILD_DIR", REPO / "build" / "release")) / "models"
CALIBRATION_LINES = 24


def default_inputs(out: Path) -> tuple[Path, Path]:
    """PP-OCR's cls model (fetched as the tests fetch it) and a dataset.txt of rendered text lines, as
    tests/python/test_quant_real_models.py calibrates it."""
    from fetch_models import fetch
    from test_quant_real_models import cls_line

    lines = out / "lines"
    lines.mkdir(parents=True, exist_ok=True)
    dataset = out / "dataset.txt"
    if not dataset.exists():
        for seed in range(CALIBRATION_LINES):
            np.save(lines / f"line{seed}.npy", cls_line(seed))
        dataset.write_text("".join(f"lines/line{seed}.npy\n" for seed in range(CALIBRATION_LINES)))
    return fetch(MODELS_DIR) / "cls.onnx", dataset


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
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="the float PP-OCR cls ONNX (default: fetched)")
    parser.add_argument("--dataset", type=Path, help="a dataset.txt of calibration lines (default: 24 rendered)")
    parser.add_argument("--out", type=Path, default=MODELS_DIR / "bench_cls")
    parser.add_argument("--runs", type=int, default=400, help="timed runs per child")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; the table shows their median")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    model, dataset = default_inputs(args.out) if args.model is None or args.dataset is None else (None, None)
    int8, fp = prepare(args.model or model, args.dataset or dataset, args.out)
    configs = {"emu int8": ("emulator", int8), "emu fp16": ("emulator", fp), "ort int8 QDQ": ("ort", int8)}
    print(f"{'threads':>7} {'emu int8 ms':>11} {'emu fp16 ms':>11} {'ort QDQ ms':>10} {'int8/fp16':>9} "
          f"{'int8/ort':>8}")
    for threads in (1, 2):
        samples: dict[str, list[float]] = {k: [] for k in configs}
        for _ in range(args.rounds):
            for key, (engine, path) in configs.items():
                samples[key].append(measure(engine, path, threads, args.runs, args.warmup)["median_ms"])
        med = {k: statistics.median(v) for k, v in samples.items()}
        print(f"{threads:>7} {med['emu int8']:>11.3f} {med['emu fp16']:>11.3f} {med['ort int8 QDQ']:>10.3f} "
              f"{med['emu int8'] / med['emu fp16']:>9.2f} {med['emu int8'] / med['ort int8 QDQ']:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
