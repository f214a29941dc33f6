"""What a session and the package tell about themselves: providers, versions, NodeArg, metadata, exceptions."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest


def test_version_is_a_non_empty_string(ez):
    assert isinstance(ez.__version__, str) and ez.__version__
    assert ez.__version__ != "0+unknown"


def test_public_names(ez):
    assert set(ez.__all__) == {"InferenceSession", "InvalidArgument", "ModelMetadata", "NodeArg",
                               "NotSupportedError", "RknnProviderOptions", "RknnRunOptions", "make_provider_options",
                               "OrtValue",
                               "SessionIOBinding", "IOBinding"}
    for name in ez.__all__:
        assert hasattr(ez, name), name
    assert ez.IOBinding is ez.SessionIOBinding
    for cls in (ez.OrtValue, ez.SessionIOBinding):
        with pytest.raises(TypeError, match="No constructor defined"):
            cls()


def test_exception_classes(ez):
    assert issubclass(ez.InvalidArgument, RuntimeError)
    assert issubclass(ez.InvalidArgument, ValueError)
    assert issubclass(ez.NotSupportedError, RuntimeError)
    assert not issubclass(ez.NotSupportedError, ValueError)
    assert ez.InvalidArgument.__module__ == "ztu_somemodelruntime_ez_rknn_async"


@pytest.mark.parametrize("cls", ["NodeArg", "ModelMetadata"])
def test_native_classes_have_no_constructor(ez, cls):
    with pytest.raises(TypeError, match="No constructor defined"):
        getattr(ez, cls)()


def test_get_providers_names_the_emulator_and_its_version(convnet_session):
    providers = convnet_session.get_providers()
    assert isinstance(providers, list) and len(providers) == 1
    assert re.fullmatch(r"RknnExecutionProvider \(emulator \d+\.\d+\.\d+ \(ezrknn emulator \d+\.\d+\.\d+.*\)\)",
                        providers[0]), providers[0]


def test_get_provider_options_reports_the_runtime(convnet_session):
    opts = convnet_session.get_provider_options()
    assert list(opts) == ["RknnExecutionProvider"]
    info = opts["RknnExecutionProvider"]
    assert info["runtime"] == "emulator"
    assert Path(info["library_path"]).is_file()
    assert Path(info["library_path"]).name == "librknnrt_emu.so"
    assert "ezrknn emulator" in info["api_version"]
    assert info["api_version"] in convnet_session.get_providers()[0]
    assert isinstance(info["drv_version"], str)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in info.items())


def test_node_args(convnet_session):
    (inp,) = convnet_session.get_inputs()
    assert (inp.name, inp.shape, inp.type) == ("image", [1, 3, 32, 32], "tensor(float16)")
    outs = convnet_session.get_outputs()
    assert [(o.name, o.shape, o.type) for o in outs] == [
        ("features", [1, 8, 8, 8], "tensor(float16)"),
        ("logits", [1, 10], "tensor(float16)"),
        ("probs", [1, 10], "tensor(float16)"),
    ]
    assert repr(inp) == "NodeArg(name='image', type='tensor(float16)', shape=[1, 3, 32, 32])"
    with pytest.raises(AttributeError):
        inp.name = "other"


def test_names_are_fresh_copies(convnet_session):
    assert convnet_session.input_names == ["image"]
    assert convnet_session.output_names == ["features", "logits", "probs"]
    convnet_session.output_names.append("junk")
    convnet_session.get_outputs().clear()
    assert convnet_session.output_names == ["features", "logits", "probs"]
    assert len(convnet_session.get_outputs()) == 3


def test_modelmeta_without_custom_string(convnet_session):
    assert convnet_session.get_modelmeta().custom_metadata_map == {}


def test_modelmeta_with_custom_string(open_session, custom_string_model):
    meta = open_session(custom_string_model).get_modelmeta()
    assert meta.custom_metadata_map == {"rknn_custom_string": "RGB input, values in [0, 1]"}


def test_emulator_session_emits_no_warning(ez, convnet_model, image):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sess = ez.InferenceSession(str(convnet_model), provider_options={"runtime": "emulator"})
        sess.run(None, {"image": image})
        del sess
    assert [str(w.message) for w in caught] == []


def test_typing_files_are_installed(ez):
    folder = Path(ez.__file__).parent
    assert (folder / "py.typed").is_file()
    assert (folder / "__init__.pyi").is_file()


def test_run_returns_list(convnet_session, image):
    outs = convnet_session.run(None, {"image": image})
    assert type(outs) is list and all(type(o) is np.ndarray for o in outs)


def test_engine_warnings_become_user_warnings_at_the_callers_line(ez, convnet_model):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ez.InferenceSession(str(convnet_model),
                            provider_options={"runtime": "emulator", "custom_op_default_path": True})
    messages = [str(w.message) for w in caught]
    assert any(m.startswith("Custom op loading requested; dup_context is disabled") for m in messages), messages
    assert all(w.category is UserWarning for w in caught)
    assert all(w.filename == __file__ for w in caught)  # stacklevel=2: the line that created the session


def test_warning_as_error_raises_cleanly(ez, convnet_model):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning, match="Custom op loading requested"):
            ez.InferenceSession(str(convnet_model),
                                provider_options={"runtime": "emulator", "custom_op_default_path": True})


def test_a_missing_custom_op_plugin_fails_construction(ez, convnet_model, tmp_path):
    # tests/python/test_custom_op_plugins.py covers plugins in full.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match=f"dlopen {tmp_path / 'x.so'} fail: "):
            ez.InferenceSession(str(convnet_model),
                                provider_options={"runtime": "emulator", "custom_op_path": tmp_path / "x.so"})
