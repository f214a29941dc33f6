"""int8 quantization for model_prep.RKNN.build(do_quantization=True): calibration data, a QDQ model and the
accuracy report.

The QDQ model is what onnxruntime's static quantizer writes (QuantizeLinear/DequantizeLinear pairs around Conv,
Gemm, MatMul, Add, Mul, Concat, pooling ...), with min/max calibration on the given inputs: int8 weights (per tensor,
or per output channel with ``quantized_method='channel'``) and int8 (``w8a8``, the NPU's) or uint8 activations. The
emulator runs those patterns on integer kernels (docs/emulator.md, "Quantized models"). ``w16a16i`` writes int16
weights and activations instead (opset-21 Q/DQ), which the emulator runs on its float path.
"""
from __future__ import annotations

import inspect
import logging
import os
import tempfile
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

# toolkit2's quantized_dtype names -> (weight type, activation type) of the QDQ model.
QUANTIZED_DTYPES = {"w8a8": ("int8", "int8"), "asymmetric_quantized-8": ("int8", "int8"),
                    "w8a8_uint8": ("int8", "uint8"), "w16a16i": ("int16", "int16")}
# 16-bit Q/DQ nodes belong to the default domain from opset 21 on.
SIXTEEN_BIT_OPSET = 21
QUANTIZED_ALGORITHMS = ("normal", "mmse", "kl_divergence")  # min/max, least squared error, least KL divergence
QUANTIZED_METHODS = ("channel", "layer")


def check_quantized_dtype(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"quantized_dtype must be a str, got {type(value).__name__}")
    if value not in QUANTIZED_DTYPES:
        raise ValueError(f"quantized_dtype {value!r} is not supported; use one of {', '.join(QUANTIZED_DTYPES)}")
    return value


def check_quantized_algorithm(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"quantized_algorithm must be a str, got {type(value).__name__}")
    if value not in QUANTIZED_ALGORITHMS:
        raise ValueError(f"quantized_algorithm {value!r} is not one of normal, mmse, kl_divergence")
    return value


def check_quantized_method(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"quantized_method must be a str, got {type(value).__name__}")
    if value not in QUANTIZED_METHODS:
        raise ValueError(f"quantized_method {value!r} is not one of {', '.join(QUANTIZED_METHODS)}")
    return value


def _input_specs(model: Any) -> List[tuple]:
    """(name, numpy dtype, static shape) of each graph input that is not an initializer."""
    from onnx import helper

    weights = {t.name for t in model.graph.initializer}
    specs = []
    for vi in model.graph.input:
        if vi.name in weights:
            continue
        tt = vi.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in tt.shape.dim]
        specs.append((vi.name, np.dtype(helper.tensor_dtype_to_np_dtype(tt.elem_type)), dims))
    return specs


def load_dataset(dataset: Any, model: Any) -> List[Dict[str, np.ndarray]]:
    """Calibration samples as feeds. ``dataset``: a list whose items are an array (one-input models) or a list of
    arrays (one per input); or the path of a .txt file with one sample per line, the .npy files of its inputs
    separated by spaces (relative paths are relative to the .txt file), as toolkit2's dataset.txt."""
    specs = _input_specs(model)
    if isinstance(dataset, (str, os.PathLike)):
        samples = _read_dataset_file(os.fspath(dataset))
    elif isinstance(dataset, Sequence) and not isinstance(dataset, (bytes, str)):
        samples = [item if isinstance(item, (list, tuple)) else [item] for item in dataset]
    elif isinstance(dataset, np.ndarray):
        raise TypeError("dataset must be a list of samples (e.g. [array1, array2]) or a .txt path, not one array")
    else:
        raise TypeError(f"dataset must be a list of arrays or the path of a .txt list of .npy files, got {dataset!r}")
    if not samples:
        raise ValueError("dataset is empty: quantization needs at least one calibration input")
    feeds = []
    for n, sample in enumerate(samples):
        if len(sample) != len(specs):
            raise ValueError(f"dataset sample {n} has {len(sample)} array(s) but the model takes {len(specs)} "
                             f"input(s): {', '.join(s[0] for s in specs)}")
        feed = {}
        for (name, dtype, dims), value in zip(specs, sample):
            if not isinstance(value, np.ndarray):
                raise TypeError(f"dataset sample {n}, input '{name}': expected a numpy array, got "
                                f"{type(value).__name__}")
            if len(value.shape) != len(dims) or any(d is not None and d != v for d, v in zip(dims, value.shape)):
                raise ValueError(f"dataset sample {n}, input '{name}': shape {list(value.shape)} does not fit the "
                                 f"model's {[d if d is not None else '?' for d in dims]}")
            feed[name] = np.ascontiguousarray(value.astype(dtype, copy=False))
        feeds.append(feed)
    return feeds


