"""Drop-in, proven: one script body, run unchanged against onnxruntime.InferenceSession and against ours.

Tolerance: the emulated NPU runs a float model as an fp16 model (inputs and outputs are rounded through fp16, as
on the board), so results are compared with rtol = atol = 1e-2 and, per output, a cosine similarity >= 0.999
with the fp32 results of ONNX Runtime. The one documented difference: type strings report the NPU's dtype,
"tensor(float16)", where ONNX Runtime reports "tensor(float)"; run() returns float32 arrays in both.
"""
from __future__ import annotations

import numpy as np
import pytest

RTOL = ATOL = 1e-2
MIN_COSINE = 0.999


def script_body(InferenceSession, model_path: str) -> dict:
    """What an application does with a session. It must not know which InferenceSession it was given."""
    sess = InferenceSession(model_path, providers=["CPUExecutionProvider"])
    inputs = sess.get_inputs()
    outputs = sess.get_outputs()
    rng = np.random.default_rng(11)
    feed = {arg.name: rng.standard_normal(arg.shape).astype(np.float32) for arg in inputs}
    all_outputs = sess.run(None, feed)
    last_only = sess.run([outputs[-1].name], feed)
    return {
        "input_names": [arg.name for arg in inputs],
        "input_shapes": [list(arg.shape) for arg in inputs],
        "input_types": [arg.type for arg in inputs],
        "output_names": [arg.name for arg in outputs],
        "output_shapes": [list(arg.shape) for arg in outputs],
        "output_types": [arg.type for arg in outputs],
        "results": all_outputs,
        "last_only": last_only,
    }


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a.astype(np.float64).ravel()
    b = b.astype(np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture
def ort():
    return pytest.importorskip("onnxruntime")


@pytest.fixture
def on_emulator(monkeypatch):
    # The same code picks the vendor runtime on a board; these ONNX models are for the emulator.
    monkeypatch.setenv("EZRKNN_RUNTIME", "emulator")


@pytest.mark.parametrize("model", ["convnet_model", "multi_input_model"])
def test_same_script_same_answers(request, model, ort, ez, on_emulator):
    path = str(request.getfixturevalue(model))
    ref = script_body(ort.InferenceSession, path)
    ours = script_body(ez.InferenceSession, path)

    assert ours["input_names"] == ref["input_names"]
    assert ours["input_shapes"] == ref["input_shapes"]
    assert ours["output_names"] == ref["output_names"]
    assert ours["output_shapes"] == ref["output_shapes"]
    # The documented difference: an fp32 model runs as fp16 on the NPU.
    assert ref["input_types"] == ["tensor(float)"] * len(ref["input_types"])
    assert ours["input_types"] == ["tensor(float16)"] * len(ours["input_types"])
    assert ref["output_types"] == ["tensor(float)"] * len(ref["output_types"])
    assert ours["output_types"] == ["tensor(float16)"] * len(ours["output_types"])

    assert len(ours["results"]) == len(ref["results"])
    for name, got, want in zip(ours["output_names"], ours["results"], ref["results"]):
        assert isinstance(got, np.ndarray) and got.dtype == np.float32, name
        assert got.shape == want.shape, name
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=name)
        assert cosine(got, want) >= MIN_COSINE, name
    assert len(ours["last_only"]) == 1
    np.testing.assert_allclose(ours["last_only"][0], ref["last_only"][0], rtol=RTOL, atol=ATOL)


def test_convnet_probabilities_sum_to_one(convnet_session, image):
    (probs,) = convnet_session.run(["probs"], {"image": image})
    assert probs.shape == (1, 10)
    assert abs(float(probs.sum()) - 1.0) < 1e-2
