"""The Python examples run as a user runs them, so they cannot rot: each is a subprocess of this interpreter,
and its printed results are checked (the C and C++ examples run under ctest: examples/CMakeLists.txt)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("EZRKNN_BUILD_DIR", REPO / "build" / "release"))


def run_example(script: str, *args: str, tmp_path: Path) -> str:
    env = {**os.environ, "EZRKNN_RUNTIME": "emulator", "EZRKNN_BUILD_DIR": str(BUILD)}
    result = subprocess.run([sys.executable, str(REPO / "examples" / script), *args], capture_output=True,
                            text=True, timeout=300, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_demo_runs_the_conv_net_and_agrees_with_onnxruntime(tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    out = run_example("demo.py", "--model", str(tmp_path / "demo.onnx"), "--runs", "3", tmp_path=tmp_path)
    assert "providers: ['RknnExecutionProvider" in out
    assert re.search(r"top classes: #\d+ p=0\.\d+", out), out
    cosine = float(re.search(r"cosine ([0-9.]+)", out).group(1))
    assert cosine >= 0.999, out


def test_ocr_demo_reads_every_rendered_line(tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("PIL")
    sys.path.insert(0, str(REPO / "examples"))
    from ocr_demo import DEFAULT_LINES

    out = run_example("ocr_demo.py", tmp_path=tmp_path)
    read = re.findall(r"box \([0-9, ]+\): '([^']*)'", out)
    assert read == DEFAULT_LINES, out
