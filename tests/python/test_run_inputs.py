"""run(): the input_feed forms, output_names forms, non-contiguous inputs, dtypes and model sources."""
from __future__ import annotations

import gc
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from saved_models import save_shape_sets_model

TOL = dict(rtol=1e-2, atol=1e-2)


@pytest.fixture(scope="module")
def multi(open_session, multi_input_model):
    return open_session(multi_input_model)


@pytest.fixture
def abc():
    rng = np.random.default_rng(5)
    return (rng.standard_normal((1, 3, 8, 8)).astype(np.float32),
            rng.standard_normal((1, 3, 8, 8)).astype(np.float32),
            rng.standard_normal((2, 4)).astype(np.float32))


def expected_multi(a, b, c):
    w = np.arange(12, dtype=np.float32).reshape(4, 3) / 10.0
    return a - b, c @ w


# -- input_feed forms ---------------------------------------------------------------------------------------------
def test_dict_feed(multi, abc):
    d, e = multi.run(None, {"a": abc[0], "b": abc[1], "c": abc[2]})
    want_d, want_e = expected_multi(*abc)
    np.testing.assert_allclose(d, want_d, **TOL)
    np.testing.assert_allclose(e, want_e, **TOL)


def test_dict_feed_order_does_not_matter(multi, abc):
    d1, _ = multi.run(None, {"a": abc[0], "b": abc[1], "c": abc[2]})
    d2, _ = multi.run(None, {"c": abc[2], "b": abc[1], "a": abc[0]})
    np.testing.assert_array_equal(d1, d2)


@pytest.mark.parametrize("container", [list, tuple])
def test_positional_feed(multi, abc, container):
    d, e = multi.run(None, container(abc))
    want_d, want_e = expected_multi(*abc)
    np.testing.assert_allclose(d, want_d, **TOL)  # a - b, so a swapped order would show
    np.testing.assert_allclose(e, want_e, **TOL)


def test_single_array_feed(convnet_session, image):
    by_array = convnet_session.run(None, image)
    by_dict = convnet_session.run(None, {"image": image})
    for x, y in zip(by_array, by_dict):
        np.testing.assert_array_equal(x, y)


def test_input_feed_by_keyword(convnet_session, image):
    (probs,) = convnet_session.run(output_names=["probs"], input_feed={"image": image})
    assert probs.shape == (1, 10)


def test_run_options_accepted(convnet_session, image):
    for run_options in (None, {}, {"ztu_modelrt_dispatch_batch": False}, {"ztu_modelrt_dispatch_batch": "off"},
                        {"some_other_key": 1}):
        assert len(convnet_session.run(None, {"image": image}, run_options)) == 3


def test_run_options_onnxruntime_object(convnet_session, image):
    ort = pytest.importorskip("onnxruntime")
    opts = ort.RunOptions()
    assert len(convnet_session.run(None, {"image": image}, opts)) == 3  # entry not set: no batch dispatch
    opts.add_run_config_entry("ztu_modelrt_dispatch_batch", "0")
    assert len(convnet_session.run(None, {"image": image}, opts)) == 3


def test_run_options_bad_dispatch_value(ez, convnet_session, image):
    with pytest.raises(ez.InvalidArgument, match="ztu_modelrt_dispatch_batch must be a boolean"):
        convnet_session.run(None, {"image": image}, {"ztu_modelrt_dispatch_batch": "maybe"})


def test_batch_dispatch_matches_per_sample_runs(ez, convnet_session, image):
    batch = np.concatenate([image, image[:, ::-1].copy(), image * 0.5], axis=0)
    outs = convnet_session.run(None, {"image": batch}, {"ztu_modelrt_dispatch_batch": True})
    singles = [convnet_session.run(None, {"image": batch[b:b + 1]}) for b in range(3)]
    for o, out in enumerate(outs):
        np.testing.assert_array_equal(out, np.concatenate([s[o] for s in singles], axis=0))


@pytest.mark.parametrize("shape", [(3, 3, 8, 6), (2, 3, 4, 4)])
def test_batch_dispatch_on_a_dynamic_model_takes_any_shape_set(open_session, model_dir, shape):
    sess = open_session(save_shape_sets_model(model_dir / "shape_sets_batch.onnx"))
    x = np.random.default_rng(2).uniform(-2, 2, shape).astype(np.float16)
    (y,) = sess.run(None, {"x": x}, {"ztu_modelrt_dispatch_batch": True})
    np.testing.assert_array_equal(y, 2 * x.astype(np.float32))  # exact: doubling an fp16 value stays exact


