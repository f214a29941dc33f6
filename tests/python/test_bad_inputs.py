"""Every bad input of the foundation issue gets a Python exception that names the problem; nothing crashes."""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture
def load(ez):
    def load_(source):
        return ez.InferenceSession(source, provider_options={"runtime": "emulator"})

    return load_


@pytest.fixture(scope="module")
def multi(open_session, multi_input_model):
    return open_session(multi_input_model)


# -- bad models -----------------------------------------------------------------------------------------------------
def test_missing_file(load, tmp_path):
    path = tmp_path / "no_such_model.onnx"
    with pytest.raises(RuntimeError) as info:
        load(str(path))
    assert str(path) in str(info.value)
    assert re.search(r"no such file|not found|does not exist", str(info.value), re.IGNORECASE)


def test_directory(load, tmp_path):
    with pytest.raises(RuntimeError, match="(?i)directory") as info:
        load(str(tmp_path))
    assert str(tmp_path) in str(info.value)


def test_empty_file(load, tmp_path):
    path = tmp_path / "empty.onnx"
    path.write_bytes(b"")
    with pytest.raises(RuntimeError, match="(?i)empty") as info:
        load(str(path))
    assert str(path) in str(info.value)


def test_empty_bytes(load):
    with pytest.raises(RuntimeError, match="(?i)empty"):
        load(b"")


def test_truncated_model(load, convnet_model, tmp_path):
    data = Path(convnet_model).read_bytes()
    path = tmp_path / "truncated.onnx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(RuntimeError, match="RKNN_ERR_MODEL_INVALID"):
        load(str(path))


def test_truncated_model_bytes(load, convnet_model):
    data = Path(convnet_model).read_bytes()
    with pytest.raises(RuntimeError, match="RKNN_ERR_MODEL_INVALID"):
        load(data[: len(data) - 100])


def test_random_bytes_file(load, tmp_path):
    path = tmp_path / "random.onnx"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(RuntimeError, match="RKNN_ERR_MODEL_INVALID"):
        load(str(path))


def test_random_bytes_buffer(load):
    with pytest.raises(RuntimeError, match="RKNN_ERR_MODEL_INVALID"):
        load(np.random.default_rng(2).integers(0, 256, 1000, dtype=np.uint8).tobytes())


def test_text_file(load, tmp_path):
    path = tmp_path / "notes.onnx"
    path.write_text("this is not a model\n" * 20)
    with pytest.raises(RuntimeError, match="RKNN_ERR_MODEL_INVALID"):
        load(str(path))


def test_unsupported_default_domain_op(load, unsupported_op_model):
    with pytest.raises(RuntimeError) as info:
        load(str(unsupported_op_model))
    message = str(info.value)
    assert "Det" in message and "my_det_node" in message
    assert "RKNN_ERR_MODEL_INVALID" in message


def test_compiled_rknn_file_needs_the_board(load, tmp_path):
    path = tmp_path / "compiled.rknn"
    path.write_bytes(b"RKNN" + b"\0" * 60 + os.urandom(512))
    with pytest.raises(RuntimeError) as info:
        load(str(path))
    message = str(info.value)
    assert "RKNN_ERR_MODEL_INVALID" in message
    assert re.search(r"vendor|board", message, re.IGNORECASE)


def test_symbolic_dims_are_refused(load, dynamic_model):
    with pytest.raises(RuntimeError) as info:
        load(str(dynamic_model))
    assert "'x'" in str(info.value) or " x" in str(info.value)


def test_path_of_wrong_type(ez):
    with pytest.raises(TypeError):
        ez.InferenceSession(12345)


# -- constructor arguments ------------------------------------------------------------------------------------------
def test_unknown_keyword_is_named(ez, convnet_model):
    with pytest.raises(TypeError, match="providers_options"):
        ez.InferenceSession(str(convnet_model), providers_options={"layout": "nhwc"})


def test_use_weight_from_none_is_accepted(ez, convnet_model):
    ez.InferenceSession(str(convnet_model), provider_options={"runtime": "emulator"}, use_weight_from=None)


def test_use_weight_from_wrong_type(ez, convnet_model):
    with pytest.raises(RuntimeError, match="use_weight_from must be an InferenceSession or None"):
        ez.InferenceSession(str(convnet_model), use_weight_from="master.rknn")


def test_use_weight_from_with_a_model_that_has_its_own_weights(ez, convnet_model, convnet_session):
    # A slave must be prepared with remove_weight=True (tests/python/test_use_weight_from.py covers the feature).
    with pytest.raises(RuntimeError, match=r"rknn_init failed: RKNN_ERR_MODEL_INVALID \(-6\).*remove_weight"):
        ez.InferenceSession(str(convnet_model), use_weight_from=convnet_session)


