"""Cross-check of the emulator's own ONNX reader (emu/graph/onnx_reader.cpp) against the `onnx` package.

`onnx_dump` prints what the C++ reader sees in a file; `dump_model` / `dump_tensor` below print what
`onnx.load` sees, in the same canonical text. Every backend node test model of the installed onnx wheel (and every
TensorProto input/output file of those tests), plus models built here with onnx.helper, must dump identically.
"""

from __future__ import annotations

import os
import pathlib
import struct
import subprocess
import zlib

import pytest

onnx = pytest.importorskip("onnx")
np = pytest.importorskip("numpy")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD_DIR = pathlib.Path(os.environ.get("EZRKNN_BUILD_DIR", REPO / "build" / "release"))
ONNX_DUMP = BUILD_DIR / "bin" / "onnx_dump"
NODE_DATA = pathlib.Path(onnx.__file__).parent / "backend" / "test" / "data" / "node"

pytestmark = pytest.mark.skipif(
    not ONNX_DUMP.is_file(),
    reason=f"onnx_dump is not built at {ONNX_DUMP} (build target onnx_dump, or set EZRKNN_BUILD_DIR)",
)


# --- the canonical dump, from onnx's own parse ---------------------------------------------------------------


def q(value) -> str:
    data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return '"' + "".join(chr(b) if 0x20 <= b < 0x7F and b not in (0x22, 0x5C) else f"\\x{b:02x}" for b in data) + '"'


def f32bits(x: float) -> str:
    return f"{struct.unpack('<I', struct.pack('<f', x))[0]:08x}"


# Dense little-endian layout of each int32_data element, by data_type: onnx.proto's rule, restated with numpy.
_INT32_DATA_LAYOUT = {
    TensorProto.INT32: "<i4",
    TensorProto.INT16: "<i2",
    TensorProto.UINT16: "<u2",
    TensorProto.FLOAT16: "<u2",
    TensorProto.BFLOAT16: "<u2",
    TensorProto.INT8: "i1",
    TensorProto.UINT8: "u1",
    TensorProto.BOOL: "u1",
    **{dt: "u1" for dt in range(17, 27)},  # float8/float4/int4/int2 families: one byte per int32_data entry
}


def payload(t: TensorProto) -> bytes:
    if t.HasField("raw_data"):
        return t.raw_data
    if len(t.float_data):
        return np.asarray(t.float_data, dtype="<f4").tobytes()
    if len(t.int32_data):
        return np.asarray(t.int32_data, dtype=np.int64).astype(_INT32_DATA_LAYOUT[t.data_type]).tobytes()
    if len(t.int64_data):
        return np.asarray(t.int64_data, dtype="<i8").tobytes()
    if len(t.double_data):
        return np.asarray(t.double_data, dtype="<f8").tobytes()
    if len(t.uint64_data):
        layout = "<u4" if t.data_type == TensorProto.UINT32 else "<u8"
        return np.asarray(t.uint64_data, dtype=np.uint64).astype(layout).tobytes()
    return b""


def tensor_line(t: TensorProto) -> str:
    external = t.data_location == TensorProto.EXTERNAL
    s = f"{q(t.name)} dtype={t.data_type} dims=[{','.join(str(d) for d in t.dims)}] external={int(external)}"
    s += "".join(f" ext:{q(e.key)}={q(e.value)}" for e in t.external_data)
    if t.data_type == TensorProto.STRING:
        crc = 0
        for item in t.string_data:
            crc = zlib.crc32(item, zlib.crc32(struct.pack("<I", len(item)), crc))
        return s + f" strings={len(t.string_data)} crc={crc:08x}"
    data = b"" if external else payload(t)
    return s + f" bytes={len(data)} crc={zlib.crc32(data):08x}"


def value_info_line(v) -> str:
    is_tensor = v.type.WhichOneof("value") == "tensor_type"
    tt = v.type.tensor_type
    s = f"{q(v.name)} tensor={int(is_tensor)} elem={tt.elem_type if is_tensor else 0}"
    if not (is_tensor and tt.HasField("shape")):
        return s + " shape=none"
    dims = []
    for d in tt.shape.dim:
        which = d.WhichOneof("value")
        param = d.dim_param if which == "dim_param" else ""
        value = d.dim_value if which == "dim_value" else -1
        dims.append(q(param) if param else "?" if value == -1 else str(value))
    return s + f" shape=[{','.join(dims)}]"


