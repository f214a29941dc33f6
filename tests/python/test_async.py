"""run_async, run and batch dispatch on the async engine: callback ordering, bounded submission, the GIL, per-core
queues, shutdown with tasks in flight, and faults injected by the emulator (EZRKNN_EMU_FAULTS).

Expected values are computed here with numpy; timings use the emulator's modelled latency
(EZRKNN_EMU_LATENCY_US) with wide margins, since the test machine is shared.
"""
from __future__ import annotations

import gc
import threading
import time

import numpy as np
import pytest

import ztu_somemodelruntime_ez_rknn_async as ort
from saved_models import save_model


def _relu_model(path, shape=(1, 3, 4, 4)):
    from onnx import TensorProto, helper

    return save_model([helper.make_node("Relu", ["x"], ["y"], name="relu")],
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(shape))], [], path, name="relu")


def _stacked_model(path):
    """x [1, 4] -> y [2, 4] = concat(x, 2x) along axis 0: an output whose first dimension is 2."""
    from onnx import TensorProto, helper, numpy_helper

    two = numpy_helper.from_array(np.array([2.0], dtype=np.float32), "two")
    nodes = [helper.make_node("Mul", ["x", "two"], ["x2"], name="mul"),
             helper.make_node("Concat", ["x", "x2"], ["y"], axis=0, name="concat")]
    return save_model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])], [two], path, name="stacked")


@pytest.fixture(scope="module")
def relu_path(tmp_path_factory):
    return _relu_model(tmp_path_factory.mktemp("async") / "relu.onnx")


def _frame(k):
    """Values exact in fp16 (the emulator's float path), distinct per k, half of them negative."""
    return (np.arange(48, dtype=np.float32).reshape(1, 3, 4, 4) - 24.0 + k) / 4.0


def _session(path, monkeypatch, latency=None, **options):
    if latency is not None:
        monkeypatch.setenv("EZRKNN_EMU_LATENCY_US", latency)
    else:
        monkeypatch.delenv("EZRKNN_EMU_LATENCY_US", raising=False)
    return ort.InferenceSession(str(path), provider_options=options)


class Collector:
    def __init__(self):
        self.lock = threading.Lock()
        self.calls = []  # (user_data, results, err, time)
        self.done = threading.Event()
        self.expected = 0

    def __call__(self, results, user_data, err):
        with self.lock:
            self.calls.append((user_data, results, err, time.monotonic()))
            if len(self.calls) >= self.expected:
                self.done.set()


def test_run_async_delivers_results_err_and_the_same_user_data(relu_path, monkeypatch):
    sess = _session(relu_path, monkeypatch)
    got = Collector()
    got.expected = 1
    token = object()
    frame = _frame(3)
    sess.run_async(None, {"x": frame}, got, token)
    assert got.done.wait(10)
    user_data, results, err, _ = got.calls[0]
    assert user_data is token and err == ""
    assert isinstance(results, list) and len(results) == 1
    np.testing.assert_array_equal(results[0], np.maximum(frame, 0))


def test_inputs_may_be_reused_as_soon_as_run_async_returns(relu_path, monkeypatch):
    sess = _session(relu_path, monkeypatch, latency="20000", schedule=[0], max_queue_size=8)
    got = Collector()
    got.expected = 4
    buf = np.empty((1, 3, 4, 4), dtype=np.float32)
    for k in range(4):
        buf[...] = _frame(k)
        sess.run_async(None, [buf], got, k)
    buf[...] = 1e3  # overwrite while the tasks wait behind the 20 ms latency
    assert got.done.wait(10)
    for k, results, err, _ in got.calls:
        assert err == ""
        np.testing.assert_array_equal(results[0], np.maximum(_frame(k), 0))


@pytest.mark.parametrize("sequential", [True, False])
def test_callback_order_follows_sequential_callbacks(relu_path, monkeypatch, sequential):
    # Core 0 is 20x slower: its tasks (0, 3, 6, ...) finish after later tasks on cores 1 and 2.
    sess = _session(relu_path, monkeypatch, latency="0:40000,1:2000,2:2000", schedule=[0, 1, 2],
                    max_queue_size=12, sequential_callbacks=sequential)
    got = Collector()
    got.expected = 9
    for k in range(9):
        sess.run_async(None, [_frame(k)], got, k)
    assert got.done.wait(20)
    order = [c[0] for c in got.calls]
    assert sorted(order) == list(range(9))
    assert all(c[2] == "" for c in got.calls)
    if sequential:
        assert order == list(range(9))
    else:
        assert order != list(range(9))
        assert order.index(1) < order.index(0)  # a 2 ms task was delivered before the 40 ms one submitted first


