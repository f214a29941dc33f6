"""Real networks quantized by the model-preparation helper from a few dozen inputs, run on the emulator, and compared
with their float outputs on held-out inputs. Issue 4 asks cosine >= 0.98. With quantized_algorithm='mmse'
(least-squared-error activation ranges) after the helper's folding of BatchNormalization, Conv scales and HardSwish
(docs/emulator.md, "Quantized models"), int8 alone keeps it on many inputs but not all (PP-OCR cls falls to 0.90 on
some lines); build(auto_hybrid=True) keeps the layers that need it in float and holds it on 24 held-out inputs. The
YOLO-style detector keeps it in int8 with min/max ('normal'). PP-OCRv4 det and the direction classifier calibrate on rendered text pages, as their users' data
looks; the YOLO-style detector (tools/model_zoo.py) on smooth random scenes. The detector is calibrated and run at
320x320 (it is fully convolutional) to keep the test short."""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
Image = pytest.importorskip("PIL.Image")
from PIL import ImageDraw, ImageFont  # noqa: E402

from fetch_models import fetch  # noqa: E402
from model_zoo import build_yolo_like  # noqa: E402

MODELS_DIR = Path(os.environ.get("EZRKNN_BUILD_DIR", REPO / "build" / "release")) / "models"
CALIBRATION = 24
WORDS = ("EZ RKNN Async PP-OCRv4 NPU Rockchip RK3588 invoice total 2026 quantized text line hello world "
         "receipt 17.50 EUR No. 0042 shipping address").split()


