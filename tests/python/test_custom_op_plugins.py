"""Custom-op plugins through InferenceSession (anchor-behaviour.md §8): custom_op_paths / custom_op_path,
custom_op_default_path (the scan, redirected with EZRKNN_CUSTOM_OP_DIR), the forced disable_dup_context, every
failure the contract names, and the sample plugin of examples/custom_op_plugin.

The plugins are the test plugins of tests/plugins (built into <build>/plugins) and the sample plugin (built into
<build>/examples/op_plugins); EZRKNN_BUILD_DIR names the build (default build/release). Results are checked against
numpy."""
from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from saved_models import save_cst_sigmoid_model

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("EZRKNN_BUILD_DIR", REPO / "build" / "release"))
PLUGINS = BUILD / "plugins"
SIGMOID = PLUGINS / "librkcst_cstsigmoid.so"
RELU = PLUGINS / "librkcst_relu.so"
NO_ENTRY_POINT = BUILD / "plugins_bad" / "librkcst_missing_symbol.so"
SAMPLE = BUILD / "examples" / "op_plugins" / "librkcst_swish.so"
DOMAIN = "ezrknn.test"
DUP_WARNING = ("Custom op loading requested; dup_context is disabled for this session to avoid known RKNN "
               "stability issues.")

pytestmark = pytest.mark.skipif(not SIGMOID.exists(), reason=f"test plugins are not built in {PLUGINS}")


@pytest.fixture(scope="module")
def sigmoid_model(tmp_path_factory) -> Path:
    """y = cstSigmoid(3 * x), x [2, 8]: one custom-domain node after a built-in op."""
    pytest.importorskip("onnx")
    return save_cst_sigmoid_model(tmp_path_factory.mktemp("custom_op_models") / "sigmoid.onnx", DOMAIN)


def expected(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-3.0 * x.astype(np.float64)))


X = np.linspace(-2, 2, 16, dtype=np.float32).reshape(2, 8)


def open_with(ez, model, **options):
    """A session on the emulator; returns (session, [warning texts])."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sess = ez.InferenceSession(str(model), provider_options={"runtime": "emulator", **options})
    return sess, [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


def warnings_and_error(ez, model, **options):
    """Session construction that must fail: returns ([warning texts], the exception)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(RuntimeError) as info:
            ez.InferenceSession(str(model), provider_options={"runtime": "emulator", **options})
    return [str(w.message) for w in caught], info.value


# --- loading and running ----------------------------------------------------------------------------------------

def test_an_explicit_plugin_runs_on_every_context_of_schedule_0_1(ez, sigmoid_model):
    sess, warned = open_with(ez, sigmoid_model, custom_op_paths=[str(SIGMOID)], schedule=[0, 1])
    assert warned[0] == DUP_WARNING
    assert sess.get_custom_ops() == [f"cstSigmoid (version=1, target=1) from {SIGMOID}"]
    assert sess._sess.context_count == 2
    for i in range(6):  # enough runs that both contexts serve some
        y = sess.run(None, {"x": X + i / 10})[0]
        np.testing.assert_allclose(y, expected(X + i / 10), rtol=2e-3, atol=2e-3)


def test_custom_op_path_alias_takes_one_path_like(ez, sigmoid_model):
    sess, _ = open_with(ez, sigmoid_model, custom_op_path=SIGMOID)  # a pathlib.Path, not a list
    np.testing.assert_allclose(sess.run(None, {"x": X})[0], expected(X), rtol=2e-3, atol=2e-3)


def test_without_the_plugin_the_model_cannot_run(ez, sigmoid_model):
    sess, _ = open_with(ez, sigmoid_model)
    with pytest.raises(RuntimeError, match="cstSigmoid"):
        sess.run(None, {"x": X})


def test_dup_context_is_forced_off_and_get_provider_options_shows_it(ez, sigmoid_model):
    options = ez.make_provider_options(custom_op_paths=[str(SIGMOID)], disable_dup_context=False)
    options["disable_dup_context"] = False  # editing the dict after make_provider_options cannot undo the forcing
    sess, warned = open_with(ez, sigmoid_model, **options)
    assert DUP_WARNING in warned
    assert sess.get_provider_options()["RknnExecutionProvider"]["disable_dup_context"] == "1"
    plain, _ = open_with(ez, sigmoid_model, disable_dup_context=False)
    assert plain.get_provider_options()["RknnExecutionProvider"]["disable_dup_context"] == "0"


