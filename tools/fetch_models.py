#!/usr/bin/env python3
"""Fetch the real PP-OCR models that the PyPI package rapidocr-onnxruntime ships in its wheel, and pin their dims.

The NPU runs static shapes, so each model's symbolic input dims are pinned (as rknn-toolkit2's input_size_list
would) and its symbolic output / intermediate shapes are dropped for the runtime to infer. Files land in
<out>/ppocr/{det,rec,cls}.onnx; the wheel is fetched once with `pip download` and cached in <out>/wheels/.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import zipfile
from pathlib import Path

WHEEL = "rapidocr-onnxruntime==1.4.4"
# wheel member → (output name, pinned input dims)
MODELS = {
    "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx": ("det.onnx", [1, 3, 640, 640]),
    "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx": ("rec.onnx", [1, 3, 48, 320]),
    "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx": ("cls.onnx", [1, 3, 48, 192]),
}


def pin_dims(data: bytes, dims: list[int]) -> bytes:
    import onnx

    model = onnx.load_from_string(data)
    graph = model.graph
    init_names = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in init_names]
    if len(inputs) != 1:
        raise SystemExit(f"expected one input, found {[i.name for i in inputs]}")
    shape = inputs[0].type.tensor_type.shape
    for d, value in zip(shape.dim, dims):
        d.Clear()
        d.dim_value = value
    for out in graph.output:  # unknown dims (neither value nor param): the runtime infers them
        for d in out.type.tensor_type.shape.dim:
            d.Clear()
    del graph.value_info[:]
    onnx.checker.check_model(model)
    return model.SerializeToString()


def fetch(out: Path) -> Path:
    target = out / "ppocr"
    names = [name for name, _ in MODELS.values()] + ["rec_characters.txt"]
    if all((target / n).exists() for n in names):
        return target
    wheels = out / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    found = sorted(wheels.glob("rapidocr_onnxruntime-1.4.4-*.whl"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--disable-pip-version-check",
                        WHEEL, "-d", str(wheels)], check=True)
        found = sorted(wheels.glob("rapidocr_onnxruntime-1.4.4-*.whl"))
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(found[0]) as wheel:
        for member, (name, dims) in MODELS.items():
            (target / name).write_bytes(pin_dims(wheel.read(member), dims))
        # The recognizer's character set travels in its metadata_props ("character", one per line).
        import onnx

        rec = onnx.load_from_string(wheel.read("rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx"))
        chars = next(p.value for p in rec.metadata_props if p.key == "character")
        (target / "rec_characters.txt").write_text(chars, encoding="utf-8")
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("build/release/models"))
    args = parser.parse_args()
    print(fetch(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