def _prep():
    spec = importlib.util.spec_from_file_location(
        "ezrknn_model_prep_quant_real", REPO / "python" / "ztu_somemodelruntime_ez_rknn_async" / "model_prep.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def text_page(seed: int, size: int = 640) -> np.ndarray:
    """Lines of dark words on a light page, random sizes and places: uint8 HWC RGB."""
    rng = np.random.default_rng(seed)
    page = Image.new("RGB", (size, size), tuple(int(v) for v in rng.integers(180, 256, 3)))
    draw = ImageDraw.Draw(page)
    y = int(rng.integers(10, 60))
    while y < size - 40:
        font_size = int(rng.integers(16, 48))
        line = " ".join(rng.choice(WORDS, int(rng.integers(1, 5))))
        draw.text((int(rng.integers(5, 200)), y), line, fill=tuple(int(v) for v in rng.integers(0, 90, 3)),
                  font=ImageFont.load_default(size=font_size))
        y += font_size + int(rng.integers(10, 80))
    return np.asarray(page)


def ocr_input(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resized to (height, width), PP-OCR's normalisation to [-1, 1], NCHW float32."""
    x = np.asarray(Image.fromarray(img).resize((width, height), Image.BILINEAR)).astype(np.float32) / 255.0
    return ((x - 0.5) / 0.5).transpose(2, 0, 1)[None].copy()


def scene(seed: int, size: int = 320) -> np.ndarray:
    """Smooth coloured blobs on a gradient with a little noise, in [0, 1]: a stand-in for photos."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    img = np.stack([0.3 + 0.4 * (xx * rng.random() + yy * rng.random()) for _ in range(3)])
    for _ in range(int(rng.integers(3, 8))):
        cy, cx, r = rng.random(), rng.random(), 0.05 + 0.2 * rng.random()
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
        img += blob[None] * (rng.random((3, 1, 1)) - 0.5)
    img += 0.03 * rng.standard_normal(img.shape)
    return np.clip(img, 0, 1).astype(np.float32)[None]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a.astype(np.float64).ravel()
    b = b.astype(np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def with_input_dims(model, dims):
    for d, v in zip(model.graph.input[0].type.tensor_type.shape.dim, dims):
        d.Clear()
        d.dim_value = v
    return model


def quantized_cosines(ez, float_model, make_input, tmp_path: Path, tests: int = 6, algorithm: str = "mmse",
                      dtype: str = "w8a8", auto_hybrid: bool = False, against_qdq: list = None) -> list:
    """Quantizes `float_model` (per-channel int8 weights, int8 activations, `algorithm`'s ranges; with
    `auto_hybrid`, the float layers the helper's search picks at its default threshold 0.98) from CALIBRATION
    inputs, runs the result on the emulator and returns the cosine of each held-out input's output against the float
    model's. `against_qdq`, if given, receives the cosine of each emulator output against onnxruntime's run of the
    same QDQ model."""
    prep = _prep()
    rknn = prep.RKNN()
    rknn.config(quantized_dtype=dtype, quantized_method="channel", quantized_algorithm=algorithm)
    rknn.load_onnx(float_model)
    assert rknn.build(do_quantization=True, dataset=[make_input(seed) for seed in range(CALIBRATION)],
                      auto_hybrid=auto_hybrid) == 0
    if auto_hybrid:
        print(f"auto_hybrid: {len(rknn.hybrid_nodes())} node(s) float, calibration worst "
              f"{min(rknn.accuracy_report().values()):.4f}")
    path = tmp_path / "quantized.rknn"
    rknn.export_rknn(path)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.log_severity_level = 3
    reference = ort.InferenceSession(float_model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    qdq = ort.InferenceSession(rknn._built.SerializeToString(), so, providers=["CPUExecutionProvider"])
    session = ez.InferenceSession(str(path), provider_options={"runtime": "emulator"})
    name = reference.get_inputs()[0].name
    cosines = []
    for seed in range(1000, 1000 + tests):
        x = make_input(seed)
        (want,) = reference.run(None, {name: x})[:1]
        got = session.run(None, {name: x})[0]
        cosines.append(cosine(got, want))
        if against_qdq is not None:
            against_qdq.append(cosine(got, qdq.run(None, {name: x})[0]))
    return cosines


@pytest.fixture(scope="module")
def ppocr_dir() -> Path:
    return fetch(MODELS_DIR)


def det_input(seed):
    return ocr_input(text_page(seed), 320, 320)


def cls_line(seed):  # one text line, as the classifier sees a detected box
    return ocr_input(text_page(seed)[40:140, :560], 48, 192)


@pytest.mark.parametrize("which", ["det", "cls"])
def test_ppocr_int8_on_the_emulator_is_onnxruntimes_qdq_model(ez, ppocr_dir, tmp_path, which):
    """int8 everywhere: the emulator's integer kernels give what onnxruntime gives for the same QDQ model. The
    deviations listed in docs/emulator.md are single steps (QLinearAdd ties: onnxruntime's own vector and tail
    loops round them differently), but cls amplifies a step as it amplifies quantization error, and its 2-class
    softmax more: 0.9958 on two of the six lines, against 0.99987 for det. Against the float model, int8 alone is not
    enough for every input (cls falls to 0.90 on some lines): the auto_hybrid tests below hold the 0.98."""
    model = onnx.load(str(ppocr_dir / f"{which}.onnx"))
    if which == "det":
        model = with_input_dims(model, [1, 3, 320, 320])
    agreement: list = []
    cosines = quantized_cosines(ez, model, det_input if which == "det" else cls_line, tmp_path,
                                against_qdq=agreement)
    print(f"PP-OCR {which} int8 vs float, cosine per input:", [round(c, 4) for c in cosines])
    print(f"PP-OCR {which} emulator vs onnxruntime (same QDQ model), lowest cosine: {min(agreement):.6f}")
    assert min(agreement) >= (0.999 if which == "det" else 0.99), agreement


@pytest.mark.parametrize("which", ["det", "cls"])
def test_ppocr_auto_hybrid_keeps_cosine_098_on_24_held_out_inputs(ez, ppocr_dir, tmp_path, which):
    """Issue 4's figure: int8 with the float layers auto_hybrid picks (threshold 0.98 on the 24 calibration inputs)
    keeps cosine >= 0.98 on 24 other inputs, run on the emulator. (The emulator runs the float layers as the NPU's
    float16 ones, from an fp16-rounded input when the first layers are float, so it is not onnxruntime's float32
    result step for step: the agreement is printed, not asserted.)"""
    model = onnx.load(str(ppocr_dir / f"{which}.onnx"))
    if which == "det":
        model = with_input_dims(model, [1, 3, 320, 320])
    agreement: list = []
    cosines = quantized_cosines(ez, model, det_input if which == "det" else cls_line, tmp_path, tests=24,
                                auto_hybrid=True, against_qdq=agreement)
    print(f"PP-OCR {which} auto_hybrid vs float, worst of 24: {min(cosines):.4f}; emulator vs onnxruntime "
          f"(same QDQ model) {min(agreement):.4f}")
    assert min(cosines) >= 0.98, cosines


def test_ppocr_cls_w16a16i_keeps_cosine_098_on_the_lines_int8_misses(ez, ppocr_dir, tmp_path):
    """int8 leaves some cls lines below 0.98 (docs/emulator.md: 0.90 on held-out seed 1023); toolkit2's w16a16i
    (int16 weights and activations, run by the emulator's 16-bit Q/DQ) keeps every one of 24 held-out lines."""
    model = onnx.load(str(ppocr_dir / "cls.onnx"))
    cosines = quantized_cosines(ez, model, cls_line, tmp_path, tests=24, algorithm="normal", dtype="w16a16i")
    print("PP-OCR cls w16a16i vs float, worst of 24:", round(min(cosines), 4))
    assert min(cosines) >= 0.98, cosines


def test_yolo_like_quantized_keeps_cosine_098(ez, tmp_path):
    model = onnx.load(str(build_yolo_like(tmp_path / "yolo_like.onnx")))
    cosines = quantized_cosines(ez, model, scene, tmp_path, algorithm="normal")
    print("YOLO-like int8 vs float, cosine per input:", [round(c, 4) for c in cosines])
    assert min(cosines) >= 0.98, cosines