# -- bad inputs -----------------------------------------------------------------------------------------------------
def test_wrong_input_name(ez, convnet_session, image):
    with pytest.raises(ez.InvalidArgument) as info:
        convnet_session.run(None, {"imag": image})
    assert "Missing input: image" in str(info.value)
    assert "'imag'" in str(info.value)


def test_extra_input_name(ez, convnet_session, image):
    with pytest.raises(ez.InvalidArgument) as info:
        convnet_session.run(None, {"image": image, "extra": image})
    assert "Input dict size mismatch: expected 1, got 2" in str(info.value)
    assert "'extra'" in str(info.value)


def test_missing_dict_entry(ez, multi):
    x = np.zeros((1, 3, 8, 8), np.float32)
    with pytest.raises(ez.InvalidArgument, match="Input dict size mismatch: expected 3, got 2.*missing: c"):
        multi.run(None, {"a": x, "b": x})


def test_wrong_shape(ez, convnet_session):
    with pytest.raises(ez.InvalidArgument) as info:
        convnet_session.run(None, {"image": np.zeros((1, 3, 16, 16), np.float32)})
    message = str(info.value)
    assert "image" in message and "shape" in message
    assert "[1, 3, 32, 32]" in message and "[1, 3, 16, 16]" in message


def test_wrong_rank(ez, convnet_session):
    with pytest.raises(ez.InvalidArgument, match="image"):
        convnet_session.run(None, {"image": np.zeros((3, 32, 32), np.float32)})


def test_float64_input(ez, convnet_session, image):
    with pytest.raises(ez.InvalidArgument) as info:
        convnet_session.run(None, {"image": image.astype(np.float64)})
    message = str(info.value)
    assert "Unsupported numpy dtype for RKNN input" in message
    assert "'image'" in message and "float64" in message and ".astype(np.float32)" in message


def test_python_list_input_is_float64(ez, multi):
    x = np.zeros((1, 3, 8, 8), np.float32)
    with pytest.raises(ez.InvalidArgument, match="Unsupported numpy dtype for RKNN input 'c': float64"):
        multi.run(None, [x, x, [[0.0] * 4] * 2])


def test_non_native_byte_order(ez, convnet_session, image):
    swapped = image.astype(image.dtype.newbyteorder())
    with pytest.raises(ez.InvalidArgument, match="Unsupported numpy dtype for RKNN input 'image'"):
        convnet_session.run(None, {"image": swapped})


@pytest.mark.parametrize("dtype", [np.complex64, np.uint64, object, "U4"])
def test_other_unsupported_dtypes(ez, convnet_session, dtype):
    with pytest.raises(ez.InvalidArgument, match="Unsupported numpy dtype for RKNN input 'image'"):
        convnet_session.run(None, {"image": np.zeros((1, 3, 32, 32), dtype=dtype)})


def test_int64_for_float_input(ez, convnet_session):
    with pytest.raises(ez.InvalidArgument) as info:
        convnet_session.run(None, {"image": np.zeros((1, 3, 32, 32), np.int64)})
    message = str(info.value)
    assert "image" in message and "int64" in message


def test_none_input(ez, convnet_session):
    with pytest.raises(ez.InvalidArgument, match="Input 'image' is None"):
        convnet_session.run(None, {"image": None})


def test_none_in_positional_feed(ez, multi):
    x = np.zeros((1, 3, 8, 8), np.float32)
    with pytest.raises(ez.InvalidArgument, match="Input 'b' is None"):
        multi.run(None, [x, None, np.zeros((2, 4), np.float32)])


def test_ragged_input(ez, multi):
    x = np.zeros((1, 3, 8, 8), np.float32)
    with pytest.raises(ez.InvalidArgument, match="Input 'c' must be a numpy array"):
        multi.run(None, [x, x, [[1.0, 2.0], [3.0]]])


def test_too_few_positional_inputs(ez, multi):
    with pytest.raises(ez.InvalidArgument, match="Input list size mismatch: expected 3, got 1"):
        multi.run(None, [np.zeros((1, 3, 8, 8), np.float32)])


def test_single_array_for_multi_input_model(ez, multi):
    with pytest.raises(ez.InvalidArgument, match="Model expects 3 inputs, but a single array was given"):
        multi.run(None, np.zeros((1, 3, 8, 8), np.float32))


@pytest.mark.parametrize("feed", [42, "image", {1, 2}])
def test_input_feed_of_wrong_type(ez, convnet_session, feed):
    with pytest.raises(ez.InvalidArgument, match=r"input_feed must be a numpy array, list/tuple, or dict"):
        convnet_session.run(None, feed)


def test_input_feed_missing(convnet_session):
    with pytest.raises(TypeError, match="input_feed"):
        convnet_session.run(None)


def test_errors_are_runtime_and_value_errors(ez, convnet_session):
    with pytest.raises(RuntimeError):
        convnet_session.run(None, {"image": None})
    with pytest.raises(ValueError):
        convnet_session.run(None, {"image": None})
