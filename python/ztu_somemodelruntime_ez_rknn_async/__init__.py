"""EZ RKNN Async: ONNX Runtime's InferenceSession API on Rockchip NPUs (and on the bundled NPU emulator).

Code written for ``onnxruntime.InferenceSession`` runs unchanged::

    import ztu_somemodelruntime_ez_rknn_async as ort
    sess = ort.InferenceSession("model.rknn")
    outputs = sess.run(None, {sess.get_inputs()[0].name: image})

On a Rockchip board the work goes to the vendor runtime ``librknnrt.so``; elsewhere to the bundled emulator,
which runs ONNX models with the NPU's semantics. ``get_providers()`` tells which one a session uses.
"""
from __future__ import annotations

import atexit
import os
import re
import weakref
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import numpy as np

from ._core import (IOBinding, InvalidArgument, ModelMetadata, NodeArg, NotSupportedError, OrtValue,
                    SessionIOBinding, _native_inputs, _native_outputs, _Session)
from .options import RknnProviderOptions, RknnRunOptions, make_provider_options

__all__ = [
    "IOBinding",
    "InferenceSession",
    "InvalidArgument",
    "ModelMetadata",
    "NodeArg",
    "NotSupportedError",
    "OrtValue",
    "SessionIOBinding",
    "RknnProviderOptions",
    "RknnRunOptions",
    "make_provider_options",
]

_DISTRIBUTION = "ztu-somemodelruntime-ez-rknn-async"
_PROVIDER = "RknnExecutionProvider"
_DISPATCH_BATCH = "ztu_modelrt_dispatch_batch"
_OUTPUT_DTYPE = "output_dtype"
_PROVIDER_OPTIONS_FORM = "provider_options must be a dict or a sequence whose first element is a dict"
_TRUE_WORDS = ("1", "true", "on", "yes")
_FALSE_WORDS = ("0", "false", "off", "no")
_TP_MODE_NAMES = {0: "auto", 0xFFFF: "all", 1: "0", 2: "1", 4: "2", 3: "0,1", 7: "0,1,2"}


def _read_version() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version(_DISTRIBUTION)
        except PackageNotFoundError:
            pass
    except ImportError:  # pragma: no cover - Python without importlib.metadata
        pass
    # A source checkout: the version is in pyproject.toml two folders above the package.
    try:
        text = (Path(__file__).resolve().parent.parent.parent / "pyproject.toml").read_text(encoding="utf-8")
        match = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
        if match:
            return match.group(1)
    except OSError:
        pass
    return "0+unknown"


__version__ = _read_version()


