"""Provider options (anchor contract §2): every key and alias, every message, the accepted forms, `runtime`."""
from __future__ import annotations

import ctypes.util
from pathlib import Path

import numpy as np
import pytest

ALL_KEYS = [
    "layout", "zero_copy_layout", "max_queue_size", "threads_per_core", "submit_timeout_ms",
    "sequential_callbacks", "schedule", "tp_mode", "enable_pacing", "disable_dup_context", "custom_op_path",
    "custom_op_paths", "custom_op_default_path", "load_custom_ops_from_default_path", "runtime",
    "output_dtype",
]

ACCEPTED = [
    {"layout": "nchw"}, {"layout": "original"}, {"layout": "nchw_software"}, {"layout": "original_software"},
    {"layout": "nhwc"}, {"layout": "any"}, {"layout": "NCHW"},
    {"zero_copy_layout": "nhwc"}, {"zero_copy_layout": "native"}, {"zero_copy_layout": " Native "},
    {"max_queue_size": 5}, {"max_queue_size": " 7 "}, {"threads_per_core": 2}, {"submit_timeout_ms": 500},
    {"sequential_callbacks": False}, {"sequential_callbacks": "off"}, {"sequential_callbacks": 0},
    {"sequential_callbacks": "YES"},
    {"schedule": 0}, {"schedule": "0,1"}, {"schedule": "[0, 0, 1]"}, {"schedule": [0, 0, 1]}, {"schedule": (2,)},
    {"tp_mode": "auto"}, {"tp_mode": " AUTO "}, {"tp_mode": "0"}, {"tp_mode": "1"}, {"tp_mode": "2"},
    {"enable_pacing": True}, {"enable_pacing": "on"}, {"disable_dup_context": True},
    {"custom_op_paths": []}, {"custom_op_path": []}, {"custom_op_default_path": False},
    {"load_custom_ops_from_default_path": "no"},
    {"runtime": "emulator"}, {"runtime": "EMULATOR"},
    {"output_dtype": "float32"},
]


@pytest.mark.parametrize("options", ACCEPTED, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_accepted_option_runs(ez, convnet_model, options, image):
    opts = {"runtime": "emulator", **options}
    sess = ez.InferenceSession(str(convnet_model), provider_options=opts)
    feed = image.transpose(0, 2, 3, 1) if sess.get_inputs()[0].shape == [1, 32, 32, 3] else image
    outs = sess.run(None, {"image": np.ascontiguousarray(feed)})
    assert [o.shape for o in outs] == [(1, 8, 8, 8), (1, 10), (1, 10)]


@pytest.mark.parametrize("tp_mode", ["all", "0,1", " 0,1,2 "])
def test_multi_core_tp_modes_parse(ez, tp_mode):
    # Several cores for one inference is a later emulator feature; the option already parses and validates.
    ez._core.validate_provider_options({"tp_mode": tp_mode})
    assert ez.make_provider_options(tp_mode=tp_mode)["tp_mode"] == tp_mode


@pytest.mark.parametrize("layout", ["nhwc", "any"])
def test_nhwc_layouts_take_nhwc_input(open_session, convnet_model, convnet_session, image, layout):
    sess = open_session(convnet_model, layout=layout)
    assert sess.get_inputs()[0].shape == [1, 32, 32, 3]
    assert convnet_session.get_inputs()[0].shape == [1, 3, 32, 32]
    got = sess.run(None, {"image": np.ascontiguousarray(image.transpose(0, 2, 3, 1))})
    want = convnet_session.run(None, {"image": image})
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-3, atol=1e-3)
        assert g.shape == w.shape  # outputs are never transposed


@pytest.mark.parametrize("layout", ["nchw_software", "original_software"])
def test_software_nchw_layout_matches_default(open_session, convnet_model, convnet_session, image, layout):
    sess = open_session(convnet_model, layout=layout)
    assert sess.get_inputs()[0].shape == [1, 3, 32, 32]
    for g, w in zip(sess.run(None, image), convnet_session.run(None, image)):
        np.testing.assert_allclose(g, w, rtol=1e-3, atol=1e-3)


def test_pathlike_values(ez, convnet_model, tmp_path):
    # Loading plugins is a later issue; an empty sequence of paths parses and loads nothing.
    ez.InferenceSession(str(convnet_model), provider_options={"runtime": "emulator", "custom_op_paths": ()})
    # A path-like value is accepted by the parser (checked without loading a model).
    ez._core.validate_provider_options({"custom_op_path": tmp_path / "librkcst_x.so"})
    ez._core.validate_provider_options({"custom_op_paths": [tmp_path / "a.so", str(tmp_path / "b.so")]})


