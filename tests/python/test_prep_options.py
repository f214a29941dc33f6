"""model_prep options that describe inputs: mean_values/std_values and dynamic_input (metadata, checks against
the model, bad values), through the helper, the CLI and an InferenceSession on the emulator."""
from __future__ import annotations

import json

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from test_model_prep import build, metadata, prep, run_cli  # noqa: E402


def two_input_model(x_shape=(1, 3, "H", "W"), z_shape=("N", 2)) -> "onnx.ModelProto":
    """y = 2x (x float [1,3,H,W]), w = z + 1 (z float [N,2]), k = Identity(i) (i int64 [2])."""
    two = numpy_helper.from_array(np.array(2.0, np.float32), "two")
    one = numpy_helper.from_array(np.array(1.0, np.float32), "one")
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "two"], ["y"]), helper.make_node("Add", ["z", "one"], ["w"])], "pair",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape)),
         helper.make_tensor_value_info("z", TensorProto.FLOAT, list(z_shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(x_shape)),
         helper.make_tensor_value_info("w", TensorProto.FLOAT, list(z_shape))], [two, one])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


@pytest.fixture
def pair_path(tmp_path):
    path = tmp_path / "pair.onnx"
    onnx.save(two_input_model(), str(path))
    return path


# --- mean_values / std_values -------------------------------------------------------------------------------------

def test_mean_std_go_to_metadata(tmp_path, pair_path):
    out = build(tmp_path, pair_path, mean_values=[[0, 127.5, 1], [3]], std_values=[[255, 1, 2], [0.5]])
    meta = metadata(out)
    assert json.loads(meta["rknn.mean_values"]) == [[0, 127.5, 1], [3]]
    assert json.loads(meta["rknn.std_values"]) == [[255, 1, 2], [0.5]]


def test_lists_follow_the_inputs_order_and_are_stored_in_graph_order(tmp_path, pair_path):
    rknn = prep.RKNN()
    rknn.config(mean_values=[[5], [1, 2, 3]], dynamic_input=[[[1, 2], [1, 3, 4, 4]]])
    rknn.load_onnx(pair_path, inputs=["z", "x"])
    rknn.build()
    rknn.export_rknn(tmp_path / "o.rknn")
    meta = metadata(onnx.load(str(tmp_path / "o.rknn")))
    assert json.loads(meta["rknn.mean_values"]) == [[1, 2, 3], [5]]
    assert json.loads(meta["rknn.dynamic_input"]) == [[[1, 3, 4, 4], [1, 2]]]


@pytest.mark.parametrize("config, error, match", [
    ({"mean_values": [0, 0, 0]}, TypeError, "one list of numbers per input"),
    ({"mean_values": "0,0,0"}, TypeError, "one list of numbers per input"),
    ({"std_values": [[1, "a", 1]]}, TypeError, r"std_values\[0\] must hold numbers"),
    ({"std_values": [[1, 0, 1]]}, ValueError, "divided by zero"),
    ({"mean_values": [[1, float("nan"), 1]]}, ValueError, "must be finite"),
    ({"mean_values": []}, ValueError, "mean_values is empty"),
    ({"mean_values": [[]]}, ValueError, r"mean_values\[0\] is empty"),
])
def test_bad_mean_std_values_at_config(config, error, match):
    with pytest.raises(error, match=match):
        prep.RKNN().config(**config)


@pytest.mark.parametrize("config, match", [
    ({"mean_values": [[1, 2], [0]]}, "mean_values for input 'x' has 2 values but the input has 3 channels"),
    ({"std_values": [[1, 2, 3], [1, 2]]}, "std_values for input 'z' has 2 values but the input has 1 channel"),
    ({"mean_values": [[0, 0, 0]]}, "mean_values has 1 list.* but the model takes 2 input"),
])
def test_mean_std_that_do_not_fit_the_model(pair_path, config, match):
    rknn = prep.RKNN()
    rknn.config(**config)
    rknn.load_onnx(pair_path)
    with pytest.raises(ValueError, match=match):
        rknn.build()


