"""The small conv net that both Python suites run (the API tests in conftest.py, the C ABI tests in emu/): Conv+Relu,
a grouped strided Conv, MaxPool, a 1x1 Conv with a residual Add, GlobalAveragePool, Flatten, Gemm, Softmax."""
from __future__ import annotations

import numpy as np


def convnet_graph(side: int, seed: int, bias_fan_in: int, relu_features: bool):
    """Returns (nodes, inputs, outputs, initializers). Input "image" [1,3,side,side]; outputs "features"
    [1,8,side/4,side/4] (the residual sum, through a Relu when relu_features), "logits" [1,10], "probs" [1,10].
    Weights are He-scaled normals from `seed`; biases use fan-in `bias_fan_in`."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    inits = []

    def weight(name, shape, fan_in):
        value = (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        inits.append(numpy_helper.from_array(value, name))
        return name

    nodes = [
        helper.make_node("Conv", ["image", weight("c1_w", (8, 3, 3, 3), 27), weight("c1_b", (8,), bias_fan_in)],
                         ["c1"], name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", weight("c2_w", (8, 2, 3, 3), 18), weight("c2_b", (8,), bias_fan_in)],
                         ["c2"], name="conv2_grouped", kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2],
                         group=4),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("MaxPool", ["r2"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p", weight("c3_w", (8, 8, 1, 1), 8), weight("c3_b", (8,), bias_fan_in)], ["c3"],
                         name="conv3_1x1"),
    ]
    if relu_features:
        nodes += [helper.make_node("Add", ["p", "c3"], ["res"], name="residual_add"),
                  helper.make_node("Relu", ["res"], ["features"], name="relu3")]
    else:
        nodes.append(helper.make_node("Add", ["p", "c3"], ["features"], name="residual"))
    nodes += [
        helper.make_node("GlobalAveragePool", ["features"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", weight("fc_w", (10, 8), 8), weight("fc_b", (10,), bias_fan_in)],
                         ["logits"], name="fc", transB=1),
        helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=1),
    ]
    out = side // 4
    inputs = [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, side, side])]
    outputs = [helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, 8, out, out]),
               helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10]),
               helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 10])]
    return nodes, inputs, outputs, inits
