"""Typed provider options for the RKNN execution provider.

Every key and alias accepted by ``InferenceSession(..., provider_options=...)`` is listed in
:class:`RknnProviderOptions`. :func:`make_provider_options` builds such a dict with the defaults spelled out and
checks it with the engine's own parser, so a bad value fails here rather than at session creation.
"""
from __future__ import annotations

import os
from typing import Literal, Optional, Sequence, TypedDict, Union

__all__ = [
    "LayoutLike",
    "ZeroCopyLayoutLike",
    "TpModeLike",
    "ScheduleLike",
    "RuntimeLike",
    "PathLike",
    "OutputDtypeLike",
    "RknnProviderOptions",
    "RknnRunOptions",
    "make_provider_options",
]

TpModeLike = Literal["auto", "all", "0", "1", "2", "0,1", "0,1,2"]
LayoutLike = Literal["nchw", "original", "nchw_software", "original_software", "nhwc", "any"]
ZeroCopyLayoutLike = Literal["nhwc", "native"]
# "float32": every output as float32 (dequantized, widened); "native": each output in the model's own dtype as its
# output attr reports it (int8/uint8 for a quantized output, float16 for an fp16 one, int64 stays int64).
OutputDtypeLike = Literal["float32", "native"]
ScheduleLike = Union[int, str, Sequence[int]]
PathLike = Union[str, "os.PathLike[str]"]
# "vendor" (librknnrt.so), "emulator" (the bundled librknnrt_emu.so) or the path of an RKNN runtime library.
RuntimeLike = Union[Literal["vendor", "emulator"], str, "os.PathLike[str]"]


class RknnProviderOptions(TypedDict, total=False):
    """Provider options of the RKNN execution provider (all keys optional)."""

    layout: LayoutLike
    zero_copy_layout: ZeroCopyLayoutLike
    max_queue_size: int
    threads_per_core: int
    submit_timeout_ms: int
    sequential_callbacks: bool
    schedule: ScheduleLike
    tp_mode: TpModeLike
    enable_pacing: bool
    disable_dup_context: bool
    custom_op_path: Union[PathLike, Sequence[PathLike]]
    custom_op_paths: Union[PathLike, Sequence[PathLike]]
    custom_op_default_path: bool
    load_custom_ops_from_default_path: bool
    runtime: RuntimeLike
    output_dtype: OutputDtypeLike


class RknnRunOptions(TypedDict, total=False):
    """``run_options`` of ``run`` and ``run_async`` (all keys optional; other keys are ignored)."""

    ztu_modelrt_dispatch_batch: bool  # run() only: split axis 0 across the cores
    output_dtype: OutputDtypeLike  # this run's output dtype; absent: the provider option's


def make_provider_options(
    *,
    layout: LayoutLike = "original",
    zero_copy_layout: ZeroCopyLayoutLike = "nhwc",
    max_queue_size: int = 3,
    threads_per_core: int = 1,
    submit_timeout_ms: int = 10000,
    sequential_callbacks: bool = True,
    schedule: Optional[ScheduleLike] = None,
    tp_mode: Optional[TpModeLike] = None,
    enable_pacing: bool = False,
    disable_dup_context: bool = False,
    custom_op_paths: Optional[Union[PathLike, Sequence[PathLike]]] = None,
    custom_op_default_path: bool = False,
    runtime: Optional[RuntimeLike] = None,
    output_dtype: OutputDtypeLike = "float32",
) -> RknnProviderOptions:
    """Build provider options with every default spelled out.

    ``schedule``, ``tp_mode``, ``custom_op_paths`` and ``runtime`` are included only when given.

    Raises:
        ValueError: ``schedule`` and ``tp_mode`` are both given, or a value is invalid (then the error is an
            :class:`InvalidArgument`, which is both a ValueError and a RuntimeError, with the engine's message).
    """
    if schedule is not None and tp_mode is not None:
        raise ValueError("provider options 'tp_mode' conflicts with 'schedule'; set only one.")
    options: RknnProviderOptions = {
        "layout": layout,
        "zero_copy_layout": zero_copy_layout,
        "max_queue_size": max_queue_size,
        "threads_per_core": threads_per_core,
        "submit_timeout_ms": submit_timeout_ms,
        "sequential_callbacks": sequential_callbacks,
        "enable_pacing": enable_pacing,
        "disable_dup_context": disable_dup_context,
        "custom_op_default_path": custom_op_default_path,
        "output_dtype": output_dtype,
    }
    if schedule is not None:
        options["schedule"] = schedule
    if tp_mode is not None:
        options["tp_mode"] = tp_mode
    if custom_op_paths is not None:
        options["custom_op_paths"] = custom_op_paths
    if runtime is not None:
        options["runtime"] = runtime

    from . import _core  # late: options.py stays importable for typing even without the native module

    _core.validate_provider_options(dict(options))
    return options
