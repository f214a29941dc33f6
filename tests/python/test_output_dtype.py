"""output_dtype: "float32" (the default, RKNN want_float=1) or "native" (want_float=0: each output in the type its
output attr reports), as a provider option and as a run option of run / run_async.

The native values are checked against the float32 result of the same run: an fp16 output widens to exactly the
float32 one (the emulator's float path rounds through fp16), a quantized output dequantizes with the model's scale
and zero point to exactly the float32 one (the emulator's float32 result is that dequantization).
"""
from __future__ import annotations

import threading

import numpy as np
import pytest

from saved_models import save_model, save_qdq_conv

Y_SCALE, Y_ZP = 0.05, 7


@pytest.fixture(scope="module")
def qdq_model(model_dir):
    return save_qdq_conv(model_dir / "qdq_conv_native.onnx", Y_SCALE, Y_ZP)


@pytest.fixture(scope="module")
def qdq_uint8_model(model_dir):
    return save_qdq_conv(model_dir / "qdq_conv_uint8.onnx", Y_SCALE, 100, zp_dtype="uint8")


@pytest.fixture(scope="module")
def fp16_io_model(model_dir):
    """A true float16 ONNX model: y = x * 2 in float16."""
    from onnx import TensorProto, helper, numpy_helper

    two = numpy_helper.from_array(np.array([2.0], np.float16), "two")
    return save_model([helper.make_node("Mul", ["x", "two"], ["y"], name="mul")],
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT16, [2, 3])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT16, [2, 3])], [two],
                      model_dir / "fp16_io.onnx", name="fp16_io")


@pytest.fixture
def qdq_input():
    return np.random.default_rng(5).uniform(-2.0, 2.0, size=(1, 3, 6, 6)).astype(np.float32)


def dequantize(q, scale, zp):
    return ((q.astype(np.float32) - np.float32(zp)) * np.float32(scale)).astype(np.float32)


def test_default_stays_float32(open_session, qdq_model, qdq_input):
    sess = open_session(qdq_model)
    (y,) = sess.run(None, {"x": qdq_input})
    assert y.dtype == np.float32
    assert sess.get_provider_options()["RknnExecutionProvider"]["output_dtype"] == "float32"


def test_quantized_output_native_is_int8_and_dequantizes_to_the_float_result(open_session, qdq_model, qdq_input):
    sess = open_session(qdq_model)
    assert sess.get_outputs()[0].type == "tensor(int8)"
    (f,) = sess.run(None, {"x": qdq_input})
    (q,) = sess.run(None, {"x": qdq_input}, run_options={"output_dtype": "native"})
    assert q.dtype == np.int8 and q.shape == f.shape == (1, 4, 6, 6)
    assert len(np.unique(q)) > 10  # a real spread of values, not a constant
    np.testing.assert_array_equal(dequantize(q, Y_SCALE, Y_ZP), f)


def test_uint8_quantized_output_is_uint8(open_session, qdq_uint8_model, qdq_input):
    sess = open_session(qdq_uint8_model, output_dtype="native")
    (q,) = sess.run(None, {"x": qdq_input})
    (f,) = sess.run(None, {"x": qdq_input}, run_options={"output_dtype": "float32"})
    assert q.dtype == np.uint8 and f.dtype == np.float32
    np.testing.assert_array_equal(dequantize(q, Y_SCALE, 100), f)


def test_fp16_model_native_is_float16(open_session, convnet_model, image):
    sess = open_session(convnet_model)
    assert [o.type for o in sess.get_outputs()] == ["tensor(float16)"] * 3  # a float model runs as fp16
    floats = sess.run(None, {"image": image})
    halves = sess.run(None, {"image": image}, run_options={"output_dtype": "native"})
    for f, h in zip(floats, halves):
        assert h.dtype == np.float16 and h.shape == f.shape
        np.testing.assert_array_equal(h.astype(np.float32), f)


def test_float16_onnx_model_native(open_session, fp16_io_model):
    sess = open_session(fp16_io_model, output_dtype="native")
    x = np.array([[0.5, -1.25, 3.0], [7.0, 0.0, -0.125]], np.float16)
    (y,) = sess.run(None, {"x": x})
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y, x * np.float16(2))


def test_int32_output_native_keeps_int32(open_session, int_input_model):
    sess = open_session(int_input_model)
    x = np.arange(-5, 5, dtype=np.int32).reshape(2, 5) * 100
    (y,) = sess.run(None, {"x": x}, run_options={"output_dtype": "native"})
    assert y.dtype == np.int32
    np.testing.assert_array_equal(y, x + x)


