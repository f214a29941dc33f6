"""Model preparation in the spirit of rknn-toolkit2: config -> load_onnx -> build -> export_rknn.

The emulator's model format is ONNX (DESIGN.md, "Model format of the emulator"): what toolkit2 bakes into a .rknn
file goes into the ONNX model's ``metadata_props`` here, and ``export_rknn`` writes ONNX under whatever name it is
given (``model.rknn`` included)::

    from ztu_somemodelruntime_ez_rknn_async.model_prep import RKNN

    rknn = RKNN()
    rknn.config(target_platform="rk3588", custom_string="RGB")
    rknn.load_onnx("model.onnx", input_size_list=[[1, 3, 640, 640]])
    rknn.build(do_quantization=False)
    rknn.export_rknn("model.rknn")

Pure Python (numpy and onnx): it does not need the compiled runtime, so it also runs on a PC without a board.
Methods return 0 like toolkit2's; problems raise ValueError / TypeError / FileNotFoundError / NotImplementedError
naming the option, never a silent -1.
"""
from __future__ import annotations

import copy
import os
import sys
from typing import Any, Dict, List, Optional, Sequence, Union

# Metadata keys the emulator reads (emu/npu/model_metadata.hpp).
META_CUSTOM_STRING = "rknn.custom_string"
META_TARGET_PLATFORM = "rknn.target_platform"
META_REMOVE_WEIGHT = "rknn.remove_weight"
META_PREPARED_BY = "rknn.prepared_by"

TARGET_PLATFORMS = ("rk3588", "rk3576", "rk3562", "rk3566", "rk3568")
MAX_CUSTOM_STRING_BYTES = 1023  # RKNN_QUERY_CUSTOM_STRING: char[1024] with its NUL

# Where a remove_weight model says its weights are: the master context given to rknn_init (extend->ctx).
MASTER_WEIGHT_LOCATION = "rknn.master_context"

# Written from config(mean_values=..., std_values=..., dynamic_input=...) by prep_options.py.
_INPUT_METADATA_KEYS = ("rknn.mean_values", "rknn.std_values", "rknn.dynamic_input")

# toolkit2 options this helper knows but does not implement yet: any value other than None is refused.
_NOT_IMPLEMENTED_OPTIONS = (
    "quant_img_RGB2BGR", "quantized_hybrid_level", "float_dtype", "optimization_level", "compress_weight", "inputs_yuv_fmt", "single_core_mode", "model_pruning", "op_target", "sparse_infer",
    "enable_flash_attention", "remove_reshape", "quantize_weight", "auto_hybrid_euc_thresh",
)
_IMPLEMENTED_OPTIONS = ("custom_string", "target_platform", "remove_weight", "mean_values", "std_values",
                        "dynamic_input", "quantized_dtype", "quantized_algorithm", "quantized_method",
                        "auto_hybrid_cos_thresh")
DEFAULT_AUTO_HYBRID_COS_THRESH = 0.98  # toolkit2's default

PathLike = Union[str, "os.PathLike[str]"]


def _onnx():
    try:
        import onnx
    except ImportError as e:  # pragma: no cover - the test extra installs it
        raise ImportError("model preparation needs the 'onnx' package: pip install onnx") from e
    return onnx


def _sibling(name: str):
    """A sibling module of this package, also when this file is loaded on its own (tests load it by path)."""
    if __package__:
        import importlib

        return importlib.import_module(f"{__package__}.{name}")
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"ezrknn_{name}_source", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _activation_ranges(algorithm: str):
    """quant_ranges' range search for a quantized_algorithm, or None for 'normal' (plain min/max)."""
    ranges = _sibling("quant_ranges")
    return {"mmse": ranges.mmse_ranges, "kl_divergence": ranges.kl_ranges}.get(algorithm)


def _quantization():
    return _sibling("quantization")


def _prep_options():
    return _sibling("prep_options")


def _path(value: Any, what: str) -> str:
    if isinstance(value, (str, os.PathLike)):
        text = os.fspath(value)
        if isinstance(text, str) and text:
            return text
    raise TypeError(f"{what} must be a non-empty path (str or os.PathLike), got {value!r}")


