"""The ezrknn command line, run as a user would: `python -m ztu_somemodelruntime_ez_rknn_async.cli ...`."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

MODULE = "ztu_somemodelruntime_ez_rknn_async.cli"


def cli(*args, env_runtime="emulator"):
    env = dict(os.environ)
    if env_runtime:
        env["EZRKNN_RUNTIME"] = env_runtime
    return subprocess.run([sys.executable, "-m", MODULE, *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_info(convnet_model):
    result = cli("info", str(convnet_model))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "runtime:        emulator" in out
    assert "ezrknn emulator" in out
    assert "image: tensor(float16) [1, 3, 32, 32]" in out
    assert "probs: tensor(float16) [1, 10]" in out
    assert "custom string:  (none)" in out


def test_info_custom_string_and_layout(custom_string_model):
    result = cli("info", str(custom_string_model), "--layout", "nhwc", "--runtime", "emulator")
    assert result.returncode == 0, result.stderr
    assert "'RGB input, values in [0, 1]'" in result.stdout
    assert "image: tensor(float16) [1, 32, 32, 3]" in result.stdout


def test_run(multi_input_model):
    result = cli("run", str(multi_input_model), "--runs", "5")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "output d: float32 [1, 3, 8, 8]" in out
    assert "output e: float32 [2, 3]" in out
    assert "latency over 5 run(s): mean" in out and "p50" in out and "p90" in out


def test_run_int_model(int_input_model):
    result = cli("run", str(int_input_model), "--runs", "2")
    if result.returncode != 0 and "not supported" in result.stderr.lower():  # pragma: no cover
        pytest.skip(result.stderr)
    assert result.returncode == 0, result.stderr
    assert "input  x: int32 [2, 5] (random)" in result.stdout


@pytest.mark.parametrize("make_path", [
    lambda tmp: tmp / "missing.onnx",
    lambda tmp: tmp,
])
def test_bad_model_path_is_one_line_exit_2(tmp_path, make_path):
    path = make_path(tmp_path)
    for command in ("info", "run"):
        result = cli(command, str(path))
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("ezrknn: error: cannot open")
        assert str(path) in lines[0]


def test_bad_option_is_one_line_exit_2(convnet_model):
    result = cli("info", str(convnet_model), "--layout", "sideways")
    assert result.returncode == 2
    assert result.stderr.strip() == f"ezrknn: error: cannot open {convnet_model}: Unknown layout: sideways"


def test_bad_runs(convnet_model):
    result = cli("run", str(convnet_model), "--runs", "0")
    assert result.returncode == 2 and "--runs must be > 0" in result.stderr


def test_usage_without_command():
    result = cli()
    assert result.returncode == 2 and "usage: ezrknn" in result.stderr
