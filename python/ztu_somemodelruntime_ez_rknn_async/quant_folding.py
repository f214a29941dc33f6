"""Graph folding before int8 quantization, as rknn-toolkit2 does when it builds: BatchNormalization and per-channel
affine Mul/Add after a Conv go into the Conv's weights and bias, and the exported HardSwish
``x * Clip(x + 3, 0, 6) / 6`` becomes one HardSwish node. Each removes a tensor that would otherwise get its own
int8 range although the NPU never stores it: PP-OCR's exporters leave BatchNormalization unfused (cls) and scale
every Conv by learnable scalars (PP-LCNetV3 in det), and the HardSwish product before ``/ 6`` spans six times the
output's range, so quantizing it costs most of the output's precision."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import numpy as np

_CONVS = ("Conv", "ConvTranspose")


def _key(node: Any) -> tuple:
    """A node's identity: its outputs, unique in a graph (SSA). Not id(): protobuf message wrappers are not
    guaranteed to be the same Python object each time a node is read."""
    return tuple(node.output)


class _Graph:
    """Indexes of one GraphProto: producers, readers, initializers as arrays."""

    def __init__(self, graph: Any):
        from onnx import numpy_helper

        self.graph = graph
        self.inits = {t.name: t for t in graph.initializer}
        self.arrays: Dict[str, np.ndarray] = {}
        self._np = numpy_helper
        self.producer = {o: n for n in graph.node for o in n.output}
        self.readers: Dict[str, List[Any]] = {}
        for n in graph.node:
            for x in n.input:
                self.readers.setdefault(x, []).append(n)
        self.outputs = {o.name for o in graph.output}

    def const(self, name: str) -> Optional[np.ndarray]:
        if name not in self.inits:
            return None
        if name not in self.arrays:
            self.arrays[name] = self._np.to_array(self.inits[name])
        return self.arrays[name]

    def only_reader(self, name: str, node: Any) -> bool:
        return name not in self.outputs and [_key(n) for n in self.readers.get(name, [])] == [_key(node)]

    def add_init(self, name: str, value: np.ndarray) -> str:
        tensor = self._np.from_array(np.ascontiguousarray(value), name)
        self.graph.initializer.append(tensor)
        self.inits[name] = tensor
        self.arrays[name] = value
        return name


def fold_for_quantization(model: Any) -> Any:
    """A copy of `model` with the folds above applied; the float results stay the same up to rounding."""
    import onnx

    out = onnx.ModelProto()
    out.CopyFrom(model)
    g = _Graph(out.graph)
    for node in list(out.graph.node):
        if _fold_into_conv(g, node):
            out.graph.node.remove(node)
            g = _Graph(out.graph)  # the Conv now writes the folded node's output
    removed: set = set()
    hardswish = 0
    for node in list(out.graph.node):
        x = _hardswish_input(g, node)
        if x is not None:  # the Div becomes the HardSwish: it stays after x's writer and before its readers
            mul = g.producer[node.input[0]]
            clip = next(g.producer[t] for t in mul.input if t != x)
            removed.update(_key(n) for n in (mul, clip, g.producer[clip.input[0]]))
            node.op_type = "HardSwish"
            del node.input[:]
            node.input.append(x)
            hardswish += 1
    kept = [n for n in out.graph.node if _key(n) not in removed]
    del out.graph.node[:]
    out.graph.node.extend(kept)
    if hardswish:  # HardSwish is an opset 14 op
        for o in out.opset_import:
            if o.domain in ("", "ai.onnx") and o.version < 14:
                o.version = 14
    used = _read_names(out.graph) | g.outputs | {i.name for i in out.graph.input}
    kept_inits = [t for t in out.graph.initializer if t.name in used]
    del out.graph.initializer[:]
    out.graph.initializer.extend(kept_inits)
    return out


def _read_names(graph: Any) -> set:
    """Every tensor name a node of `graph` or of its subgraphs (If / Loop bodies, which may read outer weights)
    reads."""
    names = set()
    for node in graph.node:
        names.update(node.input)
        for attr in node.attribute:
            for sub in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
                names |= _read_names(sub)
    return names


def _channel_vector(value: np.ndarray, channels: int) -> Optional[np.ndarray]:
    """`value` as one factor per output channel of an NCHW tensor, or None if it varies along another axis."""
    if value.dtype != np.float32:
        return None
    if value.size == 1:
        return np.full(channels, value.reshape(()), np.float32)
    if value.ndim >= 3 and value.shape[-3] == channels and value.size == channels:
        return value.reshape(channels)
    return None


def _fold_into_conv(g: _Graph, node: Any) -> bool:
    """Folds `node` (BatchNormalization, or Mul/Add by a constant) into the Conv that is its input's only writer."""
    if node.op_type not in ("BatchNormalization", "Mul", "Add") or not node.input:
        return False
    data = node.input[0]
    if node.op_type in ("Mul", "Add"):
        if len(node.input) != 2:
            return False
        data, other = (node.input[0], node.input[1]) if g.const(node.input[1]) is not None \
            else (node.input[1], node.input[0])
        if g.const(other) is None:
            return False
    conv = g.producer.get(data)
    if conv is None or conv.op_type not in _CONVS or not g.only_reader(data, node):
        return False
    weight = g.const(conv.input[1]) if len(conv.input) > 1 else None
    if weight is None or weight.dtype != np.float32 or weight.ndim < 3:
        return False
    group = next((a.i for a in conv.attribute if a.name == "group"), 1)
    transposed = conv.op_type == "ConvTranspose"
    if transposed and group != 1:
        return False
    channels = weight.shape[1] if transposed else weight.shape[0]
    bias = g.const(conv.input[2]) if len(conv.input) > 2 and conv.input[2] else np.zeros(channels, np.float32)
    if bias is None:
        return False
    if node.op_type == "BatchNormalization":
        if len(node.output) != 1 or len(node.input) != 5:
            return False
        params = [g.const(x) for x in node.input[1:]]
        if any(p is None or p.shape != (channels,) for p in params):
            return False
        gamma, beta, mean, var = (p.astype(np.float64) for p in params)
        eps = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-5)
        scale = gamma / np.sqrt(var + eps)
        shift = beta - mean * scale
    else:
        vec = _channel_vector(g.const(other), channels)
        if vec is None:
            return False
        scale = vec.astype(np.float64) if node.op_type == "Mul" else np.ones(channels)
        shift = np.zeros(channels) if node.op_type == "Mul" else vec.astype(np.float64)
    shape = [1, channels] if transposed else [channels]
    shape += [1] * (weight.ndim - len(shape))
    new_w = (weight.astype(np.float64) * scale.reshape(shape)).astype(np.float32)
    new_b = (bias.astype(np.float64) * scale + shift).astype(np.float32)
    stem = node.output[0]
    inputs = [conv.input[0], g.add_init(stem + "_folded_weight", new_w), g.add_init(stem + "_folded_bias", new_b)]
    del conv.input[:]
    conv.input.extend(inputs)
    conv.output[0] = node.output[0]
    return True