def _check_custom_string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"custom_string must be a str, got {type(value).__name__}")
    if "\0" in value:
        raise ValueError("custom_string must not contain NUL characters (the runtime returns a C string)")
    size = len(value.encode("utf-8"))
    if size > MAX_CUSTOM_STRING_BYTES:
        raise ValueError(f"custom_string is {size} bytes in UTF-8; RKNN_QUERY_CUSTOM_STRING holds at most "
                         f"{MAX_CUSTOM_STRING_BYTES}")
    return value


def _check_target_platform(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"target_platform must be a str, got {type(value).__name__}")
    name = value.strip().lower()
    if name not in TARGET_PLATFORMS:
        raise ValueError(f"target_platform {value!r} is not one of {', '.join(TARGET_PLATFORMS)}")
    return name


def _check_cos_thresh(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"auto_hybrid_cos_thresh must be a number, got {value!r}")
    if not 0.0 < float(value) < 1.0:
        raise ValueError(f"auto_hybrid_cos_thresh must lie between 0 and 1 (a cosine similarity), got {value!r}")
    return float(value)


def _check_bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{what} must be True or False, got {value!r}")
    return value


def _check_shape(value: Any, what: str) -> List[int]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{what} must be a list of ints, got {value!r}")
    dims = []
    for d in value:
        if isinstance(d, bool) or not isinstance(d, int):
            raise TypeError(f"{what} must be a list of ints, got {value!r}")
        if d <= 0:
            raise ValueError(f"{what} has dim {d}; every dim must be > 0")
        dims.append(int(d))
    return dims


