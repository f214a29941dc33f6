"""Automatic hybrid quantization: ``build(do_quantization=True, auto_hybrid=True)`` with
``config(auto_hybrid_cos_thresh=...)``, after rknn-toolkit2's options of those names.

Some networks lose too much in int8 even with good ranges: PP-OCR's direction classifier (a MobileNetV3 at scale
0.35) drops to cosine 0.90 on some inputs, its error spread over dozens of small layers (docs/emulator.md, "Where the
cls error comes from"). The NPU can run chosen layers in float16 instead, between int8 ones; the emulator model
keeps those nodes float (no Q/DQ around them), and runs them as float layers.

The search keeps as few nodes in float as it can find while every output's cosine similarity against the float
model stays at or above the threshold on every calibration input. toolkit2 applies its threshold to each layer's own
output; this helper applies it to the model's outputs, the figure the accuracy report shows. The nodes, in graph
order, are cut into GROUPS contiguous groups:

1. rank: each group is quantized alone (the rest float) and scored by its error, the sum of (1 - cosine) over the
   RANK_SAMPLES calibration inputs the int8 model does worst on;
2. grow: the groups with the largest error stay float, one more at a time, until the threshold holds;
3. trim: each float group is tried back in int8, the smallest error first, and stays int8 if the threshold still
   holds.

The errors of separate layers do not add exactly (one can cancel another), hence the trim; every model the search
returns was measured on all calibration inputs.
"""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

GROUPS = 16
RANK_SAMPLES = 8


def _groups(names: List[str], count: int) -> List[List[str]]:
    size = -(-len(names) // max(1, min(count, len(names))))
    return [names[i:i + size] for i in range(0, len(names), size)]


def _span(group: List[str]) -> str:
    return f"node {group[0]}" if len(group) == 1 else f"nodes {group[0]} .. {group[-1]} ({len(group)})"


def search(quantizer: Any, reference: Any, threshold: float,
           progress: Callable[[str], None]) -> Tuple[Any, List[str], float]:
    """(QDQ model, the nodes it keeps float, its lowest cosine over the calibration inputs and outputs).
    `quantizer` is a quantization.Quantizer of the float model, `reference` a quantization.FloatReference of it on
    the calibration feeds; `progress` receives one line per step."""

    def score(model: Any, samples: Optional[Sequence[int]] = None) -> np.ndarray:
        """Per sample, the lowest cosine over the outputs."""
        return reference.cosines(model, samples).min(axis=1)

    model = quantizer.qdq()
    cosines = score(model)
    progress(f"int8 everywhere: lowest cosine {cosines.min():.4f} (threshold {threshold})")
    if cosines.min() >= threshold:
        return model, [], float(cosines.min())

    names = quantizer.node_names()
    groups = _groups(names, GROUPS)
    rank_on = list(np.argsort(cosines)[:RANK_SAMPLES])
    errors = []
    for n, group in enumerate(groups):
        alone = set(group)
        errors.append(float(np.sum(1.0 - score(quantizer.qdq([x for x in names if x not in alone]), rank_on))))
        progress(f"rank {n + 1}/{len(groups)}: {_span(group)}: error {errors[-1]:.4f}")
    order = [int(i) for i in np.argsort(errors)[::-1]]

    def measure(chosen: List[int]) -> Tuple[Any, float]:
        candidate = quantizer.qdq([x for i in chosen for x in groups[i]])
        return candidate, float(score(candidate).min())

    chosen: List[int] = []
    worst = float(cosines.min())
    for i in order:
        chosen.append(i)
        model, worst = measure(chosen)
        progress(f"grow: {len(chosen)} group(s) float: lowest cosine {worst:.4f}")
        if worst >= threshold:
            break
    for i in sorted(chosen, key=lambda g: errors[g]):
        if len(chosen) == 1:
            break
        trial = [g for g in chosen if g != i]
        candidate, trial_worst = measure(trial)
        kept = trial_worst >= threshold
        progress(f"trim: {_span(groups[i])} back in int8: lowest cosine {trial_worst:.4f}"
                 f" ({'kept' if kept else 'stay float'})")
        if kept:
            chosen, model, worst = trial, candidate, trial_worst
    float_nodes = [x for i in sorted(chosen) for x in groups[i]]
    return model, float_nodes, worst
