"""The NPU's NC1HWC2 layout, packed in numpy as an independent reference for both suites (the engine's io
binding in tests/python, the emulator's native attrs in tests/python/emu)."""
from __future__ import annotations

import numpy as np


def to_nc1hwc2(x: np.ndarray, c2: int, w_stride: int) -> np.ndarray:
    """NCHW -> [N, C1, H, w_stride, C2] with zeros in the channel and row padding (C1 = ceil(C / C2))."""
    n, c, h, w = x.shape
    c1 = -(-c // c2)
    padded = np.zeros((n, c1 * c2, h, w), x.dtype)
    padded[:, :c] = x
    out = np.zeros((n, c1, h, w_stride, c2), x.dtype)
    out[:, :, :, :w, :] = padded.reshape(n, c1, c2, h, w).transpose(0, 1, 3, 4, 2)
    return out