class RKNN:
    """Prepares an ONNX model for the runtime: toolkit2's RKNN() object for the options implemented so far
    (custom_string, target_platform, remove_weight, mean_values, std_values, dynamic_input, input_size_list,
    int8 quantization and hybrid quantization, automatic or in two steps)."""

    def __init__(self, verbose: bool = False, verbose_file: Optional[str] = None) -> None:
        if verbose_file is not None:
            raise NotImplementedError("RKNN(verbose_file=...) is not implemented yet; log to stderr with verbose=True")
        self._verbose = _check_bool(verbose, "verbose")
        self._config: Dict[str, Any] = {}
        self._source = None  # onnx.ModelProto as loaded
        self._source_name = ""
        self._input_sizes: Dict[str, List[int]] = {}
        self._input_names: List[str] = []  # the order input_size_list, mean/std and dynamic_input follow
        self._built = None  # onnx.ModelProto after build()
        self._accuracy: Dict[str, float] = {}  # output -> lowest cosine vs the float model, after a quantized build
        self._float_nodes: List[str] = []  # nodes auto_hybrid left in float (names in the quantizer's model)

    def _log(self, text: str) -> None:
        if self._verbose:
            print(f"I model_prep: {text}", file=sys.stderr)

    # --- config ------------------------------------------------------------------------------------------------

    def config(self, **options: Any) -> int:
        """Sets conversion options. Implemented: custom_string (str, at most 1023 UTF-8 bytes), target_platform
        (rk3588, rk3576, rk3562, rk3566, rk3568), remove_weight (bool: write a weight-less slave model whose
        float weights come from a master context at rknn_init), mean_values / std_values (one list per input, one
        value per channel or one for all: the runtime feeds (x - mean) / std to the graph), dynamic_input (a list
        of shape sets, each one full shape per input: the shapes rknn_set_input_shapes may select; the first is
        the default). Lists are checked against the model at build(). Other toolkit2 options raise
        NotImplementedError unless None; unknown names raise TypeError."""
        checked: Dict[str, Any] = {}
        for name, value in options.items():
            if name == "custom_string":
                checked[name] = _check_custom_string(value)
            elif name == "target_platform":
                checked[name] = _check_target_platform(value)
            elif name == "remove_weight":
                checked[name] = _check_bool(value, "remove_weight")
            elif name in ("mean_values", "std_values") and value is not None:
                checked[name] = _prep_options().check_value_lists(value, name)
            elif name == "dynamic_input" and value is not None:
                checked[name] = _prep_options().check_dynamic_input(value)
            elif name in ("mean_values", "std_values", "dynamic_input"):
                self._config.pop(name, None)
            elif name == "quantized_dtype" and value is not None:
                checked[name] = _quantization().check_quantized_dtype(value)
            elif name == "quantized_algorithm" and value is not None:
                checked[name] = _quantization().check_quantized_algorithm(value)
            elif name == "quantized_method" and value is not None:
                checked[name] = _quantization().check_quantized_method(value)
            elif name in ("quantized_dtype", "quantized_algorithm", "quantized_method"):
                pass
            elif name == "auto_hybrid_cos_thresh":
                if value is None:
                    self._config.pop(name, None)
                else:
                    checked[name] = _check_cos_thresh(value)
            elif name == "auto_hybrid":
                raise TypeError("auto_hybrid is an option of build(), not config(): build(do_quantization=True, "
                                "dataset=..., auto_hybrid=True); config() takes auto_hybrid_cos_thresh")
            elif name in _NOT_IMPLEMENTED_OPTIONS:
                if value is not None:
                    raise NotImplementedError(f"config option {name} is not implemented yet by this model "
                                              f"preparation helper; leave it out (or None)")
            else:
                known = ", ".join(_IMPLEMENTED_OPTIONS + _NOT_IMPLEMENTED_OPTIONS)
                raise TypeError(f"config() got an unknown option {name!r}; known options: {known}")
        self._config.update(checked)
        self._built = None
        return 0

    # --- load --------------------------------------------------------------------------------------------------

    def load_onnx(self, model: Any, inputs: Optional[Sequence[str]] = None,
                  input_size_list: Optional[Sequence[Sequence[int]]] = None, **unsupported: Any) -> int:
        """Loads an ONNX model (a path, or an onnx.ModelProto). ``inputs`` names graph inputs (the order that
        ``input_size_list`` follows; default: every graph input in order). ``input_size_list`` gives one full
        shape per input and pins its symbolic dims; static dims must match."""
        onnx = _onnx()
        for name, value in unsupported.items():
            if name in ("input_initial_val", "outputs"):
                if value is not None:
                    raise NotImplementedError(f"load_onnx option {name} is not implemented yet; leave it out")
            else:
                raise TypeError(f"load_onnx() got an unknown option {name!r}")
        if isinstance(model, onnx.ModelProto):
            proto = copy.deepcopy(model)
            self._source_name = "<ModelProto>"
        else:
            path = _path(model, "model")
            if not os.path.isfile(path):
                raise FileNotFoundError(f"model: no such file {path!r}")
            proto = onnx.load(path)
            self._source_name = path

        graph_inputs = _graph_inputs(proto)
        names = list(graph_inputs) if inputs is None else self._check_input_names(inputs, graph_inputs)
        sizes: Dict[str, List[int]] = {}
        if input_size_list is not None:
            if isinstance(input_size_list, (str, bytes)) or not isinstance(input_size_list, Sequence):
                raise TypeError(f"input_size_list must be a list of shapes, got {input_size_list!r}")
            if len(input_size_list) != len(names):
                raise ValueError(f"input_size_list has {len(input_size_list)} shape(s) but the model takes "
                                 f"{len(names)} input(s): {', '.join(names)}")
            for name, shape in zip(names, input_size_list):
                dims = _check_shape(shape, f"input_size_list entry for input '{name}'")
                _check_fits(name, graph_inputs[name], dims)
                sizes[name] = dims
        self._source = proto
        self._input_sizes = sizes
        self._input_names = names
        self._built = None
        self._log(f"loaded {self._source_name}: inputs {', '.join(names)}")
        return 0

    @staticmethod
    def _check_input_names(inputs: Any, graph_inputs: Dict[str, Any]) -> List[str]:
        if isinstance(inputs, (str, bytes)) or not isinstance(inputs, Sequence):
            raise TypeError(f"inputs must be a list of input names, got {inputs!r}")
        names = []
        for name in inputs:
            if not isinstance(name, str):
                raise TypeError(f"inputs must be a list of input names, got {inputs!r}")
            if name not in graph_inputs:
                raise ValueError(f"inputs: {name!r} is not a graph input (inputs are {', '.join(graph_inputs)}); "
                                 f"cutting the graph at inner tensors is not implemented yet")
            if name in names:
                raise ValueError(f"inputs: {name!r} is listed twice")
            names.append(name)
        return names

    # --- build -------------------------------------------------------------------------------------------------

    def build(self, do_quantization: bool = False, dataset: Any = None, auto_hybrid: bool = False,
              **unsupported: Any) -> int:
        """Applies the configuration to the loaded model. With ``do_quantization=True`` it quantizes to int8 (QDQ)
        from ``dataset``: a list of input arrays (or of per-input lists of arrays), or the path of a .txt file
        listing .npy files (one sample per line); then ``accuracy_report()`` gives each output's cosine
        similarity against the float model on those inputs. ``auto_hybrid=True`` then keeps the fewest nodes it
        finds in float (float16 on the NPU) so that every output keeps ``config(auto_hybrid_cos_thresh=...)``
        (default 0.98) on every calibration input (quant_hybrid.py; progress goes to stderr); ``hybrid_nodes()``
        lists them."""
        for name, value in unsupported.items():
            if name == "rknn_batch_size":
                if value is not None:
                    raise NotImplementedError("build option rknn_batch_size is not implemented yet; leave it out")
            else:
                raise TypeError(f"build() got an unknown option {name!r}")
        quantize = _check_bool(do_quantization, "do_quantization")
        if _check_bool(auto_hybrid, "auto_hybrid") and not quantize:
            raise ValueError("build(auto_hybrid=True) chooses float layers of a quantized model; it needs "
                             "do_quantization=True and a dataset")
        if not quantize and dataset is not None:
            raise ValueError("build(dataset=...) is only used with do_quantization=True; leave dataset out")
        if quantize and dataset is None:
            raise ValueError("build(do_quantization=True) needs dataset=: a list of input arrays or the path of a "
                             ".txt list of .npy files")
        if self._source is None:
            raise RuntimeError("build(): no model loaded; call load_onnx() first")

        model = self._pinned_source()
        input_meta = self._input_metadata(model)
        self._accuracy = {}
        self._float_nodes = []
        if quantize:
            float_model = model
            feeds, quantizer = self._calibrated_quantizer(float_model, dataset)
            reference = _quantization().FloatReference(float_model, feeds)
            if auto_hybrid:
                model, self._float_nodes, _ = self._hybrid_search(quantizer, reference)
                self._log(f"auto_hybrid kept {len(self._float_nodes)} of {len(quantizer.node_names())} nodes "
                          f"in float")
            else:
                model = quantizer.qdq()
            self._report_accuracy(reference, model)
        self._finish_build(model, input_meta)
        return 0

    def _pinned_source(self) -> Any:
        """A copy of the loaded model with input_size_list's shapes."""
        model = copy.deepcopy(self._source)
        for value_info in model.graph.input:
            if value_info.name in self._input_sizes:
                _pin_shape(value_info, self._input_sizes[value_info.name])
        return model

    def _quantizer(self, model: Any, feeds: List[Dict[str, Any]], **prepared: Any) -> Any:
        """A quantization.Quantizer of `model` with this configuration's dtype and method."""
        return _quantization().Quantizer(model, feeds, self._config.get("quantized_dtype", "w8a8"),
                                         self._config.get("quantized_method", "channel") == "channel", **prepared)

    def _calibrated_quantizer(self, model: Any, dataset: Any) -> tuple:
        """(calibration feeds, Quantizer) of `model` for `dataset`: folds, then the configured range search."""
        q = _quantization()
        feeds = _prep_options().normalize_feeds(self._config, self._input_names, q.load_dataset(dataset, model))
        return feeds, self._quantizer(model, feeds, fold=_sibling("quant_folding").fold_for_quantization,
                                      ranges=_activation_ranges(self._config.get("quantized_algorithm", "normal")))

    def _hybrid_search(self, quantizer: Any, reference: Any) -> tuple:
        """quant_hybrid.search against `reference` (a quantization.FloatReference) with the configured threshold."""
        threshold = self._config.get("auto_hybrid_cos_thresh", DEFAULT_AUTO_HYBRID_COS_THRESH)
        return _sibling("quant_hybrid").search(quantizer, reference, threshold,
                                               lambda text: print(f"I auto_hybrid: {text}", file=sys.stderr,
                                                                  flush=True))

    def _report_accuracy(self, reference: Any, model: Any) -> None:
        self._accuracy = _quantization().accuracy_report(reference, model)
        for name, value in self._accuracy.items():
            self._log(f"quantized output '{name}': cosine {value:.6f} vs float on {len(reference.feeds)} input(s)")

    def _finish_build(self, model: Any, input_meta: Dict[str, str]) -> None:
        """Writes the configuration into the (quantized) model's metadata; the model becomes what export_rknn
        writes."""
        onnx = _onnx()
        removed = _remove_weights(model) if self._config.get("remove_weight") else 0
        meta = {p.key: p.value for p in model.metadata_props}
        for key in (META_CUSTOM_STRING, META_TARGET_PLATFORM, META_REMOVE_WEIGHT, *_INPUT_METADATA_KEYS):
            meta.pop(key, None)
        meta.update(input_meta)
        if "custom_string" in self._config:
            meta[META_CUSTOM_STRING] = self._config["custom_string"]
        if "target_platform" in self._config:
            meta[META_TARGET_PLATFORM] = self._config["target_platform"]
        if self._config.get("remove_weight"):
            meta[META_REMOVE_WEIGHT] = "1"
        meta[META_PREPARED_BY] = "ztu_somemodelruntime_ez_rknn_async.model_prep"
        del model.metadata_props[:]
        onnx.helper.set_model_props(model, meta)
        self._built = model
        self._log(f"built {self._source_name}" + (f": removed {removed} weight(s)" if removed else ""))

    def _input_metadata(self, model: Any) -> Dict[str, str]:
        """mean/std and dynamic_input checked against the (pinned) model, as metadata entries."""
        options = {k: v for k, v in self._config.items() if k in ("mean_values", "std_values", "dynamic_input")}
        if not options:
            return {}
        graph_inputs = _graph_inputs(model)
        if len(self._input_names) != len(graph_inputs):
            raise ValueError(f"{', '.join(options)} need every graph input listed in load_onnx(inputs=...): the "
                             f"model has {', '.join(graph_inputs)}")
        if "dynamic_input" in options and self._config.get("remove_weight"):
            raise ValueError("dynamic_input and remove_weight cannot be combined: the runtime refuses shared weights "
                             "for a dynamic-shape model")
        return _prep_options().input_metadata(options, self._input_names, graph_inputs)

    def hybrid_nodes(self) -> List[str]:
        """After build(..., auto_hybrid=True) or hybrid_quantization_step2(): the nodes left in float, in graph
        order (names of the model as quantized: after the folds of quant_folding.py, unnamed nodes called
        ``<op_type>_<index>``); empty when int8 alone kept the threshold."""
        if not self._accuracy:
            raise RuntimeError("hybrid_nodes(): no quantized build; call build(do_quantization=True, dataset=..., "
                               "auto_hybrid=True)")
        return list(self._float_nodes)

    def accuracy_report(self) -> Dict[str, float]:
        """After build(do_quantization=True): per output, the lowest cosine similarity between the quantized and
        the float model over the calibration inputs (toolkit2's accuracy analysis, entire-model column)."""
        if not self._accuracy:
            raise RuntimeError("accuracy_report(): no quantized build; call build(do_quantization=True, dataset=...)")
        return dict(self._accuracy)

    # --- manual hybrid quantization (quant_hybrid_cfg.py) -------------------------------------------------------

    def hybrid_quantization_step1(self, dataset: Any = None, rknn_batch_size: Any = None, proposal: bool = False,
                                  proposal_dataset_size: int = 1, custom_hybrid: Any = None) -> int:
        """After config() and load_onnx(): calibrates on ``dataset`` as build(do_quantization=True) does and writes
        ``<model>.model``, ``<model>.data`` and ``<model>.quantization.cfg`` into the working folder (<model>: the
        model file's name without extension). Edit the cfg's ``custom_quantize_layers`` (node name: float16), then
        call hybrid_quantization_step2(). ``proposal=True`` lists the nodes build(auto_hybrid=True)'s search keeps
        float, scored on the first ``proposal_dataset_size`` inputs; ``custom_hybrid=[[start, end], ...]`` lists
        the nodes between those tensors."""
        if rknn_batch_size is not None:
            raise NotImplementedError("hybrid_quantization_step1 option rknn_batch_size is not implemented yet; "
                                      "leave it out")
        _check_bool(proposal, "proposal")
        if isinstance(proposal_dataset_size, bool) or not isinstance(proposal_dataset_size, int):
            raise TypeError(f"proposal_dataset_size must be an int, got {proposal_dataset_size!r}")
        if proposal_dataset_size < 1:
            raise ValueError(f"proposal_dataset_size must be >= 1, got {proposal_dataset_size}")
        files = _sibling("quant_hybrid_cfg")
        if custom_hybrid is not None:
            files.check_pairs(custom_hybrid)
        if dataset is None:
            raise ValueError("hybrid_quantization_step1 needs dataset=: a list of input arrays or the path of a "
                             ".txt list of .npy files (the calibration inputs)")
        if self._source is None:
            raise RuntimeError("hybrid_quantization_step1(): no model loaded; call load_onnx() first")
        model = self._pinned_source()
        self._input_metadata(model)  # bad mean/std/dynamic_input fail here, not in step 2
        feeds, quantizer = self._calibrated_quantizer(model, dataset)
        chosen = set(files.nodes_between(quantizer.model, custom_hybrid, model) if custom_hybrid else [])
        if proposal:
            proposal_feeds = feeds[:proposal_dataset_size]
            chosen.update(self._hybrid_search(quantizer, _quantization().FloatReference(model, proposal_feeds))[1])
        float_nodes = [name for name in quantizer.node_names() if name in chosen]
        stem = files.file_stem(self._source_name, model)
        model_path, data_path, cfg_path = files.file_paths(os.getcwd(), stem)
        quantized = quantizer.qdq()
        _onnx().save(quantizer.model, model_path)
        files.write_data(data_path, model_path, {"config": self._config, "input_names": self._input_names,
                                                 "input_sizes": self._input_sizes},
                         quantizer.searched_ranges(), quantizer.calibration_cache(), feeds,
                         [name for name in feeds[0]])
        files.write_cfg(cfg_path, stem, quantizer.node_names(), float_nodes,
                        files.quantization_parameters(quantized, quantizer.model),
                        self._config.get("quantized_dtype", "w8a8"))
        self._built, self._accuracy, self._float_nodes = None, {}, []
        print(f"I hybrid_quantization_step1: wrote {model_path}, {data_path} and {cfg_path} ({len(float_nodes)} "
              f"node(s) float16 in the cfg)", file=sys.stderr, flush=True)
        return 0

    def hybrid_quantization_step2(self, model_input: PathLike, data_input: PathLike,
                                  model_quantization_cfg: PathLike) -> int:
        """Reads step 1's three files and builds the QDQ model with the cfg's float16 nodes left float, without
        calibrating again. It uses the configuration saved by step 1 (this object's config() and load_onnx() are
        replaced). Then export_rknn() writes it, accuracy_report() gives the cosines on step 1's calibration
        inputs (stored in the .data file) against the .model, and hybrid_nodes() lists the float nodes."""
        step = _sibling("quant_hybrid_cfg").read_step2(_path(model_input, "model_input"),
                                                        _path(data_input, "data_input"),
                                                        _path(model_quantization_cfg, "model_quantization_cfg"))
        self._config = dict(step.settings["config"])
        self._input_names = list(step.settings["input_names"])
        self._input_sizes = dict(step.settings["input_sizes"])
        self._source, self._source_name = step.model, os.fspath(model_input)
        input_meta = self._input_metadata(step.model)
        quantizer = self._quantizer(step.model, step.feeds, searched=step.searched, calibration=step.calibration)
        model = quantizer.qdq(step.float_nodes)
        self._report_accuracy(_quantization().FloatReference(step.model, step.feeds), model)
        self._float_nodes = list(step.float_nodes)
        self._finish_build(model, input_meta)
        return 0

    # --- export ------------------------------------------------------------------------------------------------

    def export_rknn(self, export_path: PathLike, **unsupported: Any) -> int:
        """Writes the built model (ONNX, whatever the file name says) to ``export_path``."""
        onnx = _onnx()
        for name in unsupported:
            raise TypeError(f"export_rknn() got an unknown option {name!r}")
        path = _path(export_path, "export_path")
        if self._built is None:
            raise RuntimeError("export_rknn(): nothing built; call load_onnx() and build() first (or "
                               "hybrid_quantization_step2())")
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            raise FileNotFoundError(f"export_path: folder {parent!r} does not exist")
        if os.path.isdir(path):
            raise IsADirectoryError(f"export_path {path!r} is a folder; give a file name")
        onnx.save(self._built, path)
        self._log(f"exported {path}")
        return 0

    def release(self) -> None:
        """Drops the loaded and built models (toolkit2 scripts end with it)."""
        self._source = None
        self._built = None