def test_provider_option_applies_to_run_async_and_run_pipeline(open_session, qdq_model, qdq_input):
    sess = open_session(qdq_model, output_dtype="native")
    (f,) = sess.run(None, {"x": qdq_input}, run_options={"output_dtype": "float32"})
    got, done = [], threading.Event()

    def callback(results, user_data, err):
        got.append((results, err))
        done.set()

    sess.run_async(None, {"x": qdq_input}, callback)
    assert done.wait(10)
    (results, err), = got
    assert err == "" and results[0].dtype == np.int8
    np.testing.assert_array_equal(dequantize(results[0], Y_SCALE, Y_ZP), f)
    assert sess.run_pipeline({"x": qdq_input}, depth=1) is None
    (streamed,) = sess.flush_pipeline()[0]
    assert streamed.dtype == np.int8
    np.testing.assert_array_equal(dequantize(streamed, Y_SCALE, Y_ZP), f)


def test_run_async_run_option_overrides_the_session(open_session, qdq_model, qdq_input):
    sess = open_session(qdq_model)
    got = []
    sess.run_async(None, {"x": qdq_input}, lambda r, u, e: got.append((r, e)),
                   run_options={"output_dtype": "native"})
    sess.wait_callbacks()
    assert got[0][1] == "" and got[0][0][0].dtype == np.int8


def test_onnxruntime_run_options_entry(open_session, qdq_model, qdq_input):
    onnxruntime = pytest.importorskip("onnxruntime")
    sess = open_session(qdq_model)
    ro = onnxruntime.RunOptions()
    ro.add_run_config_entry("output_dtype", "native")
    (q,) = sess.run(None, {"x": qdq_input}, run_options=ro)
    assert q.dtype == np.int8
    assert sess.run(None, {"x": qdq_input}, run_options=onnxruntime.RunOptions())[0].dtype == np.float32


def test_batch_dispatch_keeps_the_native_dtype(open_session, model_dir):
    from onnx import TensorProto, helper

    path = save_model([helper.make_node("Relu", ["x"], ["y"])],
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], [],
                      model_dir / "relu_batch_native.onnx")
    sess = open_session(path, schedule=[0, 1, 2])
    x = np.arange(-12, 12, dtype=np.float32).reshape(6, 4) / 4
    (y,) = sess.run(None, {"x": x}, run_options={"ztu_modelrt_dispatch_batch": True, "output_dtype": "native"})
    assert y.dtype == np.float16 and y.shape == (6, 4)
    np.testing.assert_array_equal(y, np.maximum(x, 0).astype(np.float16))


@pytest.mark.parametrize("value", ["int8", "", "float", "natives"])
def test_bad_provider_option_value(ez, open_session, qdq_model, value):
    with pytest.raises(ValueError, match="Unknown output_dtype: .*expected 'float32' or 'native'"):
        open_session(qdq_model, output_dtype=value)
    with pytest.raises(ValueError, match="Unknown output_dtype"):
        ez.make_provider_options(output_dtype=value)


@pytest.mark.parametrize("value", [5, None, b"native", ["native"]])
def test_bad_run_option_type(open_session, qdq_model, qdq_input, value):
    sess = open_session(qdq_model)
    if value is None:  # None in a dict means "the session's": allowed
        assert sess.run(None, {"x": qdq_input}, run_options={"output_dtype": None})[0].dtype == np.float32
        return
    with pytest.raises(ValueError, match="output_dtype must be a string"):
        sess.run(None, {"x": qdq_input}, run_options={"output_dtype": value})
    with pytest.raises(ValueError, match="output_dtype must be a string"):
        sess.run_async(None, {"x": qdq_input}, lambda *a: None, run_options={"output_dtype": value})


def test_bad_run_option_value_is_checked_before_the_inputs(open_session, qdq_model):
    sess = open_session(qdq_model)
    with pytest.raises(ValueError, match="Unknown output_dtype: int16"):
        sess.run(None, {"x": np.zeros((9, 9), np.float32)}, run_options={"output_dtype": "int16"})


def test_case_and_spaces_are_forgiven(open_session, qdq_model, qdq_input):
    sess = open_session(qdq_model, output_dtype=" Native ")
    assert sess.run(None, {"x": qdq_input})[0].dtype == np.int8
    assert sess.get_provider_options()["RknnExecutionProvider"]["output_dtype"] == "native"
