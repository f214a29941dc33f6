"""run_pipeline's fixed delay, reset and depth changes, flush_pipeline, and errors in a pipelined run."""
from __future__ import annotations

import numpy as np
import pytest

import ztu_somemodelruntime_ez_rknn_async as ort
from test_async import _frame, _relu_model


@pytest.fixture(scope="module")
def sess(tmp_path_factory):
    path = _relu_model(tmp_path_factory.mktemp("pipeline") / "relu.onnx")
    return ort.InferenceSession(str(path), provider_options={"schedule": [0, 1, 2], "max_queue_size": 6})


def _expect(k):
    return np.maximum(_frame(k), 0)


def test_call_k_plus_depth_returns_the_result_of_call_k(sess):
    sess.flush_pipeline()
    buf = np.empty((1, 3, 4, 4), dtype=np.float32)
    got = []
    for k in range(8):
        buf[...] = _frame(k)  # one frame buffer reused: the pipeline copies its inputs
        got.append(sess.run_pipeline([buf], depth=3))
    assert got[:3] == [None, None, None]
    for k in range(3, 8):
        np.testing.assert_array_equal(got[k][0], _expect(k - 3))
    rest = sess.flush_pipeline()
    assert len(rest) == 3
    for i, k in enumerate(range(5, 8)):
        np.testing.assert_array_equal(rest[i][0], _expect(k))
    assert sess.flush_pipeline() == []


def test_reset_and_a_new_depth_discard_results_in_flight(sess):
    sess.flush_pipeline()
    for k in range(2):
        assert sess.run_pipeline([_frame(k)], depth=2) is None
    # reset: calls 0 and 1 are dropped, so the delay starts again from call 10
    assert sess.run_pipeline([_frame(10)], depth=2, reset=True) is None
    assert sess.run_pipeline([_frame(11)], depth=2) is None
    np.testing.assert_array_equal(sess.run_pipeline([_frame(12)], depth=2)[0], _expect(10))
    # a different depth also restarts
    assert sess.run_pipeline([_frame(20)], depth=1) is None
    np.testing.assert_array_equal(sess.run_pipeline([_frame(21)], depth=1)[0], _expect(20))
    rest = sess.flush_pipeline()
    assert len(rest) == 1
    np.testing.assert_array_equal(rest[0][0], _expect(21))


def test_depth_zero_and_negative_are_rejected(sess):
    with pytest.raises(RuntimeError, match="pipeline depth must be > 0"):
        sess.run_pipeline([_frame(0)], depth=0)
    with pytest.raises(TypeError):
        sess.run_pipeline([_frame(0)], depth=-1)


def test_a_failed_pipelined_run_raises_at_its_turn(sess, monkeypatch):
    sess.flush_pipeline()
    monkeypatch.setenv("EZRKNN_EMU_FAULTS", "run:code=-2")
    assert sess.run_pipeline([_frame(0)], depth=1) is None
    with pytest.raises(RuntimeError, match=r"^rknn_run failed: RKNN_ERR_TIMEOUT \(-2\)"):
        sess.run_pipeline([_frame(1)], depth=1)
    with pytest.raises(RuntimeError, match=r"^rknn_run failed: RKNN_ERR_TIMEOUT \(-2\)"):
        sess.flush_pipeline()  # call 1 failed too; the pipeline is empty afterwards
    monkeypatch.delenv("EZRKNN_EMU_FAULTS")
    assert sess.run_pipeline([_frame(2)], depth=1) is None
    np.testing.assert_array_equal(sess.flush_pipeline()[0][0], _expect(2))
