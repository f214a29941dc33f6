#!/usr/bin/env python3
"""The table kernels of the QDQ fusion (activations, MaxPool, Concat, movement ops on 8-bit codes) against the same
patterns run DequantizeLinear -> float op -> QuantizeLinear, side by side on one quantized model.

tools/model_zoo.py's YOLO-like network (SiLU = x * Sigmoid(x), SPPF MaxPools, Concats) is quantized by the
model-preparation helper (int8, per channel), as bench_int8.py does. A second copy of the model keeps those patterns
off the table kernels and nothing else: the scale of the QuantizeLinear after each such op becomes a Constant node
there (the QDQ fusion takes initializers only), so Conv, Add and Mul still fuse. Each copy runs in its own child
process (bench_int8.measure); ORT runs the quantized model for scale. The table shows median
latencies and the ratio tables/float.
"""
from __future__ import annotations

import sys
from pathlib import Path


REPO = Path(__file__).resolve().parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO.parent / "tools"))

from bench_int8 import measure, parse_arguments, quantize  # noqa: E402

# emu/kernels/quant/code_table.cpp: is_tabulated_activation, runs_on_codes; and Concat, Split
TABLE_OPS = {"Clip", "Elu", "HardSigmoid", "HardSwish", "LeakyRelu", "Mish", "Pow", "Relu", "Sigmoid", "Softplus",
             "Tanh", "DepthToSpace", "Expand", "Flatten", "Gather", "GatherElements", "MaxPool", "Reshape", "Resize",
             "Slice", "SpaceToDepth", "Squeeze", "Tile", "Transpose", "Unsqueeze", "Concat", "Split"}


def quantized_yolo(out: Path) -> Path:
    from model_zoo import build_yolo_like

    path = out / "yolo_like_int8.rknn"
    if not path.exists():
        quantize(build_yolo_like(out / "yolo_like.onnx"), path, samples=8)
    return path


def without_tables(model_path: Path, out: Path) -> tuple[Path, int]:
    """A copy whose table patterns stay unfused: the scales of the QuantizeLinear nodes after them become Constant
    nodes.
    Returns the path and the number of patterns touched."""
    import onnx
    from onnx import helper

    model = onnx.load(str(model_path))
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    producer = {o: n for n in graph.node for o in n.output}
    readers: dict[str, list] = {}
    for n in graph.node:
        for i in n.input:
            readers.setdefault(i, []).append(n)
    constants, touched = [], 0

    def as_constant(q):
        if len(q.input) > 1 and q.input[1] in inits:
            name = f"{q.input[1]}/constant_{len(constants)}"
            constants.append(helper.make_node("Constant", [], [name], value=inits[q.input[1]]))
            q.input[1] = name

    for n in list(graph.node):
        if n.op_type not in TABLE_OPS:
            continue
        q_nodes = [r for r in readers.get(n.output[0], []) if r.op_type == "QuantizeLinear"]
        dq_nodes = [producer[i] for i in n.input if i in producer and producer[i].op_type == "DequantizeLinear"]
        if not q_nodes or not dq_nodes:
            continue
        touched += 1
        for q in q_nodes:
            as_constant(q)
    nodes = constants + list(graph.node)  # Constant nodes first: the graph stays topologically sorted
    del graph.node[:]
    graph.node.extend(nodes)
    path = out / (model_path.stem + "_no_tables.rknn")
    onnx.save(model, str(path))
    return path, touched


def main() -> int:
    args = parse_arguments(__doc__)
    fused = quantized_yolo(args.out)
    unfused, patterns = without_tables(fused, args.out)
    print(f"yolo_like int8: {patterns} table patterns (activations, MaxPool, Concat, movement ops)")
    print(f"{'thr':>3} {'tables ms':>10} {'float ms':>9} {'ort ms':>8} {'tables/float':>13} {'tables/ort':>11}")
    for threads in args.threads:
        t = measure("emulator", fused, threads, args.runs, args.warmup)["median_ms"]
        f = measure("emulator", unfused, threads, args.runs, args.warmup)["median_ms"]
        o = measure("ort", fused, threads, args.runs, args.warmup)["median_ms"]
        print(f"{threads:>3} {t:>10.2f} {f:>9.2f} {o:>8.2f} {t / f:>13.2f} {t / o:>11.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
