"""Float Resize against the ONNX specification: onnx's reference implementation (ReferenceEvaluator), an exact
evaluation of the coordinate formula in rational arithmetic, and onnxruntime. docs/emulator.md, "Resize", says
where and why onnxruntime differs."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from emu_models import make_model, run_ort, run_reference, to_bytes, vi

pytest.importorskip("onnxruntime")

EXACT = {"rknn.exact_fp32": "1"}
SHAPE = [2, 4, 6, 6]


def resize_model(attrs, scales, roi=None, opset=18):
    inits = [numpy_helper.from_array(np.array(scales, np.float32), "scales")]
    if roi is not None:
        inits.append(numpy_helper.from_array(np.array(roi, np.float32), "roi"))
    node = helper.make_node("Resize", ["x", "roi" if roi is not None else "", "scales"], ["y"], name="rs", **attrs)
    model = make_model([node], [vi("x", TensorProto.FLOAT, SHAPE)], [vi("y", TensorProto.FLOAT, None)], inits,
                       metadata=EXACT, check=False)
    model.opset_import[0].version = opset
    return model


def run_emu(emu, model, x, out_shape):
    return emu.open(to_bytes(model)).infer(x)[0].reshape(out_shape)


def input_values():
    return np.random.default_rng(6).standard_normal(SHAPE).astype(np.float32)


CROP = {"coordinate_transformation_mode": "tf_crop_and_resize", "extrapolation_value": 0.5}
# Dyadic roi: every implementation computes the crop coordinates exactly, ties included.
DYADIC_ROI = [0, 0, -0.25, 0.125, 1, 1, 0.875, 1.375]
# The roi an earlier test used: -0.2 and 0.1 are not dyadic, and the coordinates the decimals mean are exact ties.
DECIMAL_ROI = [0, 0, -0.2, 0.1, 1, 1, 0.9, 1.3]

LINEAR_CASES = [
    ({"mode": "linear"}, [1, 1, 2, 2], None),
    # scale · length is whole here: with a fractional one, align_corners divides by it (the reference evaluator
    # and the emulator) or by the whole output length (onnxruntime)
    ({"mode": "linear", "coordinate_transformation_mode": "align_corners"}, [1, 1, 1.5, 0.5], None),
    ({"mode": "linear", "coordinate_transformation_mode": "asymmetric"}, [1, 1, 0.5, 3.25], None),
    ({"mode": "linear", "coordinate_transformation_mode": "pytorch_half_pixel"}, [1, 1, 1.7, 0.6], None),
    ({"mode": "linear", **CROP}, [1, 1, 2, 2], DYADIC_ROI),
    ({"mode": "cubic", "coordinate_transformation_mode": "asymmetric"}, [1, 1, 2, 2], None),
]


@pytest.mark.parametrize("attrs, scales, roi", LINEAR_CASES,
                         ids=[f"{a['mode']}_{a.get('coordinate_transformation_mode', 'half_pixel')}_{i}"
                              for i, (a, _, _) in enumerate(LINEAR_CASES)])
def test_interpolation_rounds_once_like_the_reference_implementation(emu, attrs, scales, roi):
    """Every output is its exact weighted sum rounded once to float32: the reference evaluator's bits."""
    model = resize_model(attrs, scales, roi)
    x = input_values()
    want = run_reference(model, {"x": x})[0]
    got = run_emu(emu, model, x, want.shape)
    np.testing.assert_array_equal(got, want)
    # onnxruntime rounds after each product and sum: the same values to float32 precision.
    np.testing.assert_allclose(got, run_ort(model, {"x": x})[0], rtol=2e-6, atol=1e-6)


def test_cubic_differs_from_the_reference_only_by_its_float32_coefficients(emu):
    """The reference evaluator computes cubic coefficients from the float32 attribute cubic_coeff_a in float32
    (numpy's promotion), the emulator in double: ULPs apart, never more."""
    model = resize_model({"mode": "cubic"}, [1, 1, 1.7, 0.6])
    x = input_values()
    want = run_reference(model, {"x": x})[0]
    np.testing.assert_allclose(run_emu(emu, model, x, want.shape), want, rtol=1e-5, atol=5e-6)


