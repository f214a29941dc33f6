"""Shared fixtures of the Python API tests: small ONNX models built with onnx.helper (opset 13, IR version 8).

The tests import the installed package, as a user would. Models are built once per test session in a temporary
folder; the emulator runs them directly (ONNX is its model format).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from convnet_graph import convnet_graph
from saved_models import _onnx, save_model


def build_convnet(path: Path, metadata=None) -> Path:
    """The shared conv net (convnet_graph.py) at 32x32 with a Relu on "features". Input "image" [1,3,32,32];
    outputs "features" [1,8,8,8], "logits" [1,10], "probs" [1,10]."""
    _onnx()
    nodes, inputs, outputs, inits = convnet_graph(side=32, seed=7, bias_fan_in=50, relu_features=True)
    return save_model(nodes, inputs, outputs, inits, path, metadata=metadata, name="convnet")


def build_multi_input(path: Path) -> Path:
    """Three inputs, so order matters: d = a - b (4-D), e = c @ W (2-D)."""
    _onnx()
    from onnx import TensorProto, helper, numpy_helper

    w = np.arange(12, dtype=np.float32).reshape(4, 3) / 10.0
    nodes = [
        helper.make_node("Sub", ["a", "b"], ["d"], name="sub"),
        helper.make_node("MatMul", ["c", "w"], ["e"], name="matmul"),
    ]
    return save_model(
        nodes,
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [1, 3, 8, 8]),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, [1, 3, 8, 8]),
         helper.make_tensor_value_info("c", TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("d", TensorProto.FLOAT, [1, 3, 8, 8]),
         helper.make_tensor_value_info("e", TensorProto.FLOAT, [2, 3])],
        [numpy_helper.from_array(w, "w")], path, name="multi_input")


def build_int_input(path: Path) -> Path:
    """An int32 input: y = x + x (integers survive fp16 rounding exactly while |y| <= 2048)."""
    _onnx()
    from onnx import TensorProto, helper

    return save_model(
        [helper.make_node("Add", ["x", "x"], ["y"], name="double")],
        [helper.make_tensor_value_info("x", TensorProto.INT32, [2, 5])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [2, 5])],
        [], path, name="int_input")


def build_unsupported_op(path: Path) -> Path:
    """A default-domain op that no NPU runs (Det) in a node named "my_det_node"."""
    _onnx()
    from onnx import TensorProto, helper

    return save_model(
        [helper.make_node("Relu", ["x"], ["r"], name="relu"),
         helper.make_node("Det", ["r"], ["y"], name="my_det_node")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])],
        [], path, name="unsupported")


def build_dynamic(path: Path) -> Path:
    """Input "x" keeps a symbolic batch dim "N": the NPU needs static shapes."""
    _onnx()
    from onnx import TensorProto, helper

    return save_model(
        [helper.make_node("Relu", ["x"], ["y"], name="relu")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
        [], path, name="dynamic")


def build_heavy(path: Path) -> Path:
    """Eight 32-channel 3x3 convolutions at 128x128: slow enough (tens of ms per run) to observe threads."""
    _onnx()
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    nodes, inits, x = [], [], "x"
    for i in range(8):
        inits.append(numpy_helper.from_array((rng.standard_normal((32, 32, 3, 3)) * 0.05).astype(np.float32),
                                             f"w{i}"))
        nodes.append(helper.make_node("Conv", [x, f"w{i}"], [f"y{i}"], name=f"conv{i}", pads=[1, 1, 1, 1]))
        x = f"y{i}"
    return save_model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 32, 128, 128])],
                      [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, 32, 128, 128])], inits, path,
                      name="heavy")


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def convnet_model(model_dir) -> Path:
    return build_convnet(model_dir / "convnet.onnx")


@pytest.fixture(scope="session")
def custom_string_model(model_dir) -> Path:
    """The conv net with the custom string rknn-toolkit2 would embed (metadata key "rknn.custom_string")."""
    return build_convnet(model_dir / "convnet_custom_string.onnx",
                         metadata={"rknn.custom_string": "RGB input, values in [0, 1]"})


@pytest.fixture(scope="session")
def multi_input_model(model_dir) -> Path:
    return build_multi_input(model_dir / "multi_input.onnx")


@pytest.fixture(scope="session")
def int_input_model(model_dir) -> Path:
    return build_int_input(model_dir / "int_input.onnx")


@pytest.fixture(scope="session")
def unsupported_op_model(model_dir) -> Path:
    return build_unsupported_op(model_dir / "unsupported_op.onnx")


@pytest.fixture(scope="session")
def dynamic_model(model_dir) -> Path:
    return build_dynamic(model_dir / "dynamic.onnx")


@pytest.fixture(scope="session")
def heavy_model(model_dir) -> Path:
    return build_heavy(model_dir / "heavy.onnx")


@pytest.fixture(scope="session")
def ez():
    """The installed package."""
    import ztu_somemodelruntime_ez_rknn_async

    return ztu_somemodelruntime_ez_rknn_async


@pytest.fixture(scope="session")
def open_session(ez):
    """Opens a session on the emulator (explicitly, so the tests behave the same on a board)."""

    def open_(path, **options):
        return ez.InferenceSession(str(path), provider_options={"runtime": "emulator", **options})

    return open_


@pytest.fixture(scope="session")
def convnet_session(open_session, convnet_model):
    """One shared session, for tests that only read from it."""
    return open_session(convnet_model)


@pytest.fixture
def image() -> np.ndarray:
    return np.random.default_rng(3).standard_normal((1, 3, 32, 32)).astype(np.float32)
