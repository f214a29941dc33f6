"""Activation ranges for ``quantized_algorithm='mmse'``: per tensor, the clipping range [lo, hi] whose 256-level
quantization has the least squared error on the calibration data (rounding error inside the range plus clipping
error outside), searched from each tensor's histogram. A tensor whose few outliers stretch min/max (PP-LCNetV3's
activations reach 40 where most values stay below 2) keeps a fine step for the values that matter."""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

import numpy as np

BINS = 2048
SHRINK = np.geomspace(1.0, 0.02, 40)  # candidate ends as fractions of the calibration min / max


def _session(model: Any, names: List[str]):
    import onnx
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    have = {o.name for o in probe.graph.output}
    for name in names:
        if name not in have:
            probe.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # keep every tensor
    return ort.InferenceSession(probe.SerializeToString(), so, providers=["CPUExecutionProvider"])


def mmse_ranges(model: Any, feeds: List[Dict[str, np.ndarray]]) -> Dict[str, Tuple[float, float]]:
    """{tensor name: (rmin, rmax)} for every float tensor a node writes and every graph input."""
    weights = {t.name for t in model.graph.initializer}
    names = [i.name for i in model.graph.input if i.name not in weights]
    names += [o for n in model.graph.node if n.op_type != "Constant" for o in n.output if o]
    session = _session(model, names)
    lo: Dict[str, float] = {}
    hi: Dict[str, float] = {}
    for feed in feeds:
        for name, value in zip(names, session.run(names, feed)):
            if isinstance(value, np.ndarray) and value.dtype == np.float32 and value.size:
                lo[name] = min(lo.get(name, np.inf), float(value.min()))
                hi[name] = max(hi.get(name, -np.inf), float(value.max()))
    for name in lo:
        if not (np.isfinite(lo[name]) and np.isfinite(hi[name])):
            raise ValueError(f"quantized_algorithm='mmse': tensor '{name}' is not finite on the calibration data "
                             f"(min {lo[name]}, max {hi[name]}); check the dataset for NaN or inf values")
    hists = {name: np.zeros(BINS) for name in lo if hi[name] > lo[name]}
    for feed in feeds:
        for name, value in zip(names, session.run(names, feed)):
            if name in hists:
                hists[name] += np.histogram(value, BINS, (lo[name], hi[name]))[0]
    ranges = {name: (lo[name], hi[name]) for name in lo}
    for name, hist in hists.items():
        ranges[name] = _best_range(hist, lo[name], hi[name])
    return ranges


def _best_range(hist: np.ndarray, lo: float, hi: float) -> Tuple[float, float]:
    """The (lo', hi') among the candidates with the least expected squared error for 256 levels that include 0."""
    centers = lo + (np.arange(BINS) + 0.5) * (hi - lo) / BINS
    los = np.minimum(lo * SHRINK, 0.0) if lo < 0 else np.array([min(lo, 0.0)])
    his = np.maximum(hi * SHRINK, 0.0) if hi > 0 else np.array([max(hi, 0.0)])
    cand_lo = np.repeat(los, len(his))[:, None]
    cand_hi = np.tile(his, len(los))[:, None]
    step = (cand_hi - cand_lo) / 255.0
    clipped = np.clip(centers[None, :], cand_lo, cand_hi)
    inside = clipped == centers[None, :]
    err = np.where(inside, step * step / 12.0, (centers[None, :] - clipped) ** 2) @ hist
    best = int(np.argmin(err))
    return float(cand_lo[best, 0]), float(cand_hi[best, 0])
