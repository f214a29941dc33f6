#!/usr/bin/env python3
"""Run a small residual conv net through InferenceSession on the emulated NPU and show what it does.

Builds the model with onnx.helper the first time (weights from a fixed seed), then runs it several times,
printing the session's runtime, its inputs and outputs, the top classes, the latency, and how far the
emulator's fp16 results are from ONNX Runtime's fp32 results on the same model.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import ztu_somemodelruntime_ez_rknn_async as ezrknn


def build_convnet(path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(2026)
    inits, nodes = [], []

    def weight(name, shape, fan_in):
        inits.append(numpy_helper.from_array(
            (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32), name))
        return name

    def conv(x, cin, cout, k, stride=1, group=1, relu=True, name=""):
        w = weight(f"{name}_w", (cout, cin // group, k, k), cin // group * k * k)
        b = weight(f"{name}_b", (cout,), 100.0)
        y = f"{name}_y"
        nodes.append(helper.make_node("Conv", [x, w, b], [y], name=name, kernel_shape=[k, k],
                                      strides=[stride, stride], pads=[k // 2] * 4, group=group))
        if relu:
            nodes.append(helper.make_node("Relu", [y], [f"{name}_r"], name=f"{name}_relu"))
            y = f"{name}_r"
        return y

    x = conv("image", 3, 16, 3, stride=2, name="stem")
    nodes.append(helper.make_node("MaxPool", [x], ["pool"], name="pool", kernel_shape=[3, 3],
                                  strides=[2, 2], pads=[1, 1, 1, 1]))
    x = "pool"
    for i in range(2):  # residual blocks
        h = conv(x, 16, 16, 3, name=f"res{i}a")
        h = conv(h, 16, 16, 3, relu=False, name=f"res{i}b")
        nodes.append(helper.make_node("Add", [x, h], [f"res{i}_sum"], name=f"res{i}_add"))
        nodes.append(helper.make_node("Relu", [f"res{i}_sum"], [f"res{i}_out"], name=f"res{i}_relu"))
        x = f"res{i}_out"
    x = conv(x, 16, 16, 3, stride=2, group=16, name="dw")  # depthwise
    x = conv(x, 16, 64, 1, name="pw")
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"], name="gap"))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"], name="flatten", axis=1))
    fc_w = weight("fc_w", (10, 64), 64)
    fc_b = weight("fc_b", (10,), 100.0)
    nodes.append(helper.make_node("Gemm", ["flat", fc_w, fc_b], ["logits"], name="fc", transB=1))
    nodes.append(helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=1))

    graph = helper.make_graph(
        nodes, "ezrknn_demo_convnet",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 224, 224])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="ezrknn-demo")
    model.ir_version = 8
    helper.set_model_props(model, {"rknn.custom_string": "ezrknn demo convnet, RGB input in [0,1]"})
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))


def test_image() -> np.ndarray:
    """A deterministic 224x224 RGB picture: colour gradients with a bright disc."""
    yy, xx = np.mgrid[0:224, 0:224].astype(np.float32) / 223.0
    disc = (((xx - 0.6) ** 2 + (yy - 0.4) ** 2) < 0.05).astype(np.float32)
    img = np.stack([xx, yy, np.clip(1.0 - xx * yy + disc, 0, 1)])
    return img[None].astype(np.float32)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path(os.environ.get("EZRKNN_BUILD_DIR", "build/release"))
                        / "models" / "demo_convnet.onnx")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    if not args.model.exists():
        print(f"building the demo model at {args.model}")
        build_convnet(args.model)

    t0 = time.perf_counter()
    sess = ezrknn.InferenceSession(str(args.model))
    load_ms = (time.perf_counter() - t0) * 1e3
    print(f"ezrknn {ezrknn.__version__}, model {args.model} loaded in {load_ms:.1f} ms")
    print(f"providers: {sess.get_providers()}")
    for arg in sess.get_inputs():
        print(f"  input  {arg.name}: {arg.type} {arg.shape}")
    for arg in sess.get_outputs():
        print(f"  output {arg.name}: {arg.type} {arg.shape}")
    print(f"model metadata: {sess.get_modelmeta().custom_metadata_map}")

    image = test_image()
    sess.run(None, {"image": image})  # warm-up
    times = []
    for _ in range(args.runs):
        t = time.perf_counter()
        (probs,) = sess.run(None, {"image": image})
        times.append((time.perf_counter() - t) * 1e3)

    top = np.argsort(probs[0])[::-1][:3]
    print("top classes: " + ", ".join(f"#{c} p={probs[0][c]:.4f}" for c in top))
    times.sort()
    print(f"latency over {args.runs} runs: mean {statistics.mean(times):.2f} ms, "
          f"p50 {times[len(times) // 2]:.2f} ms, p90 {times[int(len(times) * 0.9)]:.2f} ms, min {times[0]:.2f} ms")

    try:
        import onnxruntime as ort
    except ImportError:
        print("onnxruntime not installed: skipping the comparison")
        return 0
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    ref = ort.InferenceSession(str(args.model), so, providers=["CPUExecutionProvider"])
    (ref_probs,) = ref.run(None, {"image": image})
    diff = float(np.max(np.abs(ref_probs - probs)))
    cos = float(np.dot(ref_probs.ravel(), probs.ravel())
                / (np.linalg.norm(ref_probs) * np.linalg.norm(probs)))
    print(f"vs onnxruntime {ort.__version__} (fp32): max abs diff {diff:.2e}, cosine {cos:.6f} "
          f"(the emulated NPU rounds inputs and outputs through fp16)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
