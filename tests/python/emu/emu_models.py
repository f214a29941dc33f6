"""Small ONNX models for the emulator's C ABI tests, built with onnx.helper (opset 13, IR version 8)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/python, for the model both suites share
from convnet_graph import convnet_graph  # noqa: E402

OPSET = 13
IR_VERSION = 8


def init(name, array) -> onnx.TensorProto:
    """An initializer holding `array` (numpy's dtype decides the tensor type)."""
    return numpy_helper.from_array(np.asarray(array), name)


def run_ort(model: onnx.ModelProto, feeds):
    """onnxruntime's CPU outputs for `model` on one intra-op thread: the reference the integer kernels are held to."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def run_reference(model: onnx.ModelProto, feeds):
    """The outputs of onnx's reference implementation (onnx.reference.ReferenceEvaluator): the ONNX
    specification's own semantics, a third opinion beside onnxruntime and the emulator. Models below opset 19 are
    run at 19, where the reference implements QuantizeLinear / DequantizeLinear (same semantics for 8-bit types)."""
    import copy

    from onnx.reference import ReferenceEvaluator

    model = copy.deepcopy(model)
    for opset in model.opset_import:
        if opset.domain in ("", "ai.onnx") and opset.version < 19:
            opset.version = 19
    return ReferenceEvaluator(model).run(None, feeds)


def make_model(nodes, inputs, outputs, initializers=(), metadata=None, name="graph", check=True,
               extra_opsets=(), opset=OPSET) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, name, inputs, outputs, list(initializers))
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in extra_opsets]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="ezrknn-emu-tests")
    model.ir_version = IR_VERSION
    if metadata:
        helper.set_model_props(model, metadata)
    if check:
        onnx.checker.check_model(model)
    return model


def to_bytes(model: onnx.ModelProto) -> bytes:
    return model.SerializeToString()


def vi(name, elem_type, shape):
    return helper.make_tensor_value_info(name, elem_type, shape)


def conv_net(metadata=None) -> onnx.ModelProto:
    """The shared conv net (tests/python/convnet_graph.py) at 16x16, "features" without a Relu. Input "image"
    [1,3,16,16]; outputs "features" [1,8,4,4] (4-D), "logits" [1,10], "probs" [1,10]."""
    nodes, inputs, outputs, inits = convnet_graph(side=16, seed=11, bias_fan_in=20, relu_features=False)
    return make_model(nodes, inputs, outputs, inits, metadata=metadata, name="conv_net")


def add_const(shape, metadata=None, elem_type=TensorProto.FLOAT, const=None) -> onnx.ModelProto:
    """y = x + c, with c a constant of x's shape (default: 1/3, which fp16 cannot hold exactly)."""
    np_type = helper.tensor_dtype_to_np_dtype(elem_type)
    if const is None:
        const = np.full(shape, 1.0 / 3.0, dtype=np_type)
    return make_model([helper.make_node("Add", ["x", "c"], ["y"], name="add")], [vi("x", elem_type, shape)],
                      [vi("y", elem_type, shape)], [numpy_helper.from_array(np.asarray(const, np_type), "c")],
                      metadata=metadata, name="add_const")


def dynamic_pair(metadata=None) -> onnx.ModelProto:
    """Symbolic dims: y = 2x for x [1,3,H,W], w = z + 1 for z [N,2]."""
    two = numpy_helper.from_array(np.array(2.0, np.float32), "two")
    one = numpy_helper.from_array(np.array(1.0, np.float32), "one")
    return make_model([helper.make_node("Mul", ["x", "two"], ["y"], name="mul"),
                       helper.make_node("Add", ["z", "one"], ["w"], name="add")],
                      [vi("x", TensorProto.FLOAT, [1, 3, "H", "W"]), vi("z", TensorProto.FLOAT, ["N", 2])],
                      [vi("y", TensorProto.FLOAT, [1, 3, "H", "W"]), vi("w", TensorProto.FLOAT, ["N", 2])],
                      [two, one], metadata=metadata, name="dynamic_pair")


def two_inputs() -> onnx.ModelProto:
    """d = a - b (4-D, [1,3,4,5]) and e = c @ w (2-D)."""
    w = (np.arange(12, dtype=np.float32).reshape(4, 3) / 8.0)
    return make_model(
        [helper.make_node("Sub", ["a", "b"], ["d"], name="sub"),
         helper.make_node("MatMul", ["c", "w"], ["e"], name="mm")],
        [vi("a", TensorProto.FLOAT, [1, 3, 4, 5]), vi("b", TensorProto.FLOAT, [1, 3, 4, 5]),
         vi("c", TensorProto.FLOAT, [2, 4])],
        [vi("d", TensorProto.FLOAT, [1, 3, 4, 5]), vi("e", TensorProto.FLOAT, [2, 3])],
        [numpy_helper.from_array(w, "w")], name="two_inputs")


def reshape_int(elem_type, in_shape, out_shape) -> onnx.ModelProto:
    """y = Reshape(x): moves integer data untouched, whatever its type."""
    shape = numpy_helper.from_array(np.asarray(out_shape, np.int64), "shape")
    return make_model([helper.make_node("Reshape", ["x", "shape"], ["y"], name="reshape")],
                      [vi("x", elem_type, in_shape)], [vi("y", elem_type, out_shape)], [shape], name="reshape_int")


def float16_io() -> onnx.ModelProto:
    """A float16 model: y = Reshape(x) from [1,2,3,4] to [1,4,3,2] (4-D in and out)."""
    shape = numpy_helper.from_array(np.asarray([1, 4, 3, 2], np.int64), "shape")
    return make_model([helper.make_node("Reshape", ["x", "shape"], ["y"], name="reshape")],
                      [vi("x", TensorProto.FLOAT16, [1, 2, 3, 4])], [vi("y", TensorProto.FLOAT16, [1, 4, 3, 2])],
                      [shape], name="float16_io")


def unsupported_op() -> onnx.ModelProto:
    """A default-domain op no NPU runs (Det), in a node named "my_det_node"."""
    return make_model([helper.make_node("Relu", ["x"], ["r"], name="relu"),
                       helper.make_node("Det", ["r"], ["y"], name="my_det_node")],
                      [vi("x", TensorProto.FLOAT, [3, 3])], [vi("y", TensorProto.FLOAT, [])], name="unsupported")


def custom_op() -> onnx.ModelProto:
    """A node of a custom domain ("cstSigmoid" of "com.example.custom"), named "my_custom_node"."""
    return make_model([helper.make_node("Relu", ["x"], ["r"], name="relu"),
                       helper.make_node("cstSigmoid", ["r"], ["y"], name="my_custom_node",
                                        domain="com.example.custom")],
                      [vi("x", TensorProto.FLOAT, [1, 4])], [vi("y", TensorProto.FLOAT, [1, 4])],
                      name="custom", check=False, extra_opsets=[("com.example.custom", 1)])


def symbolic_input() -> onnx.ModelProto:
    """Input "dyn_input" keeps a symbolic batch dim "N"."""
    return make_model([helper.make_node("Relu", ["dyn_input"], ["y"], name="relu")],
                      [vi("dyn_input", TensorProto.FLOAT, ["N", 4])], [vi("y", TensorProto.FLOAT, ["N", 4])],
                      name="symbolic")


def double_io() -> onnx.ModelProto:
    """A float64 input: no RKNN type can carry it."""
    return make_model([helper.make_node("Relu", ["x"], ["y"], name="relu")],
                      [vi("x", TensorProto.DOUBLE, [2, 2])], [vi("y", TensorProto.DOUBLE, [2, 2])], name="double")


def fp16(values) -> np.ndarray:
    """What the NPU's fp16 storage makes of float32 values."""
    with np.errstate(over="ignore"):
        return np.asarray(values, np.float32).astype(np.float16).astype(np.float32)
