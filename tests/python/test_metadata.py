"""get_modelmeta() (anchor-behaviour.md §9): custom_metadata_map from RKNN_QUERY_CUSTOM_STRING, and ONNX Runtime's
other ModelMetadata fields filled from what the runtime knows."""
from __future__ import annotations

from pathlib import Path

import pytest


def relu_model(path: Path, custom_string: str) -> Path:
    """y = Relu(x), x [1, 4], with the custom string rknn-toolkit2 would embed (ONNX metadata on the emulator)."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "relu",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    helper.set_model_props(model, {"rknn.custom_string": custom_string})
    onnx.save(model, str(path))
    return path


def test_the_custom_string_is_the_only_custom_metadata(open_session, custom_string_model):
    meta = open_session(custom_string_model).get_modelmeta()
    assert meta.custom_metadata_map == {"rknn_custom_string": "RGB input, values in [0, 1]"}


def test_a_model_without_custom_string_has_an_empty_map(open_session, convnet_model):
    assert open_session(convnet_model).get_modelmeta().custom_metadata_map == {}


def test_a_long_custom_string_is_kept_whole(open_session, tmp_path):
    text = "k=v;" * 255  # 1020 bytes: under the 1024-byte RKNN field
    path = relu_model(tmp_path / "long_custom.onnx", text)
    assert open_session(path).get_modelmeta().custom_metadata_map["rknn_custom_string"] == text


def test_the_other_fields_describe_model_and_runtime(open_session, convnet_model):
    sess = open_session(convnet_model)
    meta = sess.get_modelmeta()
    assert meta.producer_name == "onnx"  # the emulator runs ONNX models; a board reports "rknn-toolkit2"
    assert meta.graph_name == Path(convnet_model).stem
    info = sess.get_provider_options()["RknnExecutionProvider"]
    assert meta.description.startswith(f"{Path(convnet_model).name} on emulator: ")
    assert info["api_version"] in meta.description
    assert meta.version == 0 and isinstance(meta.version, int)
    assert meta.domain == "" and meta.graph_description == ""


def test_a_model_from_bytes_has_no_graph_name(ez, convnet_model):
    sess = ez.InferenceSession(Path(convnet_model).read_bytes(), provider_options={"runtime": "emulator"})
    meta = sess.get_modelmeta()
    assert meta.graph_name == ""
    assert meta.description.startswith("model from bytes on emulator: ")


def test_every_field_of_onnxruntime_model_metadata_exists(ez, convnet_session):
    ort = pytest.importorskip("onnxruntime")
    ours = convnet_session.get_modelmeta()
    fields = [name for name in dir(ort.ModelMetadata) if not name.startswith("_")]
    assert fields, "onnxruntime's ModelMetadata lists no fields"
    for name in fields:
        assert hasattr(ours, name), name
    assert isinstance(ours.custom_metadata_map, dict)
    assert all(isinstance(getattr(ours, n), str) for n in
               ("producer_name", "graph_name", "domain", "description", "graph_description"))


def test_model_metadata_has_no_constructor(ez):
    with pytest.raises(TypeError):
        ez.ModelMetadata()


def test_metadata_is_read_only(convnet_session):
    meta = convnet_session.get_modelmeta()
    with pytest.raises(AttributeError):
        meta.producer_name = "x"