@pytest.mark.parametrize("mode", ["linear", "nearest"])
@pytest.mark.parametrize("nearest_mode", ["round_prefer_floor", "round_prefer_ceil"])
def test_crop_with_a_dyadic_roi_matches_both_references(emu, mode, nearest_mode):
    model = resize_model({"mode": mode, "nearest_mode": nearest_mode, **CROP}, [1, 1, 2, 2], DYADIC_ROI)
    x = input_values()
    want = run_reference(model, {"x": x})[0]
    got = run_emu(emu, model, x, want.shape)
    np.testing.assert_array_equal(got, want)
    assert (got == 0.5).sum() >= 2 * 4 * 12  # rows and columns outside the crop
    ort_y = run_ort(model, {"x": x})[0]
    if mode == "nearest":
        np.testing.assert_array_equal(got, ort_y)
    else:
        np.testing.assert_allclose(got, ort_y, rtol=2e-6, atol=1e-6)


def exact_crop_coordinates(n_in, n_out, start, end):
    """tf_crop_and_resize's x_original for every output coordinate, in rational arithmetic on the float32 roi."""
    s, e = Fraction(float(np.float32(start))), Fraction(float(np.float32(end)))
    return [s * (n_in - 1) + o * (e - s) * (n_in - 1) / (n_out - 1) for o in range(n_out)]


def nearest_floor_index(x, n_in):
    """round_prefer_floor, or None outside [0, n_in - 1] (extrapolation)."""
    if x < 0 or x > n_in - 1:
        return None
    f = x.numerator // x.denominator
    return f if x - f <= Fraction(1, 2) else f + 1


def near_a_decision(x, n_in, eps=1e-6):
    """Within float32 rounding of a place where the result jumps: a crop edge or a round_prefer_floor tie."""
    frac = x - x.numerator // x.denominator
    return min(abs(x), abs(x - (n_in - 1)), abs(frac - Fraction(1, 2))) < eps


def test_nearest_crop_evaluates_the_spec_formula_exactly(emu):
    """With a decimal roi the output coordinates the decimals mean are exact ties and crop edges; the float32 roi
    values lie a little off them, and the emulator decides as exact arithmetic on those values does. onnxruntime
    (float32 arithmetic) and the reference evaluator (float32 and float64 mixed) round the coordinate first and
    differ from it only on those coordinates."""
    model = resize_model({"mode": "nearest", **CROP}, [1, 1, 2, 2], DECIMAL_ROI)
    x = input_values()
    got = run_emu(emu, model, x, [2, 4, 12, 12])

    rows = exact_crop_coordinates(6, 12, DECIMAL_ROI[2], DECIMAL_ROI[6])
    cols = exact_crop_coordinates(6, 12, DECIMAL_ROI[3], DECIMAL_ROI[7])
    want = np.full([2, 4, 12, 12], 0.5, np.float32)
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            ri, ci = nearest_floor_index(r, 6), nearest_floor_index(c, 6)
            if ri is not None and ci is not None:
                want[:, :, i, j] = x[:, :, ri, ci]
    np.testing.assert_array_equal(got, want)

    near = np.zeros([12, 12], bool)
    near[[i for i, r in enumerate(rows) if near_a_decision(r, 6)], :] = True
    near[:, [j for j, c in enumerate(cols) if near_a_decision(c, 6)]] = True
    for other in (run_ort(model, {"x": x})[0], run_reference(model, {"x": x})[0]):
        apart = (other != got).any(axis=(0, 1))
        assert apart.any() and not (apart & ~near).any(), np.argwhere(apart & ~near)