def test_two_sessions_share_a_plugin_and_outlive_each_other(ez, sigmoid_model):
    first, _ = open_with(ez, sigmoid_model, custom_op_paths=[str(SIGMOID)])
    second, _ = open_with(ez, sigmoid_model, custom_op_paths=[str(SIGMOID)], threads_per_core=2)
    del first  # its contexts and its reference to the library go; the library stays loaded for the second
    import gc
    gc.collect()
    np.testing.assert_allclose(second.run(None, {"x": X})[0], expected(X), rtol=2e-3, atol=2e-3)


def test_a_plugin_the_model_does_not_use_is_harmless(ez, convnet_model, image):
    reference, _ = open_with(ez, convnet_model)
    sess, _ = open_with(ez, convnet_model, custom_op_paths=[str(SIGMOID)])
    for got, want in zip(sess.run(None, {"image": image}), reference.run(None, {"image": image})):
        np.testing.assert_array_equal(got, want)


# --- the default directory --------------------------------------------------------------------------------------

def test_the_default_directory_scan_loads_every_librkcst_file(ez, sigmoid_model, tmp_path, monkeypatch):
    shutil.copy(SIGMOID, tmp_path / "librkcst_sigmoid.so")
    shutil.copy(RELU, tmp_path / "librkcst_relu.so")
    shutil.copy(SIGMOID, tmp_path / "sigmoid_not_a_plugin.so")  # wrong prefix: would be a duplicate if loaded
    monkeypatch.setenv("EZRKNN_CUSTOM_OP_DIR", str(tmp_path))
    sess, warned = open_with(ez, sigmoid_model, custom_op_default_path=True, schedule=[0, 1])
    assert warned == [DUP_WARNING]
    assert sess.get_custom_ops() == [f"Relu (version=1, target=1) from {tmp_path}/librkcst_relu.so",
                                     f"cstSigmoid (version=1, target=1) from {tmp_path}/librkcst_sigmoid.so"]
    np.testing.assert_allclose(sess.run(None, {"x": X})[0], expected(X), rtol=2e-3, atol=2e-3)


def test_the_alias_load_custom_ops_from_default_path_scans_too(ez, sigmoid_model, tmp_path, monkeypatch):
    shutil.copy(SIGMOID, tmp_path / "librkcst_sigmoid.so")
    monkeypatch.setenv("EZRKNN_CUSTOM_OP_DIR", str(tmp_path))
    sess, _ = open_with(ez, sigmoid_model, load_custom_ops_from_default_path="yes")
    assert len(sess.get_custom_ops()) == 1


def test_a_missing_default_directory_warns_and_loads_nothing(ez, convnet_model, tmp_path, monkeypatch):
    missing = tmp_path / "no_such_dir"
    monkeypatch.setenv("EZRKNN_CUSTOM_OP_DIR", str(missing))
    sess, warned = open_with(ez, convnet_model, custom_op_default_path=True)
    assert warned == [DUP_WARNING, f"Default plugin directory does not exist: {missing}"]
    assert sess.get_custom_ops() == []


def test_one_bad_file_in_the_scan_warns_and_the_scan_goes_on(ez, sigmoid_model, tmp_path, monkeypatch):
    shutil.copy(NO_ENTRY_POINT, tmp_path / "librkcst_a_broken.so")
    (tmp_path / "librkcst_b_garbage.so").write_bytes(b"not an ELF file")
    shutil.copy(SIGMOID, tmp_path / "librkcst_c_sigmoid.so")
    monkeypatch.setenv("EZRKNN_CUSTOM_OP_DIR", str(tmp_path))
    sess, warned = open_with(ez, sigmoid_model, custom_op_default_path=True)
    assert warned[0] == DUP_WARNING
    assert warned[1].startswith("Failed to load plugin librkcst_a_broken.so: dlsym fail for get_rknn_custom_op")
    assert warned[2].startswith(f"dlopen {tmp_path}/librkcst_b_garbage.so fail: ")
    assert warned[2].endswith("(this could lead to a crash due to internal bugs of rknnrt)")
    assert warned[3].startswith(f"Failed to load plugin librkcst_b_garbage.so: dlopen {tmp_path}")
    assert len(warned) == 4
    np.testing.assert_allclose(sess.run(None, {"x": X})[0], expected(X), rtol=2e-3, atol=2e-3)


# --- bad input --------------------------------------------------------------------------------------------------

def test_a_directory_as_plugin_path_is_refused(ez, sigmoid_model):
    warned, error = warnings_and_error(ez, sigmoid_model, custom_op_paths=[str(PLUGINS)])
    assert isinstance(error, ValueError)
    assert str(error).startswith(f"custom op plugin path {PLUGINS} is a directory")
    assert warned == [DUP_WARNING]