def _read_dataset_file(path: str) -> List[List[np.ndarray]]:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"dataset: no such file {path!r}")
    base = os.path.dirname(os.path.abspath(path))
    samples = []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            names = line.split()
            if not names:
                continue
            arrays = []
            for name in names:
                full = name if os.path.isabs(name) else os.path.join(base, name)
                if not name.endswith(".npy"):
                    raise ValueError(f"dataset {path!r} line {line_no}: {name!r} is not a .npy file (image files "
                                     f"are not decoded; save the preprocessed input with numpy.save)")
                if not os.path.isfile(full):
                    raise FileNotFoundError(f"dataset {path!r} line {line_no}: no such file {full!r}")
                arrays.append(np.load(full))
            samples.append(arrays)
    return samples


def _has_calibration_cache() -> bool:
    """Whether onnxruntime's quantize_static can save and reload its calibration (calibration_cache_path)."""
    from onnxruntime.quantization import quantize_static

    return "calibration_cache_path" in inspect.signature(quantize_static).parameters


class Quantizer:
    """Writes QDQ models of one float model: the model is prepared (opset, Constant weights as initializers,
    `fold`: quant_folding.fold_for_quantization, which merges the tensors the NPU never stores) and its activation
    ranges are searched (`ranges`: quant_ranges.mmse_ranges or kl_ranges; min/max when None) once, so that
    ``qdq(exclude)`` can be called again with other nodes left in float, as auto hybrid quantization does. Where
    onnxruntime can cache its calibration, the first ``qdq()`` calibrates and the others reuse the cache.

    Hybrid quantization step 2 rebuilds a Quantizer without calibrating: `model` already prepared (no `fold`),
    `searched` the ranges ``searched_ranges()`` gave and `calibration` the text ``calibration_cache()`` gave."""

    def __init__(self, model: Any, feeds: List[Dict[str, np.ndarray]], quantized_dtype: str, per_channel: bool,
                 fold: Optional[Callable[[Any], Any]] = None,
                 ranges: Optional[Callable[[Any, list], dict]] = None,
                 searched: Optional[Dict[str, Tuple[float, float]]] = None, calibration: str = "") -> None:
        weight_name, activation_name = QUANTIZED_DTYPES[quantized_dtype]
        sixteen_bit = activation_name == "int16"
        model = _constants_as_initializers(_at_least_opset(model, SIXTEEN_BIT_OPSET if sixteen_bit else 13))
        if fold is not None:
            model = fold(model)
        self.model = _named_nodes(model)
        self._feeds = feeds
        self._types = (weight_name, activation_name)
        self._per_channel = per_channel
        # The range searches weigh rounding against clipping for 256 levels; 65,536 levels leave nothing worth
        # clipping.
        if searched is None:
            searched = ranges(self.model, feeds) if ranges is not None and not sixteen_bit else {}
        self._searched = {name: (np.float32(lo), np.float32(hi)) for name, (lo, hi) in searched.items()}
        self._overrides = {name: [{"rmin": lo, "rmax": hi}] for name, (lo, hi) in self._searched.items()}
        self._cache_dir = tempfile.TemporaryDirectory(prefix="ezrknn-calib-") if _has_calibration_cache() else None
        self._cache = os.path.join(self._cache_dir.name, "calibration.json") if self._cache_dir else None
        if calibration and self._cache is not None:
            with open(self._cache, "w", encoding="utf-8") as f:
                f.write(calibration)

    def searched_ranges(self) -> Dict[str, Tuple[np.float32, np.float32]]:
        """The activation ranges the range search chose (empty for min/max), by tensor name."""
        return dict(self._searched)

    def calibration_cache(self) -> str:
        """onnxruntime's calibration (its JSON cache) after a first ``qdq()``; "" where onnxruntime has no cache,
        and then every ``qdq()`` calibrates on the feeds again."""
        if self._cache is None or not os.path.isfile(self._cache):
            return ""
        with open(self._cache, encoding="utf-8") as f:
            return f.read()

    def node_names(self) -> List[str]:
        """Every node of the prepared model in graph order: the names ``qdq(exclude=...)`` takes."""
        return [n.name for n in self.model.graph.node]

    def qdq(self, exclude: Sequence[str] = ()) -> Any:
        """The QDQ model, calibrated with min/max on the feeds (or the searched ranges); the nodes named in
        `exclude` stay float (their inputs are dequantized, their outputs quantized again for int8 readers)."""
        import onnx

        try:
            from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                                  quantize_static)
        except ImportError as e:
            raise ImportError("build(do_quantization=True) needs onnxruntime (its static quantizer writes the QDQ "
                              "model): pip install onnxruntime") from e

        feeds = self._feeds

        class Reader(CalibrationDataReader):
            def __init__(self):
                self._it = iter(feeds)

            def get_next(self):
                return next(self._it, None)

        types = {"int8": QuantType.QInt8, "uint8": QuantType.QUInt8, "int16": QuantType.QInt16}
        root = logging.getLogger()
        root.addFilter(_drop_pre_processing_advice)
        try:
            with tempfile.TemporaryDirectory(prefix="ezrknn-quant-") as tmp:
                src, dst = os.path.join(tmp, "float.onnx"), os.path.join(tmp, "qdq.onnx")
                onnx.save(self.model, src)
                quantize_static(src, dst, Reader(), quant_format=QuantFormat.QDQ,
                                activation_type=types[self._types[1]], weight_type=types[self._types[0]],
                                per_channel=self._per_channel, reduce_range=False,
                                calibrate_method=CalibrationMethod.MinMax, nodes_to_exclude=list(exclude),
                                extra_options={"ActivationSymmetric": False, "WeightSymmetric": True,
                                               "TensorQuantOverrides": self._overrides, "UseQDQContribOps": False},
                                **({} if self._cache is None else {"calibration_cache_path": self._cache}))
                return onnx.load(dst)
        finally:
            root.removeFilter(_drop_pre_processing_advice)