def _bool_like(value: Any, key: str) -> bool:
    """The contract's bool-like rule (bool, int, or a yes/no word), as the engine applies it to options."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    raise InvalidArgument(f"{key} must be a boolean")


_UNSET = object()


def _run_option(run_options: Any, key: str) -> Any:
    """The value of one run option from a dict or an ``onnxruntime.RunOptions``; ``_UNSET`` when absent."""
    if run_options is None:
        return _UNSET
    if isinstance(run_options, Mapping):
        return run_options.get(key, _UNSET)
    getter = getattr(run_options, "get_run_config_entry", None)
    if callable(getter):  # onnxruntime.RunOptions and look-alikes
        try:
            return getter(key)
        except Exception:  # an unset entry raises in onnxruntime: it means "not requested"
            return _UNSET
    return _UNSET


def _dispatch_batch_requested(run_options: Any) -> bool:
    value = _run_option(run_options, _DISPATCH_BATCH)
    return False if value is _UNSET else _bool_like(value, _DISPATCH_BATCH)


def _output_dtype(run_options: Any) -> Any:
    """The run's ``output_dtype`` ("float32" or "native"), or None for the session's; the engine checks it."""
    value = _run_option(run_options, _OUTPUT_DTYPE)
    return None if value is _UNSET else value


def _options_from_provider_options(provider_options: Any) -> Optional[Dict[str, Any]]:
    if provider_options is None:
        return None
    if isinstance(provider_options, Mapping):
        return dict(provider_options)
    if isinstance(provider_options, Sequence) and not isinstance(provider_options, (str, bytes, bytearray)):
        if len(provider_options) == 0:
            return None
        # ONNX Runtime's list-of-dicts form with one provider: the first dict is ours, the rest are ignored.
        if isinstance(provider_options[0], Mapping):
            return dict(provider_options[0])
    raise InvalidArgument(_PROVIDER_OPTIONS_FORM)


def _options_from_providers(providers: Any) -> Optional[Dict[str, Any]]:
    """Options of ("RknnExecutionProvider", {...}) in an ORT-style providers list; other providers are ignored."""
    if providers is None:
        return None
    if isinstance(providers, str):
        providers = [providers]
    found = None
    for entry in providers:
        if isinstance(entry, str):
            name, options = entry, None
        elif isinstance(entry, (tuple, list)) and len(entry) == 2 and isinstance(entry[0], str):
            name, options = entry
        else:
            raise TypeError(
                f"providers entries must be a provider name or a (name, options dict) tuple, got {entry!r}")
        if name.lower() != _PROVIDER.lower() or options is None:
            continue
        if not isinstance(options, Mapping):
            raise InvalidArgument(f"options of {_PROVIDER} in providers must be a dict, got {type(options).__name__}")
        found = dict(options)
    return found


def _resolve_options(providers: Any, provider_options: Any) -> Optional[Dict[str, Any]]:
    from_providers = _options_from_providers(providers)
    from_argument = _options_from_provider_options(provider_options)
    if from_providers is not None and from_argument:
        raise InvalidArgument(
            f"{_PROVIDER} options were given both in providers and in provider_options; pass them in one place")
    return from_providers if from_providers is not None else from_argument


def _output_name_list(output_names: Any) -> Optional[List[str]]:
    if output_names is None:
        return None
    if isinstance(output_names, str):  # one name, not a sequence of characters
        return [output_names]
    if isinstance(output_names, Iterable) and not isinstance(output_names, (bytes, bytearray, Mapping)):
        return list(output_names)
    raise InvalidArgument("output_names must be a sequence or None")


# Sessions still alive at interpreter exit are closed while Python can still run their callbacks, so every
# run_async task gets its one callback and no engine thread waits for a GIL that finalization took away.
_LIVE_SESSIONS: "weakref.WeakSet[Any]" = weakref.WeakSet()


@atexit.register
def _close_live_sessions() -> None:
    for sess in list(_LIVE_SESSIONS):
        try:
            sess.close()
        except Exception:  # pragma: no cover - exit must go on
            pass


def _option_text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


class InferenceSession:
    """Runs one RKNN model (or, on the emulator, an ONNX model) with ONNX Runtime's InferenceSession API.

    Args:
        path_or_bytes: the model: a path (``str`` or ``os.PathLike``), or its content as bytes-like.
        sess_options: accepted for compatibility with ONNX Runtime and ignored.
        providers: accepted as in ONNX Runtime; names other than ``RknnExecutionProvider`` are ignored, and a
            ``("RknnExecutionProvider", {...})`` entry supplies provider options.
        provider_options: a dict of :class:`RknnProviderOptions`, or a sequence whose first element is one.
        use_weight_from: another InferenceSession whose weights this one uses (RKNN_FLAG_SHARE_WEIGHT_MEM): load
            a weight-less model prepared with ``remove_weight=True`` on the master's weights. Not combinable with
            custom-op plugins.

    Raises:
        InvalidArgument: an invalid option (both RuntimeError and ValueError).
        RuntimeError: the model cannot be loaded; the message names the file and the reason.
        TypeError: an unknown keyword argument.
    """

    def __init__(
        self,
        path_or_bytes: Union[str, "os.PathLike[str]", bytes, bytearray, memoryview],
        sess_options: Any = None,
        providers: Any = None,
        provider_options: Any = None,
        **kwargs: Any,
    ) -> None:
        use_weight_from = kwargs.pop("use_weight_from", None)
        if kwargs:
            names = ", ".join(repr(k) for k in sorted(kwargs))
            raise TypeError(f"InferenceSession() got unexpected keyword argument(s): {names}")
        master = None
        if use_weight_from is not None:
            if not isinstance(use_weight_from, InferenceSession):
                raise InvalidArgument(
                    "use_weight_from must be an InferenceSession or None, got " + type(use_weight_from).__name__)
            master = getattr(use_weight_from, "_sess", None)
            if master is None:
                raise InvalidArgument("use_weight_from must reference an initialized master session")
        options = _resolve_options(providers, provider_options)
        self._sess_options = sess_options
        # The engine keeps the master's contexts alive as long as this session needs them (anchor §7).
        self._weight_master = use_weight_from
        if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
            self._model_path: Optional[str] = None
            self._sess = _Session.from_bytes(path_or_bytes, options, master)
        else:
            self._model_path = os.fsdecode(path_or_bytes)  # TypeError for anything that is not a path
            self._sess = _Session.from_file(self._model_path, options, master)
        self._inputs: List[NodeArg] = self._sess.inputs
        self._outputs: List[NodeArg] = self._sess.outputs
        self._input_names = [arg.name for arg in self._inputs]
        self._output_names = [arg.name for arg in self._outputs]
        self._input_name_set = frozenset(self._input_names)
        _LIVE_SESSIONS.add(self._sess)

    # -- description ---------------------------------------------------------------------------------------------
    def get_inputs(self) -> List[NodeArg]:
        return list(self._inputs)

    def get_outputs(self) -> List[NodeArg]:
        return list(self._outputs)

    @property
    def input_names(self) -> List[str]:
        return list(self._input_names)

    @property
    def output_names(self) -> List[str]:
        return list(self._output_names)

    def get_native_inputs(self) -> List[NodeArg]:
        """The device layouts io binding uses for inputs (``zero_copy_layout``): NHWC, or the 5-D NC1HWC2 shape
        ``[N, C1, H, W, C2]`` under ``zero_copy_layout="native"``. Creates the io binding context on first use."""
        return _native_inputs(self._sess)

    def get_native_outputs(self) -> List[NodeArg]:
        """As :meth:`get_native_inputs`, for the outputs."""
        return _native_outputs(self._sess)

    def get_modelmeta(self) -> ModelMetadata:
        return self._sess.model_metadata

    def get_memory_size(self) -> Dict[str, int]:
        """``RKNN_QUERY_MEM_SIZE`` of the session's first context: ``total_weight_size`` (weights this model holds
        itself; a ``use_weight_from`` slave holds none), ``total_internal_size``, ``total_dma_allocated_size``,
        ``total_sram_size`` and ``free_sram_size``, in bytes."""
        return self._sess.memory_size

    def get_custom_ops(self) -> List[str]:
        """The custom ops this session registered, e.g. ``"cstSigmoid (version=1, target=1) from /path/x.so"``."""
        return list(self._sess.custom_ops)

    def get_providers(self) -> List[str]:
        """One entry: the provider and the RKNN runtime it runs on, e.g.
        ``"RknnExecutionProvider (emulator 2.3.2 (ezrknn emulator 0.1.0))"``."""
        info = self._sess.runtime_info
        runtime = f"{info['kind']} {info['api_version']}".strip()  # the version is "" if the query failed
        return [f"{_PROVIDER} ({runtime})"]

    def get_provider_options(self) -> Dict[str, Dict[str, str]]:
        """The runtime in use (kind, library, versions) and the options in effect, as strings like ORT."""
        info = self._sess.runtime_info
        options = {
            "runtime": info["kind"],
            "library_path": info["library_path"],
            "api_version": info["api_version"],
            "drv_version": info["drv_version"],
            "chosen_by": info["chosen_by"],
        }
        for key, value in self._sess.effective_options.items():
            if key == "runtime" or value is None:  # "runtime" above already says what was loaded
                continue
            if key == "tp_mode":
                value = _TP_MODE_NAMES.get(value, hex(value))
            options[key] = _option_text(value)
        return {_PROVIDER: options}

    def get_session_options(self) -> Any:
        """The ``sess_options`` given at construction (accepted for ORT compatibility, not used)."""
        return self._sess_options

    # -- inference -----------------------------------------------------------------------------------------------
    def run(self, output_names: Any = None, input_feed: Any = None, run_options: Any = None) -> List[np.ndarray]:
        """Runs the model once and returns the requested outputs, as float32 arrays by default.

        Args:
            output_names: None (every output, in model order), one name, or a sequence of names.
            input_feed: a dict of name → array, a list/tuple in model order, or one array for a one-input model.
                Arrays need not be contiguous (a contiguous copy is made only then).
            run_options: a dict or an ``onnxruntime.RunOptions`` (:class:`RknnRunOptions`):
                ``ztu_modelrt_dispatch_batch`` splits the batch axis across cores; ``output_dtype`` ("float32" or
                "native") overrides the provider option of the same name for this run. Other keys are ignored.
        """
        if input_feed is None:
            raise TypeError("run() missing required argument: 'input_feed'")
        batch = _dispatch_batch_requested(run_options)
        dtype = _output_dtype(run_options)
        names = _output_name_list(output_names)
        return self._sess.run(self._inputs_in_model_order(input_feed), names, batch, dtype)

    def run_async(self, output_names: Any, input_feed: Any, callback: Any, user_data: Any = None,
                  run_options: Any = None) -> None:
        """Submits one run and returns at once; ``callback(results, user_data, err)`` runs on the session's
        callback thread when it finishes (ONNX Runtime's ``run_async`` convention).

        On success ``results`` is a list of arrays selected by ``output_names`` (float32, or the model's own dtypes
        with ``output_dtype="native"`` in ``run_options`` or the provider options) and ``err == ""``; on
        failure ``results is None`` and ``err`` is the message (e.g. ``"rknn_run failed: RKNN_ERR_FAIL (-1): ..."``).
        The inputs are copied before this returns, so the arrays may be reused at once. With
        ``sequential_callbacks`` (default) callbacks arrive in submission order, otherwise as runs finish. An
        exception raised by the callback is reported as unraisable ("Exception ignored in ...") and ignored.
        Blocks (GIL released) while ``max_queue_size`` tasks wait to start, at most ``submit_timeout_ms``, then
        raises RuntimeError "run_async submit timed out: async queue/callback pipeline is saturated".
        """
        if callback is None or not callable(callback):
            raise InvalidArgument("callback must be callable")
        if _dispatch_batch_requested(run_options):
            raise InvalidArgument("run_async does not support ztu_modelrt_dispatch_batch=True")
        dtype = _output_dtype(run_options)
        names = _output_name_list(output_names)
        self._sess.run_async(self._inputs_in_model_order(input_feed), names, callback, user_data, dtype)

    def run_pipeline(self, input_feed: Any, depth: int = 3, reset: bool = False) -> Optional[List[np.ndarray]]:
        """A fixed-delay stream for video: returns None for the first ``depth`` calls, then call k returns the
        outputs of call k - depth (all, model order; float32 unless the provider option ``output_dtype`` is
        "native"). ``reset=True`` or a different ``depth`` discards the results still in flight (those runs
        complete; their results are dropped). Inputs are copied, so a frame buffer may be reused at once. Use
        :meth:`flush_pipeline` at the end of a stream."""
        if isinstance(depth, bool) or not isinstance(depth, int):
            raise TypeError(f"depth must be an int, got {type(depth).__name__}")
        if depth < 0:
            raise TypeError("depth must be a non-negative int")
        return self._sess.run_pipeline(self._inputs_in_model_order(input_feed), depth, bool(reset))

    def flush_pipeline(self) -> List[List[np.ndarray]]:
        """The results of every :meth:`run_pipeline` call still in flight, oldest first; the pipeline is empty
        afterwards (the next call starts a new delay). Raises RuntimeError for the first failed run, after all
        were awaited."""
        return self._sess.flush_pipeline()

    def io_binding(self) -> SessionIOBinding:
        """A new, empty :class:`SessionIOBinding` for this session. Io binding runs on a context of its own (made
        at the first call), so it never races with ``run``/``run_async`` traffic on the workers' contexts."""
        return SessionIOBinding._for_session(self._sess)

    def run_with_iobinding(self, iobinding: SessionIOBinding, run_options: Any = None) -> None:
        """Runs once on the bound OrtValues, synchronously, GIL released; outputs are written in place (no copy).
        Every input and output must be bound. Concurrent calls on one session take turns. ``run_options`` is
        accepted for ORT compatibility and not used."""
        if not isinstance(iobinding, SessionIOBinding):
            raise TypeError(f"iobinding must be a SessionIOBinding, got {type(iobinding).__name__}")
        iobinding._run(self._sess)

    def wait_callbacks(self) -> None:
        """Blocks (GIL released) until every ``run_async`` callback submitted so far has run."""
        self._sess.wait_callbacks()

    def close(self) -> None:
        """Stops the session's engine: runs not yet started complete with an error saying the session closed
        (their callbacks run with it), running ones finish, every callback runs. Later runs raise RuntimeError.
        Called automatically at interpreter exit for sessions still alive."""
        self._sess.close()

    def _inputs_in_model_order(self, input_feed: Any) -> Sequence[Any]:
        expected = len(self._input_names)
        if isinstance(input_feed, np.ndarray):
            if expected != 1:
                raise InvalidArgument(f"Model expects {expected} inputs, but a single array was given")
            return (input_feed,)
        if isinstance(input_feed, Mapping):
            return self._dict_inputs(input_feed)
        if isinstance(input_feed, (list, tuple)):
            if len(input_feed) != expected:
                raise InvalidArgument(f"Input list size mismatch: expected {expected}, got {len(input_feed)}")
            return input_feed
        raise InvalidArgument("input_feed must be a numpy array, list/tuple, or dict")

    def _dict_inputs(self, feed: Mapping) -> List[Any]:
        unknown = [key for key in feed if key not in self._input_name_set]
        missing = [name for name in self._input_names if name not in feed]
        details = ""
        if unknown:
            details += "; unknown input name(s): " + ", ".join(repr(k) for k in unknown)
        if unknown or missing:
            details += "; model inputs: " + ", ".join(self._input_names)
        if len(feed) != len(self._input_names):
            if missing:
                details = "; missing: " + ", ".join(missing) + details
            raise InvalidArgument(
                f"Input dict size mismatch: expected {len(self._input_names)}, got {len(feed)}{details}")
        if missing:
            raise InvalidArgument(f"Missing input: {missing[0]}{details}")
        return [feed[name] for name in self._input_names]