def test_batch_dispatch_on_a_dynamic_model_refuses_a_sample_outside_the_sets(ez, open_session, model_dir):
    sess = open_session(save_shape_sets_model(model_dir / "shape_sets_batch.onnx"))
    with pytest.raises(ez.InvalidArgument, match=r"\[1, 3, 5, 5\] \(x\) are not one of the dynamic model's shape "
                                                 r"sets: \[1, 3, 4, 4\]; \[1, 3, 8, 6\]"):
        sess.run(None, {"x": np.zeros((2, 3, 5, 5), np.float16)}, {"ztu_modelrt_dispatch_batch": True})


# -- output_names -------------------------------------------------------------------------------------------------
def test_output_names_none_is_all_in_model_order(convnet_session, image):
    outs = convnet_session.run(None, {"image": image})
    assert [o.shape for o in outs] == [(1, 8, 8, 8), (1, 10), (1, 10)]


def test_output_names_empty_list_is_all(convnet_session, image):
    assert len(convnet_session.run([], {"image": image})) == 3


def test_output_names_subset_keeps_requested_order(convnet_session, image):
    features, logits, probs = convnet_session.run(None, {"image": image})
    p, f = convnet_session.run(["probs", "features"], {"image": image})
    np.testing.assert_array_equal(p, probs)
    np.testing.assert_array_equal(f, features)


def test_output_names_str_is_one_name(convnet_session, image):
    outs = convnet_session.run("logits", {"image": image})
    assert len(outs) == 1 and outs[0].shape == (1, 10)


def test_output_names_duplicates(convnet_session, image):
    a, b = convnet_session.run(["probs", "probs"], {"image": image})
    np.testing.assert_array_equal(a, b)


def test_unknown_output_name(ez, convnet_session, image):
    with pytest.raises(ez.InvalidArgument, match="Unknown output name: nope"):
        convnet_session.run(["probs", "nope"], {"image": image})


def test_output_names_not_a_sequence(ez, convnet_session, image):
    with pytest.raises(RuntimeError, match="output_names must be a sequence or None"):
        convnet_session.run(5, {"image": image})


# -- outputs --------------------------------------------------------------------------------------------------------
def test_outputs_are_float32_writable_and_independent(convnet_session, image):
    first = convnet_session.run(None, {"image": image})
    kept = [o.copy() for o in first]
    convnet_session.run(None, {"image": -image})  # a later run must not write into earlier results
    for o, k in zip(first, kept):
        assert o.dtype == np.float32 and o.flags.c_contiguous and o.flags.writeable
        assert not o.flags.owndata  # a view of the engine's result buffer: no copy on the way out
        np.testing.assert_array_equal(o, k)
    first[0][...] = 0  # the caller owns the result


def test_inputs_are_not_modified(convnet_session, image):
    before = image.copy()
    convnet_session.run(None, {"image": image})
    np.testing.assert_array_equal(image, before)


# -- non-contiguous inputs ------------------------------------------------------------------------------------------
def test_transposed_view_input(convnet_session):
    nhwc = np.random.default_rng(8).standard_normal((1, 32, 32, 3)).astype(np.float32)
    view = nhwc.transpose(0, 3, 1, 2)
    assert not view.flags.c_contiguous
    got = convnet_session.run(None, {"image": view})
    want = convnet_session.run(None, {"image": np.ascontiguousarray(view)})
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_strided_slice_input(convnet_session):
    big = np.random.default_rng(9).standard_normal((1, 3, 64, 64)).astype(np.float32)
    view = big[:, :, ::2, 1::2]
    assert view.shape == (1, 3, 32, 32) and not view.flags.c_contiguous
    got = convnet_session.run(None, view)
    want = convnet_session.run(None, view.copy())
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_fortran_order_input(convnet_session, image):
    fortran = np.asfortranarray(image)
    got = convnet_session.run(None, {"image": fortran})
    want = convnet_session.run(None, {"image": image})
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


# -- dtypes ---------------------------------------------------------------------------------------------------------
def test_float16_input_accepted(convnet_session, image):
    got = convnet_session.run(None, {"image": image.astype(np.float16)})
    want = convnet_session.run(None, {"image": image})
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, **TOL)