def attribute_lines(a, pad: str) -> list[str]:
    s = f"{pad}attr {q(a.name)} type={a.type}"
    if f32bits(a.f) != "00000000":
        s += f" f={f32bits(a.f)}"
    if a.i:
        s += f" i={a.i}"
    if a.s:
        s += f" s={q(a.s)}"
    if a.floats:
        s += f" floats=[{','.join(f32bits(x) for x in a.floats)}]"
    if a.ints:
        s += f" ints=[{','.join(str(x) for x in a.ints)}]"
    if a.strings:
        s += f" strings=[{','.join(q(x) for x in a.strings)}]"
    if a.ref_attr_name:
        s += f" ref={q(a.ref_attr_name)}"
    lines = [s]
    inner = pad + "  "
    if a.type == onnx.AttributeProto.TENSOR:
        lines.append(f"{inner}t {tensor_line(a.t)}")
    if a.type == onnx.AttributeProto.GRAPH:
        lines += graph_lines(a.g, inner) if a.HasField("g") else [f"{inner}graph none"]
    lines += [f"{inner}t {tensor_line(t)}" for t in a.tensors]
    for g in a.graphs:
        lines += graph_lines(g, inner)
    return lines


def graph_lines(g, pad: str) -> list[str]:
    inner = pad + "  "
    lines = [f"{pad}graph {q(g.name)}"]
    lines += [f"{inner}input {value_info_line(v)}" for v in g.input]
    lines += [f"{inner}output {value_info_line(v)}" for v in g.output]
    lines += [f"{inner}value_info {value_info_line(v)}" for v in g.value_info]
    lines += [f"{inner}initializer {tensor_line(t)}" for t in g.initializer]
    for n in g.node:
        ins = ",".join(q(x) for x in n.input)
        outs = ",".join(q(x) for x in n.output)
        lines.append(f"{inner}node {q(n.name)} op={q(n.op_type)} domain={q(n.domain)} in=[{ins}] out=[{outs}]")
        for a in n.attribute:
            lines += attribute_lines(a, inner + "  ")
    return lines


def dump_model(m) -> str:
    lines = [
        f"ir_version {m.ir_version}",
        f"producer {q(m.producer_name)} {q(m.producer_version)}",
        f"domain {q(m.domain)} model_version {m.model_version}",
        f"doc_string {q(m.doc_string)}",
    ]
    lines += [f"opset {q(o.domain)} {o.version}" for o in m.opset_import]
    lines += [f"metadata {q(p.key)} {q(p.value)}" for p in m.metadata_props]
    lines += graph_lines(m.graph, "")
    return "\n".join(lines) + "\n"


def dump_tensor(t: TensorProto) -> str:
    return f"tensor {tensor_line(t)}\n"


# --- running onnx_dump --------------------------------------------------------------------------------------


