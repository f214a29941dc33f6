"""Shared weights through InferenceSession(..., use_weight_from=master) (anchor-behaviour.md §7): a weight-less
slave model (prepared with remove_weight=True by the package's model_prep) runs on the master's weights.

Correctness is checked against onnxruntime on the full model and against a model with its own weights; "no second
copy" by RKNN_QUERY_MEM_SIZE and by the resident memory of a fresh process."""
from __future__ import annotations

import gc
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, numpy_helper  # noqa: E402
from weight_sharing_nets import heavy_net, multires_net  # noqa: E402

RKNN_FLAG_SHARE_WEIGHT_MEM = 0x20


def prepare(ez, model, path: Path, size, remove_weight=False) -> Path:
    from ztu_somemodelruntime_ez_rknn_async.model_prep import RKNN

    builder = RKNN()
    if remove_weight:
        assert builder.config(remove_weight=True) == 0
    assert builder.load_onnx(model, input_size_list=[list(size)]) == 0
    assert builder.build(do_quantization=False) == 0
    assert builder.export_rknn(path) == 0
    return path


@pytest.fixture(scope="module")
def models(ez, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("shared_weights")
    net = multires_net()
    return {
        "net": net,
        "master16": prepare(ez, net, tmp / "master16.onnx", [1, 3, 16, 16]),
        "full24": prepare(ez, net, tmp / "full24.onnx", [1, 3, 24, 24]),
        "slave24": prepare(ez, net, tmp / "slave24.onnx", [1, 3, 24, 24], remove_weight=True),
    }


def image(side, seed=0):
    return np.random.default_rng(seed).standard_normal((1, 3, side, side)).astype(np.float32)


def session(ez, path, **kwargs):
    return ez.InferenceSession(str(path), provider_options={"runtime": "emulator"}, **kwargs)


def test_the_slave_computes_what_a_model_with_its_own_weights_computes(ez, models):
    master = session(ez, models["master16"])
    slave = session(ez, models["slave24"], use_weight_from=master)
    full = session(ez, models["full24"])
    x = image(24)
    got = slave.run(None, {"image": x})[0]
    np.testing.assert_array_equal(got, full.run(None, {"image": x})[0])
    ort = pytest.importorskip("onnxruntime")
    reference = ort.InferenceSession(models["net"].SerializeToString(), providers=["CPUExecutionProvider"])
    want = reference.run(None, {"image": x})[0]
    np.testing.assert_allclose(got, want, rtol=2e-2, atol=2e-2)  # the emulator rounds through fp16, as an NPU
    # The master still runs its own resolution.
    np.testing.assert_allclose(master.run(None, {"image": image(16, 1)})[0],
                               reference.run(None, {"image": image(16, 1)})[0], rtol=2e-2, atol=2e-2)


def test_the_slave_holds_no_second_copy_by_mem_size(ez, models):
    master = session(ez, models["master16"])
    slave = session(ez, models["slave24"], use_weight_from=master)
    full = session(ez, models["full24"])
    float_weights = sum(numpy_helper.to_array(t).nbytes for t in models["net"].graph.initializer
                        if t.data_type == TensorProto.FLOAT)
    master_weights = master.get_memory_size()["total_weight_size"]
    assert master_weights >= float_weights
    assert full.get_memory_size()["total_weight_size"] == master_weights
    assert slave.get_memory_size()["total_weight_size"] < float_weights // 10
    assert set(slave.get_memory_size()) == {"total_weight_size", "total_internal_size", "total_dma_allocated_size",
                                            "total_sram_size", "free_sram_size"}


def test_every_slave_context_uses_the_master_and_dup_is_forced_off(ez, models):
    master = session(ez, models["master16"])
    slave = ez.InferenceSession(str(models["slave24"]), use_weight_from=master,
                                provider_options={"runtime": "emulator", "schedule": [0, 1],
                                                  "disable_dup_context": False})
    assert slave._sess.context_count == 2
    assert slave.get_provider_options()["RknnExecutionProvider"]["disable_dup_context"] == "1"
    full = session(ez, models["full24"])
    for seed in range(4):
        x = image(24, seed)
        np.testing.assert_array_equal(slave.run(None, {"image": x})[0], full.run(None, {"image": x})[0])


def test_closing_the_master_first_keeps_the_slave_working(ez, models):
    master = session(ez, models["master16"])
    slave = session(ez, models["slave24"], use_weight_from=master)
    x = image(24, 5)
    before = slave.run(None, {"image": x})[0]
    del master
    gc.collect()
    np.testing.assert_array_equal(slave.run(None, {"image": x})[0], before)


def test_close_on_the_master_leaves_its_slaves_running(ez, models):
    master = session(ez, models["master16"])
    slave = session(ez, models["slave24"], use_weight_from=master)
    x = image(24, 6)
    before = slave.run(None, {"image": x})[0]
    master.close()
    with pytest.raises(RuntimeError, match="closed"):
        master.run(None, {"image": image(16)})
    np.testing.assert_array_equal(slave.run(None, {"image": x})[0], before)
    # close() stops the master's engine, not its contexts: its weights can still serve a new slave.
    late = session(ez, models["slave24"], use_weight_from=master)
    np.testing.assert_array_equal(late.run(None, {"image": x})[0], before)


def test_the_slave_model_without_a_master_is_refused_clearly(ez, models):
    with pytest.raises(RuntimeError, match=r"rknn_init failed: RKNN_ERR_MODEL_INVALID \(-6\).*remove_weight"):
        session(ez, models["slave24"])


@pytest.mark.parametrize("bad", ["master.onnx", 3, object(), {"session": None}])
def test_use_weight_from_of_the_wrong_type_is_refused(ez, models, bad):
    with pytest.raises(RuntimeError, match="use_weight_from must be an InferenceSession or None") as info:
        session(ez, models["slave24"], use_weight_from=bad)
    assert isinstance(info.value, ValueError)
    assert type(bad).__name__ in str(info.value)


def test_use_weight_from_none_is_the_same_as_absent(ez, models):
    sess = session(ez, models["full24"], use_weight_from=None)
    assert sess.get_provider_options()["RknnExecutionProvider"]["disable_dup_context"] == "0"


def test_an_uninitialised_master_is_refused(ez, models):
    master = ez.InferenceSession.__new__(ez.InferenceSession)
    with pytest.raises(RuntimeError, match="use_weight_from must reference an initialized master session"):
        session(ez, models["slave24"], use_weight_from=master)


def test_use_weight_from_with_custom_ops_gives_the_documented_error(ez, models):
    master = session(ez, models["master16"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the error comes before the dup-context warning (anchor §1.2, step 3)
        with pytest.raises(RuntimeError, match="use_weight_from cannot be combined with custom-op loading"):
            ez.InferenceSession(str(models["slave24"]), use_weight_from=master,
                                provider_options={"custom_op_default_path": True})


# --- resident memory --------------------------------------------------------------------------------------------
# Measured in a fresh process: in this one, memory numpy and onnx freed could absorb a second copy unseen.

RSS_SCRIPT = """
import json, sys
import numpy as np
import ztu_somemodelruntime_ez_rknn_async as ort

def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024

master_path, slave_path, control_path = sys.argv[1:4]
opts = {"runtime": "emulator"}
r = {"before": rss()}
master = ort.InferenceSession(master_path, provider_options=opts)
master.run(None, {"image": np.full((1, 1024, 2, 2), 0.01, np.float32)})
r["master"] = rss()
slave = ort.InferenceSession(slave_path, provider_options=opts, use_weight_from=master)
y = slave.run(None, {"image": np.full((1, 1024, 4, 4), 0.01, np.float32)})[0]
r["slave"] = rss()
r["slave_weights"] = slave.get_memory_size()["total_weight_size"]
r["master_weights"] = master.get_memory_size()["total_weight_size"]
r["y"] = y.tolist()
control = ort.InferenceSession(control_path, provider_options=opts)
r["control_y"] = control.run(None, {"image": np.full((1, 1024, 4, 4), 0.01, np.float32)})[0].tolist()
r["control"] = rss()
print(json.dumps(r))
"""


def test_a_slave_of_a_64_mib_master_adds_under_a_tenth_of_its_weights(ez, tmp_path):
    started = time.monotonic()
    net = heavy_net()
    weights = sum(numpy_helper.to_array(t).nbytes for t in net.graph.initializer)
    assert weights >= 64 << 20
    master = prepare(ez, net, tmp_path / "heavy_master.onnx", [1, 1024, 2, 2])
    slave = prepare(ez, net, tmp_path / "heavy_slave.onnx", [1, 1024, 4, 4], remove_weight=True)
    control = prepare(ez, net, tmp_path / "heavy_control.onnx", [1, 1024, 4, 4])
    del net
    result = subprocess.run([sys.executable, "-c", RSS_SCRIPT, str(master), str(slave), str(control)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    r = json.loads(result.stdout.strip().splitlines()[-1])
    master_growth = r["master"] - r["before"]
    slave_growth = r["slave"] - r["master"]
    control_growth = r["control"] - r["slave"]
    print(f"weights {weights >> 20} MiB: master +{master_growth >> 20} MiB, slave +{slave_growth >> 10} KiB, "
          f"a model with its own weights +{control_growth >> 20} MiB")
    assert master_growth > weights          # the measurement sees the weights...
    assert control_growth > weights         # ...and a second copy when there is one
    assert slave_growth < weights // 10
    assert r["slave_weights"] < weights // 10 <= r["master_weights"]
    np.testing.assert_allclose(r["y"], r["control_y"], rtol=1e-6, atol=1e-6)
    assert np.isfinite(r["y"]).all()
    assert time.monotonic() - started < 90
