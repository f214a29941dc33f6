"""Manual hybrid quantization, after rknn-toolkit2's ``hybrid_quantization_step1`` / ``hybrid_quantization_step2``:
the three files step 1 writes and step 2 reads (model_prep.RKNN calls these).

- ``<stem>.model``: the float model as the quantizer sees it (ONNX: opset raised, Constant weights as initializers,
  BatchNormalization / affine Mul-Add / HardSwish folded, every node named); the node names of the cfg are its own.
- ``<stem>.data``: a numpy .npz archive with what step 2 needs to quantize the same way without calibrating again:
  onnxruntime's calibration (its JSON cache; onnxruntime releases without that cache calibrate again on the stored
  inputs, with the same result), the ranges quantized_algorithm mmse / kl_divergence searched, the configuration,
  and the calibration inputs themselves (as normalized by mean/std), on which step 2's accuracy report is measured.
  It is about as large as the dataset.
- ``<stem>.quantization.cfg``: YAML text (quant_cfg_yaml.py). ``custom_quantize_layers`` maps node names to
  ``float16`` (the node computes in float: float16 on the NPU) or ``int8`` (quantized, as every unlisted node);
  ``quantize_parameters`` lists, for reference only, each quantized tensor of the fully quantized model with its integer
  type, scale, zero point and the range its codes cover.
"""
from __future__ import annotations

import difflib
import hashlib
import io
import json
import os
import re
from typing import Any, Dict, List, NamedTuple, Sequence, Tuple

import numpy as np

DATA_FORMAT = "ezrknn.hybrid_quantization.data/1"
FLOAT_DTYPE = "float16"
QUANTIZED_DTYPE = "int8"


