"""Options a prepared model carries in its metadata (rknn-api.md §7.7, §7.12): mean/std applied to inputs as the
NPU applies them, and dynamic shape sets served through RKNN_QUERY_INPUT_DYNAMIC_RANGE, rknn_set_input_shapes
and the CURRENT_* queries. Expected values come from numpy."""
from __future__ import annotations

import ctypes as C
import json

import numpy as np
import pytest

import emu_models as M
import rknn_ctypes as R
from test_zero_copy import create, mem_array

MEAN = [10.0, 128.0, 0.5]
STD = [2.0, 64.0, 0.25]
NORM_META = {"rknn.mean_values": json.dumps([MEAN]), "rknn.std_values": json.dumps([STD])}


def normalized(x_nchw):
    mean = np.array(MEAN, np.float32).reshape(1, 3, 1, 1)
    std = np.array(STD, np.float32).reshape(1, 3, 1, 1)
    return M.fp16((x_nchw.astype(np.float32) - mean) / std)


@pytest.fixture
def norm_ctx(emu):
    return emu.open(M.to_bytes(M.add_const([1, 3, 4, 5], metadata=NORM_META, const=np.zeros([1, 3, 4, 5]))))


def pixels(seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(1, 3, 4, 5), dtype=np.uint8)


# --- mean / std --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float16])
def test_mean_std_applied_to_nchw_inputs(norm_ctx, dtype):
    x = pixels().astype(dtype)
    (y,) = norm_ctx.infer(x)
    np.testing.assert_array_equal(y, normalized(x))


def test_mean_std_applied_to_nhwc_uint8(norm_ctx):
    x = pixels(1)
    (y,) = norm_ctx.infer(x.transpose(0, 2, 3, 1), fmt=R.RKNN_TENSOR_NHWC)
    np.testing.assert_array_equal(y, normalized(x))


def test_single_value_applies_to_every_channel(emu):
    meta = {"rknn.mean_values": "[[100]]", "rknn.std_values": "[[4]]"}
    ctx = emu.open(M.to_bytes(M.add_const([1, 3, 4, 5], metadata=meta, const=np.zeros([1, 3, 4, 5]))))
    x = pixels(2)
    (y,) = ctx.infer(x)
    np.testing.assert_array_equal(y, M.fp16((x.astype(np.float32) - 100) / 4))


def test_pass_through_data_is_not_normalized(norm_ctx):
    native = norm_ctx.attr(0, cmd=R.RKNN_QUERY_NATIVE_INPUT_ATTR)
    assert native.fmt == R.RKNN_TENSOR_NHWC and native.type == R.RKNN_TENSOR_FLOAT16
    x = M.fp16(np.random.default_rng(3).standard_normal((1, 3, 4, 5)).astype(np.float32))
    nhwc = np.zeros((1, 4, native.w_stride, 3), np.float16)
    nhwc[:, :, :5, :] = x.transpose(0, 2, 3, 1)
    (y,) = norm_ctx.infer(nhwc, pass_through=1)
    np.testing.assert_array_equal(y, x)


def test_zero_copy_uint8_input_is_normalized(emu_lib, norm_ctx, mems):  # noqa: F811
    attr = norm_ctx.attr(0, cmd=R.RKNN_QUERY_NATIVE_INPUT_ATTR)
    attr.type = R.RKNN_TENSOR_UINT8
    attr.fmt = R.RKNN_TENSOR_NHWC
    mem = create(emu_lib, mems, norm_ctx.handle, attr.size_with_stride)
    x = pixels(4)
    view = mem_array(mem, np.uint8, 4 * attr.w_stride * 3).reshape(1, 4, attr.w_stride, 3)
    view[:, :, :5, :] = x.transpose(0, 2, 3, 1)
    assert emu_lib.rknn_set_io_mem(norm_ctx.handle, mem, C.byref(attr)) == 0, norm_ctx.emu.last_error()
    norm_ctx.run()
    (y,) = norm_ctx.outputs_get()
    np.testing.assert_array_equal(y, normalized(x))


