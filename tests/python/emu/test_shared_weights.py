"""RKNN_FLAG_SHARE_WEIGHT_MEM: weight-less slave models (prepared with remove_weight) take the master context's
weights by name. Results must equal a model that carries its own weights, the slave must outlive its master, bad
arguments fail with the documented codes, and a slave must not duplicate the master's weights in memory."""
from __future__ import annotations

import ctypes as C
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import emu_models as M
from weight_sharing_nets import heavy_net, multires_net  # tests/python, on the path through emu_models
import rknn_ctypes as R
from emu_session import Context

RKNN_FLAG_SHARE_WEIGHT_MEM = 0x20
REPO = Path(__file__).resolve().parents[3]
MODEL_PREP = REPO / "python" / "ztu_somemodelruntime_ez_rknn_async" / "model_prep.py"


def load_model_prep():
    """The preparation helper from the source tree, without the package __init__ (which needs the compiled core)."""
    spec = importlib.util.spec_from_file_location("ezrknn_model_prep_under_test", MODEL_PREP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


prep = load_model_prep()


def prepared(tmp_path: Path, model: onnx.ModelProto, name: str, size, remove_weight=False) -> Path:
    builder = prep.RKNN()
    if remove_weight:
        builder.config(remove_weight=True)
    builder.load_onnx(model, input_size_list=[list(size)])
    builder.build(do_quantization=False)
    path = tmp_path / name
    builder.export_rknn(path)
    return path


def init_slave(emu, model, master_handle):
    extend = R.rknn_init_extend()
    extend.ctx = master_handle
    return emu.init(model, flag=RKNN_FLAG_SHARE_WEIGHT_MEM, extend=C.pointer(extend))


@pytest.fixture
def models(tmp_path):
    net = multires_net()
    return {
        "master16": prepared(tmp_path, net, "master16.rknn", [1, 3, 16, 16]),
        "full24": prepared(tmp_path, net, "full24.rknn", [1, 3, 24, 24]),
        "slave24": prepared(tmp_path, net, "slave24.rknn", [1, 3, 24, 24], remove_weight=True),
        "slave16": prepared(tmp_path, net, "slave16.rknn", [1, 3, 16, 16], remove_weight=True),
    }


def image(side, seed=0):
    return np.random.default_rng(seed).standard_normal((1, 3, side, side)).astype(np.float32)


def test_slave_file_has_no_weight_data(models):
    slave = onnx.load(str(models["slave24"]), load_external_data=False)
    meta = {p.key: p.value for p in slave.metadata_props}
    assert meta["rknn.remove_weight"] == "1"
    by_name = {t.name: t for t in slave.graph.initializer}
    assert set(by_name) == {"w1", "b1", "w2", "shape", "w3", "b3"}
    for name in ("w1", "b1", "w2", "w3", "b3"):
        assert by_name[name].data_location == TensorProto.EXTERNAL
        assert not by_name[name].raw_data and not by_name[name].float_data
    assert list(by_name["w1"].dims) == [8, 3, 3, 3]
    np.testing.assert_array_equal(numpy_helper.to_array(by_name["shape"]), [1, 4])  # integer constants stay
    assert models["slave24"].stat().st_size < 1024 < models["full24"].stat().st_size


def test_slave_at_another_resolution_equals_a_model_with_its_own_weights(emu, models):
    master = emu.open(str(models["master16"]))
    code, handle = init_slave(emu, str(models["slave24"]), master.handle)
    assert code == 0, emu.last_error()
    slave = Context(emu, handle)
    full = emu.open(str(models["full24"]))
    x24, x16 = image(24, 1), image(16, 2)
    np.testing.assert_array_equal(slave.infer(x24)[0], full.infer(x24)[0])
    # The master is unchanged by its slave.
    reference16 = emu.open(str(models["master16"]))
    np.testing.assert_array_equal(master.infer(x16)[0], reference16.infer(x16)[0])
    # And against onnxruntime, loosely: fp16 I/O.
    ort = pytest.importorskip("onnxruntime")
    sess = ort.InferenceSession(str(models["full24"]), providers=["CPUExecutionProvider"])
    want = sess.run(None, {"image": M.fp16(x24).astype(np.float32)})[0]
    np.testing.assert_allclose(slave.infer(x24)[0], want, rtol=2e-2, atol=2e-2)


def test_slave_from_a_buffer_and_dup_of_a_slave(emu, models):
    master = emu.open(models["master16"].read_bytes())
    code, handle = init_slave(emu, models["slave16"].read_bytes(), master.handle)
    assert code == 0, emu.last_error()
    slave = Context(emu, handle)
    dup = slave.dup()
    x = image(16, 5)
    want = master.infer(x)[0]
    np.testing.assert_array_equal(slave.infer(x)[0], want)
    np.testing.assert_array_equal(dup.infer(x)[0], want)


def test_slave_outlives_its_master(emu, models):
    full = emu.open(str(models["full24"]))
    x = image(24, 3)
    want = full.infer(x)[0]
    master = emu.open(str(models["master16"]))
    code, handle = init_slave(emu, str(models["slave24"]), master.handle)
    assert code == 0, emu.last_error()
    assert master.destroy() == 0
    slave = Context(emu, handle)
    np.testing.assert_array_equal(slave.infer(x)[0], want)
    dup = slave.dup()
    assert slave.destroy() == 0
    np.testing.assert_array_equal(dup.infer(x)[0], want)


def test_share_weight_mem_argument_errors(emu, emu_lib, models):
    slave = str(models["slave24"])
    code, _ = emu.init(slave, flag=RKNN_FLAG_SHARE_WEIGHT_MEM, extend=None)
    assert code == R.RKNN_ERR_PARAM_INVALID
    assert "extend is NULL" in emu.last_error()
    code, _ = init_slave(emu, slave, 0)
    assert code == R.RKNN_ERR_PARAM_INVALID
    assert "extend->ctx is 0" in emu.last_error()
    code, _ = init_slave(emu, slave, 987654321)
    assert code == R.RKNN_ERR_CTX_INVALID
    assert "987654321" in emu.last_error() and "RKNN_ERR_CTX_INVALID" in emu.last_error()
    master = emu.open(str(models["master16"]))
    handle = master.handle
    assert master.destroy() == 0
    code, ctx = init_slave(emu, slave, handle)
    assert (code, ctx) == (R.RKNN_ERR_CTX_INVALID, 0)
    assert "not a live context" in emu.last_error()


def test_weightless_model_without_the_flag_is_refused(emu, models):
    code, ctx = emu.init(str(models["slave24"]))
    assert (code, ctx) == (R.RKNN_ERR_MODEL_INVALID, 0)
    message = emu.last_error()
    assert "this model has no weights (rknn.remove_weight)" in message
    assert "RKNN_FLAG_SHARE_WEIGHT_MEM" in message and "extend->ctx" in message


def test_model_with_weights_and_the_flag_is_refused(emu, models):
    master = emu.open(str(models["master16"]))
    code, _ = init_slave(emu, str(models["full24"]), master.handle)
    assert code == R.RKNN_ERR_MODEL_INVALID
    assert "remove_weight" in emu.last_error()


def test_missing_and_misshaped_weights_are_named(emu, models, tmp_path):
    # A master whose model lacks "w3": the slave's Gemm weight cannot be found.
    other = M.add_const([1, 3, 16, 16])
    master = emu.open(M.to_bytes(other))
    code, _ = init_slave(emu, str(models["slave24"]), master.handle)
    assert code == R.RKNN_ERR_MODEL_INVALID
    message = emu.last_error()
    assert "weight 'w1'" in message and "float32 [8,3,3,3]" in message and "not in the master" in message
    # A master with 6 channels where the slave expects 8.
    narrow = prepared(tmp_path, multires_net(channels=6), "narrow.rknn", [1, 3, 16, 16])
    master6 = emu.open(str(narrow))
    code, _ = init_slave(emu, str(models["slave24"]), master6.handle)
    assert code == R.RKNN_ERR_MODEL_INVALID
    message = emu.last_error()
    assert "weight 'w1'" in message
    assert "expects float32 [8,3,3,3] but the master context's model has float32 [6,3,3,3]" in message


def mem_size(ctx):
    code, r = ctx.query(R.RKNN_QUERY_MEM_SIZE, R.rknn_mem_size())
    ctx.emu.check("rknn_query", code)
    return r


def test_mem_size_counts_weights_once(emu, models):
    net = multires_net()
    every = sum(numpy_helper.to_array(t).nbytes for t in net.graph.initializer)
    integer = sum(numpy_helper.to_array(t).nbytes for t in net.graph.initializer
                  if t.data_type == TensorProto.INT64)
    master = emu.open(str(models["master16"]))
    code, handle = init_slave(emu, str(models["slave24"]), master.handle)
    assert code == 0, emu.last_error()
    slave = Context(emu, handle)
    assert mem_size(master).total_weight_size == every
    assert mem_size(slave).total_weight_size == integer == 16
    assert mem_size(slave.dup()).total_weight_size == integer


# --- resident memory --------------------------------------------------------------------------------------------
# Measured in a fresh process: in the test process, memory numpy and onnx freed could absorb a duplicate copy
# without any growth of VmRSS.

RSS_SCRIPT = """
import ctypes as C, json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import rknn_ctypes as R
from emu_session import Context, Emulator

def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024

lib_path, master, slave, control, master_shape, shape, dtype = sys.argv[2:9]
emu = Emulator(R.load(lib_path))
x = np.full(json.loads(shape), 0.01, dtype=dtype)
r = {"before": rss()}
m = emu.open(master)
r["master"] = rss()
ext = R.rknn_init_extend()
ext.ctx = m.handle
code, handle = emu.init(slave, flag=0x20, extend=C.pointer(ext))
emu.check("rknn_init", code)
r["slave_init"] = rss()
y = Context(emu, handle).infer(x)[0]
r["slave_run"] = rss()
r["finite"] = bool(np.isfinite(y).all())
d = m.dup()
d.infer(np.full(json.loads(master_shape), 0.01, dtype=dtype))
r["dup_run"] = rss()
emu.open(control)
r["control"] = rss()
print(json.dumps(r))
"""


def measure_rss(library, master, slave, control, master_shape, shape, dtype):
    """VmRSS (bytes) of a fresh process before and after each step: master init, slave init, a slave run, a dup of
    the master and its run, and a control model with its own weights (which must show up: proof that the
    measurement sees duplicates)."""
    result = subprocess.run([sys.executable, "-c", RSS_SCRIPT, str(Path(__file__).resolve().parent), str(library),
                             str(master), str(slave), str(control), json.dumps(list(master_shape)),
                             json.dumps(list(shape)), dtype],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_slave_adds_little_resident_memory(emu_library_path, tmp_path):
    """Bounded in time too: it must stay well under 30 s (about 3 s here)."""
    started = time.monotonic()
    net = heavy_net()
    weights = sum(numpy_helper.to_array(t).nbytes for t in net.graph.initializer)
    assert weights >= 64 << 20
    master = prepared(tmp_path, net, "heavy_master.rknn", [1, 1024, 2, 2])
    slave = prepared(tmp_path, net, "heavy_slave.rknn", [1, 1024, 4, 4], remove_weight=True)
    control = prepared(tmp_path, net, "heavy_control.rknn", [1, 1024, 4, 4])
    del net
    r = measure_rss(emu_library_path, master, slave, control, [1, 1024, 2, 2], [1, 1024, 4, 4], "float32")
    master_growth = r["master"] - r["before"]
    slave_growth = r["slave_run"] - r["master"]
    dup_growth = r["dup_run"] - r["slave_run"]
    control_growth = r["control"] - r["dup_run"]
    print(f"weights {weights >> 20} MiB: master +{master_growth >> 20} MiB, slave "
          f"+{(r['slave_init'] - r['master']) >> 10} KiB at init, +{slave_growth >> 10} KiB after a run; a model with "
          f"its own weights +{control_growth >> 20} MiB; a dup of the master +{dup_growth >> 10} KiB after a run")
    assert r["finite"]
    assert master_growth > weights
    assert control_growth > weights
    assert slave_growth < weights // 10
    assert dup_growth < weights // 10
    assert time.monotonic() - started < 30


def test_float16_weights_are_widened_once(emu, emu_library_path, tmp_path):
    """float16 weights run through float32 kernels: the widened copy (and what oneDNN packs from it) is shared."""
    rng = np.random.default_rng(4)
    inits = [numpy_helper.from_array((rng.standard_normal((2048, 2048)) / 45).astype(np.float16), f"w{i}")
             for i in range(2)]
    nodes = [helper.make_node("MatMul", ["x", "w0"], ["h"]), helper.make_node("MatMul", ["h", "w1"], ["y"])]
    net = M.make_model(nodes, [M.vi("x", TensorProto.FLOAT16, ["N", 2048])],
                       [M.vi("y", TensorProto.FLOAT16, ["N", 2048])], inits, name="half")
    widened = 2 * 2048 * 2048 * 4
    master = prepared(tmp_path, net, "half_master.rknn", [1, 2048])
    slave = prepared(tmp_path, net, "half_slave.rknn", [2, 2048], remove_weight=True)
    control = prepared(tmp_path, net, "half_full.rknn", [2, 2048])
    r = measure_rss(emu_library_path, master, slave, control, [1, 2048], [2, 2048], "float16")
    print(f"float16 weights {widened >> 21} MiB (float32 {widened >> 20} MiB): master "
          f"+{(r['master'] - r['before']) >> 20} MiB, slave +{(r['slave_run'] - r['master']) >> 10} KiB, "
          f"a model with its own weights +{(r['control'] - r['dup_run']) >> 20} MiB")
    assert r["control"] - r["dup_run"] > widened // 2
    assert r["slave_run"] - r["master"] < widened // 10
    # The slave computes what a model with its own weights computes.
    x = rng.standard_normal((2, 2048)).astype(np.float16)
    code, handle = init_slave(emu, str(slave), emu.open(str(master)).handle)
    assert code == 0, emu.last_error()
    np.testing.assert_array_equal(Context(emu, handle).infer(x)[0], emu.open(str(control)).infer(x)[0])
