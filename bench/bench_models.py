"""The benchmark's models: a ResNet-18-like and a MobileNetV2-like fp32 network at 224x224 built with onnx.helper
(weights from a fixed seed, BatchNormalization already folded into the convolutions as exporters do), and the
real PP-OCR models fetched by tools/fetch_models.py."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


class _Builder:
    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.inits = []
        self.n = 0

    def _name(self, kind: str) -> str:
        self.n += 1
        return f"{kind}{self.n}"

    def weight(self, shape, fan_in):
        from onnx import numpy_helper

        name = self._name("w")
        data = (self.rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        self.inits.append(numpy_helper.from_array(data, name))
        return name

    def node(self, op, inputs, **attrs):
        from onnx import helper

        out = self._name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def conv(self, x, cin, cout, k, stride=1, group=1, act="relu"):
        w = self.weight((cout, cin // group, k, k), cin // group * k * k)
        b = self.weight((cout,), 1000.0)
        y = self.node("Conv", [x, w, b], kernel_shape=[k, k], strides=[stride, stride], pads=[k // 2] * 4,
                      group=group)
        if act == "relu":
            y = self.node("Relu", [y])
        elif act == "relu6":
            y = self.node("Clip", [y, self.const(0.0), self.const(6.0)])
        return y

    def const(self, value: float) -> str:
        from onnx import numpy_helper

        name = self._name("c")
        self.inits.append(numpy_helper.from_array(np.array(value, np.float32), name))
        return name

    def head(self, x, cin, classes=1000):
        x = self.node("GlobalAveragePool", [x])
        x = self.node("Flatten", [x], axis=1)
        return self.node("Gemm", [x, self.weight((classes, cin), cin), self.weight((classes,), 1000.0)], transB=1)

    def save(self, out: str, path: Path, name: str):
        import onnx
        from onnx import TensorProto, helper

        graph = helper.make_graph(self.nodes, name,
                                  [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 224, 224])],
                                  [helper.make_tensor_value_info(out, TensorProto.FLOAT, [1, 1000])], self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="ezrknn-bench")
        model.ir_version = 8
        onnx.checker.check_model(model)
        path.parent.mkdir(parents=True, exist_ok=True)
        onnx.save(model, str(path))


def build_resnet18(path: Path) -> None:
    b = _Builder(18)
    x = b.conv("input", 3, 64, 7, stride=2)
    x = b.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = 64
    for cout, stride in [(64, 1), (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1)]:
        h = b.conv(x, cin, cout, 3, stride=stride)
        h = b.conv(h, cout, cout, 3, act=None)
        shortcut = x if (stride == 1 and cin == cout) else b.conv(x, cin, cout, 1, stride=stride, act=None)
        x = b.node("Relu", [b.node("Add", [h, shortcut])])
        cin = cout
    b.save(b.head(x, 512), path, "resnet18_like")


def build_mobilenetv2(path: Path) -> None:
    b = _Builder(2)
    x = b.conv("input", 3, 32, 3, stride=2, act="relu6")
    cin = 32
    # (expansion, out channels, repeats, first stride), as in MobileNetV2
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                       (6, 320, 1, 1)]:
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = cin * t
            h = b.conv(x, cin, hidden, 1, act="relu6") if t != 1 else x
            h = b.conv(h, hidden, hidden, 3, stride=stride, group=hidden, act="relu6")
            h = b.conv(h, hidden, c, 1, act=None)
            x = b.node("Add", [x, h]) if (stride == 1 and cin == c) else h
            cin = c
    x = b.conv(x, cin, 1280, 1, act="relu6")
    b.save(b.head(x, 1280), path, "mobilenetv2_like")


def available_models(models_dir: Path) -> dict[str, Path]:
    """Builds the synthetic models if missing and adds the PP-OCR ones (fetched once)."""
    models = {}
    for name, build in [("resnet18_like", build_resnet18), ("mobilenetv2_like", build_mobilenetv2)]:
        path = models_dir / "bench" / f"{name}.onnx"
        if not path.exists():
            build(path)
        models[name] = path
    sys.path.insert(0, str(REPO / "tools"))
    from fetch_models import fetch

    ppocr = fetch(models_dir)
    for name in ["det", "rec", "cls"]:
        models["ppocr_cls" if name == "cls" else f"ppocr_v4_{name}"] = ppocr / f"{name}.onnx"
    return models
