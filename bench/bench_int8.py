#!/usr/bin/env python3
"""int8 models: the emulator vs ONNX Runtime on the same QDQ models, side by side.

The ResNet-18-like and MobileNetV2-like networks of tools/model_zoo.py are quantized once by the model-preparation
helper (per-channel int8 weights, int8 activations, min/max on 16 random inputs) into <out>/bench_int8/. Each engine
then runs in its own child process: the emulator through its C ABI (librknnrt_emu.so of EZRKNN_BUILD_DIR, ctypes;
intra-op threads from EZRKNN_EMU_THREADS), ORT with intra_op_num_threads. The emulator runs twice: as the CPU
allows (oneDNN computes int8 Conv/MatMul where it has VNNI) and with oneDNN capped at AVX2 (DNNL_MAX_CPU_ISA), which
takes the exact kernels a CPU without VNNI runs. The table shows median latencies and the ratios emulator/ORT at
1 and 2 threads.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
sys.path.insert(0, str(REPO / "tests" / "python" / "emu"))


def quantize(float_path: Path, path: Path, samples: int) -> dict:
    """Quantizes a float model with the preparation helper (per-channel int8 weights, int8 activations, min/max on
    `samples` random inputs) into `path`; returns the helper's accuracy report."""
    import onnx

    spec = importlib.util.spec_from_file_location(
        "ezrknn_model_prep_bench", REPO / "python" / "ztu_somemodelruntime_ez_rknn_async" / "model_prep.py")
    prep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(prep)
    shape = [d.dim_value for d in onnx.load(str(float_path)).graph.input[0].type.tensor_type.shape.dim]
    rng = np.random.default_rng(1)
    rknn = prep.RKNN()
    rknn.config(quantized_dtype="w8a8", quantized_method="channel")
    rknn.load_onnx(float_path)
    rknn.build(do_quantization=True, dataset=[rng.random(shape, dtype=np.float32) for _ in range(samples)])
    rknn.export_rknn(path)
    return rknn.accuracy_report()


def quantized_models(out: Path) -> dict[str, Path]:
    from model_zoo import build_mobilenetv2, build_resnet18

    models = {}
    for name, build in [("resnet18_like", build_resnet18), ("mobilenetv2_like", build_mobilenetv2)]:
        path = out / f"{name}_int8.rknn"
        if not path.exists():
            report = quantize(build(out / f"{name}.onnx"), path, samples=16)
            print(f"{name}: quantized, cosine vs float {report}", file=sys.stderr)
        models[name] = path
    return models


EXACT_FP32 = {"EZRKNN_EMU_EXACT_FP32": "1"}  # the float parts of the emulator in fp32, as onnxruntime's


def child(engine: str, model: str, threads: int, runs: int, warmup: int) -> None:
    import onnx

    shape = [d.dim_value for d in onnx.load(model).graph.input[0].type.tensor_type.shape.dim]
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


def measure(engine: str, model: Path, threads: int, runs: int, warmup: int, env: dict | None = None) -> dict:
    """{"median_ms": ...} of `runs` runs of `model` in a child process (engine "emulator" or "ort"), with `env`
    added to the environment."""
    cmd = [sys.executable, __file__, "--child", engine, str(model), str(threads), str(runs), str(warmup)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, env={**os.environ, **(env or {})})
    return json.loads(done.stdout.strip().splitlines()[-1])


def parse_arguments(doc: str) -> argparse.Namespace:
    """The command line both int8 benches take: --threads, --runs, --warmup and --out (created)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--out", type=Path,
                        default=Path(os.environ.get("EZRKNN_BUILD_DIR", "build/release")) / "models" / "bench_int8")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def main() -> int:
    if len(sys.argv) == 7 and sys.argv[1] == "--child":
        _, _, engine, model, threads, runs, warmup = sys.argv
        child(engine, model, int(threads), int(runs), int(warmup))
        return 0
    args = parse_arguments(__doc__)
    print(f"{'model':<20} {'thr':>3} {'emu ms':>9} {'exact ms':>9} {'ort ms':>9} {'emu/ort':>8} {'exact/ort':>9}")
    for name, path in quantized_models(args.out).items():
        for threads in args.threads:
            emu = measure("emulator", path, threads, args.runs, args.warmup, EXACT_FP32)["median_ms"]
            exact = measure("emulator", path, threads, args.runs, args.warmup,
                            {**EXACT_FP32, "DNNL_MAX_CPU_ISA": "AVX2"})["median_ms"]
            ref = measure("ort", path, threads, args.runs, args.warmup)["median_ms"]
            print(f"{name:<20} {threads:>3} {emu:>9.2f} {exact:>9.2f} {ref:>9.2f} {emu / ref:>8.2f} {exact / ref:>9.2f}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
