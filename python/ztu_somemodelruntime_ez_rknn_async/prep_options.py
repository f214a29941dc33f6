"""Checks and metadata encoding of the model-preparation options that describe inputs: mean_values/std_values
(the NPU's input normalization) and dynamic_input (the shape sets of a dynamic-shape model).

The emulator reads the metadata keys below (emu/npu/model_metadata.hpp); values are JSON lists in the order of
the model's graph inputs, shapes in ONNX (NCHW) order."""
from __future__ import annotations

import json
import math
from typing import Any, Dict, List, Optional, Sequence

META_MEAN_VALUES = "rknn.mean_values"
META_STD_VALUES = "rknn.std_values"
META_DYNAMIC_INPUT = "rknn.dynamic_input"

MAX_DYNAMIC_SHAPES = 512  # RKNN_MAX_DYNAMIC_SHAPE_NUM

_FLOAT_TYPES = (1, 10, 11, 16)  # TensorProto FLOAT, FLOAT16, DOUBLE, BFLOAT16


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def check_value_lists(value: Any, what: str) -> List[List[float]]:
    """config(mean_values=...) / config(std_values=...): one list of numbers per input."""
    if not _is_list(value) or not all(_is_list(entry) for entry in value):
        raise TypeError(f"{what} must be a list with one list of numbers per input, e.g. [[0, 0, 0]], got {value!r}")
    lists = []
    for i, entry in enumerate(value):
        numbers = []
        for v in entry:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise TypeError(f"{what}[{i}] must hold numbers, got {v!r}")
            if not math.isfinite(v):
                raise ValueError(f"{what}[{i}] has {v}; values must be finite")
            if what == "std_values" and v == 0:
                raise ValueError(f"{what}[{i}] has a 0: the input would be divided by zero")
            numbers.append(float(v))
        if not numbers:
            raise ValueError(f"{what}[{i}] is empty; give one value per channel (or one for all)")
        lists.append(numbers)
    if not lists:
        raise ValueError(f"{what} is empty; give one list per input, or leave the option out")
    return lists


def check_dynamic_input(value: Any) -> List[List[List[int]]]:
    """config(dynamic_input=...): a list of shape sets, each a list with one full shape per input."""
    if not _is_list(value) or not value:
        raise TypeError(f"dynamic_input must be a non-empty list of shape sets, e.g. [[[1, 3, 224, 224]], "
                        f"[[1, 3, 320, 320]]], got {value!r}")
    if len(value) > MAX_DYNAMIC_SHAPES:
        raise ValueError(f"dynamic_input has {len(value)} shape sets; RKNN allows at most {MAX_DYNAMIC_SHAPES}")
    sets = []
    for s, shape_set in enumerate(value):
        if not _is_list(shape_set) or not shape_set or not all(_is_list(shape) for shape in shape_set):
            raise TypeError(f"dynamic_input[{s}] must be a list with one shape (a list of ints) per input, got "
                            f"{shape_set!r}")
        shapes = []
        for shape in shape_set:
            if any(isinstance(d, bool) or not isinstance(d, int) for d in shape) or not shape:
                raise TypeError(f"dynamic_input[{s}] has the shape {shape!r}; a shape is a non-empty list of ints")
            if any(d <= 0 for d in shape):
                raise ValueError(f"dynamic_input[{s}] has the shape {list(shape)}; every dim must be > 0")
            shapes.append([int(d) for d in shape])
        if shapes in sets:
            raise ValueError(f"dynamic_input[{s}] repeats shape set {sets.index(shapes)}: {shapes}")
        sets.append(shapes)
    return sets


def _dims(value_info: Any) -> Optional[List[Optional[int]]]:
    """A graph input's dims (None for a symbolic one), or None when its rank is unknown."""
    tensor_type = value_info.type.tensor_type
    if not tensor_type.HasField("shape"):
        return None
    return [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in tensor_type.shape.dim]


