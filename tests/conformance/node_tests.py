"""Discovery and classification of ONNX backend node tests: which ops a test uses, and whether its tensors can
travel through the RKNN ABI at all.

A test directory holds model.onnx and test_data_set_<k>/{input,output}_<i>.pb. A test is *covered* when every node
(subgraphs included) is a default-domain op of supported_ops.txt; a covered test is *skipped* when any tensor it
touches has a dtype the RKNN ABI cannot carry, or its graph inputs/outputs are not plain tensors.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import onnx

HERE = Path(__file__).resolve().parent
SUPPORTED_OPS_FILE = HERE / "supported_ops.txt"

# TensorProto.DataType values the RKNN ABI cannot carry, by name (onnx.proto numbering).
UNCARRIABLE_DTYPES = {
    8: "string",
    11: "float64",
    13: "uint64",
    14: "complex64",
    15: "complex128",
    16: "bfloat16",
    17: "float8e4m3fn",
    18: "float8e4m3fnuz",
    19: "float8e5m2",
    20: "float8e5m2fnuz",
    21: "uint4",
    22: "int4",
    23: "float4e2m1",
    24: "float8e8m0",
    25: "uint2",
    26: "int2",
}
# Attributes whose int value names the dtype of a tensor the node creates (Cast.to, EyeLike.dtype, ...).
DTYPE_ATTRIBUTES = ("to", "dtype", "output_dtype")

NON_TENSOR_IO = "sequence/optional/map IO"

# Operand slots that decide output shapes (or, for If, which branch exists). The NPU runs static shapes, so the
# emulator wants them constant at load time, as rknn-toolkit2 does; the backend tests often feed them as graph
# inputs. The runner pins such inputs: it turns them into initializers holding the test data's values.
SHAPE_OPERANDS = {
    "Reshape": {1}, "Expand": {1}, "ConstantOfShape": {0}, "Tile": {1}, "Slice": {1, 2, 3, 4}, "Pad": {1, 2, 3},
    "Resize": {1, 2, 3}, "Split": {1}, "Squeeze": {1}, "Unsqueeze": {1}, "ReduceSum": {1}, "ReduceMean": {1},
    "ReduceMax": {1}, "ReduceMin": {1}, "MaxUnpool": {2}, "If": {0},
}
# Ops whose output depends only on the static shape of their input, so tracing stops there.
SHAPE_ONLY_OPS = {"Shape", "Size", "EyeLike"}


def read_supported_ops(path: Path = SUPPORTED_OPS_FILE) -> set[str]:
    ops = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            ops.add(line)
    return ops


@dataclass
class NodeTest:
    name: str  # unique across sources: the directory name, prefixed by the source label for extra sources
    directory: Path
    ops: set[str] = field(default_factory=set)
    opset: int = 0
    skip_reason: str | None = None  # why the ABI cannot carry it ("float64", NON_TENSOR_IO, ...)
    n_inputs: int = 0  # graph inputs that are not initializers
    output_names: list[str] = field(default_factory=list)
    pinned: list[int] = field(default_factory=list)  # indices (among the n_inputs) of inputs to pin

    @property
    def model_path(self) -> Path:
        return self.directory / "model.onnx"

    def data_sets(self) -> list[Path]:
        return sorted((p for p in self.directory.glob("test_data_set_*") if p.is_dir()),
                      key=lambda p: int(re.sub(r"\D", "", p.name) or 0))


def wheel_node_dir() -> Path:
    return Path(onnx.__file__).resolve().parent / "backend" / "test" / "data" / "node"


DEBIAN_NODE_DIR = Path("/usr/share/libonnx-testdata/data/node")


def source_label(directory: Path) -> str:
    """A short prefix for test names from an extra source, so that they never collide with the wheel's."""
    if "libonnx-testdata" in str(directory):
        return "debian"
    parts = [p for p in directory.resolve().parts if p not in ("node", "data", "test", "backend", "/")]
    return parts[-1] if parts else "extra"


# --- model inspection -----------------------------------------------------------------------------------------------

def _graph_nodes(graph: onnx.GraphProto):
    for node in graph.node:
        yield node
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from _graph_nodes(attr.g)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for g in attr.graphs:
                    yield from _graph_nodes(g)


def _subgraphs(graph: onnx.GraphProto):
    yield graph
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from _subgraphs(attr.g)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for g in attr.graphs:
                    yield from _subgraphs(g)


