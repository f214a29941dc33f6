"""The ``ezrknn`` command: look into a model and time it on the RKNN runtime this machine has.

    ezrknn info MODEL          runtime, versions, inputs, outputs and custom string
    ezrknn run MODEL --runs N  random inputs of the right dtype and shape; output stats and latency
    ezrknn prepare MODEL -o OUT  write a prepared model (target platform, custom string, remove_weight, sizes,
                               mean/std, dynamic shapes, int8 quantization from a dataset.txt)
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Dict, List, Optional, Sequence

import numpy as np

# Exit codes: 2 for a model or option that cannot be used (like argparse's usage errors), 1 for a failed run.
EXIT_BAD_INPUT = 2
EXIT_RUN_FAILED = 1

_INT_RANGES = {
    "tensor(int8)": (np.int8, -128, 128),
    "tensor(uint8)": (np.uint8, 0, 256),
    "tensor(int16)": (np.int16, -100, 100),
    "tensor(uint16)": (np.uint16, 0, 100),
    "tensor(int32)": (np.int32, -100, 100),
    "tensor(uint32)": (np.uint32, 0, 100),
    "tensor(int64)": (np.int64, -100, 100),
}


class _UsageError(Exception):
    """A problem the user can fix (bad path, bad option): reported in one line, no traceback."""


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def _open(model: str, runtime: Optional[str], layout: Optional[str]):
    from . import InferenceSession

    options: Dict[str, str] = {}
    if runtime:
        options["runtime"] = runtime
    if layout:
        options["layout"] = layout
    try:
        return InferenceSession(model, provider_options=options)
    except (RuntimeError, ValueError, OSError, TypeError) as e:
        raise _UsageError(f"cannot open {model}: {_one_line(e)}") from e


def random_input(type_string: str, shape: Sequence[int], rng: np.random.Generator) -> np.ndarray:
    """Random data of the dtype a model input takes: float32 for float tensors (the runtime converts)."""
    if type_string in _INT_RANGES:
        dtype, low, high = _INT_RANGES[type_string]
        return rng.integers(low, high, size=shape).astype(dtype)
    if type_string == "tensor(bool)":
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    return rng.standard_normal(shape).astype(np.float32)


def _print_info(sess, model: str) -> None:
    info = sess.get_provider_options()["RknnExecutionProvider"]
    print(f"model:          {model}")
    print(f"runtime:        {info['runtime']} ({info['library_path']})")
    print(f"chosen by:      {info.get('chosen_by', '')}")
    print(f"api version:    {info['api_version']}")
    print(f"driver version: {info['drv_version']}")
    print(f"layout:         {info.get('layout', '')}")
    print("inputs:")
    for arg in sess.get_inputs():
        print(f"  {arg.name}: {arg.type} {arg.shape}")
    print("outputs:")
    for arg in sess.get_outputs():
        print(f"  {arg.name}: {arg.type} {arg.shape}")
    custom = sess.get_modelmeta().custom_metadata_map.get("rknn_custom_string", "")
    print(f"custom string:  {custom!r}" if custom else "custom string:  (none)")


def _percentile(sorted_values: List[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[index]


def _cmd_info(args: argparse.Namespace) -> int:
    sess = _open(args.model, args.runtime, args.layout)
    _print_info(sess, args.model)
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    if args.runs <= 0:
        raise _UsageError("--runs must be > 0")
    if args.warmup < 0:
        raise _UsageError("--warmup must be >= 0")
    sess = _open(args.model, args.runtime, args.layout)
    print(f"{args.model} on {sess.get_providers()[0]}")
    rng = np.random.default_rng(args.seed)
    feed = {arg.name: random_input(arg.type, arg.shape, rng) for arg in sess.get_inputs()}
    for name, value in feed.items():
        print(f"input  {name}: {value.dtype} {list(value.shape)} (random)")
    try:
        for _ in range(args.warmup):
            sess.run(None, feed)
        times_ms = []
        outputs = []
        for _ in range(args.runs):
            start = time.perf_counter()
            outputs = sess.run(None, feed)
            times_ms.append((time.perf_counter() - start) * 1e3)
    except (RuntimeError, ValueError) as e:
        print(f"ezrknn: error: run failed: {_one_line(e)}", file=sys.stderr)
        return EXIT_RUN_FAILED
    for arg, value in zip(sess.get_outputs(), outputs):
        if value.size:
            stats = (f"min {float(value.min()):.6g}, max {float(value.max()):.6g}, "
                     f"mean {float(value.mean()):.6g}")
        else:
            stats = "empty"
        print(f"output {arg.name}: {value.dtype} {list(value.shape)} {stats}")
    times_ms.sort()
    print(f"latency over {args.runs} run(s): mean {statistics.mean(times_ms):.3f} ms, "
          f"p50 {_percentile(times_ms, 0.5):.3f} ms, p90 {_percentile(times_ms, 0.9):.3f} ms, "
          f"min {times_ms[0]:.3f} ms")
    return 0


def _cmd_prepare(args: argparse.Namespace) -> int:
    from . import prep_cli

    try:
        return prep_cli.run_prepare(args)
    except (ValueError, TypeError, OSError, NotImplementedError, RuntimeError) as e:
        raise _UsageError(f"cannot prepare {args.model}: {_one_line(e)}") from e


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ezrknn", description="Inspect and time models on an RKNN runtime.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def add_common(p: argparse.ArgumentParser) -> None:
        p.add_argument("model", metavar="MODEL", help="a .rknn model (board) or an ONNX model (emulator)")
        p.add_argument("--runtime", help="'vendor', 'emulator' or the path of an RKNN runtime library "
                                         "(default: EZRKNN_RUNTIME, else librknnrt.so if present, else the emulator)")
        p.add_argument("--layout", help="provider option layout (nchw, nhwc, ...)")

    info = sub.add_parser("info", help="show the runtime, versions, inputs, outputs and custom string")
    add_common(info)
    info.set_defaults(handler=_cmd_info)

    run = sub.add_parser("run", help="run with random inputs; print output stats and latency")
    add_common(run)
    run.add_argument("--runs", type=int, default=10, help="timed runs (default 10)")
    run.add_argument("--warmup", type=int, default=1, help="untimed runs first (default 1)")
    run.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    run.set_defaults(handler=_cmd_run)

    from . import prep_cli

    prepare = sub.add_parser("prepare", help="write a prepared model (ONNX with RKNN metadata), as toolkit2 "
                                             "config/build/export would")
    prep_cli.add_prepare_arguments(prepare)
    prepare.set_defaults(handler=_cmd_prepare)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.handler(args)
    except _UsageError as e:
        print(f"ezrknn: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