def test_dtype_matched_by_equivalence(convnet_session, image):
    explicit = image.astype(np.dtype("=f4"))
    got = convnet_session.run(None, {"image": explicit})
    want = convnet_session.run(None, {"image": image})
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_int_input_model(open_session, int_input_model, ez):
    try:
        sess = open_session(int_input_model)
    except ez.NotSupportedError as e:  # pragma: no cover - an emulator without integer Add
        pytest.skip(f"emulator has no int32 model support: {e}")
    x = np.arange(-5, 5, dtype=np.int32).reshape(2, 5)
    assert sess.get_inputs()[0].type == "tensor(int32)"
    (y,) = sess.run(None, {"x": x})
    assert y.dtype == np.float32  # outputs are always float32 (the contract's want_float)
    np.testing.assert_array_equal(y, (2 * x).astype(np.float32))


# -- model sources --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["str", "pathlib", "bytes", "bytearray", "memoryview"])
def test_model_sources(ez, convnet_model, image, kind):
    path = Path(convnet_model)
    source = {
        "str": str(path),
        "pathlib": path,
        "bytes": path.read_bytes(),
        "bytearray": bytearray(path.read_bytes()),
        "memoryview": memoryview(path.read_bytes()),
    }[kind]
    sess = ez.InferenceSession(source, provider_options={"runtime": "emulator"})
    assert sess.input_names == ["image"]
    assert len(sess.run(None, image)) == 3


def test_bytes_model_may_be_freed_after_load(ez, convnet_model, image):
    data = bytearray(Path(convnet_model).read_bytes())
    sess = ez.InferenceSession(data, provider_options={"runtime": "emulator"})
    want = sess.run(None, image)
    data[:] = b"\0" * len(data)  # the runtime copied the model; the caller's buffer is free again
    del data
    for g, w in zip(sess.run(None, image), want):
        np.testing.assert_array_equal(g, w)


def test_onnx_model_named_rknn_loads(ez, convnet_model, tmp_path, image):
    renamed = tmp_path / "model.rknn"
    renamed.write_bytes(Path(convnet_model).read_bytes())
    sess = ez.InferenceSession(str(renamed), provider_options={"runtime": "emulator"})
    assert len(sess.run(None, image)) == 3


# -- threads --------------------------------------------------------------------------------------------------------
def test_concurrent_runs_from_threads(convnet_session):
    rng = np.random.default_rng(12)
    images = [rng.standard_normal((1, 3, 32, 32)).astype(np.float32) for _ in range(4)]
    want = [convnet_session.run(["probs"], {"image": x})[0] for x in images]
    errors = []

    def worker(i):
        try:
            for _ in range(5):
                (got,) = convnet_session.run(["probs"], {"image": images[i]})
                np.testing.assert_array_equal(got, want[i])
        except Exception as e:  # reported in the main thread
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_run_releases_the_gil(open_session, heavy_model):
    """While one thread runs the model, another keeps running Python: the GIL is released during the run."""
    sess = open_session(heavy_model)
    x = np.random.default_rng(4).standard_normal((1, 32, 128, 128)).astype(np.float32)
    sess.run(None, x)
    start = time.perf_counter()
    sess.run(None, x)
    run_s = time.perf_counter() - start
    if run_s < 0.02:
        pytest.skip(f"one run takes {run_s * 1e3:.1f} ms: too fast to tell a held GIL from a released one")

    def longest_pause_during_runs():
        worker = threading.Thread(target=lambda: [sess.run(None, x) for _ in range(5)])
        worker.start()
        last = time.perf_counter()
        longest = 0.0
        while worker.is_alive():  # a held GIL would stall this loop for a whole run
            now = time.perf_counter()
            longest = max(longest, now - last)
            last = now
        worker.join()
        return longest

    # A held GIL stalls the loop in every trial; a loaded host may deschedule it once in a while: three trials.
    pauses = []
    for _ in range(3):
        pauses.append(longest_pause_during_runs())
        if pauses[-1] < 0.6 * run_s:
            break
    assert min(pauses) < 0.6 * run_s, (pauses, run_s)


def test_results_outlive_the_session(open_session, convnet_model, image):
    sess = open_session(convnet_model)
    outs = sess.run(None, image)
    kept = [o.copy() for o in outs]
    del sess
    gc.collect()
    for o, k in zip(outs, kept):
        np.testing.assert_array_equal(o, k)