def test_a_path_that_cannot_be_opened_warns_first_then_raises(ez, sigmoid_model, tmp_path):
    missing = tmp_path / "librkcst_missing.so"
    warned, error = warnings_and_error(ez, sigmoid_model, custom_op_paths=[str(missing)])
    assert str(error).startswith(f"dlopen {missing} fail: ")
    assert "No such file" in str(error)
    assert warned == [DUP_WARNING, f"{error} (this could lead to a crash due to internal bugs of rknnrt)"]


def test_a_missing_entry_point_raises_with_the_dlsym_detail(ez, sigmoid_model):
    _, error = warnings_and_error(ez, sigmoid_model, custom_op_paths=[str(NO_ENTRY_POINT)])
    assert str(error).startswith("dlsym fail for get_rknn_custom_op: ")
    assert "undefined symbol: get_rknn_custom_op" in str(error)


def test_a_second_definition_of_an_op_is_refused(ez, sigmoid_model, tmp_path):
    copy = tmp_path / "librkcst_sigmoid_again.so"
    shutil.copy(SIGMOID, copy)
    _, error = warnings_and_error(ez, sigmoid_model, custom_op_paths=[str(SIGMOID), str(copy)])
    assert str(error) == (f"Duplicate custom op definition detected: cstSigmoid (version=1, target=1) from {copy}; "
                          f"already loaded from {SIGMOID}")


def test_a_compute_error_surfaces_as_runtime_error_from_run(ez, sigmoid_model):
    hooks = ctypes.CDLL(str(SIGMOID))  # the same library object the engine loaded, so the same test switches
    hooks.rkcst_cstsigmoid_reset()
    sess, _ = open_with(ez, sigmoid_model, custom_op_paths=[str(SIGMOID)])
    try:
        hooks.rkcst_cstsigmoid_fail(2, -3)
        with pytest.raises(RuntimeError, match=r"rknn_run failed: RKNN_ERR_FAIL \(-1\).*compute callback returned -3"):
            sess.run(None, {"x": X})
    finally:
        hooks.rkcst_cstsigmoid_reset()
    np.testing.assert_allclose(sess.run(None, {"x": X})[0], expected(X), rtol=2e-3, atol=2e-3)


def test_a_compute_error_reaches_a_run_async_callback(ez, sigmoid_model):
    hooks = ctypes.CDLL(str(SIGMOID))
    hooks.rkcst_cstsigmoid_reset()
    sess, _ = open_with(ez, sigmoid_model, custom_op_paths=[str(SIGMOID)], schedule=[0, 1])
    got = []
    try:
        hooks.rkcst_cstsigmoid_fail(2, -7)
        sess.run_async(None, {"x": X}, lambda results, data, err: got.append((results, data, err)), "tag")
        sess.wait_callbacks()
    finally:
        hooks.rkcst_cstsigmoid_reset()
    assert len(got) == 1
    results, data, err = got[0]
    assert results is None and data == "tag"
    assert "compute callback returned -7" in err


def test_custom_ops_and_use_weight_from_do_not_mix(ez, convnet_model):
    master, _ = open_with(ez, convnet_model)
    with pytest.raises(RuntimeError, match="use_weight_from cannot be combined with custom-op loading"):
        ez.InferenceSession(str(convnet_model), provider_options={"custom_op_paths": [str(SIGMOID)]},
                            use_weight_from=master)


def test_bad_option_values_are_refused(ez, sigmoid_model):
    with pytest.raises(RuntimeError, match="custom_op_paths must be a path-like object"):
        ez.InferenceSession(str(sigmoid_model), provider_options={"custom_op_paths": [3]})
    with pytest.raises(RuntimeError, match="custom_op_default_path must be a boolean"):
        ez.InferenceSession(str(sigmoid_model), provider_options={"custom_op_default_path": "maybe"})


# --- the sample plugin ------------------------------------------------------------------------------------------

@pytest.mark.skipif(not SAMPLE.exists(), reason=f"the sample plugin is not built: {SAMPLE}")
def test_the_sample_plugin_example_runs_on_two_cores():
    script = REPO / "examples" / "custom_op_plugin" / "run_swish.py"
    result = subprocess.run([sys.executable, str(script), "--plugin", str(SAMPLE)], capture_output=True, text=True,
                            timeout=120, env={**os.environ, "EZRKNN_RUNTIME": "emulator"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS: cstSwish matches numpy on schedule [0, 1]" in result.stdout
    assert f"cstSwish (version=1, target=1) from {SAMPLE}" in result.stdout
    assert "disable_dup_context: 1" in result.stdout