def test_zero_copy_pass_through_is_not_normalized(emu_lib, norm_ctx, mems):  # noqa: F811
    attr = norm_ctx.attr(0, cmd=R.RKNN_QUERY_NATIVE_INPUT_ATTR)
    attr.pass_through = 1
    mem = create(emu_lib, mems, norm_ctx.handle, attr.size_with_stride)
    x = M.fp16(np.linspace(-3, 3, 60, dtype=np.float32).reshape(1, 3, 4, 5))
    view = mem_array(mem, np.float16, 4 * attr.w_stride * 3).reshape(1, 4, attr.w_stride, 3)
    view[:, :, :5, :] = x.transpose(0, 2, 3, 1)
    assert emu_lib.rknn_set_io_mem(norm_ctx.handle, mem, C.byref(attr)) == 0, norm_ctx.emu.last_error()
    norm_ctx.run()
    np.testing.assert_array_equal(norm_ctx.outputs_get()[0], x)


@pytest.mark.parametrize("meta,needle", [
    ({"rknn.mean_values": "[[1, 2]]"}, "3 channel(s) but its rknn.mean_values list has 2 values"),
    ({"rknn.std_values": "[[1, 0, 1]]"}, "std value of 0"),
    ({"rknn.mean_values": "[[0, 0, 0], [1]]"}, "rknn.mean_values has 2 list(s) but the model has 1 input(s)"),
    ({"rknn.mean_values": "[[0, 0, 0]"}, "rknn.mean_values is malformed"),
    ({"rknn.std_values": "[[1, \"a\", 1]]"}, "rknn.std_values is malformed"),
])
def test_bad_mean_std_metadata_is_refused(emu, meta, needle):
    code, _ = emu.init(M.to_bytes(M.add_const([1, 3, 4, 5], metadata=meta)))
    assert code == R.RKNN_ERR_MODEL_INVALID
    assert needle in emu.last_error()


def test_mean_std_on_an_integer_input_is_refused(emu):
    from onnx import TensorProto
    meta = {"rknn.mean_values": "[[1]]"}
    code, _ = emu.init(M.to_bytes(M.add_const([4], metadata=meta, elem_type=TensorProto.INT32)))
    assert code == R.RKNN_ERR_MODEL_INVALID and "normalizes float inputs only" in emu.last_error()


# --- dynamic shapes ----------------------------------------------------------------------------------------------

SETS = [[[1, 3, 4, 4], [1, 2]], [[1, 3, 8, 6], [3, 2]]]


@pytest.fixture
def dyn(emu):
    return emu.open(M.to_bytes(M.dynamic_pair({"rknn.dynamic_input": json.dumps(SETS)})))


def dynamic_range(ctx, index):
    r = R.rknn_input_range()
    r.index = index
    code, r = ctx.query(R.RKNN_QUERY_INPUT_DYNAMIC_RANGE, r)
    ctx.emu.check("rknn_query", code)
    return r


def set_shapes(ctx, shapes_onnx, fmt_nhwc=True):
    attrs = (R.rknn_tensor_attr * len(shapes_onnx))()
    for i, shape in enumerate(shapes_onnx):
        attrs[i] = ctx.attr(i)
        dims = [shape[0], shape[2], shape[3], shape[1]] if len(shape) == 4 and fmt_nhwc else shape
        attrs[i].fmt = (R.RKNN_TENSOR_NHWC if fmt_nhwc else R.RKNN_TENSOR_NCHW) if len(shape) == 4 \
            else R.RKNN_TENSOR_UNDEFINED
        attrs[i].n_dims = len(dims)
        for d, v in enumerate(dims):
            attrs[i].dims[d] = v
    return ctx.lib.rknn_set_input_shapes(ctx.handle, len(shapes_onnx), attrs)