def test_a_slow_core_does_not_hold_back_tasks_for_idle_cores(relu_path, monkeypatch):
    # Head-of-line freedom: with one FIFO for all cores, task 3 (core 0) would block tasks 4, 5, 7, 8 until
    # task 0 finished; with a queue per core they finish long before core 0's first 200 ms run.
    sess = _session(relu_path, monkeypatch, latency="0:200000,1:1000,2:1000", schedule=[0, 1, 2],
                    max_queue_size=16, sequential_callbacks=False)
    got = Collector()
    got.expected = 9
    start = time.monotonic()
    for k in range(9):
        sess.run_async(None, [_frame(k)], got, k)
    assert got.done.wait(20)
    finished = {c[0]: c[3] - start for c in got.calls}
    fast = [finished[k] for k in range(9) if k % 3 != 0]
    slow_first = min(finished[k] for k in range(9) if k % 3 == 0)
    assert slow_first >= 0.19
    assert max(fast) < slow_first, (fast, slow_first)


def test_submit_times_out_with_the_documented_message(relu_path, monkeypatch):
    sess = _session(relu_path, monkeypatch, latency="300000", schedule=[0], max_queue_size=1, submit_timeout_ms=100)
    got = Collector()
    got.expected = 2
    sess.run_async(None, [_frame(0)], got, 0)  # starts on the worker
    sess.run_async(None, [_frame(1)], got, 1)  # fills the one queue slot
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"^run_async submit timed out: async queue/callback pipeline is saturated"):
        sess.run_async(None, [_frame(2)], got, 2)
    assert 0.09 <= time.monotonic() - start < 0.3
    with pytest.raises(RuntimeError, match=r"^run submit timed out: async queue/callback pipeline is saturated"):
        sess.run(None, [_frame(3)])
    assert got.done.wait(10)
    assert [c[0] for c in got.calls] == [0, 1]


