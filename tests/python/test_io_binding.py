"""OrtValue / SessionIOBinding / run_with_iobinding on the emulator: results equal session.run(), no copy on the
run, NC1HWC2 values converted in numpy()/update_inplace (checked against an independent numpy packing), chaining
between sessions, mem_flags reaching rknn_create_mem2, external dma-bufs, concurrency, and every bad input."""
from __future__ import annotations

import ctypes
import mmap
import os
import threading

import numpy as np
import pytest
from nc1hwc2 import to_nc1hwc2
from saved_models import _onnx, save_model, save_shape_sets_model

C = 13  # not a multiple of C2 (8 for fp16 on rk3588): the last channel block is padded


def _blocked_model(path):
    """y = x + c with x [1,13,4,5]: its native input and output are NC1HWC2 [1,2,4,5,8], rows padded to 16."""
    _onnx()
    from onnx import TensorProto, helper, numpy_helper

    c = (np.arange(C, dtype=np.float32).reshape(1, C, 1, 1) / 4.0)
    return save_model([helper.make_node("Add", ["x", "c"], ["y"], name="add")],
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, C, 4, 5])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, C, 4, 5])],
                      [numpy_helper.from_array(c, "c")], path, name="blocked")


@pytest.fixture(scope="module")
def blocked_model(model_dir):
    return _blocked_model(model_dir / "blocked.onnx")


def _inputs(sess, seed):
    rng = np.random.default_rng(seed)
    return {a.name: rng.uniform(-2, 2, a.shape).astype(np.float32) for a in sess.get_inputs()}


def _bind_all(ez, sess, feed, layout):
    binding = sess.io_binding()
    values = {}
    for name, x in feed.items():
        values[name] = ez.OrtValue.ortvalue_from_numpy(x, "rknpu2", session=sess, name=name, io_kind="input",
                                                       layout=layout)
        binding.bind_ortvalue_input(name, values[name])
    for out in sess.get_outputs():
        binding.bind_output(out.name, "rknpu2", layout=layout)
    return binding, values


def _raw(value, dtype, count):
    """The device buffer's bytes as the NPU sees them, read through data_ptr() (no engine conversion)."""
    buf = (ctypes.c_char * (count * np.dtype(dtype).itemsize)).from_address(value.data_ptr())
    return np.frombuffer(bytes(buf), dtype)



@pytest.mark.parametrize("model", ["convnet_model", "multi_input_model", "blocked_model"])
@pytest.mark.parametrize("zero_copy_layout", ["nhwc", "native"])
@pytest.mark.parametrize("layout", ["native", "nhwc", "onnx"])
def test_results_match_run(request, ez, open_session, model, zero_copy_layout, layout):
    sess = open_session(request.getfixturevalue(model), zero_copy_layout=zero_copy_layout)
    feed = _inputs(sess, 1)
    expected = sess.run(None, feed)
    binding, _ = _bind_all(ez, sess, feed, layout)
    sess.run_with_iobinding(binding)
    got = binding.copy_outputs_to_cpu()
    assert [v.shape() for v in binding.get_outputs()] == [list(e.shape) for e in expected]
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g.astype(np.float32), e, rtol=2e-3, atol=2e-3)


def test_no_copy_on_the_run_and_outputs_update_in_place(ez, open_session, convnet_model):
    sess = open_session(convnet_model)
    feed1, feed2 = _inputs(sess, 1), _inputs(sess, 2)
    binding, values = _bind_all(ez, sess, feed1, "native")
    outputs = binding.get_outputs()
    pointers = [v.data_ptr() for v in outputs] + [values["image"].data_ptr()]
    before = sess._sess.copied_bytes
    sess.run_with_iobinding(binding)
    first = [v.numpy() for v in outputs]
    values["image"].update_inplace(feed2["image"].astype(np.float16))
    sess.run_with_iobinding(binding)
    second = [v.numpy() for v in outputs]
    assert sess._sess.copied_bytes == before == 0
    assert [v.data_ptr() for v in outputs] + [values["image"].data_ptr()] == pointers
    assert not np.array_equal(first[0], second[0])
    for got, want in zip(second, sess.run(None, feed2)):
        np.testing.assert_allclose(got.astype(np.float32), want, rtol=2e-3, atol=2e-3)


