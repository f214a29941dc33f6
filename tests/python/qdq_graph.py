"""The small quantized (QDQ) conv that both Python suites run (the API tests, and the C ABI tests in emu/): x float
→ Quantize/Dequantize → Conv with int8 weights → Quantize/Dequantize → y. On the NPU the input and output are
quantized tensors: their attrs report INT8 (or UINT8) with the zero points and scales given here."""
from __future__ import annotations

import numpy as np


def qdq_conv_graph(x_scale, x_zp, y_scale, y_zp, zp_type=np.int8, extra_reader=False, w_scale=0.01):
    """Returns (nodes, inputs, outputs, initializers). Input "x" [1,3,6,6]; output "y" [1,4,6,6], plus "r" =
    Relu(x) [1,3,6,6] when extra_reader (x then also feeds a float op, so it stays a float input). With power-of-two
    x_scale and w_scale the conv's float sums are exact, whatever order a kernel adds them in."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(2)
    init = lambda name, v: numpy_helper.from_array(np.asarray(v), name)  # noqa: E731
    inits = [init("xs", np.float32(x_scale)), init("xz", zp_type(x_zp)),
             init("wq", rng.integers(-127, 128, size=(4, 3, 3, 3), dtype=np.int8)), init("ws", np.float32(w_scale)),
             init("wz", np.int8(0)), init("ys", np.float32(y_scale)), init("yz", zp_type(y_zp))]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
        helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["wd"]),
        helper.make_node("Conv", ["xd", "wd"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("QuantizeLinear", ["c", "ys", "yz"], ["cq"]),
        helper.make_node("DequantizeLinear", ["cq", "ys", "yz"], ["y"]),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 6])]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 6, 6])]
    if extra_reader:
        nodes.append(helper.make_node("Relu", ["x"], ["r"]))
        outputs.append(helper.make_tensor_value_info("r", TensorProto.FLOAT, [1, 3, 6, 6]))
    return nodes, inputs, outputs, inits