def _check_normalization(lists: List[List[float]], what: str, names: List[str], graph_inputs: Dict[str, Any]
                         ) -> None:
    if len(lists) != len(names):
        raise ValueError(f"{what} has {len(lists)} list(s) but the model takes {len(names)} input(s): "
                         f"{', '.join(names)}")
    for name, values in zip(names, lists):
        value_info = graph_inputs[name]
        dims = _dims(value_info)
        identity = all(v == (1.0 if what == "std_values" else 0.0) for v in values)
        if value_info.type.tensor_type.elem_type not in _FLOAT_TYPES and not identity:
            raise ValueError(f"{what} for input '{name}': the NPU normalizes float inputs only; this input is not "
                             f"float, give {[1] if what == 'std_values' else [0]} or leave it out")
        channels = dims[1] if dims is not None and len(dims) == 4 else (1 if dims is not None else None)
        if len(values) != 1 and channels is not None and len(values) != channels:
            kind = "channels" if dims is not None and len(dims) == 4 else "channel (it is not 4-D)"
            raise ValueError(f"{what} for input '{name}' has {len(values)} values but the input has {channels} "
                             f"{kind}; give one value per channel, or one for all")


def _check_shape_sets(sets: List[List[List[int]]], names: List[str], graph_inputs: Dict[str, Any]) -> None:
    for s, shapes in enumerate(sets):
        if len(shapes) != len(names):
            raise ValueError(f"dynamic_input[{s}] has {len(shapes)} shape(s) but the model takes {len(names)} "
                             f"input(s): {', '.join(names)}")
        for name, shape in zip(names, shapes):
            dims = _dims(graph_inputs[name])
            if dims is None:
                continue
            if len(dims) != len(shape):
                raise ValueError(f"dynamic_input[{s}]: input '{name}' has rank {len(dims)} but the shape given is "
                                 f"{shape}")
            for axis, (d, want) in enumerate(zip(dims, shape)):
                if d is not None and d != want:
                    raise ValueError(f"dynamic_input[{s}]: input '{name}' has static dim {d} at axis {axis} but "
                                     f"the shape given is {shape}")


def input_metadata(config: Dict[str, Any], names: List[str], graph_inputs: Dict[str, Any]) -> Dict[str, str]:
    """Checks mean/std/dynamic_input against the model (``names``: its inputs in the order the options follow;
    ``graph_inputs``: name -> ValueInfoProto in graph order, after input_size_list pinned dims) and returns the
    metadata entries, lists reordered to graph order."""
    order = [names.index(n) for n in graph_inputs]
    meta: Dict[str, str] = {}
    for option, key in (("mean_values", META_MEAN_VALUES), ("std_values", META_STD_VALUES)):
        if option in config:
            _check_normalization(config[option], option, names, graph_inputs)
            meta[key] = json.dumps([config[option][i] for i in order])
    if "dynamic_input" in config:
        _check_shape_sets(config["dynamic_input"], names, graph_inputs)
        meta[META_DYNAMIC_INPUT] = json.dumps([[shapes[i] for i in order] for shapes in config["dynamic_input"]])
    return meta


def normalize_feeds(config: Dict[str, Any], names: List[str], feeds: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Calibration samples are raw inputs, as toolkit2's dataset: the graph sees them after (x - mean) / std."""
    if "mean_values" not in config and "std_values" not in config:
        return feeds
    import numpy as np

    out = []
    for feed in feeds:
        feed = dict(feed)
        for i, name in enumerate(names):
            x = feed[name]
            mean = np.asarray(config.get("mean_values", [[0.0]] * len(names))[i], np.float32)
            std = np.asarray(config.get("std_values", [[1.0]] * len(names))[i], np.float32)
            if x.ndim == 4:
                mean, std = mean.reshape(1, -1, 1, 1), std.reshape(1, -1, 1, 1)
            feed[name] = ((x.astype(np.float32) - mean) / std).astype(x.dtype)
        out.append(feed)
    return out
