"""The model-preparation helper (model_prep.RKNN and `ezrknn prepare`), imported from the source tree: it is pure
Python and must work without the compiled runtime."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
PACKAGE_DIR = REPO / "python" / "ztu_somemodelruntime_ez_rknn_async"


def _load():
    spec = importlib.util.spec_from_file_location("ezrknn_model_prep_source", PACKAGE_DIR / "model_prep.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


prep = _load()


def small_model(symbolic=True) -> "onnx.ModelProto":
    """y = Conv(x, w) + b with x [1,3,H,W] (symbolic H, W unless `symbolic` is False: then [1,3,8,8]), and an int64
    Reshape shape constant; output z [1,-1]."""
    rng = np.random.default_rng(0)
    h, w = ("H", "W") if symbolic else (8, 8)
    inits = [numpy_helper.from_array(rng.standard_normal((4, 3, 1, 1)).astype(np.float32), "w"),
             numpy_helper.from_array(rng.standard_normal((1, 4, 1, 1)).astype(np.float16), "b16"),
             numpy_helper.from_array(np.array([1, -1], np.int64), "shape")]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"]),
             helper.make_node("Cast", ["b16"], ["b"], to=TensorProto.FLOAT),
             helper.make_node("Add", ["c", "b"], ["y"]),
             helper.make_node("Reshape", ["y", "shape"], ["z"])]
    graph = helper.make_graph(nodes, "small", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, h, w])],
                              [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, None])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    helper.set_model_props(model, {"author": "tests"})
    return model


@pytest.fixture
def model_path(tmp_path) -> Path:
    path = tmp_path / "small.onnx"
    onnx.save(small_model(), str(path))
    return path


def build(tmp_path, model, name="out.rknn", input_size_list=None, **config):
    rknn = prep.RKNN()
    assert rknn.config(**config) == 0
    assert rknn.load_onnx(model, input_size_list=input_size_list) == 0
    assert rknn.build(do_quantization=False) == 0
    out = tmp_path / name
    assert rknn.export_rknn(out) == 0
    return onnx.load(str(out), load_external_data=False)


def metadata(model):
    return {p.key: p.value for p in model.metadata_props}


# --- custom_string ------------------------------------------------------------------------------------------------

def test_custom_string_goes_to_metadata_and_keeps_other_props(tmp_path, model_path):
    out = build(tmp_path, model_path, custom_string="RGB, 0..1")
    meta = metadata(out)
    assert meta["rknn.custom_string"] == "RGB, 0..1"
    assert meta["author"] == "tests"
    assert "rknn.target_platform" not in meta and "rknn.remove_weight" not in meta


def test_custom_string_bad_values():
    rknn = prep.RKNN()
    with pytest.raises(TypeError, match="custom_string"):
        rknn.config(custom_string=5)
    with pytest.raises(ValueError, match="custom_string.*NUL"):
        rknn.config(custom_string="a\0b")
    with pytest.raises(ValueError, match="custom_string is 1024 bytes"):
        rknn.config(custom_string="x" * 1024)
    assert rknn.config(custom_string="é" * 511) == 0  # 1022 bytes in UTF-8


# --- target_platform ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["rk3588", "RK3576", "rk3562", "rk3566", "rk3568"])
def test_target_platform_accepts_the_five_platforms(tmp_path, model_path, name):
    assert metadata(build(tmp_path, model_path, target_platform=name))["rknn.target_platform"] == name.lower()


def test_target_platform_bad_values():
    with pytest.raises(ValueError, match="target_platform 'rk1808' is not one of rk3588"):
        prep.RKNN().config(target_platform="rk1808")
    with pytest.raises(TypeError, match="target_platform"):
        prep.RKNN().config(target_platform=["rk3588"])


# --- remove_weight ------------------------------------------------------------------------------------------------

def test_remove_weight_strips_float_initializers_only(tmp_path, model_path):
    out = build(tmp_path, model_path, remove_weight=True)
    assert metadata(out)["rknn.remove_weight"] == "1"
    by_name = {t.name: t for t in out.graph.initializer}
    for name, dtype, dims in (("w", TensorProto.FLOAT, [4, 3, 1, 1]), ("b16", TensorProto.FLOAT16, [1, 4, 1, 1])):
        t = by_name[name]
        assert (t.data_type, list(t.dims)) == (dtype, dims)
        assert t.data_location == TensorProto.EXTERNAL
        assert not t.raw_data and not t.float_data and not t.int32_data
        assert {e.key: e.value for e in t.external_data} == {"location": "rknn.master_context"}
    np.testing.assert_array_equal(numpy_helper.to_array(by_name["shape"]), [1, -1])


def test_remove_weight_false_keeps_weights(tmp_path, model_path):
    out = build(tmp_path, model_path, remove_weight=False)
    w = {t.name: t for t in out.graph.initializer}["w"]
    np.testing.assert_array_equal(numpy_helper.to_array(w),
                                  numpy_helper.to_array(small_model().graph.initializer[0]))
    assert "rknn.remove_weight" not in metadata(out)


def test_remove_weight_must_be_bool():
    with pytest.raises(TypeError, match="remove_weight must be True or False"):
        prep.RKNN().config(remove_weight="yes")


# --- input_size_list ----------------------------------------------------------------------------------------------

def test_input_size_list_pins_symbolic_dims(tmp_path, model_path):
    out = build(tmp_path, model_path, input_size_list=[[1, 3, 20, 12]])
    dims = out.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [1, 3, 20, 12]
    assert all(not d.dim_param for d in dims)


def test_input_size_list_that_does_not_fit_is_an_error(model_path):
    rknn = prep.RKNN()
    with pytest.raises(ValueError, match="static dim 3 at axis 1"):
        rknn.load_onnx(model_path, input_size_list=[[1, 4, 8, 8]])
    with pytest.raises(ValueError, match="rank 4 but the shape given is"):
        rknn.load_onnx(model_path, input_size_list=[[1, 3, 8]])
    with pytest.raises(ValueError, match="1 input"):
        rknn.load_onnx(model_path, input_size_list=[[1, 3, 8, 8], [1, 3, 8, 8]])
    with pytest.raises(ValueError, match="every dim must be > 0"):
        rknn.load_onnx(model_path, input_size_list=[[1, 3, 0, 8]])
    with pytest.raises(TypeError, match="list of ints"):
        rknn.load_onnx(model_path, input_size_list=[[1, 3, 8.5, 8]])


def test_inputs_names_graph_inputs(model_path):
    rknn = prep.RKNN()
    assert rknn.load_onnx(model_path, inputs=["x"], input_size_list=[[1, 3, 4, 4]]) == 0
    with pytest.raises(ValueError, match="'c' is not a graph input.*not implemented yet"):
        rknn.load_onnx(model_path, inputs=["c"], input_size_list=[[1, 4, 4, 4]])


# --- options not implemented, unknown options, order, paths -------------------------------------------------------

@pytest.mark.parametrize("option, value", [("quant_img_RGB2BGR", [True]), ("float_dtype", "float16"),
                                           ("optimization_level", 3)])
def test_options_not_implemented_yet_raise(option, value):
    with pytest.raises(NotImplementedError, match=f"{option} is not implemented yet"):
        prep.RKNN().config(**{option: value})
    assert prep.RKNN().config(**{option: None}) == 0


def test_unknown_option_is_a_type_error():
    with pytest.raises(TypeError, match="unknown option 'targetplatform'"):
        prep.RKNN().config(targetplatform="rk3588")


def test_dataset_without_quantization_is_refused(model_path):
    # Quantization itself: tests/python/test_quantization.py.
    rknn = prep.RKNN()
    rknn.load_onnx(model_path)
    with pytest.raises(FileNotFoundError, match="dataset"):
        rknn.build(do_quantization=True, dataset="dataset.txt")
    with pytest.raises(ValueError, match="dataset"):
        rknn.build(do_quantization=False, dataset="dataset.txt")


def test_order_and_path_errors(tmp_path, model_path):
    rknn = prep.RKNN()
    with pytest.raises(RuntimeError, match="load_onnx"):
        rknn.build()
    with pytest.raises(RuntimeError, match="build"):
        rknn.export_rknn(tmp_path / "x.rknn")
    with pytest.raises(FileNotFoundError, match="no such file"):
        rknn.load_onnx(tmp_path / "missing.onnx")
    with pytest.raises(TypeError, match="model must be a non-empty path"):
        rknn.load_onnx(42)
    rknn.load_onnx(model_path)
    rknn.build()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        rknn.export_rknn(tmp_path / "no" / "such" / "dir" / "m.rknn")


def test_export_writes_onnx_under_any_name(tmp_path, model_path):
    for name in ("model.rknn", "model.onnx", "weird.name.bin"):
        out = build(tmp_path, model_path, name=name, target_platform="rk3588")
        onnx.checker.check_model(out)
        assert metadata(out)["rknn.prepared_by"].endswith("model_prep")


# --- the ezrknn prepare command -----------------------------------------------------------------------------------

def run_cli(*args):
    """`ezrknn prepare` from the source tree: the package's __init__ (which loads the compiled core) is skipped."""
    script = textwrap.dedent(f"""
        import sys, types
        pkg = types.ModuleType("ztu_somemodelruntime_ez_rknn_async")
        pkg.__path__ = [{str(PACKAGE_DIR)!r}]
        sys.modules[pkg.__name__] = pkg
        from ztu_somemodelruntime_ez_rknn_async.cli import main
        sys.exit(main(sys.argv[1:]))
    """)
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=120)


def test_cli_prepare(tmp_path, model_path):
    out = tmp_path / "cli.rknn"
    result = run_cli("prepare", str(model_path), "-o", str(out), "--target-platform", "rk3576", "--custom-string",
                     "BGR", "--remove-weight", "--input-size", "1,3,16,16")
    assert result.returncode == 0, result.stderr
    model = onnx.load(str(out), load_external_data=False)
    meta = metadata(model)
    assert (meta["rknn.target_platform"], meta["rknn.custom_string"], meta["rknn.remove_weight"]) == \
        ("rk3576", "BGR", "1")
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim] == [1, 3, 16, 16]


def test_cli_prepare_bad_input(tmp_path, model_path):
    result = run_cli("prepare", str(model_path), "-o", str(tmp_path / "x.rknn"), "--target-platform", "rk9999")
    assert result.returncode == 2
    assert "target_platform 'rk9999' is not one of" in result.stderr
    result = run_cli("prepare", str(model_path), "-o", str(tmp_path / "x.rknn"), "--input-size", "1,3,a,8")
    assert result.returncode == 2
    assert "--input-size '1,3,a,8' must be comma-separated integers" in result.stderr