def run_onnx_dump(models: list[pathlib.Path], tensors: list[pathlib.Path] = ()) -> dict[str, str]:
    """Dumps every file in one process (paths fed on stdin); returns path -> dump text."""
    request = "\n".join(["--model", *map(str, models), "--tensor", *map(str, tensors)]) + "\n"
    proc = subprocess.run([str(ONNX_DUMP), "-"], input=request, capture_output=True, text=True,
                          encoding="utf-8", errors="surrogateescape", timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    dumps: dict[str, str] = {}
    current = None
    for line in proc.stdout.splitlines(keepends=True):
        if line.startswith("== "):
            current = line[3:].rstrip("\n")
            dumps[current] = ""
        else:
            dumps[current] += line
    return dumps


def assert_same_dump(path, expected: str, got: str) -> None:
    if expected == got:
        return
    exp_lines, got_lines = expected.splitlines(), got.splitlines()
    for i, (e, g) in enumerate(zip(exp_lines, got_lines)):
        if e != g:
            pytest.fail(f"{path}: first difference at line {i + 1}\n  onnx:     {e}\n  onnx_dump: {g}")
    pytest.fail(f"{path}: onnx has {len(exp_lines)} lines, onnx_dump {len(got_lines)}; "
                f"onnx_dump tail: {got_lines[len(exp_lines):][:3]}")


# --- the backend node tests ---------------------------------------------------------------------------------


def _tensor_files(model_dir: pathlib.Path, model) -> list[pathlib.Path]:
    """input_<i>.pb / output_<i>.pb files that hold a TensorProto (others hold sequences or optionals)."""
    files = []
    for kind, infos in (("input", model.graph.input), ("output", model.graph.output)):
        tensor_idx = {i for i, v in enumerate(infos) if v.type.WhichOneof("value") == "tensor_type"}
        for pb in sorted(model_dir.glob(f"test_data_set_*/{kind}_*.pb")):
            if int(pb.stem.split("_")[1]) in tensor_idx:
                files.append(pb)
    return files


NODE_MODELS = sorted(NODE_DATA.glob("*/model.onnx")) if NODE_DATA.is_dir() else []


@pytest.fixture(scope="module")
def node_dumps():
    loaded = {p: onnx.load(str(p), load_external_data=False) for p in NODE_MODELS}
    tensors = {p: _tensor_files(p.parent, m) for p, m in loaded.items()}
    dumps = run_onnx_dump(NODE_MODELS, [t for ts in tensors.values() for t in ts])
    return loaded, tensors, dumps


def test_node_test_data_is_present():
    assert len(NODE_MODELS) > 1000, f"expected the onnx wheel's backend node tests under {NODE_DATA}"


@pytest.mark.parametrize("model_path", NODE_MODELS, ids=lambda p: p.parent.name)
def test_node_model_matches_onnx(node_dumps, model_path):
    loaded, tensors, dumps = node_dumps
    assert_same_dump(model_path, dump_model(loaded[model_path]), dumps[str(model_path)])
    for pb in tensors[model_path]:
        assert_same_dump(pb, dump_tensor(onnx.load_tensor(str(pb))), dumps[str(pb)])


# --- models built here --------------------------------------------------------------------------------------


def _save(tmp_path, name, model, **kwargs) -> pathlib.Path:
    path = tmp_path / name
    onnx.save_model(model, str(path), **kwargs)
    return path


def _large_initializer_model():
    rng = np.random.default_rng(7)
    w = rng.standard_normal((1024, 1024)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
        "large",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 1024])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 1024])],
        initializer=[numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    helper.set_model_props(model, {"rknn.target_platform": "rk3588", "custom_string": "héllo \"q\"\n"})
    return model, w


TYPED_ARRAYS = {
    TensorProto.FLOAT: np.array([[1.5, -2.25, np.inf], [0.0, -0.0, 3e-40]], dtype=np.float32),
    TensorProto.UINT8: np.array([0, 1, 255], dtype=np.uint8),
    TensorProto.INT8: np.array([-128, -1, 0, 127], dtype=np.int8),
    TensorProto.UINT16: np.array([0, 65535, 300], dtype=np.uint16),
    TensorProto.INT16: np.array([-32768, -2, 32767], dtype=np.int16),
    TensorProto.INT32: np.array([-(2**31), -1, 2**31 - 1], dtype=np.int32),
    TensorProto.INT64: np.array([[-(2**63), -1], [2**63 - 1, 300]], dtype=np.int64),
    TensorProto.BOOL: np.array([True, False, True]),
    TensorProto.FLOAT16: np.array([1.0, -0.5, 65504.0, np.nan], dtype=np.float16),
    TensorProto.DOUBLE: np.array([1e300, -1e-300, 0.1], dtype=np.float64),
    TensorProto.UINT32: np.array([0, 2**32 - 1, 7], dtype=np.uint32),
    TensorProto.UINT64: np.array([0, 2**64 - 1, 9], dtype=np.uint64),
    TensorProto.COMPLEX64: np.array([1 + 2j, -3.5 - 0.25j], dtype=np.complex64),
}


def _typed_tensors():
    tensors = []
    for dt, arr in TYPED_ARRAYS.items():
        # raw=False puts values in float_data / int32_data / int64_data / ... instead of raw_data.
        vals = arr.flatten()
        if dt == TensorProto.COMPLEX64:
            vals = vals.tolist()
        tensors.append(helper.make_tensor(f"typed_{dt}", dt, arr.shape, vals, raw=False))
    tensors.append(helper.make_tensor("typed_bf16", TensorProto.BFLOAT16, [3], [1.0, -2.0, 0.5]))
    tensors.append(numpy_helper.from_array(np.array([b"a", b"", "ü".encode()], dtype=object), "typed_str"))
    tensors.append(numpy_helper.from_array(np.zeros((0, 3), dtype=np.float32), "empty"))
    tensors.append(numpy_helper.from_array(np.array(3.25, dtype=np.float32), "scalar"))
    return tensors


def _typed_model():
    tensors = _typed_tensors()
    then_g = helper.make_graph(
        [helper.make_node("Constant", [], ["t"], value=helper.make_tensor("c", TensorProto.INT64, [2], [-5, 6]))],
        "then_branch", [], [helper.make_tensor_value_info("t", TensorProto.INT64, [2])])
    else_g = helper.make_graph(
        [helper.make_node("Identity", ["k"], ["e"])], "else_branch", [],
        [helper.make_tensor_value_info("e", TensorProto.INT64, [None])])
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("If", ["cond_in"], ["v"], then_branch=then_g, else_branch=else_g)],
        "loop_body",
        [helper.make_tensor_value_info("iter", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v", TensorProto.INT64, [2])])
    nodes = [
        helper.make_node("Loop", ["", "cond"], ["out"], name="loop", body=body),
        helper.make_node("Conv", ["x", "w", ""], ["c"], name="conv", kernel_shape=[3, 3], pads=[-1, 0, 2**40, 1],
                         strides=[1, 1], group=-3, alpha=0.125, mode="reflect", names=["a", "b\x00c"],
                         scales=[0.5, -1e-30, float("inf")]),
        helper.make_node("Custom", ["x"], ["z"], domain="com.example", attached=tensors[0],
                         many=tensors[1:4]),
        helper.make_node("Split", ["x"], ["s0", "s1"]),
    ]
    nodes[-1].attribute.append(helper.make_attribute_ref("axis", onnx.AttributeProto.INT, ref_attr_name="split_axis"))
    graph = helper.make_graph(
        nodes, "typed",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, None, 224]),
         helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
         helper.make_tensor_sequence_value_info("seq", TensorProto.FLOAT, [2]),
         helper.make_tensor_value_info("noshape", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("out", TensorProto.INT64, ["M", 2])],
        initializer=tensors,
        value_info=[helper.make_tensor_value_info("c", TensorProto.FLOAT16, [1, 8, "H", "W"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19), helper.make_opsetid("com.example", 3)],
                              producer_name="crosscheck", producer_version="1.0", doc_string="doc \u00e9")
    model.model_version = 42
    helper.set_model_props(model, {"a": "1", "b": ""})
    return model


def test_built_models_match_onnx(tmp_path):
    large, _ = _large_initializer_model()
    typed = _typed_model()
    ext = _large_initializer_model()[0]
    paths = {
        _save(tmp_path, "large.onnx", large): large,
        _save(tmp_path, "typed.onnx", typed): typed,
        _save(tmp_path, "ext.onnx", ext, save_as_external_data=True, all_tensors_to_one_file=True,
              location="ext.bin", size_threshold=1024): None,
    }
    dumps = run_onnx_dump(list(paths))
    for path in paths:
        loaded = onnx.load(str(path), load_external_data=False)
        assert_same_dump(path, dump_model(loaded), dumps[str(path)])
    assert "external=1 ext:\"location\"=\"ext.bin\"" in dumps[str(tmp_path / "ext.onnx")]


def test_large_initializer_checksum(tmp_path):
    model, w = _large_initializer_model()
    path = _save(tmp_path, "large.onnx", model)
    dump = run_onnx_dump([path])[str(path)]
    expected = f"initializer \"w\" dtype=1 dims=[1024,1024] external=0 bytes={w.nbytes} crc={zlib.crc32(w.tobytes()):08x}"
    assert expected in dump
    assert 'metadata "rknn.target_platform" "rk3588"' in dump


def test_typed_payload_matches_numpy_helper():
    # The reference layout of payload() must itself agree with onnx's own decoding.
    for t in _typed_tensors():
        if t.data_type in (TensorProto.STRING, TensorProto.BFLOAT16):
            continue
        assert payload(t) == numpy_helper.to_array(t).tobytes(), t.name


def test_typed_tensor_files(tmp_path):
    files = []
    for t in _typed_tensors():
        path = tmp_path / f"{t.name}.pb"
        path.write_bytes(t.SerializeToString())
        files.append((path, t))
    dumps = run_onnx_dump([], [p for p, _ in files])
    for path, t in files:
        assert_same_dump(path, dump_tensor(t), dumps[str(path)])


def test_non_onnx_files_are_refused(tmp_path):
    rknn = tmp_path / "model.rknn"
    rknn.write_bytes(b"RKNN\x00\x00\x00\x00" + bytes(range(256)) * 4)
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    no_graph = tmp_path / "no_graph.onnx"
    no_graph.write_bytes(onnx.ModelProto(ir_version=8, producer_name="p").SerializeToString())
    dumps = run_onnx_dump([rknn, empty, no_graph])
    assert dumps[str(rknn)].startswith("error ") and "RKNN" in dumps[str(rknn)]
    assert "empty model" in dumps[str(empty)]
    assert "no graph" in dumps[str(no_graph)]