def test_run_releases_the_gil_while_it_waits(relu_path, monkeypatch):
    sess = _session(relu_path, monkeypatch, latency="300000")
    counter = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            counter[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        time.sleep(0.02)
        before = counter[0]
        out = sess.run(None, [_frame(1)])
        during = counter[0] - before
    finally:
        stop.set()
        t.join()
    np.testing.assert_array_equal(out[0], np.maximum(_frame(1), 0))
    # Holding the GIL for 300 ms would allow at most one switch interval (5 ms) of spinning.
    assert during > 10000, during


def test_a_raising_callback_is_unraisable_and_later_callbacks_still_run(relu_path, monkeypatch):
    sess = _session(relu_path, monkeypatch)
    seen = []
    got = Collector()
    got.expected = 1

    def bad(results, user_data, err):
        raise ValueError("callback failure for the test")

    import sys
    hook_calls = []
    old = sys.unraisablehook
    sys.unraisablehook = lambda u: hook_calls.append(u)
    try:
        sess.run_async(None, [_frame(0)], bad, None)
        sess.run_async(None, [_frame(1)], got, 1)
        assert got.done.wait(10)
        sess.wait_callbacks()
    finally:
        sys.unraisablehook = old
    assert len(hook_calls) == 1 and isinstance(hook_calls[0].exc_value, ValueError)
    assert got.calls[0][2] == ""
    del seen


def test_every_task_gets_exactly_one_outcome_when_the_session_is_destroyed_mid_flight(relu_path, monkeypatch):
    sess = _session(relu_path, monkeypatch, latency="30000", schedule=[0, 1, 2], max_queue_size=30)
    outcomes = {}
    lock = threading.Lock()

    def callback(results, user_data, err):
        with lock:
            outcomes.setdefault(user_data, []).append((results is not None, err))

    for k in range(30):
        sess.run_async(None, [_frame(k)], callback, k)
    time.sleep(0.01)  # let the workers start the first task on each core
    del sess
    gc.collect()
    assert sorted(outcomes) == list(range(30))
    assert all(len(v) == 1 for v in outcomes.values())
    done = [k for k, v in outcomes.items() if v[0][0]]
    closed = [k for k, v in outcomes.items() if not v[0][0]]
    assert done, "the tasks already running finish with a result"
    assert closed, "the queued tasks are cancelled"
    for k in closed:
        assert "closed" in outcomes[k][0][1]


def test_close_fails_later_calls_cleanly(relu_path, monkeypatch):
    sess = _session(relu_path, monkeypatch)
    sess.close()
    with pytest.raises(RuntimeError, match="closed"):
        sess.run(None, [_frame(0)])
    sess.close()  # idempotent


def test_injected_run_fault_arrives_as_the_rknn_named_message(relu_path, monkeypatch):
    sess = _session(relu_path, monkeypatch)
    got = Collector()
    got.expected = 1
    monkeypatch.setenv("EZRKNN_EMU_FAULTS", "run:code=-1")
    sess.run_async(None, [_frame(0)], got, 0)
    assert got.done.wait(10)
    _, results, err, _ = got.calls[0]
    assert results is None
    assert err.startswith("rknn_run failed: RKNN_ERR_FAIL (-1): execute failed."), err
    with pytest.raises(RuntimeError, match=r"^rknn_run failed: RKNN_ERR_FAIL \(-1\)"):
        sess.run(None, [_frame(0)])
    monkeypatch.setenv("EZRKNN_EMU_FAULTS", "outputs_get:code=-9")
    with pytest.raises(RuntimeError, match=r"^rknn_outputs_get failed: RKNN_ERR_OUTPUT_INVALID \(-9\)"):
        sess.run(None, [_frame(0)])
    monkeypatch.delenv("EZRKNN_EMU_FAULTS")
    np.testing.assert_array_equal(sess.run(None, [_frame(2)])[0], np.maximum(_frame(2), 0))


def test_run_copies_no_bytes_for_contiguous_inputs_but_run_async_copies_them(relu_path, monkeypatch):
    sess = _session(relu_path, monkeypatch)
    frame = _frame(0)
    before = sess._sess.copied_bytes
    sess.run(None, [frame])
    assert sess._sess.copied_bytes == before
    got = Collector()
    got.expected = 1
    sess.run_async(None, [frame], got, 0)
    assert got.done.wait(10)
    assert sess._sess.copied_bytes == before + frame.nbytes


def test_run_async_rejects_batch_dispatch_and_non_callables(relu_path, monkeypatch):
    sess = _session(relu_path, monkeypatch)
    with pytest.raises(RuntimeError, match="callback must be callable"):
        sess.run_async(None, [_frame(0)], None)
    with pytest.raises(RuntimeError, match="run_async does not support ztu_modelrt_dispatch_batch=True"):
        sess.run_async(None, [_frame(0)], lambda *a: None, None, {"ztu_modelrt_dispatch_batch": True})


def test_batch_dispatch_concatenates_outputs_whose_first_dim_is_above_one(tmp_path, monkeypatch):
    path = _stacked_model(tmp_path / "stacked.onnx")
    sess = _session(path, monkeypatch, schedule=[0, 1, 2])
    batch = (np.arange(20, dtype=np.float32).reshape(5, 4) - 7.0) / 2.0
    out = sess.run(None, {"x": batch}, {"ztu_modelrt_dispatch_batch": True})
    expected = np.concatenate([np.concatenate([row[None], 2 * row[None]], axis=0) for row in batch], axis=0)
    assert out[0].shape == (10, 4)
    np.testing.assert_array_equal(out[0], expected)


def test_batch_dispatch_spreads_samples_across_cores(relu_path, monkeypatch):
    sess = _session(relu_path, monkeypatch, latency="100000", schedule=[0, 1, 2], max_queue_size=6)
    batch = np.concatenate([_frame(k) for k in range(6)], axis=0)
    start = time.monotonic()
    out = sess.run(None, [batch], {"ztu_modelrt_dispatch_batch": True})
    took = time.monotonic() - start
    np.testing.assert_array_equal(out[0], np.maximum(batch, 0))
    assert took < 0.45, took  # 6 x 100 ms on one core would take 600 ms; on three cores about 200 ms


def test_ctrl_c_during_run_raises_keyboard_interrupt_promptly(relu_path, monkeypatch):
    import os
    import signal

    sess = _session(relu_path, monkeypatch, latency="0:1000000", schedule=[0], max_queue_size=4)
    frame = _frame(5)
    timer = threading.Timer(0.1, lambda: os.kill(os.getpid(), signal.SIGINT))
    start = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            sess.run(None, [frame])  # 1 s on core 0
    finally:
        timer.cancel()
    assert time.monotonic() - start < 0.7
    # The abandoned run still completes with the arrays it was given (kept alive), and the session goes on.
    del frame
    gc.collect()
    np.testing.assert_array_equal(sess.run(None, [_frame(6)])[0], np.maximum(_frame(6), 0))


def test_ctrl_c_while_waiting_for_queue_room_raises_keyboard_interrupt(relu_path, monkeypatch):
    import os
    import signal

    sess = _session(relu_path, monkeypatch, latency="1000000", schedule=[0], max_queue_size=1)
    sess.run_async(None, [_frame(0)], lambda *a: None)
    sess.run_async(None, [_frame(1)], lambda *a: None)
    timer = threading.Timer(0.1, lambda: os.kill(os.getpid(), signal.SIGINT))
    start = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            sess.run_async(None, [_frame(2)], lambda *a: None)
    finally:
        timer.cancel()
    assert time.monotonic() - start < 0.8
    sess.close()


def test_interpreter_exit_with_runs_in_flight_delivers_every_callback_once(relu_path, tmp_path):
    import os
    import subprocess
    import sys

    script = tmp_path / "exit_mid_flight.py"
    script.write_text(f"""
import numpy as np
import ztu_somemodelruntime_ez_rknn_async as ort
sess = ort.InferenceSession({str(relu_path)!r}, provider_options={{"schedule": [0, 1, 2], "max_queue_size": 30}})
x = np.ones((1, 3, 4, 4), np.float32)
def cb(results, user_data, err):
    print("outcome", user_data, "ok" if results is not None else "err:" + err, flush=True)
for k in range(20):
    sess.run_async(None, [x], cb, k)
print("exiting", flush=True)
""")
    env = dict(os.environ, EZRKNN_EMU_LATENCY_US="20000")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    lines = [line.split() for line in proc.stdout.splitlines() if line.startswith("outcome")]
    assert sorted(int(line[1]) for line in lines) == list(range(20))
