"""A model prepared with quantized_dtype="w16a16i" through the Python package: its input and output are int16
quantized tensors. float32 input is quantized by the runtime, int16 input is taken as quantized values, and
output_dtype="native" returns the int16 values, which are the quantization of the float32 result with the scale and
zero point the model's own output DequantizeLinear carries (read here from the ONNX file)."""
from __future__ import annotations

import numpy as np
import pytest
from saved_models import save_quantized_conv_relu

SHAPE = (1, 3, 8, 8)


@pytest.fixture(scope="module")
def w16_model(model_dir):
    """Conv(3->12, 3x3) + Relu, quantized as a user would with the preparation helper."""
    return save_quantized_conv_relu(model_dir / "w16.onnx", "w16a16i")


def qdq_parameters(path, tensor):
    """(scale, zero point) of the Q/DQ node that reads (input) or writes (output) graph tensor `tensor`."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    for node in model.graph.node:
        if (node.op_type == "QuantizeLinear" and node.input[0] == tensor) or \
                (node.op_type == "DequantizeLinear" and node.output[0] == tensor):
            return np.float32(inits[node.input[1]]), int(inits[node.input[2]])
    raise AssertionError(f"no Q/DQ node at {tensor}")


def quantize(x, scale, zp):
    return np.clip(np.round(x / np.float32(scale)) + zp, -32768, 32767).astype(np.int16)


def dequantize(q, scale, zp):
    return ((q.astype(np.float32) - np.float32(zp)) * np.float32(scale)).astype(np.float32)


@pytest.fixture
def x():
    return np.random.default_rng(5).uniform(-1.2, 1.2, SHAPE).astype(np.float32)


def test_types_are_int16(open_session, w16_model):
    sess = open_session(w16_model)
    assert [i.type for i in sess.get_inputs()] == ["tensor(int16)"]
    assert [o.type for o in sess.get_outputs()] == ["tensor(int16)"]


def test_native_output_is_the_int16_quantization_of_the_float_result(open_session, w16_model, x):
    ort = pytest.importorskip("onnxruntime")
    scale, zp = qdq_parameters(w16_model, "y")
    sess = open_session(w16_model)
    (f,) = sess.run(None, {"x": x})
    (q,) = sess.run(None, {"x": x}, run_options={"output_dtype": "native"})
    assert f.dtype == np.float32 and q.dtype == np.int16 and q.shape == f.shape == (1, 12, 8, 8)
    assert len(np.unique(q)) > 300  # more distinct values than any 8-bit output could have
    np.testing.assert_array_equal(q, quantize(f, scale, zp))
    np.testing.assert_array_equal(dequantize(q, scale, zp), f)
    # onnxruntime on the same file: the same values up to one step where a float sum lands on a rounding edge.
    (want,) = ort.InferenceSession(str(w16_model), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    np.testing.assert_allclose(f, want, rtol=0, atol=float(scale) * 1.001)
    assert np.mean(f == want) > 0.99


def test_int16_input_is_quantized_values_and_uint8_pixels_are_values(open_session, w16_model, x):
    scale, zp = qdq_parameters(w16_model, "x")
    sess = open_session(w16_model)
    q = quantize(x, scale, zp)
    assert len(np.unique(q)) > 100
    np.testing.assert_array_equal(sess.run(None, {"x": q})[0], sess.run(None, {"x": x})[0])
    np.testing.assert_array_equal(sess.run(None, {"x": q})[0], sess.run(None, {"x": dequantize(q, scale, zp)})[0])
    pixels = np.arange(192).reshape(SHAPE).astype(np.uint8) % 3
    np.testing.assert_array_equal(sess.run(None, {"x": pixels})[0],
                                  sess.run(None, {"x": pixels.astype(np.float32)})[0])


def test_other_input_types_are_refused_by_name(open_session, w16_model, x):
    sess = open_session(w16_model)
    for bad in (x.astype(np.float16), x.astype(np.int8), x.astype(np.int32)):
        with pytest.raises(ValueError, match="Input 'x' has element type .* takes int16, uint8 or float32"):
            sess.run(None, {"x": bad})


@pytest.mark.parametrize("zero_copy_layout", ["nhwc", "native"])
def test_io_binding_moves_int16_values(ez, w16_model, x, zero_copy_layout):
    sess = ez.InferenceSession(str(w16_model),
                               provider_options={"runtime": "emulator", "zero_copy_layout": zero_copy_layout})
    scale, zp = qdq_parameters(w16_model, "x")
    q = quantize(x, scale, zp)
    binding = sess.io_binding()
    binding.bind_cpu_input("x", q)
    y = binding.bind_output("y", "rknpu2")
    sess.run_with_iobinding(binding)
    got = y.numpy()
    assert got.dtype == np.int16 and got.shape == (1, 12, 8, 8)
    # int16 has no NHWC native layout (rknn-api.md §7.5 lists uint8/int8/fp16/fp32), so both layouts bind the
    # NC1HWC2 buffer, int16 C2 = 8 on the default rk3588 (§7.6), rows padded to 16 pixels.
    info = y.memory_info()
    assert (info["fmt"], info["native_shape"], info["size_with_stride"]) == (2, [1, 2, 8, 8, 8], 2 * 8 * 16 * 8 * 2)
    np.testing.assert_array_equal(got, sess.run(None, {"x": q}, run_options={"output_dtype": "native"})[0])