def _type_dtypes(tp: onnx.TypeProto):
    """Element dtypes inside a TypeProto (tensor, sparse tensor, sequence, optional, map)."""
    kind = tp.WhichOneof("value")
    if kind in ("tensor_type", "sparse_tensor_type"):
        yield getattr(tp, kind).elem_type
    elif kind == "sequence_type":
        yield from _type_dtypes(tp.sequence_type.elem_type)
    elif kind == "optional_type":
        yield from _type_dtypes(tp.optional_type.elem_type)
    elif kind == "map_type":
        yield tp.map_type.key_type
        yield from _type_dtypes(tp.map_type.value_type)


def _model_dtypes(model: onnx.ModelProto):
    """Every dtype a tensor of the model has or is created with, shape-inferred intermediates included."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001 - an invalid model still runs (and fails) in the emulator
        inferred = model
    for graph in _subgraphs(inferred.graph):
        for vi in list(graph.input) + list(graph.output) + list(graph.value_info):
            yield from _type_dtypes(vi.type)
        for t in graph.initializer:
            yield t.data_type
        for t in graph.sparse_initializer:
            yield t.values.data_type
        for node in graph.node:
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.TENSOR:
                    yield attr.t.data_type
                elif attr.type == onnx.AttributeProto.TENSORS:
                    for t in attr.tensors:
                        yield t.data_type
                elif attr.type == onnx.AttributeProto.SPARSE_TENSOR:
                    yield attr.sparse_tensor.values.data_type
                elif attr.type == onnx.AttributeProto.INT and attr.name in DTYPE_ATTRIBUTES:
                    yield attr.i


def shape_operand_inputs(graph: onnx.GraphProto, candidates: list[str]) -> list[int]:
    """Indices of the candidate graph inputs from which a shape operand is computed (through any chain of nodes
    but Shape/Size/EyeLike, which only read the static shape)."""
    producer = {out: node for node in graph.node for out in node.output if out}
    wanted, stack = set(), []
    for node in graph.node:
        for slot in SHAPE_OPERANDS.get(node.op_type, ()):
            if slot < len(node.input) and node.input[slot]:
                stack.append(node.input[slot])
    while stack:
        name = stack.pop()
        if name in wanted:
            continue
        wanted.add(name)
        node = producer.get(name)
        if node is not None and node.op_type not in SHAPE_ONLY_OPS:
            stack.extend(i for i in node.input if i)
    return [i for i, name in enumerate(candidates) if name in wanted]


def _pb_dtype(path: Path) -> int:
    t = onnx.TensorProto()
    t.ParseFromString(path.read_bytes())
    return t.data_type


def classify(test: NodeTest, supported_ops: set[str]) -> bool:
    """Fills test.ops/opset/skip_reason/IO counts. Returns whether the test is covered (all ops supported)."""
    model = onnx.load(str(test.model_path), load_external_data=False)
    covered = True
    for node in _graph_nodes(model.graph):
        test.ops.add(node.op_type)
        if node.domain not in ("", "ai.onnx") or node.op_type not in supported_ops:
            covered = False
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            test.opset = imp.version
    if not covered:
        return False

    initializers = {t.name for t in model.graph.initializer}
    graph_inputs = [vi for vi in model.graph.input if vi.name not in initializers]
    test.n_inputs = len(graph_inputs)
    test.output_names = [vi.name for vi in model.graph.output]
    test.pinned = shape_operand_inputs(model.graph, [vi.name for vi in graph_inputs])
    for vi in graph_inputs + list(model.graph.output):
        if vi.type.WhichOneof("value") != "tensor_type":
            test.skip_reason = NON_TENSOR_IO
            return True

    bad = {UNCARRIABLE_DTYPES[d] for d in _model_dtypes(model) if d in UNCARRIABLE_DTYPES}
    for data_set in test.data_sets():
        for pb in sorted(data_set.glob("*.pb")):
            d = _pb_dtype(pb)
            if d in UNCARRIABLE_DTYPES:
                bad.add(UNCARRIABLE_DTYPES[d])
    if bad:
        test.skip_reason = ",".join(sorted(bad))
    return True


def discover(directories: list[Path], supported_ops: set[str]) -> tuple[list[NodeTest], int]:
    """Covered tests of every source, in name order; also returns how many tests were not covered."""
    tests, not_covered = [], 0
    for index, directory in enumerate(directories):
        prefix = "" if index == 0 else source_label(directory) + ":"
        for entry in sorted(os.listdir(directory)):
            path = directory / entry
            if not (path / "model.onnx").is_file():
                continue
            test = NodeTest(prefix + entry, path)
            if classify(test, supported_ops):
                tests.append(test)
            else:
                not_covered += 1
    return tests, not_covered
