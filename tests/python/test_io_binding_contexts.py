"""The io binding's own context in every way a session makes contexts: rknn_dup_context (default), rknn_init from
a path or from bytes (disable_dup_context), with custom-op plugins registered, and on a use_weight_from master's
weights; plus the nhwc session layout and value lifetimes beyond their session."""
from __future__ import annotations

import gc
import os
from pathlib import Path

import numpy as np
import pytest
from saved_models import _onnx, save_cst_sigmoid_model, save_quantized_conv_relu

REPO = Path(__file__).resolve().parents[2]
SIGMOID = Path(os.environ.get("EZRKNN_BUILD_DIR", REPO / "build" / "release")) / "plugins" / "librkcst_cstsigmoid.so"


def _zero_copy_run(ez, sess, feed):
    binding = sess.io_binding()
    for name, x in feed.items():
        binding.bind_cpu_input(name, x.astype(np.float16))
    for out in sess.get_outputs():
        binding.bind_output(out.name, "rknpu2")
    sess.run_with_iobinding(binding)
    return [v.astype(np.float32) for v in binding.copy_outputs_to_cpu()]


def _feed(sess, seed=0):
    rng = np.random.default_rng(seed)
    return {a.name: rng.uniform(-1, 1, a.shape).astype(np.float32) for a in sess.get_inputs()}


def _assert_matches_run(ez, sess):
    feed = _feed(sess)
    for got, want in zip(_zero_copy_run(ez, sess, feed), sess.run(None, feed)):
        np.testing.assert_allclose(got, want, rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("from_bytes", [False, True])
def test_without_dup_the_binding_context_is_initialised_from_the_model(ez, convnet_model, from_bytes):
    source = Path(convnet_model).read_bytes() if from_bytes else str(convnet_model)
    sess = ez.InferenceSession(source, provider_options={"runtime": "emulator", "disable_dup_context": True})
    contexts = sess._sess.context_count
    _assert_matches_run(ez, sess)
    assert sess._sess.context_count == contexts  # the binding's context is not one of the workers'


@pytest.mark.skipif(not SIGMOID.exists(), reason="test plugins are not built")
def test_the_binding_context_has_the_custom_ops(ez, tmp_path):
    path = save_cst_sigmoid_model(tmp_path / "sigmoid.onnx", "ezrknn.test")
    with pytest.warns(UserWarning, match="dup_context is disabled"):
        sess = ez.InferenceSession(str(path), provider_options={"runtime": "emulator",
                                                                "custom_op_paths": [str(SIGMOID)]})
    x = np.linspace(-2, 2, 16, dtype=np.float32).reshape(2, 8)
    got = _zero_copy_run(ez, sess, {"x": x})[0]
    np.testing.assert_allclose(got, 1 / (1 + np.exp(-3 * x.astype(np.float16).astype(np.float64))), atol=3e-3)


def test_a_weight_sharing_slave_binds_on_the_masters_weights(ez, tmp_path):
    _onnx()
    from onnx import TensorProto, helper, numpy_helper
    from ztu_somemodelruntime_ez_rknn_async.model_prep import RKNN

    w = numpy_helper.from_array(np.linspace(-1, 1, 24, dtype=np.float32).reshape(8, 3, 1, 1), "w")
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], name="conv")], "net",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "H", "W"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, "H", "W"])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8

    def prepare(path, side, remove_weight):
        builder = RKNN()
        if remove_weight:
            assert builder.config(remove_weight=True) == 0
        assert builder.load_onnx(model, input_size_list=[[1, 3, side, side]]) == 0
        assert builder.build(do_quantization=False) == 0
        assert builder.export_rknn(str(path)) == 0
        return str(path)

    master = ez.InferenceSession(prepare(tmp_path / "m.onnx", 8, False), provider_options={"runtime": "emulator"})
    slave = ez.InferenceSession(prepare(tmp_path / "s.onnx", 12, True), provider_options={"runtime": "emulator"},
                                use_weight_from=master)
    _assert_matches_run(ez, slave)


def test_nhwc_session_layout_binds_nhwc_values(ez, open_session, convnet_model):
    sess = open_session(convnet_model, layout="nhwc")
    assert sess.get_inputs()[0].shape == [1, 32, 32, 3]
    value = ez.OrtValue.ortvalue_from_shape_and_type([1, 32, 32, 3], np.float16, "rknpu2", session=sess,
                                                     name="image", io_kind="input")
    assert value.shape() == [1, 32, 32, 3] and value.memory_info()["fmt"] == 1
    _assert_matches_run(ez, sess)


def test_values_outlive_their_session(ez, open_session, convnet_model):
    sess = open_session(convnet_model)
    feed = _feed(sess, 3)
    want = sess.run(None, feed)
    binding = sess.io_binding()
    binding.bind_cpu_input("image", feed["image"].astype(np.float16))
    outs = [binding.bind_output(o.name, "rknpu2") for o in sess.get_outputs()]
    sess.run_with_iobinding(binding)
    del sess, binding
    gc.collect()
    for got, w in zip(outs, want):  # the values keep the binding context (and its session) alive
        np.testing.assert_allclose(got.numpy().astype(np.float32), w, rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("zero_copy_layout", ["nhwc", "native"])
def test_int8_model_binds_quantized_values(ez, tmp_path, zero_copy_layout):
    """An int8 model's device values are its quantized int8 data: run() returns exactly their dequantization."""
    save_quantized_conv_relu(tmp_path / "q.onnx")
    rng = np.random.default_rng(0)
    sess = ez.InferenceSession(str(tmp_path / "q.onnx"),
                               provider_options={"runtime": "emulator", "zero_copy_layout": zero_copy_layout})
    assert sess.get_outputs()[0].type == "tensor(int8)"
    x = rng.integers(-100, 100, (1, 3, 8, 8)).astype(np.int8)
    binding = sess.io_binding()
    binding.bind_cpu_input("x", x)
    y = binding.bind_output("y", "rknpu2")
    sess.run_with_iobinding(binding)
    assert y.memory_info()["fmt"] == (2 if zero_copy_layout == "native" else 1)
    q = y.numpy().astype(np.float64).ravel()
    want = sess.run(None, {"x": x})[0].astype(np.float64).ravel()
    design = np.vstack([q, np.ones_like(q)]).T
    (scale, offset), *_ = np.linalg.lstsq(design, want, rcond=None)
    assert scale > 0 and len(np.unique(q)) > 10
    np.testing.assert_allclose(design @ [scale, offset], want, atol=1e-5)