BAD = [
    ({"layout": "bogus"}, "Unknown layout: bogus"),
    ({"zero_copy_layout": "blocked"}, "Unknown zero_copy_layout: blocked, expected 'nhwc' or 'native'"),
    ({"max_queue_size": 0}, "max_queue_size must be > 0"),
    ({"max_queue_size": "three"}, "max_queue_size must be an integer"),
    ({"max_queue_size": 1.5}, "max_queue_size must be an integer"),
    ({"threads_per_core": 0}, "threads_per_core must be > 0"),
    ({"threads_per_core": -2}, "threads_per_core must be > 0"),
    ({"submit_timeout_ms": -1}, "submit_timeout_ms must be > 0"),
    ({"submit_timeout_ms": None}, "submit_timeout_ms must be an integer"),
    ({"sequential_callbacks": "maybe"}, "sequential_callbacks must be a boolean"),
    ({"sequential_callbacks": 1.0}, "sequential_callbacks must be a boolean"),
    ({"enable_pacing": "x"}, "enable_pacing must be a boolean"),
    ({"disable_dup_context": []}, "disable_dup_context must be a boolean"),
    ({"custom_op_default_path": "sometimes"}, "custom_op_default_path must be a boolean"),
    ({"load_custom_ops_from_default_path": 2.0}, "load_custom_ops_from_default_path must be a boolean"),
    ({"schedule": -1}, "schedule values must be >= 0"),
    ({"schedule": "0,-1"}, "schedule values must be >= 0"),
    ({"schedule": "0,x"}, "schedule must contain integers"),
    ({"schedule": [0, "a"]}, "schedule must be an integer"),
    ({"schedule": [0, -3]}, "schedule values must be >= 0"),
    ({"schedule": {"core": 0}}, "schedule must be an integer, string, or sequence"),
    ({"schedule": []}, "schedule must not be empty"),
    ({"schedule": " , "}, "schedule must not be empty"),
    ({"tp_mode": 1}, "tp_mode must be a string"),
    ({"tp_mode": "0, 1"}, "invalid tp_mode: '0, 1', expected one of: auto, all, 0, 1, 2, 0,1, 0,1,2"),
    ({"tp_mode": "Fast"}, "invalid tp_mode: 'fast', expected one of: auto, all, 0, 1, 2, 0,1, 0,1,2"),
    ({"schedule": [0], "tp_mode": "auto"}, "provider_options 'tp_mode' conflicts with 'schedule'; set only one."),
    ({"custom_op_path": 5}, "custom_op_path must be a path-like object or sequence of path-like objects"),
    ({"custom_op_paths": [5]}, "custom_op_paths must be a path-like object or string"),
    ({"runtime": 3}, "runtime must be 'vendor', 'emulator' or the path of an RKNN runtime library"),
]


@pytest.mark.parametrize("options,message", BAD, ids=[m for _, m in BAD])
def test_invalid_option_message(ez, convnet_model, options, message):
    with pytest.raises(ez.InvalidArgument) as info:
        ez.InferenceSession(str(convnet_model), provider_options=options)
    assert str(info.value) == message
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, ValueError)


def test_options_are_checked_before_the_model_is_read(ez, tmp_path):
    with pytest.raises(ez.InvalidArgument, match="Unknown layout: bogus"):
        ez.InferenceSession(str(tmp_path / "missing.onnx"), provider_options={"layout": "bogus"})
    with pytest.raises(ez.InvalidArgument, match="Unknown zero_copy_layout"):
        ez.InferenceSession(str(tmp_path / "missing.onnx"), provider_options={"zero_copy_layout": "blocked"})


def test_unknown_key_lists_accepted_keys(ez, convnet_model):
    with pytest.raises(ez.InvalidArgument) as info:
        ez.InferenceSession(str(convnet_model), provider_options={"layuot": "nchw"})
    message = str(info.value)
    assert message.startswith("Unknown provider_options key: layuot. Supported keys: ")
    assert message.split("Supported keys: ")[1].split(", ") == ALL_KEYS
    assert ez._core.provider_option_keys() == ALL_KEYS