def test_nc1hwc2_values_are_converted_with_c2_and_w_stride(ez, open_session, blocked_model):
    sess = open_session(blocked_model, zero_copy_layout="native")
    native_in = sess.get_native_inputs()[0]
    assert native_in.shape == [1, 2, 4, 5, 8]
    x = _inputs(sess, 3)["x"].astype(np.float16)
    value = ez.OrtValue.ortvalue_from_shape_and_type([1, C, 4, 5], np.float16, "rknpu2", session=sess, name="x",
                                                     io_kind="input")
    info = value.memory_info()
    assert (info["fmt"], info["pass_through"], info["w_stride"]) == (2, True, 16)
    value.update_inplace(x)
    raw = _raw(value, np.float16, info["size"] // 2)
    np.testing.assert_array_equal(raw, to_nc1hwc2(x, 8, 16).ravel())
    np.testing.assert_array_equal(value.numpy(), x)  # NC1HWC2 → NCHW, padding dropped
    binding = sess.io_binding()
    binding.bind_ortvalue_input("x", value)
    out = binding.bind_output("y", "rknpu2")
    sess.run_with_iobinding(binding)
    assert out.memory_info()["fmt"] == 2
    np.testing.assert_allclose(out.numpy().astype(np.float32), sess.run(None, {"x": x.astype(np.float32)})[0],
                               rtol=2e-3, atol=2e-3)


def test_output_of_one_session_feeds_another(ez, open_session, blocked_model):
    first = open_session(blocked_model, zero_copy_layout="native")
    second = open_session(blocked_model, zero_copy_layout="native")
    x = _inputs(first, 4)["x"]
    b1 = first.io_binding()
    b1.bind_cpu_input("x", x.astype(np.float16))
    middle = b1.bind_output("y", "rknpu2")
    first.run_with_iobinding(b1)
    b2 = second.io_binding()
    b2.bind_ortvalue_input("x", middle)  # imported into the second session's context through its dma-buf fd
    final = b2.bind_output("y", "rknpu2")
    second.run_with_iobinding(b2)
    assert middle.memory_info()["import_count"] == 2
    want = second.run(None, {"x": first.run(None, {"x": x})[0]})[0]
    np.testing.assert_allclose(final.numpy().astype(np.float32), want, rtol=2e-3, atol=2e-3)


def test_layout_mismatch_is_refused_at_bind(ez, open_session, blocked_model):
    sess = open_session(blocked_model, zero_copy_layout="native")
    other = open_session(blocked_model, zero_copy_layout="nhwc")
    nhwc_value = ez.OrtValue.ortvalue_from_shape_and_type([1, C, 4, 5], np.float16, "rknpu2", session=other,
                                                          name="y", io_kind="output")
    binding = sess.io_binding()
    with pytest.raises(ValueError, match="OrtValue for input 'x' native zero-copy layout mismatch: .*fmt expected 2"):
        binding.bind_ortvalue_input("x", nhwc_value)
    generic = ez.OrtValue.ortvalue_from_shape_and_type([1, C, 4, 5], np.float16, "rknpu2")  # layout "native"
    with pytest.raises(ValueError, match="native zero-copy layout mismatch: .*fmt expected 2, got 0"):
        binding.bind_ortvalue_input("x", generic)  # anchor §12 test 4: a dense buffer is not NC1HWC2
    with pytest.raises(ValueError, match="OrtValue buffer is too small for bound tensor 'y': required 2048 bytes"):
        binding.bind_ortvalue_output("y", generic)
    dense = ez.OrtValue.ortvalue_from_shape_and_type([1, C, 4, 5], np.float16, "rknpu2", layout="onnx")
    binding.bind_ortvalue_output("y", dense)  # declared dense: written in the output's onnx layout
    assert (dense.memory_info()["fmt"], dense.memory_info()["layout"]) == (0, "onnx")


def test_generic_value_binds_as_onnx_layout(ez, open_session, blocked_model):
    sess = open_session(blocked_model, zero_copy_layout="native")
    x = _inputs(sess, 5)["x"].astype(np.float16)
    value = ez.OrtValue.ortvalue_from_shape_and_type([1, C, 4, 5], np.float16, "rknpu2", layout="onnx")
    value.update_inplace(x)
    binding = sess.io_binding()
    binding.bind_ortvalue_input("x", ez.OrtValue.ortvalue_from_numpy(x, "rknpu2", session=sess, name="x",
                                                                     io_kind="input"))
    binding.bind_output("y", "rknpu2")
    sess.run_with_iobinding(binding)
    want = binding.copy_outputs_to_cpu()[0]
    binding.bind_ortvalue_input("x", value)
    sess.run_with_iobinding(binding)
    np.testing.assert_array_equal(binding.copy_outputs_to_cpu()[0], want)


def test_mem_flags_reach_rknn_create_mem2(ez, open_session, convnet_model):
    sess = open_session(convnet_model)
    make = ez.OrtValue.ortvalue_from_shape_and_type
    # The emulator records the alloc flags in rknn_tensor_mem.flags << 8 (docs/emulator.md).
    assert make([1, 10], np.float16, "rknpu2", session=sess, name="logits", io_kind="output",
                mem_flags="non_cacheable").memory_info()["mem_flags"] & 0xF00 == 0x200
    assert make([1, 10], np.float16, "rknpu2", session=sess, name="logits", io_kind="output",
                mem_flags="try_sram").memory_info()["mem_flags"] & 0xF00 == 0x500
    assert make([1, 10], np.float16, "rknpu2", mem_flags=None).memory_info()["mem_flags"] & 0xF00 == 0x100
    with pytest.raises(ValueError, match="mem_flags must be one of"):
        make([1, 10], np.float16, "rknpu2", mem_flags="fast")
    with pytest.raises(ValueError, match="unknown bits"):
        make([1, 10], np.float16, "rknpu2", mem_flags=64)
    with pytest.raises(ValueError, match="mem_flags must be a string, integer, or None"):
        make([1, 10], np.float16, "rknpu2", mem_flags=1.5)


def _memfd(size):
    fd = os.memfd_create("iobinding-test")
    os.ftruncate(fd, size)
    return fd


def test_external_dmabuf_with_offset(ez, open_session, multi_input_model):
    sess = open_session(multi_input_model)
    feed = _inputs(sess, 6)
    expected = sess.run(None, feed)
    binding = sess.io_binding()
    fds = []
    try:
        for name, x in feed.items():
            data = x.astype(np.float16)
            fd = _memfd(4096 + data.nbytes)
            fds.append(fd)
            with mmap.mmap(fd, 4096 + data.nbytes) as m:
                m[4096:] = data.tobytes()
            value = ez.OrtValue.ortvalue_from_dmabuf(fd, list(x.shape), np.float16, size=data.nbytes, offset=4096,
                                                     session=sess, name=name, io_kind="input", layout="onnx")
            np.testing.assert_array_equal(value.numpy(), data)  # the CPU view honours the offset
            binding.bind_ortvalue_input(name, value)
        for out in sess.get_outputs():
            binding.bind_output(out.name, "rknpu2")
        sess.run_with_iobinding(binding)
    finally:
        for fd in fds:
            os.close(fd)  # the values hold their own dup of each fd
    for got, want in zip(binding.copy_outputs_to_cpu(), expected):
        np.testing.assert_allclose(got.astype(np.float32), want, rtol=2e-3, atol=2e-3)


def test_bad_dmabufs_are_refused(ez, open_session, multi_input_model):
    sess = open_session(multi_input_model)
    make = ez.OrtValue.ortvalue_from_dmabuf
    need = 1 * 3 * 8 * 8 * 2
    fd = _memfd(need)
    try:
        with pytest.raises(ValueError, match="not a valid file descriptor"):
            make(987654, [1, 3, 8, 8], np.float16, size=need, session=sess, name="a", io_kind="input",
                 layout="onnx")
        with pytest.raises(ValueError, match=f"size {need - 2} is smaller than the {need} bytes"):
            make(fd, [1, 3, 8, 8], np.float16, size=need - 2, session=sess, name="a", io_kind="input",
                 layout="onnx")
        with pytest.raises(ValueError, match="past the end of the buffer"):
            make(fd, [1, 3, 8, 8], np.float16, size=need, offset=64, session=sess, name="a", io_kind="input",
                 layout="onnx")
        with pytest.raises(ValueError, match="session, name, and io_kind are required for dma-buf OrtValue"):
            make(fd, [1, 3, 8, 8], np.float16, size=need)
    finally:
        os.close(fd)


def test_bad_bindings_raise_before_running(ez, open_session, multi_input_model, convnet_model):
    sess = open_session(multi_input_model)
    other = open_session(convnet_model)
    binding = sess.io_binding()
    make = ez.OrtValue.ortvalue_from_shape_and_type
    a = make([1, 3, 8, 8], np.float16, "rknpu2", session=sess, name="a", io_kind="input")
    with pytest.raises(ValueError, match="Unknown input name: nope"):
        binding.bind_ortvalue_input("nope", a)
    with pytest.raises(ValueError, match="Unknown output name: nope"):
        binding.bind_output("nope", "rknpu2")
    with pytest.raises(ValueError, match="OrtValue for input 'a' shape mismatch: expected \\[1, 3, 8, 8\\]"):
        make([1, 3, 8, 9], np.float16, "rknpu2", session=sess, name="a", io_kind="input")
    with pytest.raises(ValueError, match="OrtValue for input 'a' element type mismatch: expected float16, got float32"):
        make([1, 3, 8, 8], np.float32, "rknpu2", session=sess, name="a", io_kind="input")
    with pytest.raises(ValueError, match="OrtValue for input 'b' shape mismatch"):
        binding.bind_ortvalue_input("b", make([1, 3, 8, 7], np.float16, "rknpu2"))
    with pytest.raises(ValueError, match="OrtValue for output 'e' element type mismatch"):
        binding.bind_output("e", "rknpu2", element_type=np.float32)
    with pytest.raises(ValueError, match="bind_ortvalue_input requires an RKNN OrtValue"):
        binding.bind_ortvalue_input("a", ez.OrtValue.ortvalue_from_numpy(np.zeros((1, 3, 8, 8), np.float16)))
    with pytest.raises(ValueError, match="bind_input with raw buffer_ptr is not supported"):
        binding.bind_input("a", "rknpu2", 0, np.float16, [1, 3, 8, 8], 12345)
    with pytest.raises(ValueError, match="bind_output with raw buffer_ptr is not implemented"):
        binding.bind_output("d", "rknpu2", buffer_ptr=12345)
    with pytest.raises(ValueError, match="device_type must be 'cpu' or 'rknpu2'"):
        make([1, 10], np.float16, "cuda")
    with pytest.raises(ValueError, match="io_kind must be 'input' or 'output'"):
        make([1, 3, 8, 8], np.float16, "rknpu2", session=sess, name="a", io_kind="in")
    with pytest.raises(ValueError, match="Unknown OrtValue layout: blocked"):
        make([1, 3, 8, 8], np.float16, "rknpu2", session=sess, name="a", io_kind="input", layout="blocked")
    with pytest.raises(ValueError, match="session must be an InferenceSession"):
        make([1, 3, 8, 8], np.float16, "rknpu2", session=42, name="a", io_kind="input")
    with pytest.raises(ValueError, match="shape dims must be >= 0"):
        make([1, -3], np.float16, "rknpu2")
    with pytest.raises(TypeError):
        ez.OrtValue.ortvalue_from_numpy([1, 2, 3])
    with pytest.raises(ValueError, match="update_inplace source shape mismatch"):
        a.update_inplace(np.zeros((1, 3, 8, 7), np.float16))
    with pytest.raises(ValueError, match="update_inplace source element type mismatch"):
        a.update_inplace(np.zeros((1, 3, 8, 8), np.float32))
    binding.bind_ortvalue_input("a", a)
    for out in sess.get_outputs():
        binding.bind_output(out.name, "rknpu2")
    with pytest.raises(ValueError, match="input 'b' is not"):
        sess.run_with_iobinding(binding)
    with pytest.raises(ValueError, match="IOBinding belongs to a different session"):
        other.run_with_iobinding(binding)
    binding.clear_binding_outputs()
    assert binding.get_outputs() == []


def test_concurrent_iobinding_and_run_async(ez, open_session, convnet_model):
    sess = open_session(convnet_model, threads_per_core=2)
    feeds = [_inputs(sess, 10 + i) for i in range(4)]
    expected = [sess.run(None, f) for f in feeds]
    errors = []

    def zero_copy(k):
        try:
            binding, _ = _bind_all(ez, sess, feeds[k], "native")
            for _ in range(5):
                sess.run_with_iobinding(binding)
                for got, want in zip(binding.copy_outputs_to_cpu(), expected[k]):
                    np.testing.assert_allclose(got.astype(np.float32), want, rtol=2e-3, atol=2e-3)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    results = []
    threads = [threading.Thread(target=zero_copy, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for i in range(20):
        sess.run_async(None, feeds[2 + i % 2], lambda r, k, err: results.append((k, r, err)), 2 + i % 2)
    for t in threads:
        t.join()
    sess.wait_callbacks()
    assert errors == []
    assert len(results) == 20
    for k, r, err in results:
        assert err == ""
        np.testing.assert_allclose(r[0], expected[k][0], rtol=1e-6, atol=1e-6)


def test_zero_copy_layout_mode_contract(ez, open_session, model_dir):
    """anchor-behaviour.md §12 test 4 on an fp16 Add [1,8,64,64]: NHWC by default, NC1HWC2 in native mode, a
    native output chains into a native input, a dense buffer does not, an unknown mode is refused."""
    _onnx()
    from onnx import TensorProto, helper

    shape = [1, 8, 64, 64]
    path = save_model([helper.make_node("Add", ["x", "y"], ["z"], name="add")],
                      [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n in ("x", "y")],
                      [helper.make_tensor_value_info("z", TensorProto.FLOAT, shape)], [], model_dir / "add8.onnx")
    default = open_session(path)
    binding = default.io_binding()
    assert binding.bind_output("z", "rknpu2").memory_info()["fmt"] == 1
    sess = open_session(path, zero_copy_layout="native")
    binding = sess.io_binding()
    z = binding.bind_output("z", "rknpu2")
    assert z.memory_info()["fmt"] == 2
    x = ez.OrtValue.ortvalue_from_shape_and_type(shape, np.float16, "rknpu2", session=sess, name="x",
                                                 io_kind="input")
    assert x.memory_info()["fmt"] == 2 and x.memory_info()["pass_through"]
    binding.bind_ortvalue_input("x", z)
    with pytest.raises(ValueError, match="native zero-copy layout mismatch"):
        binding.bind_ortvalue_input("y", ez.OrtValue.ortvalue_from_shape_and_type(shape, np.float16, "rknpu2"))
    with pytest.raises(RuntimeError, match="Unknown zero_copy_layout"):
        open_session(path, zero_copy_layout="blocked")


@pytest.fixture(scope="module")
def shape_sets_model(model_dir):
    return save_shape_sets_model(model_dir / "shape_sets.onnx")


@pytest.mark.parametrize("zero_copy_layout", ["nhwc", "native"])
def test_dynamic_model_binds_at_its_first_shape_set(ez, open_session, shape_sets_model, zero_copy_layout, capfd):
    sess = open_session(shape_sets_model, zero_copy_layout=zero_copy_layout)
    x = np.random.default_rng(3).uniform(-2, 2, (1, 3, 4, 4)).astype(np.float16)  # the NPU's type, as reported
    binding = sess.io_binding()
    binding.bind_cpu_input("x", x)
    binding.bind_output("y", "rknpu2")
    sess.run_with_iobinding(binding)
    np.testing.assert_array_equal(binding.copy_outputs_to_cpu()[0], sess.run(None, {"x": x})[0])
    # run() still serves the other set on the same session
    big = np.ones((1, 3, 8, 6), np.float16)
    assert sess.run(None, {"x": big})[0].shape == (1, 3, 8, 6)
    with pytest.raises(ez.InvalidArgument, match=r"input 'x' of this dynamic-shape model takes \[1, 3, 4, 4\] in "
                                                 r"an io binding, got \[1, 3, 8, 6\]: io binding serves the model's "
                                                 r"first shape set; run\(\) serves every set"):
        binding.bind_cpu_input("x", big)
    with pytest.raises(ez.InvalidArgument):
        binding.bind_cpu_input("x", object())  # not an array: refused, not a crash
    assert "E RKNN" not in capfd.readouterr().err  # no refused NATIVE_* queries on the way
