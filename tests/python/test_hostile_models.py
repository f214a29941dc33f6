"""Hostile ONNX files against the emulator's rknn_init (issue 3, "Bad input"): wrong dtypes, dims that overflow,
cycles, dangling names, huge declared sizes, missing initializers and a small model truncated at every byte.

Each must give RKNN_ERR_MODEL_INVALID (-6) with ezrknn_emu_last_error saying why: never a crash, a hang or a huge
allocation. The models run in a child process whose address space is capped a little above what it uses, so a
crash fails one test instead of pytest, and a huge allocation shows up as RKNN_ERR_MALLOC_FAIL, not as swapping.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
EMU_DIR = REPO / "tests" / "python" / "emu"
LIBRARY = Path(os.environ.get("EZRKNN_BUILD_DIR", REPO / "build" / "release")) / "lib" / "librknnrt_emu.so"
MODEL_INVALID = -6
# Headroom of address space over what the child uses once the library is loaded: far above what these tiny
# models need, far below the gigabytes a hostile size would ask for.
ADDRESS_SPACE_HEADROOM = 1 << 30
MEMORY_BUDGET_ENV = "EZRKNN_EMU_MAX_MEMORY_MB"
MEMORY_BUDGET_MB = 512


# --- the isolated emulator ------------------------------------------------------------------------------------------

def _child(conn, library: str) -> None:
    import ctypes as C
    import resource

    sys.path.insert(0, str(EMU_DIR))
    import rknn_ctypes as R

    os.environ[MEMORY_BUDGET_ENV] = str(MEMORY_BUDGET_MB)
    lib = R.load(library)
    with open("/proc/self/statm") as f:
        vm_bytes = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limit = vm_bytes + ADDRESS_SPACE_HEADROOM
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        job = conn.recv()
        if job is None:
            return
        models, env = job
        saved = {k: os.environ.get(k) for k in env}
        for k, v in env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        results = []
        for model in models:
            ctx = R.rknn_context(0)
            if isinstance(model, bytes):
                buf = C.create_string_buffer(model, len(model))
                code = lib.rknn_init(C.byref(ctx), C.cast(buf, C.c_void_p), len(model), 0, None)
            else:
                path = C.create_string_buffer(model.encode())
                code = lib.rknn_init(C.byref(ctx), C.cast(path, C.c_void_p), 0, 0, None)
            error = lib.ezrknn_emu_last_error().decode(errors="replace")
            if code == 0:
                lib.rknn_destroy(ctx.value)
            results.append((code, error))
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        conn.send(results)


class IsolatedEmulator:
    """librknnrt_emu.so in a spawned child process; restarted after a crash."""

    def __init__(self, library: Path):
        self.library = library
        self._start()

    def _start(self):
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_child, args=(child, str(self.library)), daemon=True)
        self.process.start()
        child.close()

    def init_many(self, models, timeout=120.0, env=None):
        """[(code, last_error)] for each model (bytes, or a path as str); `env` changes environment variables for
        these calls (None unsets one)."""
        self.conn.send((list(models), dict(env or {})))
        if not self.conn.poll(timeout):
            self.process.kill()
            self.process.join()
            self._start()
            pytest.fail(f"rknn_init hung (no answer in {timeout:.0f} s)")
        try:
            return self.conn.recv()
        except EOFError:
            self.process.join()
            code = self.process.exitcode
            self._start()
            pytest.fail(f"the emulator crashed (exit code {code}; a negative code is the signal)")

    def init(self, model, env=None):
        return self.init_many([model], env=env)[0]

    def close(self):
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()


@pytest.fixture(scope="module")
def emu():
    if not LIBRARY.is_file():
        pytest.skip(f"librknnrt_emu.so is not built at {LIBRARY} (set EZRKNN_BUILD_DIR)")
    emulator = IsolatedEmulator(LIBRARY)
    yield emulator
    emulator.close()


def expect_invalid(emu, model, why: str):
    code, error = emu.init(model)
    assert code == MODEL_INVALID, f"rknn_init returned {code}, expected RKNN_ERR_MODEL_INVALID: {error}"
    assert "RKNN_ERR_MODEL_INVALID" in error
    assert re.search(why, error, re.IGNORECASE), f"last error does not say why ({why!r}): {error}"


# --- model building -------------------------------------------------------------------------------------------------

def model_bytes(nodes, inputs, outputs, initializers=(), opset=13, value_info=()) -> bytes:
    """A ModelProto serialized without the checker: these models are meant to be wrong."""
    graph = helper.make_graph(nodes, "hostile", inputs, outputs, list(initializers), value_info=list(value_info))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="hostile")
    model.ir_version = 8
    return model.SerializeToString()


def fvi(name, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def relu_model(input_shape=(1, 4), input_dtype=TensorProto.FLOAT) -> bytes:
    return model_bytes([helper.make_node("Relu", ["x"], ["y"])], [fvi("x", list(input_shape), input_dtype)],
                       [fvi("y", list(input_shape), input_dtype)])


def raw_tensor(name, dtype, dims, payload: bytes) -> TensorProto:
    t = TensorProto()
    t.name = name
    t.data_type = dtype
    t.dims.extend(dims)
    t.raw_data = payload
    return t


def add_initializer_model(init: TensorProto, shape=(1, 4)) -> bytes:
    """y = x + <init>."""
    return model_bytes([helper.make_node("Add", ["x", init.name], ["y"])], [fvi("x", list(shape))],
                       [fvi("y", list(shape))], [init])


# --- wrong dtypes ---------------------------------------------------------------------------------------------------

def test_float64_initializer_feeding_conv(emu):
    w = numpy_helper.from_array(np.ones((2, 1, 3, 3), np.float64), "w")
    model = model_bytes([helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3])],
                        [fvi("x", [1, 1, 5, 5])], [fvi("y", [1, 2, 3, 3])], [w])
    expect_invalid(emu, model, r"float64|double|dtype")


def test_string_initializer(emu):
    s = helper.make_tensor("s", TensorProto.STRING, [2], [b"a", b"b"])
    expect_invalid(emu, add_initializer_model(s, (2,)), r"string")


def test_string_graph_input(emu):
    expect_invalid(emu, relu_model((2,), TensorProto.STRING), r"string")


@pytest.mark.parametrize("dtype", [0, 99, -3])
def test_undefined_or_unknown_input_dtype(emu, dtype):
    expect_invalid(emu, relu_model((2,), dtype), r"dtype|type")


def test_unknown_initializer_dtype(emu):
    expect_invalid(emu, add_initializer_model(raw_tensor("b", 99, [4], b"\0" * 16)), r"dtype|type")


def test_mixed_dtypes_of_add(emu):
    b = numpy_helper.from_array(np.ones((1, 4), np.int32), "b")
    expect_invalid(emu, add_initializer_model(b), r"int32|dtype|type")


def test_typed_field_that_does_not_match_the_dtype(emu):
    t = TensorProto(name="b", data_type=TensorProto.INT8, dims=[4])
    t.float_data.extend([1, 2, 3, 4])
    expect_invalid(emu, add_initializer_model(t), r"float_data")


# --- dims that overflow ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dims", [[1 << 32, 1 << 32], [1 << 62, 4], [3, 1 << 61, 1 << 61]])
def test_initializer_dims_whose_product_overflows(emu, dims):
    expect_invalid(emu, add_initializer_model(raw_tensor("b", TensorProto.FLOAT, dims, b"\0" * 16)),
                   r"overflow|too large|dims")


def test_negative_initializer_dim(emu):
    expect_invalid(emu, add_initializer_model(raw_tensor("b", TensorProto.FLOAT, [-4], b"\0" * 16)), r"negative")


def test_negative_graph_input_dim(emu):
    expect_invalid(emu, relu_model([-5, 4]), r"negative dim -5")


@pytest.mark.parametrize("shape", [[1 << 40], [1 << 40, 1 << 40, 1 << 40], [1 << 20, 1 << 20, 1 << 20],
                                   [(1 << 63) - 1, 2], [0x7FFFFFFF, 3]])
def test_graph_input_dims(emu, shape):
    expect_invalid(emu, relu_model(shape), r"dim|too large|overflow|elements|static|memory budget")


def test_output_declared_with_negative_dims(emu):
    model = model_bytes([helper.make_node("Relu", ["x"], ["y"])], [fvi("x", [1, 4])], [fvi("y", [-1, -7])])
    code, error = emu.init(model)
    assert code in (0, MODEL_INVALID), error  # the inferred shape wins; a declared shape may be ignored


def test_reshape_to_a_huge_shape(emu):
    shape = numpy_helper.from_array(np.array([1 << 40, 1 << 40], np.int64), "shape")
    model = model_bytes([helper.make_node("Reshape", ["x", "shape"], ["y"])], [fvi("x", [1, 4])],
                        [fvi("y", [1 << 40, 1 << 40])], [shape])
    expect_invalid(emu, model, r"reshape|shape|too large|elements")


def test_more_dims_than_rknn_carries(emu):
    expect_invalid(emu, relu_model([1] * 17), r"dims")


# --- cycles ---------------------------------------------------------------------------------------------------------

def test_two_node_cycle(emu):
    model = model_bytes([helper.make_node("Add", ["x", "b"], ["a"], name="first"),
                         helper.make_node("Relu", ["a"], ["b"], name="second")],
                        [fvi("x", [1, 4])], [fvi("b", [1, 4])])
    expect_invalid(emu, model, r"cycle")


def test_node_reading_its_own_output(emu):
    model = model_bytes([helper.make_node("Add", ["x", "y"], ["y"], name="self_loop")],
                        [fvi("x", [1, 4])], [fvi("y", [1, 4])])
    expect_invalid(emu, model, r"cycle")


def test_tensor_produced_twice(emu):
    model = model_bytes([helper.make_node("Relu", ["x"], ["y"], name="one"),
                         helper.make_node("Sigmoid", ["x"], ["y"], name="two")],
                        [fvi("x", [1, 4])], [fvi("y", [1, 4])])
    expect_invalid(emu, model, r"produced twice")


# --- dangling names -------------------------------------------------------------------------------------------------

def test_node_input_nobody_produces(emu):
    model = model_bytes([helper.make_node("Add", ["x", "ghost"], ["y"], name="reader")],
                        [fvi("x", [1, 4])], [fvi("y", [1, 4])])
    expect_invalid(emu, model, r"ghost")


def test_graph_output_nobody_produces(emu):
    model = model_bytes([helper.make_node("Relu", ["x"], ["y"])], [fvi("x", [1, 4])],
                        [fvi("y", [1, 4]), fvi("phantom", [1, 4])])
    expect_invalid(emu, model, r"phantom")


def test_node_writing_a_graph_input(emu):
    model = model_bytes([helper.make_node("Relu", ["x"], ["x"], name="overwriter")],
                        [fvi("x", [1, 4])], [fvi("x", [1, 4])])
    expect_invalid(emu, model, r"graph input|cycle|'x'")


def test_graph_without_outputs(emu):
    model = model_bytes([helper.make_node("Relu", ["x"], ["y"])], [fvi("x", [1, 4])], [])
    expect_invalid(emu, model, r"output")


# --- huge declared sizes --------------------------------------------------------------------------------------------

def test_initializer_declaring_2_pow_34_elements_with_a_tiny_payload(emu):
    expect_invalid(emu, add_initializer_model(raw_tensor("b", TensorProto.FLOAT, [1 << 34], b"\0" * 4)),
                   r"bytes|too large")


def test_initializer_declaring_2_pow_34_elements_with_typed_data(emu):
    t = TensorProto(name="b", data_type=TensorProto.FLOAT, dims=[1 << 34])
    t.float_data.append(1.0)
    expect_invalid(emu, add_initializer_model(t), r"bytes|too large|values|elements")


def test_initializer_declaring_2_pow_34_elements_with_no_data(emu):
    t = TensorProto(name="b", data_type=TensorProto.FLOAT, dims=[1 << 34])
    expect_invalid(emu, add_initializer_model(t), r"bytes|too large|data")


def test_constant_declaring_huge_dims(emu):
    t = raw_tensor("c", TensorProto.FLOAT, [1 << 17, 1 << 17], b"\0" * 4)
    model = model_bytes([helper.make_node("Constant", [], ["c"], value=t), helper.make_node("Add", ["x", "c"], ["y"])],
                        [fvi("x", [1, 4])], [fvi("y", [1, 4])])
    expect_invalid(emu, model, r"bytes|too large|elements")


def expand_model(n: int) -> bytes:
    """A 1-element input expanded to [n, n] float32, reduced to a scalar: tiny file, n*n*4 bytes in between."""
    shape = numpy_helper.from_array(np.array([n, n], np.int64), "shape")
    return model_bytes([helper.make_node("Expand", ["x", "shape"], ["big"]),
                        helper.make_node("ReduceSum", ["big"], ["y"], keepdims=0)],
                       [fvi("x", [1])], [fvi("y", [])], [shape])


def test_intermediate_within_the_memory_budget_loads(emu):
    code, error = emu.init(expand_model(1 << 12))  # 64 MiB
    assert code == 0, error


def test_intermediate_beyond_the_memory_budget(emu):
    expect_invalid(emu, expand_model(1 << 14), rf"'big'.*1024 MiB.*memory budget of {MEMORY_BUDGET_MB} MiB")


def test_intermediate_beyond_physical_memory(emu):
    # 1 TiB: more than any machine that runs these tests; the default budget is the physical memory.
    code, error = emu.init(expand_model(1 << 19), env={MEMORY_BUDGET_ENV: None})
    assert code == MODEL_INVALID and re.search(r"'big'.*physical memory", error), (code, error)


def test_buffers_together_beyond_the_memory_budget(emu):
    # Each 200 MiB tensor fits; two inputs and their sum together do not.
    model = model_bytes([helper.make_node("Add", ["a", "b"], ["y"])],
                        [fvi(n, [50, 1 << 20]) for n in "ab"], [fvi("y", [50, 1 << 20])])
    expect_invalid(emu, model, r"inputs, outputs and intermediate tensors.*memory budget")


def test_length_prefix_far_beyond_the_buffer(emu):
    # ModelProto.graph (field 7) claiming 2^60 bytes.
    model = bytes([0x08, 0x08, 0x3A]) + bytes([0x80] * 8 + [0x10]) + b"\0" * 16
    expect_invalid(emu, model, r"truncated|length|parse")


def test_varint_longer_than_ten_bytes(emu):
    model = bytes([0x08]) + bytes([0xFF] * 16) + bytes([0x01])
    expect_invalid(emu, model, r"varint|parse")


def _varint(v: int) -> bytes:
    out = bytearray()
    while True:
        out.append((v & 0x7F) | (0x80 if v > 0x7F else 0))
        v >>= 7
        if not v:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def test_deeply_nested_subgraphs(emu):
    # Written on the wire by hand: protobuf itself refuses to build messages this deep.
    graph = _field(12, _field(1, b"y"))  # GraphProto.output
    for _ in range(1000):
        attribute = _field(1, b"then_branch") + _field(6, graph) + _varint(20 << 3) + _varint(5)
        graph = _field(1, _field(1, b"c") + _field(2, b"y") + _field(4, b"If") + _field(5, attribute))
    opset = _field(1, b"") + _varint(2 << 3) + _varint(13)
    model = _varint(1 << 3) + _varint(8) + _field(7, graph) + _field(8, opset)
    expect_invalid(emu, model, r"nested|deep")


# --- missing initializers -------------------------------------------------------------------------------------------

def test_conv_weight_that_is_not_there(emu):
    model = model_bytes([helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3], name="conv")],
                        [fvi("x", [1, 1, 5, 5])], [fvi("y", [1, 2, 3, 3])])
    expect_invalid(emu, model, r"'w'")


def test_initializer_with_external_data_file_missing(emu):
    t = TensorProto(name="b", data_type=TensorProto.FLOAT, dims=[1, 4])
    t.data_location = TensorProto.EXTERNAL
    entry = t.external_data.add()
    entry.key, entry.value = "location", "no_such_weights.bin"
    expect_invalid(emu, add_initializer_model(t), r"external")


def test_initializer_defined_twice(emu):
    b = numpy_helper.from_array(np.ones((1, 4), np.float32), "b")
    model = model_bytes([helper.make_node("Add", ["x", "b"], ["y"])], [fvi("x", [1, 4])], [fvi("y", [1, 4])], [b, b])
    expect_invalid(emu, model, r"twice")


def test_initializer_with_no_payload_for_its_dims(emu):
    t = TensorProto(name="b", data_type=TensorProto.FLOAT, dims=[1, 4])
    expect_invalid(emu, add_initializer_model(t), r"bytes|data")


# --- truncated protobuf ---------------------------------------------------------------------------------------------

def small_model() -> bytes:
    """A small model whose last field is required (opset_import), so no prefix of it is a complete model."""
    w = numpy_helper.from_array(np.arange(8, dtype=np.float32).reshape(2, 1, 2, 2), "w")
    b = numpy_helper.from_array(np.array([0.5, -0.5], np.float32), "b")
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", kernel_shape=[2, 2]),
             helper.make_node("Relu", ["c"], ["y"], name="relu")]
    return model_bytes(nodes, [fvi("x", [1, 1, 3, 3])], [fvi("y", [1, 2, 2, 2])], [w, b])


def test_small_model_loads(emu):
    code, error = emu.init(small_model())
    assert code == 0, error


def test_truncated_at_every_byte_offset(emu):
    data = small_model()
    assert data.rfind(b"\x42") > len(data) - 8  # opset_import (field 8) is the last field
    results = emu.init_many([data[:n] for n in range(1, len(data))])
    wrong = [(n, code, error) for n, (code, error) in enumerate(results, start=1)
             if code != MODEL_INVALID or not error]
    assert not wrong, f"{len(wrong)} prefixes not refused as RKNN_ERR_MODEL_INVALID, e.g. {wrong[:3]}"


def test_truncated_files(emu, tmp_path):
    data = small_model()
    paths = []
    for n in range(1, len(data), 7):
        path = tmp_path / f"prefix_{n}.onnx"
        path.write_bytes(data[:n])
        paths.append(str(path))
    for path, (code, error) in zip(paths, emu.init_many(paths)):
        assert code == MODEL_INVALID and "RKNN_ERR_MODEL_INVALID" in error, (path, code, error)


def test_every_byte_flipped(emu):
    """Not required to fail (a flipped byte may still be a valid model), only to never crash or hang."""
    data = bytearray(small_model())
    models = []
    for i in range(len(data)):
        for value in (0x00, 0xFF, data[i] ^ 0x80):
            mutated = bytearray(data)
            mutated[i] = value
            models.append(bytes(mutated))
    for code, error in emu.init_many(models, timeout=300):
        assert code in (0, MODEL_INVALID), error