def run_pair_at(ctx, x_shape, z_shape, seed):
    """Runs dynamic_pair at the current set with random x, z; checks y = 2x, w = z + 1; returns (x, z)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(np.float32)
    z = rng.standard_normal(z_shape).astype(np.float32)
    ctx.inputs_set(x, z)
    ctx.run()
    y, w = ctx.outputs_get(attr_cmd=R.RKNN_QUERY_CURRENT_OUTPUT_ATTR)
    np.testing.assert_array_equal(y, M.fp16(M.fp16(x) * 2))
    np.testing.assert_array_equal(w, M.fp16(M.fp16(z) + 1))
    return x, z


def test_dynamic_range_lists_the_sets_by_position(dyn):
    x, z = dynamic_range(dyn, 0), dynamic_range(dyn, 1)
    assert x.shape_number == 2 and z.shape_number == 2
    assert x.fmt == R.RKNN_TENSOR_NHWC and x.n_dims == 4 and x.name == b"x"
    assert [list(x.dyn_range[s][:4]) for s in range(2)] == [[1, 4, 4, 3], [1, 8, 6, 3]]
    assert [list(z.dyn_range[s][:2]) for s in range(2)] == [[1, 2], [3, 2]]


def test_static_model_has_no_dynamic_range(emu):
    ctx = emu.open(M.to_bytes(M.add_const([1, 3, 4, 5])))
    assert dynamic_range(ctx, 0).shape_number == 0


def test_input_attr_reports_the_first_set(dyn):
    assert dyn.attr(0).shape == (1, 4, 4, 3) and dyn.attr(1).shape == (1, 2)
    assert dyn.attr(0, cmd=R.RKNN_QUERY_CURRENT_INPUT_ATTR).shape == (1, 4, 4, 3)
    assert dyn.attr(0, output=True, cmd=R.RKNN_QUERY_CURRENT_OUTPUT_ATTR).shape == (1, 3, 4, 4)


@pytest.mark.parametrize("fmt_nhwc", [True, False])
def test_set_input_shapes_selects_a_set_and_runs_at_it(dyn, fmt_nhwc):
    assert set_shapes(dyn, SETS[1], fmt_nhwc) == 0, dyn.emu.last_error()
    assert dyn.attr(0, cmd=R.RKNN_QUERY_CURRENT_INPUT_ATTR).shape == (1, 8, 6, 3)
    cur_y = dyn.attr(0, output=True, cmd=R.RKNN_QUERY_CURRENT_OUTPUT_ATTR)
    assert cur_y.shape == (1, 3, 8, 6) and cur_y.n_elems == 144
    assert dyn.attr(1, output=True, cmd=R.RKNN_QUERY_CURRENT_OUTPUT_ATTR).shape == (3, 2)
    assert dyn.attr(0).shape == (1, 4, 4, 3)  # INPUT_ATTR stays the first set
    x, z = run_pair_at(dyn, (1, 3, 8, 6), (3, 2), seed=5)
    # back to the first set: a size of the second one no longer fits
    assert set_shapes(dyn, SETS[0]) == 0
    assert dyn.raw_inputs_set([{"data": x}, {"data": z}]) == R.RKNN_ERR_PARAM_INVALID
    rng = np.random.default_rng(6)
    x0 = rng.standard_normal((1, 3, 4, 4)).astype(np.float32)
    y0, _ = dyn.infer(x0, rng.standard_normal((1, 2)).astype(np.float32))
    np.testing.assert_array_equal(y0, M.fp16(M.fp16(x0) * 2))


def test_a_new_shape_needs_inputs_again(dyn):
    rng = np.random.default_rng(6)
    dyn.infer(rng.standard_normal((1, 3, 4, 4)).astype(np.float32), rng.standard_normal((1, 2)).astype(np.float32))
    assert set_shapes(dyn, SETS[1]) == 0
    assert dyn.lib.rknn_run(dyn.handle, None) == R.RKNN_ERR_INPUT_INVALID


@pytest.mark.parametrize("shapes", [
    [[1, 3, 5, 5], [1, 2]],          # not listed
    [[1, 3, 4, 4], [3, 2]],          # set 0's x with set 1's z: sets pair by position, no cross products
])
def test_shapes_outside_the_sets_are_refused(dyn, shapes):
    assert set_shapes(dyn, shapes) == R.RKNN_ERR_PARAM_INVALID
    err = dyn.emu.last_error()
    assert "not one of the model's shape sets" in err and "[1,3,8,6] [3,2]" in err
    assert dyn.attr(0, cmd=R.RKNN_QUERY_CURRENT_INPUT_ATTR).shape == (1, 4, 4, 3)  # unchanged


def test_set_input_shapes_bad_arguments(dyn):
    assert dyn.lib.rknn_set_input_shapes(dyn.handle, 2, None) == R.RKNN_ERR_PARAM_INVALID
    attrs = (R.rknn_tensor_attr * 1)()
    assert dyn.lib.rknn_set_input_shapes(dyn.handle, 1, attrs) == R.RKNN_ERR_PARAM_INVALID
    assert "pass the attrs of all 2 inputs" in dyn.emu.last_error()
    attrs = (R.rknn_tensor_attr * 2)(dyn.attr(0), dyn.attr(0))
    assert dyn.lib.rknn_set_input_shapes(dyn.handle, 2, attrs) == R.RKNN_ERR_PARAM_INVALID
    assert "given twice" in dyn.emu.last_error()


def set_one_shape(ctx, index, shape_onnx):
    """rknn_set_input_shape (deprecated, singular) with NHWC dims for a 4-D input."""
    attr = ctx.attr(index)
    dims = [shape_onnx[0], shape_onnx[2], shape_onnx[3], shape_onnx[1]] if len(shape_onnx) == 4 else shape_onnx
    attr.n_dims = len(dims)
    for d, v in enumerate(dims):
        attr.dims[d] = v
    return ctx.lib.rknn_set_input_shape(ctx.handle, C.byref(attr))


def test_set_input_shape_changes_one_input_and_keeps_the_others(emu):
    sets = [[[1, 3, 4, 4], [1, 2]], [[1, 3, 8, 6], [1, 2]], [[1, 3, 8, 6], [3, 2]]]
    ctx = emu.open(M.to_bytes(M.dynamic_pair({"rknn.dynamic_input": json.dumps(sets)})))
    assert set_one_shape(ctx, 0, [1, 3, 8, 6]) == 0, emu.last_error()
    assert ctx.attr(0, cmd=R.RKNN_QUERY_CURRENT_INPUT_ATTR).shape == (1, 8, 6, 3)
    assert ctx.attr(1, cmd=R.RKNN_QUERY_CURRENT_INPUT_ATTR).shape == (1, 2)
    assert set_one_shape(ctx, 1, [3, 2]) == 0, emu.last_error()
    assert ctx.attr(1, output=True, cmd=R.RKNN_QUERY_CURRENT_OUTPUT_ATTR).shape == (3, 2)
    run_pair_at(ctx, (1, 3, 8, 6), (3, 2), seed=8)
    # x back to 4x4 while z stays [3,2]: no such set, and nothing changes
    assert set_one_shape(ctx, 0, [1, 3, 4, 4]) == R.RKNN_ERR_PARAM_INVALID
    assert "not one of the model's shape sets" in emu.last_error()
    assert ctx.attr(0, cmd=R.RKNN_QUERY_CURRENT_INPUT_ATTR).shape == (1, 8, 6, 3)


def test_set_input_shape_bad_arguments(dyn):
    assert dyn.lib.rknn_set_input_shape(dyn.handle, None) == R.RKNN_ERR_PARAM_INVALID
    attr = dyn.attr(0)
    attr.index = 2
    assert dyn.lib.rknn_set_input_shape(dyn.handle, C.byref(attr)) == R.RKNN_ERR_PARAM_INVALID
    assert "attr.index is 2, out of range: the model has 2 input(s)" in dyn.emu.last_error()
    attr = dyn.attr(0)
    attr.n_dims = 3
    assert dyn.lib.rknn_set_input_shape(dyn.handle, C.byref(attr)) == R.RKNN_ERR_PARAM_INVALID
    assert "has n_dims 3, the input has 4" in dyn.emu.last_error()
    assert dyn.lib.rknn_set_input_shape(0, C.byref(dyn.attr(0))) != 0


def test_static_model_accepts_only_its_own_shape(emu):
    ctx = emu.open(M.to_bytes(M.add_const([1, 3, 4, 5])))
    assert set_shapes(ctx, [[1, 3, 4, 5]]) == 0
    assert set_shapes(ctx, [[1, 3, 4, 6]]) == R.RKNN_ERR_PARAM_INVALID
    assert "not a dynamic-shape model" in emu.last_error()


def test_dynamic_model_restrictions(emu, dyn):
    a = R.rknn_tensor_attr()
    code, _ = dyn.query(R.RKNN_QUERY_NATIVE_INPUT_ATTR, a)
    assert code == R.RKNN_ERR_PARAM_INVALID and "CURRENT_NATIVE" in emu.last_error()
    assert dyn.attr(0, cmd=R.RKNN_QUERY_CURRENT_NATIVE_INPUT_ATTR).shape == (1, 4, 4, 3)
    code, _ = emu.dup(dyn.handle)
    assert code == R.RKNN_ERR_FAIL and "cannot be duplicated" in emu.last_error()


@pytest.mark.parametrize("sets,needle", [
    ([[[1, 3, 4], [1, 2]]], "rank is 4"),
    ([[[2, 3, 4, 4], [1, 2]]], "dim 0 is fixed at 1"),
    ([[[1, 3, 4, 4]]], "has 1 shape(s) but the model has 2 input(s)"),
    ([[[1, 3, 4, 0], [1, 2]]], "dims must be integers"),
])
def test_shape_sets_that_do_not_fit_are_refused(emu, sets, needle):
    code, _ = emu.init(M.to_bytes(M.dynamic_pair({"rknn.dynamic_input": json.dumps(sets)})))
    assert code == R.RKNN_ERR_MODEL_INVALID
    assert needle in emu.last_error()