def _yaml():
    from importlib import import_module

    if __package__:
        return import_module(f"{__package__}.quant_cfg_yaml")
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "quant_cfg_yaml.py")
    spec = importlib.util.spec_from_file_location("ezrknn_quant_cfg_yaml_source", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def file_stem(source_name: str, model: Any) -> str:
    """toolkit2 names the files after the model: the file name without its extension, else the graph's name."""
    if source_name and not source_name.startswith("<"):
        stem = os.path.splitext(os.path.basename(source_name))[0]
    else:
        stem = model.graph.name
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", stem).strip(".") or "model"


def file_paths(folder: str, stem: str) -> Tuple[str, str, str]:
    """(.model, .data, .quantization.cfg) in `folder`."""
    base = os.path.join(folder, stem)
    return base + ".model", base + ".data", base + ".quantization.cfg"


# --- custom_hybrid: the nodes between two tensors ------------------------------------------------------------------

def nodes_between(model: Any, pairs: Any, source: Any = None) -> List[str]:
    """The nodes on a path from each pair's start tensor to its end tensor (the end's producer included, the
    start's excluded), in graph order. `source`, the model as loaded, explains names the folds removed."""
    checked = check_pairs(pairs)
    graph = model.graph
    producer = {o: n for n in graph.node for o in n.output}
    readers: Dict[str, List[Any]] = {}
    for n in graph.node:
        for x in n.input:
            readers.setdefault(x, []).append(n)
    known = set(producer) | {t.name for t in graph.initializer} | {i.name for i in graph.input}
    chosen = set()
    for start, end in checked:
        for name in (start, end):
            if name not in known:
                raise ValueError(f"custom_hybrid: no tensor {name!r} in the model as quantized"
                                 f"{_why_missing(name, source, known)}")
        after = _walk([start], lambda t: readers.get(t, []), lambda n: n.output)
        before = _walk([end], lambda t: [producer[t]] if t in producer else [], lambda n: n.input)
        between = after & before
        if not between:
            raise ValueError(f"custom_hybrid: no path from tensor {start!r} to tensor {end!r} (nothing computes "
                             f"{end!r} from {start!r})")
        chosen |= between
    return [n.name for n in graph.node if n.name in chosen]


def check_pairs(pairs: Any) -> List[Tuple[str, str]]:
    """custom_hybrid's form: a list of [start tensor, end tensor] pairs."""
    if isinstance(pairs, (str, bytes)) or not isinstance(pairs, Sequence) or not pairs:
        raise TypeError(f"custom_hybrid must be a non-empty list of [start_tensor, end_tensor] pairs, got {pairs!r}")
    checked = []
    for pair in pairs:
        if (isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2
                or not all(isinstance(x, str) and x for x in pair)):
            raise TypeError(f"custom_hybrid entry {pair!r} must be a pair of tensor names [start, end]")
        checked.append((pair[0], pair[1]))
    return checked


def _walk(start: List[str], step, outputs_of) -> set:
    """Names of the nodes reached from tensors `start`: `step` gives a tensor's next nodes, `outputs_of` a node's
    next tensors."""
    seen_tensors, nodes, todo = set(start), set(), list(start)
    while todo:
        for node in step(todo.pop()):
            if node.name in nodes:
                continue
            nodes.add(node.name)
            for t in outputs_of(node):
                if t and t not in seen_tensors:
                    seen_tensors.add(t)
                    todo.append(t)
    return nodes


def _why_missing(name: str, source: Any, known: set) -> str:
    if source is not None and any(name in n.output for n in source.graph.node):
        return " (the loaded model has it, but folding BatchNormalization/Mul/Add/HardSwish into one node removed " \
               "it; see the .model file for the tensors that remain)"
    close = difflib.get_close_matches(name, sorted(known), n=3)
    return f"; close names: {', '.join(close)}" if close else ""


# --- the .quantization.cfg ---------------------------------------------------------------------------------------

def quantization_parameters(qdq: Any, float_model: Any) -> List[Tuple[str, Dict[str, Any]]]:
    """(tensor name, its fields) for each quantized tensor of `qdq`: activations (inputs of QuantizeLinear) first,
    then weights and biases (initializers behind a DequantizeLinear, named as in `float_model`)."""
    from onnx import numpy_helper

    inits = {t.name: t for t in qdq.graph.initializer}
    float_nodes = {n.name: n for n in float_model.graph.node}
    # The quantizer renames a graph output's producer output (y -> y_QuantizeLinear_Input): name it as the float
    # model does.
    float_name = {out: float_nodes[n.name].output[j] for n in qdq.graph.node if n.name in float_nodes
                  for j, out in enumerate(n.output) if j < len(float_nodes[n.name].output)}
    float_tensors = {x for n in float_model.graph.node for x in n.output} | {i.name for i in float_model.graph.input}
    found: Dict[str, Dict[str, Any]] = {}
    for node in qdq.graph.node:
        x = node.input[0] if node.input else ""
        name = x if x in float_tensors else float_name.get(x, x)
        if node.op_type == "QuantizeLinear" and name not in found:
            found[name] = _fields(node, inits, numpy_helper)
    weight_dq = {n.output[0]: n for n in qdq.graph.node
                 if n.op_type == "DequantizeLinear" and n.input[0] in inits}
    for node in qdq.graph.node:
        for i, x in enumerate(node.input):
            if x in weight_dq and node.name in float_nodes and i < len(float_nodes[node.name].input):
                name = float_nodes[node.name].input[i]
                if name not in found:
                    found[name] = _fields(weight_dq[x], inits, numpy_helper)
    return list(found.items())


def _fields(node: Any, inits: Dict[str, Any], numpy_helper: Any) -> Dict[str, Any]:
    scale = numpy_helper.to_array(inits[node.input[1]]).astype(np.float64)
    zero = (numpy_helper.to_array(inits[node.input[2]]) if len(node.input) > 2 and node.input[2] in inits
            else np.zeros(scale.shape, np.uint8))
    info = np.iinfo(zero.dtype)
    low = (info.min - zero.astype(np.float64)) * scale
    high = (info.max - zero.astype(np.float64)) * scale
    return {"dtype": str(zero.dtype), "min": low, "max": high, "scale": scale, "zero_point": zero}


def write_cfg(path: str, model_name: str, node_names: List[str], float_nodes: Sequence[str],
              parameters: List[Tuple[str, Dict[str, Any]]], quantized_dtype: str) -> None:
    y = _yaml()
    chosen = set(float_nodes)
    lines = [f"# Hybrid quantization of {model_name}, written by hybrid_quantization_step1().",
             "# custom_quantize_layers: a node listed as float16 computes in float (float16 on the NPU); every other",
             f"# node is quantized (quantized_dtype {quantized_dtype}). Add, remove or uncomment lines, then call",
             "# hybrid_quantization_step2().",
             f"# Node names are those of {model_name}.model, in graph order below.",
             "custom_quantize_layers:" + ("" if node_names else " {}")]
    for name in node_names:
        entry = f"{y.quote(name)}: {FLOAT_DTYPE}"
        lines.append(f"    {entry}" if name in chosen else f"    # {entry}")
    lines += ["# For reference only (step 2 does not read it): each tensor of the fully quantized model, its integer",
              "# type, scale and zero point (one per channel for per-channel weights) and the range [min, max] its",
              "# codes cover.",
              "quantize_parameters:" + ("" if parameters else " {}")]
    for name, fields in parameters:
        lines.append(f"    {y.quote(name)}:")
        for key, value in fields.items():
            lines.append(f"        {key}: {_text(value, y)}")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def _text(value: Any, y: Any) -> str:
    if isinstance(value, str):
        return value
    values = np.asarray(value)
    if values.ndim == 0:
        return str(int(values)) if values.dtype.kind in "iu" else y.number(values)
    items = [str(int(v)) if values.dtype.kind in "iu" else y.number(v) for v in values.ravel()]
    return "[" + ", ".join(items) + "]"


def read_cfg(path: str, node_names: List[str], model_name: str) -> List[str]:
    """The nodes `path` lists as float16, in graph order. A bad entry is a ValueError naming the line."""
    with open(path, encoding="utf-8-sig") as f:  # -sig: editors on Windows may start the file with a BOM
        try:
            text = f.read()
        except UnicodeDecodeError as e:
            raise ValueError(f"{path}: not a UTF-8 text file ({e})") from None
    tree = _yaml().parse(text, path)
    for key in tree:
        if key not in ("custom_quantize_layers", "quantize_parameters"):
            raise ValueError(f"{path} line {tree.lines[key]}: unknown section {key!r}; the file has "
                             f"custom_quantize_layers and quantize_parameters")
    layers = tree.get("custom_quantize_layers")
    if layers is None:
        raise ValueError(f"{path}: no 'custom_quantize_layers:' section (node name -> float16, one per line)")
    if not isinstance(layers, dict):
        raise ValueError(f"{path} line {tree.lines['custom_quantize_layers']}: custom_quantize_layers must be a "
                         f"mapping of node name -> float16 (or {{}}), got {layers!r}")
    known = set(node_names)
    for name, dtype in layers.items():
        where = f"{path} line {layers.lines[name]}: node {name!r}"
        if name not in known:
            close = difflib.get_close_matches(name, node_names, n=3)
            raise ValueError(f"{where} is not a node of {model_name}.model"
                             + (f"; close names: {', '.join(close)}" if close else ""))
        if dtype not in (FLOAT_DTYPE, QUANTIZED_DTYPE):
            hint = (" (16-bit layers are not supported in a hybrid model; quantized_dtype='w16a16i' quantizes "
                    "the whole model to int16)" if dtype == "int16" else "")
            raise ValueError(f"{where}: dtype {dtype!r} is not supported; use {FLOAT_DTYPE} (the node computes in "
                             f"float) or {QUANTIZED_DTYPE} (quantized with the model's quantized_dtype, as every "
                             f"unlisted node){hint}")
    return [name for name in node_names if layers.get(name) == FLOAT_DTYPE]


# --- the .data archive ---------------------------------------------------------------------------------------------

class Step2Input(NamedTuple):
    model: Any  # the .model (onnx.ModelProto)
    float_nodes: List[str]  # from the cfg
    settings: Dict[str, Any]  # config, input_names, input_sizes of step 1
    searched: Dict[str, Tuple[np.float32, np.float32]]
    calibration: str  # onnxruntime's calibration cache, "" if it had none
    feeds: List[Dict[str, np.ndarray]]


def file_digest(path: str) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def write_data(path: str, model_path: str, settings: Dict[str, Any], searched: Dict[str, Tuple[float, float]],
               calibration: str, feeds: List[Dict[str, np.ndarray]], input_names: List[str]) -> None:
    arrays = {"format": np.array(DATA_FORMAT), "model_sha256": np.array(file_digest(model_path)),
              "settings": np.array(json.dumps(dict(settings, feed_inputs=input_names, samples=len(feeds)))),
              "calibration": np.array(calibration),
              "searched_names": np.array(list(searched), dtype=str),
              "searched_ranges": np.array([list(r) for r in searched.values()], np.float32).reshape(-1, 2)}
    for i, feed in enumerate(feeds):
        for k, name in enumerate(input_names):
            arrays[f"feed_{i}_{k}"] = feed[name]
    with open(path, "wb") as f:  # a file object: np.savez would add ".npz" to a name
        np.savez(f, **arrays)


def read_step2(model_input: str, data_input: str, cfg_input: str) -> Step2Input:
    """The three files of step 1, checked against each other."""
    import onnx

    for what, path in (("model_input", model_input), ("data_input", data_input),
                       ("model_quantization_cfg", cfg_input)):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"hybrid_quantization_step2: {what} {path!r} does not exist (step 1 writes "
                                    f"<model>.model, <model>.data and <model>.quantization.cfg)")
    try:
        model = onnx.load(model_input)
    except Exception as e:  # noqa: BLE001 - protobuf raises several types
        raise ValueError(f"model_input {model_input!r} is not an ONNX model written by step 1: {e}") from None
    data = _read_data(data_input)
    if str(data["model_sha256"]) != file_digest(model_input):
        raise ValueError(f"data_input {data_input!r} was written with another model than model_input "
                         f"{model_input!r}; give the files one hybrid_quantization_step1() wrote together")
    settings = json.loads(str(data["settings"]))
    names = settings["feed_inputs"]
    feeds = [{name: data[f"feed_{i}_{k}"] for k, name in enumerate(names)} for i in range(settings["samples"])]
    searched = {str(n): (np.float32(r[0]), np.float32(r[1]))
                for n, r in zip(data["searched_names"], data["searched_ranges"])}
    stem = os.path.splitext(os.path.basename(model_input))[0]
    float_nodes = read_cfg(cfg_input, [n.name for n in model.graph.node], stem)
    return Step2Input(model, float_nodes, settings, searched, str(data["calibration"]), feeds)


