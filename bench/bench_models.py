"""The benchmark's models: the ResNet-18-like and MobileNetV2-like fp32 networks of tools/model_zoo.py, built once
into <models_dir>/bench/, and the real PP-OCR models fetched by tools/fetch_models.py."""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))

from fetch_models import fetch  # noqa: E402
from model_zoo import build_mobilenetv2, build_resnet18  # noqa: E402


def available_models(models_dir: Path) -> dict[str, Path]:
    models = {}
    for name, build in [("resnet18_like", build_resnet18), ("mobilenetv2_like", build_mobilenetv2)]:
        path = models_dir / "bench" / f"{name}.onnx"
        if not path.exists():
            build(path)
        models[name] = path
    ppocr = fetch(models_dir)
    models["ppocr_v4_det"] = ppocr / "det.onnx"
    models["ppocr_v4_rec"] = ppocr / "rec.onnx"
    models["ppocr_cls"] = ppocr / "cls.onnx"
    return models
