"""``ezrknn prepare``: model_prep.RKNN from the command line (config -> load_onnx -> build -> export_rknn)."""
from __future__ import annotations

import argparse
import json
from typing import Any, Dict

from .model_prep import RKNN, TARGET_PLATFORMS


def add_prepare_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``ezrknn prepare``."""
    parser.add_argument("model", metavar="MODEL", help="the ONNX model to prepare")
    parser.add_argument("-o", "--output", required=True, help="where to write the prepared model (e.g. out.rknn)")
    parser.add_argument("--target-platform", help=f"one of {', '.join(TARGET_PLATFORMS)}")
    parser.add_argument("--custom-string", help="text returned by RKNN_QUERY_CUSTOM_STRING (at most 1023 bytes)")
    parser.add_argument("--remove-weight", action="store_true",
                        help="write a weight-less slave model that takes its weights from a master context")
    parser.add_argument("--input-size", action="append", metavar="D0,D1,...",
                        help="full shape of the next graph input, e.g. 1,3,224,224 (repeat once per input)")
    parser.add_argument("--mean-values", metavar="JSON", help="one list per input, e.g. '[[123.675, 116.28, 103.53]]'")
    parser.add_argument("--std-values", metavar="JSON", help="one list per input, e.g. '[[58.395, 57.12, 57.375]]'")
    parser.add_argument("--dynamic-input", metavar="JSON",
                        help="shape sets, one shape per input each, e.g. '[[[1,3,224,224]], [[1,3,320,320]]]'")
    quant = parser.add_argument_group("quantization (int8)")
    quant.add_argument("--dataset", metavar="TXT",
                       help="quantize to int8, calibrating on this toolkit2-style dataset.txt: one sample per "
                            "line, the .npy file of each input separated by spaces")
    quant.add_argument("--quantized-dtype", help="w8a8 (default: int8 activations), asymmetric_quantized-8, "
                                                 "w8a8_uint8 (uint8 activations) or w16a16i (int16)")
    quant.add_argument("--quantized-method", help="channel (default: per-channel weights) or layer")
    quant.add_argument("--quantized-algorithm", help="normal (default: min/max), mmse or kl_divergence")
    quant.add_argument("--auto-hybrid", action="store_true",
                       help="keep the fewest layers found in float (float16 on the NPU) so that every output keeps "
                            "the cosine threshold against the float model on every calibration input")
    quant.add_argument("--auto-hybrid-cos-thresh", type=float, metavar="COS",
                       help="the threshold of --auto-hybrid (default 0.98)")


def run_prepare(args: argparse.Namespace) -> int:
    """Runs ``ezrknn prepare``; raises ValueError/TypeError/FileNotFoundError/NotImplementedError on bad input."""
    options: Dict[str, Any] = {}
    if args.target_platform is not None:
        options["target_platform"] = args.target_platform
    if args.custom_string is not None:
        options["custom_string"] = args.custom_string
    if args.remove_weight:
        options["remove_weight"] = True
    for option in ("mean_values", "std_values", "dynamic_input"):
        text = getattr(args, option)
        if text is not None:
            try:
                options[option] = json.loads(text)
            except ValueError:
                raise ValueError(f"--{option.replace('_', '-')} {text!r} is not a JSON list, e.g. "
                                 f"{'[[[1,3,224,224]]]' if option == 'dynamic_input' else '[[0, 0, 0]]'}")
    sizes = None
    if args.input_size:
        sizes = []
        for text in args.input_size:
            try:
                sizes.append([int(d) for d in text.split(",")])
            except ValueError:
                raise ValueError(f"--input-size {text!r} must be comma-separated integers, e.g. 1,3,224,224")
    for option in ("quantized_dtype", "quantized_method", "quantized_algorithm", "auto_hybrid_cos_thresh"):
        value = getattr(args, option, None)
        if value is not None:
            if args.dataset is None:
                raise ValueError(f"--{option.replace('_', '-')} needs --dataset (the calibration inputs)")
            options[option] = value
    if args.auto_hybrid and args.dataset is None:
        raise ValueError("--auto-hybrid needs --dataset (the calibration inputs)")
    if args.auto_hybrid_cos_thresh is not None and not args.auto_hybrid:
        raise ValueError("--auto-hybrid-cos-thresh is the threshold of --auto-hybrid; give both")
    rknn = RKNN()
    rknn.config(**options)
    rknn.load_onnx(args.model, input_size_list=sizes)
    quantize = args.dataset is not None
    rknn.build(do_quantization=quantize, dataset=args.dataset, auto_hybrid=args.auto_hybrid)
    rknn.export_rknn(args.output)
    if args.auto_hybrid:
        nodes = rknn.hybrid_nodes()
        print(f"auto hybrid: {len(nodes)} node(s) stay float" + (f": {', '.join(nodes)}" if nodes else ""))
    if quantize:
        for name, cosine in rknn.accuracy_report().items():
            print(f"output '{name}': cosine {cosine:.6f} against the float model (worst calibration input)")
    print(f"wrote {args.output}")
    return 0