def test_linear_crop_extrapolates_where_the_exact_coordinate_leaves_the_input(emu):
    """Linear sampling is continuous, so the roi's float32 rounding moves values by ULPs, except at a crop edge:
    output row 2 lies 3.4e-8 before input row 0 (exact arithmetic) and takes the extrapolation value, where
    onnxruntime and the reference evaluator, rounding the coordinate to 0 first, read input row 0."""
    model = resize_model({"mode": "linear", **CROP}, [1, 1, 2, 2], DECIMAL_ROI)
    x = input_values()
    got = run_emu(emu, model, x, [2, 4, 12, 12])
    rows = exact_crop_coordinates(6, 12, DECIMAL_ROI[2], DECIMAL_ROI[6])
    outside = [i for i, r in enumerate(rows) if r < 0 or r > 5]
    assert outside == [0, 1, 2] and rows[2] > -1e-7
    assert (got[:, :, outside, :] == np.float32(0.5)).all()
    for other in (run_ort(model, {"x": x})[0], run_reference(model, {"x": x})[0]):
        assert (other[:, :, 2, :9] != np.float32(0.5)).all()  # read from the input
        keep = [i for i in range(12) if i != 2]
        np.testing.assert_allclose(got[:, :, keep, :], other[:, :, keep, :], rtol=1e-5, atol=1e-6)


DTYPES = [(np.float16, TensorProto.FLOAT16), (np.uint8, TensorProto.UINT8), (np.int8, TensorProto.INT8),
          (np.int32, TensorProto.INT32)]


@pytest.mark.parametrize("dtype, elem", DTYPES, ids=[d.__name__ for d, _ in DTYPES])
def test_other_dtypes_round_the_exact_value_once(emu, dtype, elem):
    """Weights of thirds (scale 1.5) are inexact in double, so an output whose exact value is a tie of its type
    (uint8 109.5 here) rounds the way the double sum lands: the emulator sums in the reference implementation's
    axis order and rounds double -> fp16 directly, which gives the reference's bits. onnxruntime converts its float32
    sum to an integer type with a C cast (toward zero)."""
    node = helper.make_node("Resize", ["x", "", "s"], ["y"], mode="linear")
    model = make_model([node], [vi("x", elem, [1, 2, 5, 7])], [vi("y", elem, None)],
                       [numpy_helper.from_array(np.array([1, 1, 2, 1.5], np.float32), "s")], metadata=EXACT,
                       check=False)
    model.opset_import[0].version = 18
    x = np.random.default_rng(0).standard_normal([1, 2, 5, 7]) * 40 + (100 if dtype == np.uint8 else 0)
    x = x.astype(dtype)
    want = run_reference(model, {"x": x})[0]
    got = emu.open(to_bytes(model)).infer(x, want_float=False)[0].reshape(want.shape)
    np.testing.assert_array_equal(got, want)
    ort_y = run_ort(model, {"x": x})[0].astype(np.float64)
    assert np.abs(got.astype(np.float64) - ort_y).max() <= (0.02 if dtype == np.float16 else 1)


FRACTIONAL_CASES = [({"mode": "linear", "coordinate_transformation_mode": "align_corners"}, None),
                    ({"mode": "linear", **CROP}, DYADIC_ROI), ({"mode": "nearest", **CROP}, DYADIC_ROI)]


@pytest.mark.parametrize("attrs, roi", FRACTIONAL_CASES, ids=["align_corners", "crop_linear", "crop_nearest"])
def test_a_fractional_output_length_divides_as_the_reference(emu, attrs, roi):
    """scales 1.7 on 6: the formulas divide by scale·length − 1 = 9.2 (the reference evaluator, the emulator), not
    by the whole output length − 1 = 9 (onnxruntime, which differs on most of these outputs)."""
    model = resize_model(attrs, [1, 1, 1.7, 0.6], roi)
    x = input_values()
    want = run_reference(model, {"x": x})[0]
    np.testing.assert_array_equal(run_emu(emu, model, x, want.shape), want)
