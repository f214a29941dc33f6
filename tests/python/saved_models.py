"""Writes the small ONNX test models (opset 13, IR version 8) to disk. A plain module rather than conftest.py so
that test files can import it: tests/python/emu has a conftest.py of its own, which shadows this folder's under
`from conftest import`."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

OPSET = 13
IR_VERSION = 8


def _onnx():
    return pytest.importorskip("onnx")


def save_model(nodes, inputs, outputs, initializers, path: Path, metadata=None, name="graph") -> Path:
    """Builds, checks and saves a model; returns its path."""
    onnx = _onnx()
    from onnx import helper

    graph = helper.make_graph(nodes, name, inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="ezrknn-tests")
    model.ir_version = IR_VERSION
    if metadata:
        helper.set_model_props(model, metadata)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


SHAPE_SETS = [[[1, 3, 4, 4]], [[1, 3, 8, 6]]]


def save_shape_sets_model(path: Path) -> Path:
    """y = 2x with x [1,3,H,W] and the shape sets SHAPE_SETS (rknn.dynamic_input, as the preparation helper
    writes it)."""
    _onnx()
    import json

    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    return save_model([helper.make_node("Mul", ["x", "two"], ["y"], name="mul")],
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "H", "W"])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, "H", "W"])],
                      [numpy_helper.from_array(np.array(2.0, np.float32), "two")], path,
                      metadata={"rknn.dynamic_input": json.dumps(SHAPE_SETS)}, name="shape_sets")


def save_qdq_conv(path: Path, y_scale: float, y_zp: int, zp_dtype="int8") -> Path:
    """The shared QDQ conv (qdq_graph.py); its output attr reports INT8 (or UINT8) with `y_scale` / `y_zp`."""
    _onnx()
    import numpy as np
    from qdq_graph import qdq_conv_graph

    zp_type = np.dtype(zp_dtype).type
    x_zp = 0 if zp_type is np.int8 else 128
    return save_model(*qdq_conv_graph(1.0 / 64, x_zp, y_scale, y_zp, zp_type), path, name="qdq_conv")


def save_cst_sigmoid_model(path: Path, domain: str) -> Path:
    """y = cstSigmoid(3 * x), x and y float [2, 8]: a model whose custom op the test plugin librkcst_cstsigmoid.so
    (tests/plugins) implements, in op domain `domain`."""
    onnx = _onnx()
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    nodes = [helper.make_node("Mul", ["x", "three"], ["x3"], name="triple"),
             helper.make_node("cstSigmoid", ["x3"], ["y"], name="sig", domain=domain)]
    graph = helper.make_graph(nodes, "sigmoid", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 8])],
                              [numpy_helper.from_array(np.array(3, np.float32), "three")],
                              value_info=[helper.make_tensor_value_info("x3", TensorProto.FLOAT, [2, 8])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(domain, 1)])
    model.ir_version = IR_VERSION
    onnx.save(model, str(path))
    return path


def save_quantized_conv_relu(path: Path, quantized_dtype: str = "w8a8") -> Path:
    """Conv(3->12, 3x3, pads 1) + Relu on x [1,3,8,8], quantized as a user would with the preparation helper from
    eight random inputs (`quantized_dtype`: w8a8 or w16a16i); the float model is saved next to it."""
    _onnx()
    from onnx import TensorProto, helper, numpy_helper
    from ztu_somemodelruntime_ez_rknn_async.model_prep import RKNN

    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.normal(0, 0.3, (12, 3, 3, 3)).astype(np.float32), "w1"),
             numpy_helper.from_array(rng.normal(0, 0.1, 12).astype(np.float32), "b1")]
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["y"])]
    float_path = path.with_name(path.stem + "_float.onnx")
    save_model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
               [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 12, 8, 8])], inits, float_path)
    builder = RKNN()
    assert builder.config(quantized_dtype=quantized_dtype) == 0
    assert builder.load_onnx(str(float_path)) == 0
    calibration = [rng.uniform(-1, 1, (1, 3, 8, 8)).astype(np.float32) for _ in range(8)]
    assert builder.build(do_quantization=True, dataset=calibration) == 0
    assert builder.export_rknn(str(path)) == 0
    return path
