import os
from typing import Callable, Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

from .options import (
    LayoutLike as LayoutLike,
    OutputDtypeLike as OutputDtypeLike,
    RknnProviderOptions as RknnProviderOptions,
    RknnRunOptions as RknnRunOptions,
    RuntimeLike as RuntimeLike,
    ScheduleLike as ScheduleLike,
    TpModeLike as TpModeLike,
    ZeroCopyLayoutLike as ZeroCopyLayoutLike,
    make_provider_options as make_provider_options,
)

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

__version__: str

_ModelSource = Union[str, os.PathLike[str], bytes, bytearray, memoryview]
_ProviderEntry = Union[str, Tuple[str, Mapping[str, Any]]]
_ProviderOptionsArg = Union[RknnProviderOptions, Mapping[str, Any], Sequence[Mapping[str, Any]], None]
_InputFeed = Union[Mapping[str, npt.ArrayLike], Sequence[npt.ArrayLike], np.ndarray]
_RunOptionsArg = Union[RknnRunOptions, Mapping[str, Any], Any, None]  # Any: an onnxruntime.RunOptions
# float32 by default; with output_dtype="native" each output has the model's own dtype (int8, uint8, float16, ...).
_Outputs = List[npt.NDArray[Any]]

class InvalidArgument(RuntimeError, ValueError):
    """Bad input from the caller: an option value, an input name, shape or dtype."""

class NotSupportedError(RuntimeError):
    """A feature that the loaded RKNN runtime, or this version of the package, does not provide."""

class NodeArg:
    """A model input or output. No public constructor: obtained from get_inputs()/get_outputs()."""

    @property
    def name(self) -> str: ...
    @property
    def shape(self) -> List[int]: ...
    @property
    def type(self) -> str:
        """ONNX type string of the RKNN tensor, e.g. 'tensor(float16)' for a float model on the NPU."""

class ModelMetadata:
    """No public constructor: obtained from InferenceSession.get_modelmeta()."""

    @property
    def custom_metadata_map(self) -> Dict[str, str]:
        """{"rknn_custom_string": <text>} when the model carries a custom string, else {}."""
    @property
    def producer_name(self) -> str:
        """"rknn-toolkit2" on a vendor runtime, "onnx" on the emulator."""
    @property
    def graph_name(self) -> str:
        """The model file's name without its extension ("" for a model given as bytes)."""
    @property
    def domain(self) -> str: ...
    @property
    def description(self) -> str:
        """"<file name> on <runtime>", e.g. "m.onnx on emulator: librknnrt_emu.so 2.3.2 (...)"."""
    @property
    def graph_description(self) -> str: ...
    @property
    def version(self) -> int:
        """Always 0: RKNN models carry no model version."""

_DType = Union[npt.DTypeLike, str]
_MemFlags = Union[str, int, None]  # "default", "cacheable", "non_cacheable", "try_sram", or RKNN flag bits
_ValueLayout = str  # "onnx" (dense, as get_inputs()), "nhwc", "native" (the session's zero_copy_layout)

class OrtValue:
    """ONNX Runtime's OrtValue: a numpy array ("cpu") or NPU memory ("rknpu2": a dma-buf from rknn_create_mem2,
    imported into every RKNN context that binds it). No public constructor: use the static factories."""

    @staticmethod
    def ortvalue_from_numpy(
        arr: np.ndarray, device_type: str = "cpu", device_id: int = 0, *, name: Optional[str] = None,
        session: Optional["InferenceSession"] = None, io_kind: Optional[str] = None, layout: _ValueLayout = "onnx",
        sync: bool = True,
    ) -> "OrtValue":
        """"cpu" aliases ``arr``; "rknpu2" needs session/name/io_kind ("input"/"output"), casts to the tensor's
        dtype and converts to ``layout``."""
    @staticmethod
    def ortvalue_from_shape_and_type(
        shape: Sequence[int], element_type: _DType, device_type: str = "cpu", device_id: int = 0, *,
        name: Optional[str] = None, session: Optional["InferenceSession"] = None, io_kind: Optional[str] = None,
        layout: _ValueLayout = "native", mem_flags: _MemFlags = "cacheable",
    ) -> "OrtValue":
        """Zero-filled "cpu" array, or NPU memory for a session tensor (validated), or without session/name/io_kind
        a dense buffer of the shape (bindable as dense data with layout="onnx")."""
    @staticmethod
    def ortvalue_from_dmabuf(
        fd: int, shape: Sequence[int], element_type: _DType, *, size: int, offset: int = 0,
        virt_addr: Optional[int] = None, session: Optional["InferenceSession"] = None, name: Optional[str] = None,
        io_kind: Optional[str] = None, layout: _ValueLayout = "native",
    ) -> "OrtValue":
        """A caller's dma-buf (the fd is dup'ed) holding the tensor in ``layout`` from ``offset``."""
    def numpy(self) -> np.ndarray:
        """The data in the logical layout (NHWC rows and NC1HWC2 blocks converted); "cpu" values: the array."""
    def update_inplace(self, np_arr: np.ndarray) -> None:
        """Overwrites the data; shape and dtype must be the value's (no cast)."""
    def data_ptr(self) -> int: ...
    def device_name(self) -> str: ...
    def device_type(self) -> str: ...
    def device_id(self) -> int: ...
    def shape(self) -> List[int]: ...
    def element_type(self) -> str: ...
    def is_tensor(self) -> bool: ...
    def has_value(self) -> bool: ...
    def sync_to_device(self) -> None: ...
    def sync_from_device(self) -> None: ...
    def memory_info(self) -> Dict[str, Any]:
        """device_type, device_id; for "rknpu2" also size, fd, offset, virt_addr, import_count, dmabuf_backed,
        attr_size, size_with_stride, w_stride, h_stride, fmt, pass_through, native_shape, layout, mem_flags."""