def _hardswish_input(g: _Graph, div: Any) -> Optional[str]:
    """x if `div` ends the export x * Clip(x + 3, 0, 6) / 6 of HardSwish, each step read only by the next."""
    def scalar(name: str, value: float) -> bool:
        c = g.const(name)
        return c is not None and c.size == 1 and abs(float(c.reshape(())) - value) < 1e-6

    if div.op_type != "Div" or len(div.input) != 2 or not scalar(div.input[1], 6.0):
        return None
    mul = g.producer.get(div.input[0])
    if mul is None or mul.op_type != "Mul" or len(mul.input) != 2 or not g.only_reader(div.input[0], div):
        return None
    for clip_in, x in ((mul.input[0], mul.input[1]), (mul.input[1], mul.input[0])):
        clip = g.producer.get(clip_in)
        if clip is None or clip.op_type != "Clip" or len(clip.input) != 3 or not g.only_reader(clip_in, mul):
            continue
        if not (scalar(clip.input[1], 0.0) and scalar(clip.input[2], 6.0)):
            continue
        add = g.producer.get(clip.input[0])
        if add is None or add.op_type != "Add" or not g.only_reader(clip.input[0], clip):
            continue
        if len(add.input) == 2 and x in add.input and any(scalar(i, 3.0) for i in add.input if i != x):
            return x
    return None
