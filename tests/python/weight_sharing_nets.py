"""The two networks of the shared-weight tests, used by both suites (tests/python/test_use_weight_from.py through
InferenceSession, tests/python/emu/test_shared_weights.py through the C ABI). Each returns an onnx.ModelProto
(opset 13, IR version 8) whose input "image" has symbolic H and W, so that one set of weights serves several
resolutions."""
from __future__ import annotations

import numpy as np


def _model(nodes, image_shape, output_name, output_shape, inits, name):
    from onnx import TensorProto, helper

    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("image", TensorProto.FLOAT, image_shape)],
                              [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, output_shape)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="ezrknn-tests")
    model.ir_version = 8
    return model


def multires_net(seed=3, channels=8):
    """Conv 3->C 3x3 (pad 1) -> Relu -> Conv C->4 1x1 -> GlobalAveragePool -> Reshape [1,4] (an int64 shape
    constant, which a slave keeps) -> Gemm 4->10. Input "image" [1,3,H,W]; output "logits" [1,10]."""
    from onnx import helper, numpy_helper

    rng = np.random.default_rng(seed)
    inits = [
        numpy_helper.from_array(rng.standard_normal((channels, 3, 3, 3)).astype(np.float32) * 0.3, "w1"),
        numpy_helper.from_array(rng.standard_normal(channels).astype(np.float32) * 0.1, "b1"),
        numpy_helper.from_array(rng.standard_normal((4, channels, 1, 1)).astype(np.float32) * 0.3, "w2"),
        numpy_helper.from_array(np.array([1, 4], dtype=np.int64), "shape"),
        numpy_helper.from_array(rng.standard_normal((4, 10)).astype(np.float32), "w3"),
        numpy_helper.from_array(rng.standard_normal(10).astype(np.float32), "b3"),
    ]
    nodes = [
        helper.make_node("Conv", ["image", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], name="conv2"),
        helper.make_node("GlobalAveragePool", ["c2"], ["pooled"], name="pool"),
        helper.make_node("Reshape", ["pooled", "shape"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "w3", "b3"], ["logits"], name="fc"),
    ]
    return _model(nodes, [1, 3, "H", "W"], "logits", [1, 10], inits, "multires")


def heavy_net(seed=9):
    """72 MiB of float32 weights at tiny activations: four 1x1 Convs 1024->1024 (16 MiB), then GlobalAveragePool ->
    Flatten -> MatMul 1024x2048 (8 MiB) -> three MatMul 2048x2048 (48 MiB). Input "image" [1,1024,H,W]; output
    "y" [1,2048]."""
    from onnx import helper, numpy_helper

    rng = np.random.default_rng(seed)
    scale = np.float32(1.0 / 32)
    inits, nodes, x = [], [], "image"
    for i in range(4):
        inits.append(numpy_helper.from_array(
            rng.standard_normal((1024, 1024, 1, 1), dtype=np.float32) * scale, f"conv{i}.w"))
        nodes.append(helper.make_node("Conv", [x, f"conv{i}.w"], [f"c{i}"], name=f"conv{i}"))
        x = f"c{i}"
    nodes += [helper.make_node("GlobalAveragePool", [x], ["pooled"]),
              helper.make_node("Flatten", ["pooled"], ["flat"])]
    x = "flat"
    for i, (k, n) in enumerate([(1024, 2048), (2048, 2048), (2048, 2048), (2048, 2048)]):
        inits.append(numpy_helper.from_array(rng.standard_normal((k, n), dtype=np.float32) * scale, f"fc{i}.w"))
        nodes.append(helper.make_node("MatMul", [x, f"fc{i}.w"], [f"m{i}"], name=f"fc{i}"))
        x = f"m{i}"
    nodes.append(helper.make_node("Identity", [x], ["y"]))
    return _model(nodes, [1, 1024, "H", "W"], "y", [1, 2048], inits, "heavy")
