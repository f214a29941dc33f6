"""Activation ranges for ``quantized_algorithm='mmse'`` and ``'kl_divergence'``, searched per tensor from a
histogram of the calibration data over clipped candidate ranges [a * min, b * max] (0 always inside):

- mmse: the range whose 256-level quantization has the least expected squared error (rounding error inside the
  range plus clipping error outside). A tensor whose few outliers stretch min/max (PP-LCNetV3's activations reach 40
  where most values stay below 2) keeps a fine step for the values that matter.
- kl_divergence: the range whose quantized distribution loses the least information, measured as the
  Kullback-Leibler divergence KL(P || Q) between the histogram P clipped to the range (the outliers merged into its
  end bins) and Q, the same histogram merged into 256 levels and spread evenly over each level's non-empty bins
  (the entropy calibration of TensorRT, made two-sided for asymmetric int8). The bin holding 0 counts as its
  neighbours do: 0 is exact in int8 (the zero point), and a spike of exact zeros (a Relu's output) would otherwise
  dominate the divergence of every wide range."""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple

import numpy as np

MSE_BINS = 2048
KL_BINS = 8192            # finer, so that a range of 1/32 of the span still holds more bins than levels
LEVELS = 256
SHRINK = np.geomspace(1.0, 0.02, 40)  # candidate ends as fractions of the calibration min / max
KL_SHRINK = SHRINK[::2]               # KL costs more per candidate: 20 x 20 ends
KL_MIN_VALUES = LEVELS * 64           # fewer values make a histogram too sparse to compare: min/max


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


def _histogram_ranges(model: Any, feeds: List[Dict[str, np.ndarray]], algorithm: str, bins: int,
                      choose: Callable[[np.ndarray, float, float], Tuple[float, float]]
                      ) -> Dict[str, Tuple[float, float]]:
    """{tensor name: (rmin, rmax)} for every float tensor a node writes and every graph input: two passes over the
    calibration set (min/max, then a histogram of `bins` bins), then `choose(hist, min, max)` per tensor."""
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
            raise ValueError(f"quantized_algorithm={algorithm!r}: tensor '{name}' is not finite on the calibration "
                             f"data (min {lo[name]}, max {hi[name]}); check the dataset for NaN or inf values")
    hists = {name: np.zeros(bins) for name in lo if hi[name] > lo[name]}
    for feed in feeds:
        for name, value in zip(names, session.run(names, feed)):
            if name in hists:
                hists[name] += np.histogram(value, bins, (lo[name], hi[name]))[0]
    ranges = {name: (lo[name], hi[name]) for name in lo}
    for name, hist in hists.items():
        ranges[name] = choose(hist, lo[name], hi[name])
    return ranges


def mmse_ranges(model: Any, feeds: List[Dict[str, np.ndarray]]) -> Dict[str, Tuple[float, float]]:
    """{tensor name: (rmin, rmax)} with the least expected squared quantization error."""
    return _histogram_ranges(model, feeds, "mmse", MSE_BINS, _best_range)


def kl_ranges(model: Any, feeds: List[Dict[str, np.ndarray]]) -> Dict[str, Tuple[float, float]]:
    """{tensor name: (rmin, rmax)} with the least KL divergence between the clipped and the quantized histogram."""
    return _histogram_ranges(model, feeds, "kl_divergence", KL_BINS, _kl_range)


def _candidate_ends(lo: float, hi: float, shrink: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Candidate lower and upper ends: fractions of min and max, each side reaching 0 at most."""
    los = np.minimum(lo * shrink, 0.0) if lo < 0 else np.array([min(lo, 0.0)])
    his = np.maximum(hi * shrink, 0.0) if hi > 0 else np.array([max(hi, 0.0)])
    return los, his


def _best_range(hist: np.ndarray, lo: float, hi: float) -> Tuple[float, float]:
    """The (lo', hi') among the candidates with the least expected squared error for 256 levels that include 0."""
    bins = len(hist)
    centers = lo + (np.arange(bins) + 0.5) * (hi - lo) / bins
    los, his = _candidate_ends(lo, hi, SHRINK)
    cand_lo = np.repeat(los, len(his))[:, None]
    cand_hi = np.tile(his, len(los))[:, None]
    step = (cand_hi - cand_lo) / (LEVELS - 1)
    clipped = np.clip(centers[None, :], cand_lo, cand_hi)
    inside = clipped == centers[None, :]
    err = np.where(inside, step * step / 12.0, (centers[None, :] - clipped) ** 2) @ hist
    best = int(np.argmin(err))
    return float(cand_lo[best, 0]), float(cand_hi[best, 0])


def _kl_divergence(hist: np.ndarray, first: int, last: int) -> float:
    """KL(P || Q) for the bins [first, last) of `hist` (see the module docstring)."""
    sliced = hist[first:last]
    p = sliced.copy()
    p[0] += hist[:first].sum()
    p[-1] += hist[last:].sum()
    n = last - first
    level = (np.arange(n) * LEVELS) // n  # each bin's quantization level
    occupied = p > 0  # the end bins count as occupied when they hold merged outliers only
    mass = np.bincount(level, weights=sliced, minlength=LEVELS)
    count = np.bincount(level, weights=occupied, minlength=LEVELS)
    q = np.where(occupied, mass[level] / np.maximum(count[level], 1), 0.0)
    p, q = p / p.sum(), q / q.sum()
    # A level whose bins hold merged outliers only has no mass in Q: a small floor keeps the divergence finite.
    nz = p > 0
    q = np.maximum(q[nz], 1e-8)
    return float(np.sum(p[nz] * np.log(p[nz] / q)))


def _kl_range(hist: np.ndarray, lo: float, hi: float) -> Tuple[float, float]:
    """The (lo', hi') among the candidates with the least KL divergence; min/max when the histogram holds too few
    values, or no candidate range holds more bins than there are levels."""
    bins = len(hist)
    if hist.sum() < KL_MIN_VALUES:
        return lo, hi
    width = (hi - lo) / bins
    hist = hist.copy()
    if lo <= 0.0 <= hi:  # the bin holding 0 counts as its neighbours do
        zero = min(int((0.0 - lo) / width), bins - 1)
        neighbours = hist[max(zero - 1, 0):zero].tolist() + hist[zero + 1:zero + 2].tolist()
        hist[zero] = np.mean(neighbours) if neighbours else hist[zero]
    los, his = _candidate_ends(lo, hi, KL_SHRINK)
    best, best_range = float("inf"), (lo, hi)
    for a in los:
        first = int(np.clip(np.floor((a - lo) / width), 0, bins - 1))
        for b in his:
            last = int(np.clip(np.ceil((b - lo) / width), first + 1, bins))
            if last - first < LEVELS or hist[first:last].sum() <= 0:
                continue
            kl = _kl_divergence(hist, first, last)
            if kl < best:
                best, best_range = kl, (min(lo + first * width, 0.0), max(lo + last * width, 0.0))
    return float(best_range[0]), float(best_range[1])
