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
    "InferenceSession",
    "InvalidArgument",
    "ModelMetadata",
    "NodeArg",
    "NotSupportedError",
    "RknnProviderOptions",
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
    def get_memory_size(self) -> Dict[str, int]: ...
    def get_custom_ops(self) -> List[str]: ...
    def get_providers(self) -> List[str]: ...
    def get_provider_options(self) -> Dict[str, Dict[str, str]]: ...
    def get_session_options(self) -> Any: ...