class SessionIOBinding:
    """ONNX Runtime's IOBinding. No public constructor: use InferenceSession.io_binding()."""

    def bind_cpu_input(self, name: str, arr_on_cpu: np.ndarray) -> None:
        """Copies ``arr_on_cpu`` (the tensor's exact dtype) into NPU memory this binding keeps for ``name``."""
    def bind_input(self, *args: Any, **kwargs: Any) -> None:
        """Always raises: RKNN device memory needs a dma-buf fd, not a raw pointer."""
    def bind_ortvalue_input(self, name: str, ortvalue: OrtValue) -> None: ...
    def bind_ortvalue_output(self, name: str, ortvalue: OrtValue) -> None: ...
    def bind_output(
        self, name: str, device_type: str = "cpu", device_id: int = 0, element_type: Optional[_DType] = None,
        shape: Optional[Sequence[int]] = None, buffer_ptr: None = None, *, layout: _ValueLayout = "native",
        mem_flags: _MemFlags = "cacheable",
    ) -> OrtValue:
        """Allocates NPU memory for output ``name`` (also for device_type "cpu") and binds it."""
    def get_outputs(self) -> List[OrtValue]:
        """Bound outputs in the order first bound."""
    def copy_outputs_to_cpu(self) -> List[np.ndarray]: ...
    def clear_binding_inputs(self) -> None: ...
    def clear_binding_outputs(self) -> None: ...
    def synchronize_inputs(self) -> None: ...
    def synchronize_outputs(self) -> None: ...

IOBinding = SessionIOBinding

class InferenceSession:
    def __init__(
        self,
        path_or_bytes: _ModelSource,
        sess_options: Any = None,
        providers: Optional[Sequence[_ProviderEntry]] = None,
        provider_options: _ProviderOptionsArg = None,
        *,
        use_weight_from: Optional["InferenceSession"] = None,
    ) -> None: ...
    def run(
        self,
        output_names: Union[str, Sequence[str], None] = None,
        input_feed: Optional[_InputFeed] = None,
        run_options: _RunOptionsArg = None,
    ) -> _Outputs: ...
    def run_async(
        self,
        output_names: Union[str, Sequence[str], None],
        input_feed: _InputFeed,
        callback: Callable[[Optional[_Outputs], Any, str], Any],
        user_data: Any = None,
        run_options: _RunOptionsArg = None,
    ) -> None: ...
    def run_pipeline(
        self, input_feed: _InputFeed, depth: int = 3, reset: bool = False
    ) -> Optional[_Outputs]: ...
    def flush_pipeline(self) -> List[_Outputs]: ...
    def wait_callbacks(self) -> None: ...
    def close(self) -> None: ...
    def get_inputs(self) -> List[NodeArg]: ...
    def get_outputs(self) -> List[NodeArg]: ...
    @property
    def input_names(self) -> List[str]: ...
    @property
    def output_names(self) -> List[str]: ...
    def get_modelmeta(self) -> ModelMetadata: ...
    def get_native_inputs(self) -> List[NodeArg]: ...
    def get_native_outputs(self) -> List[NodeArg]: ...
    def io_binding(self) -> SessionIOBinding: ...
    def run_with_iobinding(self, iobinding: SessionIOBinding, run_options: Any = None) -> None: ...
    def get_memory_size(self) -> Dict[str, int]: ...
    def get_custom_ops(self) -> List[str]: ...
    def get_providers(self) -> List[str]: ...
    def get_provider_options(self) -> Dict[str, Dict[str, str]]: ...
    def get_session_options(self) -> Any: ...
