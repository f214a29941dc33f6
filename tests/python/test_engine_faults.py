"""Failures while a session is being built, injected by the emulator (EZRKNN_EMU_FAULTS): the constructor must
raise a clean RuntimeError even when some worker contexts (and their threads) already exist, and the process
must stay usable afterwards (the old engine could terminate the process there: anchor-behaviour.md §14)."""
from __future__ import annotations

import numpy as np
import pytest

import ztu_somemodelruntime_ez_rknn_async as ort
from saved_models import save_model


@pytest.fixture(scope="module")
def relu_path(tmp_path_factory):
    from onnx import TensorProto, helper

    shape = [1, 3, 4, 4]
    return save_model([helper.make_node("Relu", ["x"], ["y"], name="relu")],
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)], [],
                      tmp_path_factory.mktemp("faults") / "relu.onnx", name="relu")


@pytest.mark.parametrize("failing_init", [1, 2, 3])  # three contexts: three rknn_init calls
def test_a_worker_context_failing_to_init_fails_the_constructor_cleanly(relu_path, monkeypatch, failing_init):
    # With disable_dup_context every worker context comes from its own rknn_init, so the N-th init fails after the
    # earlier contexts were created.
    monkeypatch.setenv("EZRKNN_EMU_FAULTS", f"init:code=-6:every={failing_init}")
    options = {"schedule": [0, 1, 2], "threads_per_core": 1, "disable_dup_context": True}
    with pytest.raises(RuntimeError, match="injected fault"):
        ort.InferenceSession(str(relu_path), provider_options=options)
    monkeypatch.delenv("EZRKNN_EMU_FAULTS")
    sess = ort.InferenceSession(str(relu_path), provider_options=options)
    x = (np.arange(48, dtype=np.float32).reshape(1, 3, 4, 4) - 24) / 4  # exact in fp16, the emulated NPU's type
    np.testing.assert_array_equal(sess.run(None, {"x": x})[0], np.maximum(x, 0))