def _read_data(path: str) -> Dict[str, Any]:
    with open(path, "rb") as f:
        raw = f.read()
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as archive:
            data = {key: archive[key] for key in archive.files}
    except Exception as e:  # noqa: BLE001 - numpy raises several types for a file that is not an archive
        raise ValueError(f"data_input {path!r} is not a .data file written by hybrid_quantization_step1: {e}") \
            from None
    if "format" not in data or str(data["format"]) != DATA_FORMAT:
        raise ValueError(f"data_input {path!r} is not a .data file written by hybrid_quantization_step1 (format "
                         f"{DATA_FORMAT})")
    try:
        settings = json.loads(str(data["settings"]))
        calibration = str(data["calibration"])
        if calibration and not isinstance(json.loads(calibration).get("data"), dict):
            raise ValueError("the calibration holds no tensor ranges")
        missing = [f"feed_{i}_{k}" for i in range(settings["samples"]) for k in range(len(settings["feed_inputs"]))
                   if f"feed_{i}_{k}" not in data]
        if missing or not {"model_sha256", "searched_names", "searched_ranges"} <= set(data):
            raise ValueError(f"entries are missing ({', '.join(missing[:3]) or 'ranges'})")
    except (KeyError, ValueError, TypeError, AttributeError) as e:
        raise ValueError(f"data_input {path!r} is damaged: {e}; run hybrid_quantization_step1 again") from None
    return data