def test_non_string_key(ez, convnet_model):
    with pytest.raises(RuntimeError, match="provider_options keys must be strings"):
        ez.InferenceSession(str(convnet_model), provider_options={1: "nchw"})


# -- forms of provider_options and providers ------------------------------------------------------------------------
@pytest.mark.parametrize("form", [None, {}, [], (), [{}], [{"runtime": "emulator"}, {"layout": "bogus"}]])
def test_accepted_forms(ez, convnet_model, monkeypatch, form):
    monkeypatch.setenv("EZRKNN_RUNTIME", "emulator")
    sess = ez.InferenceSession(str(convnet_model), provider_options=form)
    assert sess.get_inputs()[0].shape == [1, 3, 32, 32]


@pytest.mark.parametrize("form", [42, "layout=nhwc", [42], ["nhwc"], [None, {}], {"a"}])
def test_rejected_forms(ez, convnet_model, form):
    message = "provider_options must be a dict or a sequence whose first element is a dict"
    with pytest.raises(RuntimeError, match=message):
        ez.InferenceSession(str(convnet_model), provider_options=form)


def test_dict_subclass(ez, convnet_model):
    from collections import OrderedDict

    sess = ez.InferenceSession(str(convnet_model), provider_options=OrderedDict(runtime="emulator", layout="nhwc"))
    assert sess.get_inputs()[0].shape == [1, 32, 32, 3]


def test_providers_names_are_accepted_and_ignored(ez, convnet_model, monkeypatch):
    monkeypatch.setenv("EZRKNN_RUNTIME", "emulator")
    for providers in (["CPUExecutionProvider"], ["CUDAExecutionProvider", "CPUExecutionProvider"],
                      ["RknnExecutionProvider"], "CPUExecutionProvider", []):
        sess = ez.InferenceSession(str(convnet_model), providers=providers)
        assert sess.get_inputs()[0].shape == [1, 3, 32, 32]


def test_providers_tuple_carries_our_options(ez, convnet_model):
    sess = ez.InferenceSession(
        str(convnet_model),
        providers=[("RknnExecutionProvider", {"runtime": "emulator", "layout": "nhwc"}), "CPUExecutionProvider"])
    assert sess.get_inputs()[0].shape == [1, 32, 32, 3]
    assert sess.get_provider_options()["RknnExecutionProvider"]["layout"] == "nhwc"


def test_providers_tuple_of_another_provider_is_ignored(ez, convnet_model, monkeypatch):
    monkeypatch.setenv("EZRKNN_RUNTIME", "emulator")
    sess = ez.InferenceSession(str(convnet_model), providers=[("CUDAExecutionProvider", {"device_id": 0})])
    assert sess.get_inputs()[0].shape == [1, 3, 32, 32]


def test_options_given_twice(ez, convnet_model):
    with pytest.raises(ez.InvalidArgument, match="both in providers and in provider_options"):
        ez.InferenceSession(str(convnet_model), providers=[("RknnExecutionProvider", {"layout": "nhwc"})],
                            provider_options={"layout": "nchw"})


def test_sess_options_accepted(ez, convnet_model):
    ort = pytest.importorskip("onnxruntime")
    so = ort.SessionOptions()
    sess = ez.InferenceSession(str(convnet_model), so, provider_options={"runtime": "emulator"})
    assert sess.get_session_options() is so


def test_effective_options_reported(open_session, convnet_model):
    sess = open_session(convnet_model, layout="original", schedule=[0, 0, 1], max_queue_size="4",
                        sequential_callbacks="off")
    opts = sess.get_provider_options()["RknnExecutionProvider"]
    assert opts["layout"] == "nchw"
    assert opts["schedule"] == "0,0,1"
    assert opts["max_queue_size"] == "4"
    assert opts["sequential_callbacks"] == "0"
    assert "tp_mode" not in opts
    assert all(isinstance(v, str) for v in opts.values())


# -- runtime --------------------------------------------------------------------------------------------------------
def test_runtime_emulator_option(open_session, convnet_model):
    info = open_session(convnet_model).get_provider_options()["RknnExecutionProvider"]
    assert info["runtime"] == "emulator"
    assert Path(info["library_path"]).name == "librknnrt_emu.so"


def test_runtime_environment_variable(ez, convnet_model, monkeypatch):
    monkeypatch.setenv("EZRKNN_RUNTIME", "emulator")
    sess = ez.InferenceSession(str(convnet_model))
    assert sess.get_provider_options()["RknnExecutionProvider"]["runtime"] == "emulator"