def test_mean_on_an_integer_input_is_refused(tmp_path):
    graph = helper.make_graph([helper.make_node("Identity", ["i"], ["o"])], "ints",
                              [helper.make_tensor_value_info("i", TensorProto.INT64, [2])],
                              [helper.make_tensor_value_info("o", TensorProto.INT64, [2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    rknn = prep.RKNN()
    rknn.config(mean_values=[[3]])
    rknn.load_onnx(model)
    with pytest.raises(ValueError, match="normalizes float inputs only"):
        rknn.build()
    rknn.config(mean_values=[[0]])  # the identity is fine
    assert rknn.build() == 0


def test_option_set_to_none_drops_it(tmp_path, pair_path):
    rknn = prep.RKNN()
    rknn.config(mean_values=[[1], [2]])
    rknn.config(mean_values=None)
    rknn.load_onnx(pair_path)
    rknn.build()
    rknn.export_rknn(tmp_path / "o.rknn")
    assert "rknn.mean_values" not in metadata(onnx.load(str(tmp_path / "o.rknn")))


# --- dynamic_input ------------------------------------------------------------------------------------------------

SETS = [[[1, 3, 4, 4], [1, 2]], [[1, 3, 8, 6], [3, 2]]]


def test_dynamic_input_goes_to_metadata_and_dims_stay_symbolic(tmp_path, pair_path):
    out = build(tmp_path, pair_path, dynamic_input=SETS)
    assert json.loads(metadata(out)["rknn.dynamic_input"]) == SETS
    assert out.graph.input[0].type.tensor_type.shape.dim[2].dim_param == "H"


@pytest.mark.parametrize("value, error, match", [
    ([], TypeError, "non-empty list of shape sets"),
    ([[1, 3, 4, 4]], TypeError, r"dynamic_input\[0\] must be a list with one shape"),
    ([[[1, 3, 4.5, 4]]], TypeError, "a shape is a non-empty list of ints"),
    ([[[1, 3, 0, 4]]], ValueError, "every dim must be > 0"),
    ([[[1, 2]], [[1, 2]]], ValueError, r"dynamic_input\[1\] repeats shape set 0"),
    ([[[1, d]] for d in range(1, 514)], ValueError, "at most 512"),
])
def test_bad_dynamic_input_at_config(value, error, match):
    with pytest.raises(error, match=match):
        prep.RKNN().config(dynamic_input=value)


@pytest.mark.parametrize("sets, match", [
    ([[[1, 3, 4, 4]]], r"dynamic_input\[0\] has 1 shape\(s\) but the model takes 2 input"),
    ([[[1, 3, 4], [1, 2]]], "input 'x' has rank 4 but the shape given is"),
    ([[[1, 3, 4, 4], [1, 2]], [[2, 3, 4, 4], [1, 2]]], r"dynamic_input\[1\]: input 'x' has static dim 1 at axis 0"),
    ([[[1, 3, 4, 4], [1, 3]]], "input 'z' has static dim 2 at axis 1"),
])
def test_dynamic_input_that_does_not_fit_the_model(pair_path, sets, match):
    rknn = prep.RKNN()
    rknn.config(dynamic_input=sets)
    rknn.load_onnx(pair_path)
    with pytest.raises(ValueError, match=match):
        rknn.build()


def test_dynamic_input_must_agree_with_input_size_list(pair_path):
    rknn = prep.RKNN()
    rknn.config(dynamic_input=SETS)
    rknn.load_onnx(pair_path, input_size_list=[[1, 3, 4, 4], [1, 2]])
    with pytest.raises(ValueError, match=r"dynamic_input\[1\]: input 'x' has static dim 4 at axis 2"):
        rknn.build()


def test_dynamic_input_with_remove_weight_is_refused(pair_path):
    rknn = prep.RKNN()
    rknn.config(dynamic_input=SETS, remove_weight=True)
    rknn.load_onnx(pair_path)
    with pytest.raises(ValueError, match="dynamic_input and remove_weight cannot be combined"):
        rknn.build()


def test_options_need_every_graph_input(pair_path):
    rknn = prep.RKNN()
    rknn.config(std_values=[[1]])
    rknn.load_onnx(pair_path, inputs=["z"])
    with pytest.raises(ValueError, match="need every graph input listed"):
        rknn.build()


# --- command line -------------------------------------------------------------------------------------------------

def test_cli_prepare_mean_std_dynamic(tmp_path, pair_path):
    out = tmp_path / "cli.rknn"
    result = run_cli("prepare", str(pair_path), "-o", str(out), "--mean-values", "[[1,2,3],[4]]",
                     "--std-values", "[[2],[8]]", "--dynamic-input", json.dumps(SETS))
    assert result.returncode == 0, result.stderr
    meta = metadata(onnx.load(str(out)))
    assert json.loads(meta["rknn.mean_values"]) == [[1, 2, 3], [4]]
    assert json.loads(meta["rknn.std_values"]) == [[2], [8]]
    assert json.loads(meta["rknn.dynamic_input"]) == SETS


def test_cli_prepare_bad_json(tmp_path, pair_path):
    result = run_cli("prepare", str(pair_path), "-o", str(tmp_path / "x.rknn"), "--mean-values", "[[1,2")
    assert result.returncode == 2
    assert "--mean-values '[[1,2' is not a JSON list" in result.stderr
    result = run_cli("prepare", str(pair_path), "-o", str(tmp_path / "x.rknn"), "--mean-values", "[[1,2]]")
    assert result.returncode == 2
    assert "mean_values has 1 list(s) but the model takes 2 input(s): x, z" in result.stderr


# --- through an InferenceSession on the emulator ------------------------------------------------------------------

def prepared(tmp_path, model, name, **config):
    path = tmp_path / "src.onnx"
    onnx.save(model, str(path))
    rknn = prep.RKNN()
    rknn.config(**config)
    rknn.load_onnx(path)
    rknn.build()
    out = tmp_path / name
    rknn.export_rknn(out)
    return str(out)


def session(path, **options):
    ez = pytest.importorskip("ztu_somemodelruntime_ez_rknn_async")
    return ez, ez.InferenceSession(path, provider_options={"runtime": "emulator", **options})


def fp16(a):
    return np.asarray(a, np.float32).astype(np.float16).astype(np.float32)


def test_session_applies_mean_std(tmp_path):
    mean, std = [[10.0, 128.0, 0.5], [4.0]], [[2.0, 64.0, 0.25], [8.0]]
    _, sess = session(prepared(tmp_path, two_input_model((1, 3, 4, 5), (2, 2)), "norm.rknn", mean_values=mean,
                               std_values=std))
    rng = np.random.default_rng(7)
    x = rng.integers(0, 256, (1, 3, 4, 5)).astype(np.float32)
    z = rng.standard_normal((2, 2)).astype(np.float32)
    y, w = sess.run(None, {"x": x, "z": z})
    xn = (x - np.array(mean[0], np.float32).reshape(1, 3, 1, 1)) / np.array(std[0], np.float32).reshape(1, 3, 1, 1)
    np.testing.assert_array_equal(y, fp16(fp16(xn) * 2))
    np.testing.assert_array_equal(w, fp16(fp16((z - 4) / 8) + 1))


@pytest.mark.parametrize("layout", ["nchw", "nchw_software", "nhwc"])
def test_session_runs_every_shape_set(tmp_path, layout):
    ez, sess = session(prepared(tmp_path, two_input_model(), "dyn.rknn", dynamic_input=SETS), layout=layout)
    nhwc = layout == "nhwc"
    to_user = (lambda a: a.transpose(0, 2, 3, 1)) if nhwc else (lambda a: a)
    first = [1, 4, 4, 3] if nhwc else [1, 3, 4, 4]
    assert sess.get_inputs()[0].shape == first and sess.get_inputs()[1].shape == [1, 2]
    rng = np.random.default_rng(8)
    for x_shape, z_shape in [SETS[1], SETS[0], SETS[1]]:  # back and forth on one context
        x = rng.standard_normal(x_shape).astype(np.float32)
        z = rng.standard_normal(z_shape).astype(np.float32)
        y, w = sess.run(None, {"x": np.ascontiguousarray(to_user(x)), "z": z})
        assert list(y.shape) == x_shape and list(w.shape) == z_shape  # outputs are NCHW whatever the layout
        np.testing.assert_array_equal(y, fp16(fp16(x) * 2))
        np.testing.assert_array_equal(w, fp16(fp16(z) + 1))
    with pytest.raises(ez.InvalidArgument, match="not one of the dynamic model's shape sets"):
        sess.run(None, {"x": np.zeros(to_user(np.zeros(SETS[0][0])).shape, np.float32),
                        "z": np.zeros(SETS[1][1], np.float32)})


def test_session_dynamic_model_on_several_contexts(tmp_path):
    """Contexts of a dynamic model are created with rknn_init (it cannot be duplicated); each switches shapes on
    its own while tasks of both sets interleave."""
    import threading

    _, sess = session(prepared(tmp_path, two_input_model(), "dyn.rknn", dynamic_input=SETS), threads_per_core=2,
                      schedule=[0, 1])
    assert sess.get_provider_options()["RknnExecutionProvider"]["disable_dup_context"] == "1"
    rng = np.random.default_rng(9)
    feeds = [{"x": rng.standard_normal(s[0]).astype(np.float32), "z": rng.standard_normal(s[1]).astype(np.float32)}
             for s in SETS * 6]
    results, done = {}, threading.Event()

    def got(outputs, k, error):
        results[k] = (outputs, error)
        if len(results) == len(feeds):
            done.set()

    for k, f in enumerate(feeds):
        sess.run_async(None, f, got, k)
    assert done.wait(60)
    for k, f in enumerate(feeds):
        outputs, error = results[k]
        assert not error, error
        np.testing.assert_array_equal(outputs[0], fp16(fp16(f["x"]) * 2))
        np.testing.assert_array_equal(outputs[1], fp16(fp16(f["z"]) + 1))


def test_quantized_model_calibrates_and_runs_on_normalized_inputs(tmp_path):
    """Calibration samples are raw pixels, normalized before calibrating (toolkit2's dataset); at run time the
    emulator normalizes raw pixels before quantizing them, so it matches ONNX Runtime fed normalized data."""
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(10)
    w = numpy_helper.from_array(rng.normal(0, 0.5, (4, 3, 1, 1)).astype(np.float32), "w")
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"])], "conv",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 6, 6])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    src = tmp_path / "conv.onnx"
    onnx.save(model, str(src))
    pixels = [rng.integers(0, 256, (1, 3, 6, 6)).astype(np.float32) for _ in range(8)]
    rknn = prep.RKNN()
    rknn.config(mean_values=[[127.5] * 3], std_values=[[127.5] * 3])
    rknn.load_onnx(src)
    rknn.build(do_quantization=True, dataset=pixels)
    out = tmp_path / "q.rknn"
    rknn.export_rknn(out)
    q = onnx.load(str(out))
    quant_x = next(n for n in q.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == "x")
    scale = float(numpy_helper.to_array(next(t for t in q.graph.initializer if t.name == quant_x.input[1])))
    assert scale == pytest.approx(2 / 255, rel=0.05)  # the range of normalized data, not of raw pixels
    _, sess = session(str(out))
    reference = ort.InferenceSession(str(out))
    for x in pixels[:3]:
        (got,) = sess.run(None, {"x": x})
        (want,) = reference.run(None, {"x": (x - 127.5) / 127.5})
        np.testing.assert_allclose(got, want, atol=0.05)


def test_input_size_list_makes_a_symbolic_model_runnable(tmp_path):
    ez = pytest.importorskip("ztu_somemodelruntime_ez_rknn_async")
    src = tmp_path / "sym.onnx"
    onnx.save(two_input_model(), str(src))
    with pytest.raises(RuntimeError, match="symbolic dims"):
        ez.InferenceSession(str(src), provider_options={"runtime": "emulator"})
    rknn = prep.RKNN()
    rknn.load_onnx(src, input_size_list=[[1, 3, 5, 7], [4, 2]])
    rknn.build()
    rknn.export_rknn(tmp_path / "pinned.rknn")
    _, sess = session(str(tmp_path / "pinned.rknn"))
    assert [i.shape for i in sess.get_inputs()] == [[1, 3, 5, 7], [4, 2]]
    x = np.linspace(-2, 2, 105, dtype=np.float32).reshape(1, 3, 5, 7)
    y, w = sess.run(None, {"x": x, "z": np.ones((4, 2), np.float32)})
    np.testing.assert_array_equal(y, fp16(fp16(x) * 2))
    np.testing.assert_array_equal(w, np.full((4, 2), 2, np.float32))