def _graph_inputs(model: Any) -> Dict[str, Any]:
    """Graph inputs that are not initializers (IR < 4 models list weights as inputs too)."""
    weights = {t.name for t in model.graph.initializer}
    return {vi.name: vi for vi in model.graph.input if vi.name not in weights}


def _check_fits(name: str, value_info: Any, dims: List[int]) -> None:
    tensor_type = value_info.type.tensor_type
    if not value_info.type.HasField("tensor_type"):
        raise ValueError(f"input_size_list: input '{name}' is not a tensor")
    if not tensor_type.HasField("shape"):
        return  # rank unknown: the given shape defines it
    model_dims = tensor_type.shape.dim
    if len(model_dims) != len(dims):
        raise ValueError(f"input_size_list: input '{name}' has rank {len(model_dims)} but the shape given is "
                         f"{dims} (rank {len(dims)})")
    for axis, (d, want) in enumerate(zip(model_dims, dims)):
        if d.HasField("dim_value") and d.dim_value > 0 and d.dim_value != want:
            raise ValueError(f"input_size_list: input '{name}' has static dim {d.dim_value} at axis {axis} but "
                             f"the shape given is {dims}")


def _pin_shape(value_info: Any, dims: List[int]) -> None:
    shape = value_info.type.tensor_type.shape
    del shape.dim[:]
    for d in dims:
        shape.dim.add().dim_value = d


def _remove_weights(model: Any) -> int:
    """Strips the payload of every floating-point initializer of the main graph, keeping name, dtype and dims.
    The tensor is marked as external data at MASTER_WEIGHT_LOCATION: the runtime takes it by name from the master
    context. Integer initializers (shapes, axes, indices) stay: they may differ between resolutions."""
    from onnx import TensorProto

    floats = {TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16, TensorProto.DOUBLE}
    removed = 0
    for t in model.graph.initializer:
        if t.data_type not in floats or t.data_location == TensorProto.EXTERNAL:
            continue
        for field in ("raw_data", "float_data", "int32_data", "double_data"):
            t.ClearField(field)
        t.data_location = TensorProto.EXTERNAL
        del t.external_data[:]
        entry = t.external_data.add()
        entry.key = "location"
        entry.value = MASTER_WEIGHT_LOCATION
        removed += 1
    return removed