def test_chosen_by_is_per_session(ez, convnet_model, monkeypatch):
    # Sessions share one loaded library, but each says why it chose it.
    by_option = ez.InferenceSession(str(convnet_model), provider_options={"runtime": "emulator"})
    monkeypatch.setenv("EZRKNN_RUNTIME", "emulator")
    by_env = ez.InferenceSession(str(convnet_model))
    assert "runtime='emulator'" in by_option.get_provider_options()["RknnExecutionProvider"]["chosen_by"]
    assert "EZRKNN_RUNTIME='emulator'" in by_env.get_provider_options()["RknnExecutionProvider"]["chosen_by"]


def test_runtime_option_wins_over_environment(ez, convnet_model, monkeypatch):
    monkeypatch.setenv("EZRKNN_RUNTIME", "/nonexistent/librknnrt.so")
    sess = ez.InferenceSession(str(convnet_model), provider_options={"runtime": "emulator"})
    assert sess.get_provider_options()["RknnExecutionProvider"]["runtime"] == "emulator"


def test_runtime_emulator_by_path(ez, convnet_model, convnet_session):
    path = convnet_session.get_provider_options()["RknnExecutionProvider"]["library_path"]
    sess = ez.InferenceSession(str(convnet_model), provider_options={"runtime": Path(path)})
    assert sess.get_provider_options()["RknnExecutionProvider"]["runtime"] == "emulator"


def test_runtime_missing_library(ez, convnet_model):
    with pytest.raises(RuntimeError) as info:
        ez.InferenceSession(str(convnet_model), provider_options={"runtime": "/nonexistent/lib.so"})
    assert "/nonexistent/lib.so" in str(info.value)


def test_runtime_not_an_rknn_library(ez, convnet_model):
    libm = ctypes.util.find_library("m")
    if libm is None:
        pytest.skip("no libm to load")
    with pytest.raises(RuntimeError, match="rknn_init"):
        ez.InferenceSession(str(convnet_model), provider_options={"runtime": libm})


def test_runtime_vendor_without_librknnrt(ez, convnet_model):
    if ctypes.util.find_library("rknnrt"):
        pytest.skip("a vendor librknnrt.so is installed here")
    with pytest.raises(RuntimeError, match="librknnrt.so"):
        ez.InferenceSession(str(convnet_model), provider_options={"runtime": "vendor"})


# -- make_provider_options ------------------------------------------------------------------------------------------
def test_make_provider_options_defaults(ez):
    assert ez.make_provider_options() == {
        "layout": "original",
        "zero_copy_layout": "nhwc",
        "max_queue_size": 3,
        "threads_per_core": 1,
        "submit_timeout_ms": 10000,
        "sequential_callbacks": True,
        "enable_pacing": False,
        "disable_dup_context": False,
        "custom_op_default_path": False,
        "output_dtype": "float32",
    }


def test_make_provider_options_optional_keys(ez, tmp_path):
    opts = ez.make_provider_options(schedule=[0, 1], custom_op_paths=[tmp_path / "a.so"], runtime="emulator",
                                    zero_copy_layout="native", layout="nhwc")
    assert opts["schedule"] == [0, 1]
    assert opts["custom_op_paths"] == [tmp_path / "a.so"]
    assert opts["runtime"] == "emulator"
    assert opts["zero_copy_layout"] == "native"
    assert ez.make_provider_options(tp_mode="0,1")["tp_mode"] == "0,1"


def test_make_provider_options_conflict(ez):
    with pytest.raises(ValueError, match=r"^provider options 'tp_mode' conflicts with 'schedule'; set only one\.$"):
        ez.make_provider_options(schedule=0, tp_mode="auto")


def test_make_provider_options_validates_values(ez):
    with pytest.raises(ValueError, match="Unknown zero_copy_layout: blocked"):
        ez.make_provider_options(zero_copy_layout="blocked")
    with pytest.raises(ValueError, match="max_queue_size must be > 0"):
        ez.make_provider_options(max_queue_size=0)


def test_make_provider_options_result_is_usable(ez, convnet_model, image):
    opts = ez.make_provider_options(layout="nchw", tp_mode="auto", runtime="emulator")
    sess = ez.InferenceSession(str(convnet_model), provider_options=opts)
    assert len(sess.run(None, image)) == 3
    sess = ez.InferenceSession(str(convnet_model), provider_options=[opts])
    assert len(sess.run(None, image)) == 3
