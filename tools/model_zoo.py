"""Test and benchmark networks built with onnx.helper: a ResNet-18-like and a MobileNetV2-like classifier at
224x224, and a YOLO-style detector (CSP blocks, SiLU, SPPF, nearest upsampling, concat, a decode head).

Weights come from fixed seeds, so every build of a model is the same file. The classifiers have BatchNormalization
folded into their convolutions, as exporters do; the detector keeps a few BatchNormalization nodes unfolded.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


class GraphBuilder:
    """Appends nodes and initializers with generated names; `save` checks and writes the model."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.inits = []
        self.count = 0

    def name(self, kind: str) -> str:
        self.count += 1
        return f"{kind}_{self.count}"

    def tensor(self, value: np.ndarray, kind: str = "c") -> str:
        from onnx import numpy_helper

        name = self.name(kind)
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def weight(self, shape, fan_in) -> str:
        return self.tensor((self.rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32), "w")

    def node(self, op: str, inputs, outputs: int = 1, **attrs):
        from onnx import helper

        names = [self.name(op.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op, list(inputs), names, name=names[0], **attrs))
        return names[0] if outputs == 1 else names

    def conv(self, x, cin, cout, k, stride=1, group=1, act="relu", batch_norm=False):
        w = self.weight((cout, cin // group, k, k), cin // group * k * k)
        inputs = [x, w] if batch_norm else [x, w, self.weight((cout,), 1000.0)]
        y = self.node("Conv", inputs, kernel_shape=[k, k], strides=[stride, stride], pads=[k // 2] * 4, group=group)
        if batch_norm:
            scale = self.tensor((1.0 + 0.1 * self.rng.standard_normal(cout)).astype(np.float32))
            bias = self.tensor((0.1 * self.rng.standard_normal(cout)).astype(np.float32))
            mean = self.tensor((0.1 * self.rng.standard_normal(cout)).astype(np.float32))
            var = self.tensor((1.0 + 0.2 * self.rng.random(cout)).astype(np.float32))
            y = self.node("BatchNormalization", [y, scale, bias, mean, var], epsilon=1e-3)
        if act == "relu":
            y = self.node("Relu", [y])
        elif act == "relu6":
            y = self.node("Clip", [y, self.tensor(np.float32(0.0)), self.tensor(np.float32(6.0))])
        elif act == "silu":
            y = self.node("Mul", [y, self.node("Sigmoid", [y])])
        return y

    def classifier_head(self, x, cin, classes=1000):
        x = self.node("Flatten", [self.node("GlobalAveragePool", [x])], axis=1)
        return self.node("Gemm", [x, self.weight((classes, cin), cin), self.weight((classes,), 1000.0)], transB=1)

    def save(self, path: Path, graph_name: str, inputs, outputs, opset: int = 13) -> Path:
        import onnx
        from onnx import helper

        graph = helper.make_graph(self.nodes, graph_name, inputs, outputs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="ezrknn")
        model.ir_version = 8
        onnx.checker.check_model(model)
        path.parent.mkdir(parents=True, exist_ok=True)
        onnx.save(model, str(path))
        return path


def _image_io(out: str, classes: int = 1000):
    from onnx import TensorProto, helper

    return ([helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 224, 224])],
            [helper.make_tensor_value_info(out, TensorProto.FLOAT, [1, classes])])


def build_resnet18(path: Path) -> Path:
    b = GraphBuilder(18)
    x = b.conv("input", 3, 64, 7, stride=2)
    x = b.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = 64
    for cout, stride in [(64, 1), (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1)]:
        h = b.conv(b.conv(x, cin, cout, 3, stride=stride), cout, cout, 3, act=None)
        shortcut = x if (stride == 1 and cin == cout) else b.conv(x, cin, cout, 1, stride=stride, act=None)
        x = b.node("Relu", [b.node("Add", [h, shortcut])])
        cin = cout
    out = b.classifier_head(x, 512)
    return b.save(path, "resnet18_like", *_image_io(out))


def build_mobilenetv2(path: Path) -> Path:
    b = GraphBuilder(2)
    x = b.conv("input", 3, 32, 3, stride=2, act="relu6")
    cin = 32
    # (expansion, output channels, repeats, first stride), as in MobileNetV2
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
    out = b.classifier_head(b.conv(x, cin, 1280, 1, act="relu6"), 1280)
    return b.save(path, "mobilenetv2_like", *_image_io(out))


YOLO_INPUT = 320
YOLO_CLASSES = 4
YOLO_ANCHORS = {8: [(10, 13), (16, 30), (33, 23)], 16: [(30, 61), (62, 45), (59, 119)]}


def build_yolo_like(path: Path) -> Path:
    """Input "images" [1,3,320,320]; output "detections" [1, 3*(40*40+20*20), 5+classes] with boxes decoded to
    pixels (cx, cy, w, h), objectness and class scores, as a YOLOv5 export with its Detect head."""
    from onnx import TensorProto, helper

    b = GraphBuilder(5)
    f32 = np.float32

    def cbs(x, cin, cout, k, stride=1, bn=False):
        return b.conv(x, cin, cout, k, stride=stride, act="silu", batch_norm=bn)

    def c3(x, cin, cout, shortcut=True):
        hidden = cout // 2
        a = cbs(x, cin, hidden, 1)
        h = cbs(cbs(a, hidden, hidden, 1), hidden, hidden, 3)
        a = b.node("Add", [a, h]) if shortcut else h
        return cbs(b.node("Concat", [a, cbs(x, cin, hidden, 1)], axis=1), 2 * hidden, cout, 1)

    def upsample(x):
        scales = b.tensor(np.array([1, 1, 2, 2], f32))
        return b.node("Resize", [x, "", scales], mode="nearest")

    x = cbs("images", 3, 16, 3, stride=2, bn=True)  # 160
    x = c3(cbs(x, 16, 32, 3, stride=2, bn=True), 32, 32)  # 80
    p3 = c3(cbs(x, 32, 64, 3, stride=2), 64, 64)  # 40
    p4 = c3(cbs(p3, 64, 128, 3, stride=2), 128, 128)  # 20
    # SPPF: three chained 5x5 max pools, concatenated
    s = cbs(p4, 128, 64, 1)
    m1 = b.node("MaxPool", [s], kernel_shape=[5, 5], pads=[2, 2, 2, 2])
    m2 = b.node("MaxPool", [m1], kernel_shape=[5, 5], pads=[2, 2, 2, 2])
    m3 = b.node("MaxPool", [m2], kernel_shape=[5, 5], pads=[2, 2, 2, 2])
    p4 = cbs(b.node("Concat", [s, m1, m2, m3], axis=1), 256, 128, 1)
    # neck: top-down path
    n4 = cbs(p4, 128, 64, 1)
    n3 = c3(b.node("Concat", [upsample(n4), p3], axis=1), 128, 64, shortcut=False)
    n4 = c3(b.node("Concat", [cbs(n3, 64, 64, 3, stride=2), n4], axis=1), 128, 128, shortcut=False)

    outputs_per_anchor = 5 + YOLO_CLASSES
    decoded = []
    for feat, cin, stride in [(n3, 64, 8), (n4, 128, 16)]:
        side = YOLO_INPUT // stride
        na = len(YOLO_ANCHORS[stride])
        y = b.conv(feat, cin, na * outputs_per_anchor, 1, act=None)
        y = b.node("Reshape", [y, b.tensor(np.array([1, na, outputs_per_anchor, side, side], np.int64))])
        y = b.node("Sigmoid", [b.node("Transpose", [y], perm=[0, 1, 3, 4, 2])])  # [1, na, side, side, 5+nc]
        gy, gx = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
        grid = (np.stack([gx, gy], -1)[None, None] - 0.5).astype(f32)  # [1,1,side,side,2]
        anchors = np.array(YOLO_ANCHORS[stride], f32).reshape(1, na, 1, 1, 2)

        def part(lo, hi):
            return b.node("Slice", [y, b.tensor(np.array([lo], np.int64)), b.tensor(np.array([hi], np.int64)),
                                    b.tensor(np.array([4], np.int64))])

        xy = b.node("Mul", [b.node("Add", [b.node("Mul", [part(0, 2), b.tensor(f32(2.0))]), b.tensor(grid)]),
                            b.tensor(f32(stride))])
        wh = b.node("Mul", [b.node("Pow", [b.node("Mul", [part(2, 4), b.tensor(f32(2.0))]), b.tensor(f32(2.0))]),
                            b.tensor(anchors)])
        y = b.node("Concat", [xy, wh, part(4, outputs_per_anchor)], axis=4)
        decoded.append(b.node("Reshape", [y, b.tensor(np.array([1, -1, outputs_per_anchor], np.int64))]))
    out = b.node("Concat", decoded, axis=1)
    b.nodes[-1].output[0] = "detections"
    boxes = 3 * ((YOLO_INPUT // 8) ** 2 + (YOLO_INPUT // 16) ** 2)
    return b.save(path, "yolo_like",
                  [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, YOLO_INPUT, YOLO_INPUT])],
                  [helper.make_tensor_value_info("detections", TensorProto.FLOAT, [1, boxes, outputs_per_anchor])])