def _drop_pre_processing_advice(record: logging.LogRecord) -> bool:
    """onnxruntime's quantizer logs advice to run its shape-inference pre-processing on every call; the helper's
    own folds replace it, and auto_hybrid calls the quantizer dozens of times."""
    return "pre-processing before quantization" not in record.getMessage()


def quantize(model: Any, feeds: List[Dict[str, np.ndarray]], quantized_dtype: str, per_channel: bool,
             fold: Optional[Callable[[Any], Any]] = None, ranges: Optional[Callable[[Any, list], dict]] = None) -> Any:
    """The QDQ model of `model` calibrated on `feeds` (Quantizer, every node quantized)."""
    return Quantizer(model, feeds, quantized_dtype, per_channel, fold, ranges).qdq()


def _named_nodes(model: Any) -> Any:
    """The model with a name on every node (``<op_type>_<index>`` where it had none): exclusion goes by name."""
    import onnx

    if all(n.name for n in model.graph.node):
        return model
    named = onnx.ModelProto()
    named.CopyFrom(model)
    model = named
    taken = {n.name for n in model.graph.node}
    for index, node in enumerate(model.graph.node):
        if not node.name:
            name = f"{node.op_type}_{index}"
            while name in taken:
                name += "_"
            node.name = name
            taken.add(name)
    return model


def _constants_as_initializers(model: Any) -> Any:
    """A copy of the model whose Constant nodes (a tensor ``value``) are initializers. Exporters such as
    paddle2onnx (PP-OCR) store every weight in a Constant node; the quantizer quantizes only initializer weights, so
    it would leave those Convs with float weights between quantized activations: a model that is not int8."""
    import onnx

    if not any(n.op_type == "Constant" for n in model.graph.node):
        return model
    out = onnx.ModelProto()
    out.CopyFrom(model)
    kept = []
    for node in out.graph.node:
        if (node.op_type == "Constant" and node.domain in ("", "ai.onnx") and len(node.attribute) == 1
                and node.attribute[0].name == "value" and len(node.output) == 1):
            tensor = onnx.TensorProto()
            tensor.CopyFrom(node.attribute[0].t)
            tensor.name = node.output[0]
            out.graph.initializer.append(tensor)
        else:
            kept.append(node)
    del out.graph.node[:]
    out.graph.node.extend(kept)
    return out


def _at_least_opset(model: Any, wanted: int) -> Any:
    """The model converted to opset `wanted` when it imports an older one: per-channel weights need
    DequantizeLinear's ``axis`` (opset 13), and the quantizer writes it whatever the model's opset (PP-OCR's models
    are opset 11/12), which gives a model that onnxruntime and the emulator refuse or misread; 16-bit Q/DQ nodes
    need opset 21."""
    from onnx import version_converter

    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), wanted)
    if opset >= wanted:
        return model
    try:
        return version_converter.convert_version(model, wanted)
    except Exception as e:  # noqa: BLE001 - the converter raises several types
        raise ValueError(f"quantization needs opset {wanted} or later; converting the model from opset {opset} "
                         f"failed: {e}") from e


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 and nb == 0:
        return 1.0
    if na == 0 or nb == 0:
        return 0.0
    return float(np.dot(a, b) / (na * nb))


def _session(model: Any):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])


class FloatReference:
    """The float model's outputs on the calibration feeds, run once (by onnxruntime, which computes the QDQ
    patterns as the emulator does; see docs/emulator.md), to compare quantized models against."""

    def __init__(self, float_model: Any, feeds: List[Dict[str, np.ndarray]]) -> None:
        session = _session(float_model)
        self.names = [o.name for o in session.get_outputs()]
        self.feeds = feeds
        self._outputs = [session.run(self.names, feed) for feed in feeds]

    def cosines(self, model: Any, samples: Optional[Sequence[int]] = None) -> np.ndarray:
        """[sample, output]: the cosine similarity of `model`'s output to the float one, for the feeds numbered in
        `samples` (default: all)."""
        session = _session(model)
        rows = range(len(self.feeds)) if samples is None else samples
        return np.array([[cosine(a, b) for a, b in zip(self._outputs[i], session.run(self.names, self.feeds[i]))]
                         for i in rows]).reshape(len(rows), len(self.names))


def accuracy_report(reference: FloatReference, quant_model: Any) -> Dict[str, float]:
    """Per output: the lowest cosine similarity between the float and the quantized model over the reference's
    feeds."""
    return dict(zip(reference.names, reference.cosines(quant_model).min(axis=0).tolist()))
