"""Writes the small ONNX models the C++ engine tests load (run once; the .onnx files are committed).

    .venv/bin/python tests/models/make_test_models.py

add_conv.onnx       image[1,3,8,8] + offset[1,4] -> features[1,4,8,8] (Conv, Relu, Reshape, Add)
                    and pooled[1,4] (GlobalAveragePool, Flatten); custom string "RGB engine-test".
add_conv_expected.bin  float32 little-endian: features (256 values) then pooled (4 values), computed by
                    onnxruntime for reference_inputs() below (the C++ test builds the same inputs).
unsupported_op.onnx x[1,4] -> y[1,4] through Einsum, an op outside the NPU list the emulator lacks, at node "einsum_node".
npu_demo.onnx       image[1,3,16,16] -> Conv 3->8 (3x3, pad 1) -> cstSigmoid (domain "rknn.demo", a custom op the
                    C demo examples/c_api/rknn_npu_demo.c registers) -> probs[1,8,16,16]; custom string "npu demo".
                    The weights follow formulas that the C demo repeats to compute its own reference.
dynamic_pair.onnx   x[1,3,H,W] -> y = 2x, z[N,2] -> w = z + 1, with metadata rknn.dynamic_input listing the shape
                    sets ([1,3,4,4], [1,2]) and ([1,3,8,6], [3,2]).
"""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
OPSET = 13
IR_VERSION = 8  # readable by every onnxruntime the test extras allow


def save(model: onnx.ModelProto, name: str) -> None:
    onnx.checker.check_model(model)
    path = HERE / name
    onnx.save(model, str(path))
    print(f"wrote {path} ({path.stat().st_size} bytes)")


def add_conv() -> onnx.ModelProto:
    rng = np.random.RandomState(0)
    weight = (rng.standard_normal((4, 3, 3, 3)) * 0.25).astype(np.float32)
    bias = np.array([0.1, -0.2, 0.3, 0.0], dtype=np.float32)
    nodes = [
        helper.make_node("Conv", ["image", "conv_w", "conv_b"], ["conv_out"], name="conv",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("Relu", ["conv_out"], ["relu_out"], name="relu"),
        helper.make_node("Reshape", ["offset", "offset_shape"], ["offset_4d"], name="reshape"),
        helper.make_node("Add", ["relu_out", "offset_4d"], ["features"], name="add"),
        helper.make_node("GlobalAveragePool", ["features"], ["gap_out"], name="gap"),
        helper.make_node("Flatten", ["gap_out"], ["pooled"], name="flatten", axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "add_conv",
        inputs=[
            helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 8, 8]),
            helper.make_tensor_value_info("offset", TensorProto.FLOAT, [1, 4]),
        ],
        outputs=[
            helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, 4, 8, 8]),
            helper.make_tensor_value_info("pooled", TensorProto.FLOAT, [1, 4]),
        ],
        initializer=[
            numpy_helper.from_array(weight, "conv_w"),
            numpy_helper.from_array(bias, "conv_b"),
            numpy_helper.from_array(np.array([1, 4, 1, 1], dtype=np.int64), "offset_shape"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="ezrknn-tests")
    model.ir_version = IR_VERSION
    helper.set_model_props(model, {"rknn.custom_string": "RGB engine-test"})
    return model


def reference_inputs():
    """image[i] = sin(0.1 * i) for i in NCHW order; offset = [0.5, -0.5, 0.25, 0]. Mirrored in the C++ tests."""
    image = np.sin(0.1 * np.arange(3 * 8 * 8, dtype=np.float64)).astype(np.float32).reshape(1, 3, 8, 8)
    offset = np.array([[0.5, -0.5, 0.25, 0.0]], dtype=np.float32)
    return image, offset


def write_expected(model: onnx.ModelProto) -> None:
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    image, offset = reference_inputs()
    features, pooled = session.run(None, {"image": image, "offset": offset})
    path = HERE / "add_conv_expected.bin"
    path.write_bytes(np.concatenate([features.ravel(), pooled.ravel()]).astype("<f4").tobytes())
    print(f"wrote {path} ({path.stat().st_size} bytes)")


def unsupported_op() -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Einsum", ["x"], ["y"], name="einsum_node", equation="ij->ij")],
        "unsupported_op",
        inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="ezrknn-tests")
    model.ir_version = IR_VERSION
    return model


def npu_demo() -> onnx.ModelProto:
    o, i, ky, kx = np.meshgrid(np.arange(8), np.arange(3), np.arange(3), np.arange(3), indexing="ij")
    weight = (((o * 7 + i * 3 + ky * 5 + kx) % 11 - 5) / 20.0).astype(np.float32)  # demo_weight() in the C demo
    bias = ((np.arange(8) - 4) / 10.0).astype(np.float32)                           # demo_bias()
    graph = helper.make_graph(
        [helper.make_node("Conv", ["image", "conv_w", "conv_b"], ["logits"], name="conv", kernel_shape=[3, 3],
                          pads=[1, 1, 1, 1]),
         helper.make_node("cstSigmoid", ["logits"], ["probs"], name="sigmoid", domain="rknn.demo")],
        "npu_demo",
        inputs=[helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 16, 16])],
        outputs=[helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 8, 16, 16])],
        initializer=[numpy_helper.from_array(weight, "conv_w"), numpy_helper.from_array(bias, "conv_b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET),
                                                    helper.make_opsetid("rknn.demo", 1)],
                              producer_name="ezrknn-tests")
    model.ir_version = IR_VERSION
    helper.set_model_props(model, {"rknn.custom_string": "npu demo"})
    return model


def dynamic_pair() -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "two"], ["y"], name="mul"),
         helper.make_node("Add", ["z", "one"], ["w"], name="add")],
        "dynamic_pair",
        inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "H", "W"]),
                helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 2])],
        outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, "H", "W"]),
                 helper.make_tensor_value_info("w", TensorProto.FLOAT, ["N", 2])],
        initializer=[numpy_helper.from_array(np.array(2.0, np.float32), "two"),
                     numpy_helper.from_array(np.array(1.0, np.float32), "one")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="ezrknn-tests")
    model.ir_version = IR_VERSION
    helper.set_model_props(model, {"rknn.dynamic_input": "[[[1, 3, 4, 4], [1, 2]], [[1, 3, 8, 6], [3, 2]]]"})
    return model


if __name__ == "__main__":
    conv = add_conv()
    save(conv, "add_conv.onnx")
    write_expected(conv)
    save(unsupported_op(), "unsupported_op.onnx")
    save(npu_demo(), "npu_demo.onnx")
    save(dynamic_pair(), "dynamic_pair.onnx")
