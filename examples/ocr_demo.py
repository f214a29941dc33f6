#!/usr/bin/env python3
"""OCR on the emulated NPU: PP-OCRv4 text detection, then recognition, through InferenceSession.

Renders a picture with a few lines of text (or reads --image), finds the text lines with the detection model
(a DB probability map, thresholded into connected regions), crops each line, reads it with the recognition
model (CTC, greedy decoding over the model's own character set), and prints what it found with the time each
stage took. The models are the ones rapidocr-onnxruntime ships in its wheel (tools/fetch_models.py).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))

import ztu_somemodelruntime_ez_rknn_async as ezrknn  # noqa: E402
from fetch_models import fetch  # noqa: E402

DET_SIZE = 640
REC_HEIGHT, REC_WIDTH = 48, 320
DEFAULT_LINES = ["EZ RKNN Async", "PP-OCRv4 on an NPU", "Rockchip RK3588 2026"]


def render(lines: list[str]) -> np.ndarray:
    """Black text on a white 640x640 RGB canvas, as uint8 HWC."""
    from PIL import Image, ImageDraw, ImageFont

    canvas = Image.new("RGB", (DET_SIZE, DET_SIZE), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=36)
    y = 120
    for line in lines:
        draw.text((40, y), line, fill="black", font=font)
        y += 110
    return np.asarray(canvas)


def normalize(img: np.ndarray) -> np.ndarray:
    """uint8 HWC → float32 NCHW in [-1, 1], PP-OCR's preprocessing."""
    x = img.astype(np.float32) / 255.0
    return ((x - 0.5) / 0.5).transpose(2, 0, 1)[None].copy()


def regions(mask: np.ndarray, min_area: int = 40) -> list[tuple[int, int, int, int]]:
    """Bounding boxes (x0, y0, x1, y1) of the 4-connected regions of a boolean mask."""
    h, w = mask.shape
    seen = np.zeros_like(mask, dtype=bool)
    boxes = []
    for sy, sx in zip(*np.nonzero(mask)):
        if seen[sy, sx]:
            continue
        stack = [(sy, sx)]
        seen[sy, sx] = True
        ys, xs = [], []
        while stack:
            y, x = stack.pop()
            ys.append(y)
            xs.append(x)
            for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= ny < h and 0 <= nx < w and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
        if len(ys) >= min_area:
            boxes.append((int(min(xs)), int(min(ys)), int(max(xs)) + 1, int(max(ys)) + 1))
    return sorted(boxes, key=lambda b: (b[1], b[0]))


def expand(box, shape, ratio=1.5):
    """DB's unclip: the shrunk text kernel grows back by area * ratio / perimeter on each side."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    d = int(round(w * h * ratio / (2 * (w + h))))
    return max(0, x0 - d), max(0, y0 - d), min(shape[1], x1 + d), min(shape[0], y1 + d)


def crop_for_recognition(img: np.ndarray, box) -> np.ndarray:
    """Resize the line to height 48 keeping its aspect, pad to 320 wide, normalise."""
    from PIL import Image

    x0, y0, x1, y1 = box
    line = Image.fromarray(img[y0:y1, x0:x1])
    width = min(REC_WIDTH, max(1, int(round(line.width * REC_HEIGHT / line.height))))
    line = np.asarray(line.resize((width, REC_HEIGHT), Image.BILINEAR))
    x = normalize(line)
    padded = np.zeros((1, 3, REC_HEIGHT, REC_WIDTH), np.float32)
    padded[..., :width] = x
    return padded


def ctc_decode(probs: np.ndarray, charset: list[str]) -> tuple[str, float]:
    """Greedy CTC: best class per step, repeats merged, blanks (class 0) dropped."""
    best = probs.argmax(axis=-1)
    text, scores, prev = [], [], 0
    for t, c in enumerate(best):
        if c != 0 and c != prev:
            text.append(charset[c] if c < len(charset) else "?")
            scores.append(probs[t, c])
        prev = c
    return "".join(text), float(np.mean(scores)) if scores else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", type=Path, help="an RGB picture to read (default: render DEFAULT_LINES)")
    parser.add_argument("--models-dir", type=Path,
                        default=Path(os.environ.get("EZRKNN_BUILD_DIR", REPO / "build" / "release")) / "models")
    args = parser.parse_args()

    ppocr = fetch(args.models_dir)
    # index 0 is the CTC blank; the model's character set follows, then the space PP-OCR appends
    charset = ["<blank>"] + (ppocr / "rec_characters.txt").read_text(encoding="utf-8").splitlines() + [" "]

    if args.image:
        from PIL import Image

        img = np.asarray(Image.open(args.image).convert("RGB").resize((DET_SIZE, DET_SIZE)))
        print(f"reading {args.image}")
    else:
        img = render(DEFAULT_LINES)
        print("rendered a 640x640 picture with the lines: " + " | ".join(DEFAULT_LINES))

    t = time.perf_counter()
    det = ezrknn.InferenceSession(str(ppocr / "det.onnx"))
    rec = ezrknn.InferenceSession(str(ppocr / "rec.onnx"))
    print(f"loaded PP-OCRv4 det + rec in {(time.perf_counter() - t) * 1e3:.0f} ms on {det.get_providers()[0]}")

    t = time.perf_counter()
    (prob_map,) = det.run(None, {det.get_inputs()[0].name: normalize(img)})
    det_ms = (time.perf_counter() - t) * 1e3
    boxes = [expand(b, img.shape) for b in regions(prob_map[0, 0] > 0.3)]
    print(f"detection: {len(boxes)} text regions in {det_ms:.0f} ms")

    rec_name = rec.get_inputs()[0].name
    for box in boxes:
        t = time.perf_counter()
        (probs,) = rec.run(None, {rec_name: crop_for_recognition(img, box)})
        text, score = ctc_decode(probs[0], charset)
        print(f"  box {box}: {text!r} (score {score:.3f}, {(time.perf_counter() - t) * 1e3:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
