"""Runs a model with the sample custom op cstSwish through InferenceSession, on two NPU cores.

    python examples/custom_op_plugin/run_swish.py --plugin build/release/examples/op_plugins/librkcst_swish.so

The model (built here with onnx.helper): y = cstSwish(2 * x, beta=1.5) + 1, x [4, 16]. The result is checked
against numpy; the script exits with status 1 on a mismatch.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

import ztu_somemodelruntime_ez_rknn_async as ort

DOMAIN = "ezrknn.example"
BETA = 1.5


def build_model(path: Path) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("Mul", ["x", "two"], ["x2"], name="double"),
        helper.make_node("cstSwish", ["x2"], ["s"], name="swish", domain=DOMAIN, beta=BETA),
        helper.make_node("Add", ["s", "one"], ["y"], name="plus_one"),
    ]
    graph = helper.make_graph(
        nodes, "swish_example",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 16])],
        [numpy_helper.from_array(np.array(2, np.float32), "two"),
         numpy_helper.from_array(np.array(1, np.float32), "one")],
        value_info=[helper.make_tensor_value_info("x2", TensorProto.FLOAT, [4, 16]),
                    helper.make_tensor_value_info("s", TensorProto.FLOAT, [4, 16])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(DOMAIN, 1)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def reference(x: np.ndarray) -> np.ndarray:
    z = 2.0 * x.astype(np.float64)
    return z / (1.0 + np.exp(-BETA * z)) + 1.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugin", required=True, help="path of librkcst_swish.so")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        model = build_model(Path(tmp) / "swish.onnx")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sess = ort.InferenceSession(str(model), provider_options={
                "custom_op_paths": [args.plugin], "schedule": [0, 1]})
        for w in caught:
            print(f"warning: {w.message}")
        print("custom ops:", sess.get_custom_ops())
        print("disable_dup_context:", sess.get_provider_options()["RknnExecutionProvider"]["disable_dup_context"])
        x = np.linspace(-3, 3, 64, dtype=np.float32).reshape(4, 16)
        worst = 0.0
        for i in range(4):  # several runs, so both cores' contexts serve some
            y = sess.run(None, {"x": x + i})[0]
            worst = max(worst, float(np.max(np.abs(y - reference(x + i)) / (1 + np.abs(reference(x + i))))))
        print(f"y[0, :4] = {y[0, :4]}")
        print(f"largest relative error vs numpy: {worst:.2e}")
        if worst > 2e-2:  # the emulator rounds float tensors through fp16, as an NPU does
            print("FAIL: cstSwish disagrees with numpy")
            return 1
    print("PASS: cstSwish matches numpy on schedule [0, 1]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
