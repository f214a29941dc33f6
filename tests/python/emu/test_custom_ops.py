"""Custom operators (rknn-api.md §7.13) with real plugin libraries: librkcst_<op>.so built from tests/plugins into
<build>/plugins, loaded with dlopen, their get_rknn_custom_op registered through rknn_register_custom_ops.
Results are checked against numpy; the plugins' exported counters show which callbacks ran how often."""
from __future__ import annotations

import ctypes as C
import os
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import emu_models as M
import rknn_ctypes as R

REPO = Path(__file__).resolve().parents[3]
PLUGIN_DIR = Path(os.environ.get("EZRKNN_BUILD_DIR", REPO / "build" / "release")) / "plugins"
DOMAIN = "ezrknn.test"
RKNN_TARGET_TYPE_CPU, RKNN_TARGET_TYPE_GPU = 1, 2


class rknn_custom_op_context(C.Structure):
    _fields_ = [("target", C.c_int), ("internal_ctx", C.c_uint64), ("cl_context", C.c_void_p),
                ("cl_command_queue", C.c_void_p), ("cl_kernel", C.c_void_p), ("priv_data", C.c_void_p)]


class rknn_custom_op_tensor(C.Structure):
    _fields_ = [("attr", R.rknn_tensor_attr), ("mem", R.rknn_tensor_mem)]


CALLBACK = C.CFUNCTYPE(C.c_int, C.POINTER(rknn_custom_op_context), C.POINTER(rknn_custom_op_tensor), C.c_uint32,
                       C.POINTER(rknn_custom_op_tensor), C.c_uint32)
DESTROY = C.CFUNCTYPE(C.c_int, C.POINTER(rknn_custom_op_context))


class rknn_custom_op(C.Structure):
    _fields_ = [("version", C.c_uint32), ("target", C.c_int), ("op_type", C.c_char * 256),
                ("cl_kernel_name", C.c_char * 256), ("cl_kernel_source", C.c_char_p), ("cl_source_size", C.c_uint64),
                ("cl_build_options", C.c_char * 256), ("init", CALLBACK), ("prepare", CALLBACK),
                ("compute", CALLBACK), ("compute_native", CALLBACK), ("destroy", DESTROY)]


def test_struct_sizes_match_the_reference():
    assert C.sizeof(rknn_custom_op_context) == 48
    assert C.sizeof(rknn_custom_op_tensor) == 416
    assert C.sizeof(rknn_custom_op) == 832
    assert rknn_custom_op.init.offset == 792 and rknn_custom_op.destroy.offset == 824


class Plugin:
    """One librkcst_<op>.so: its op struct and its test hooks."""

    def __init__(self, op):
        path = PLUGIN_DIR / f"librkcst_{op}.so"
        if not path.is_file():
            pytest.skip(f"{path} is not built (build the rkcst_{op} target of tests/cpp)")
        self.name = op
        self.lib = C.CDLL(str(path))
        self.lib.get_rknn_custom_op.restype = C.POINTER(rknn_custom_op)
        self.op_ptr = self.lib.get_rknn_custom_op()

    def op_copy(self) -> rknn_custom_op:
        return rknn_custom_op.from_buffer_copy(self.op_ptr.contents)

    def counters(self, n=4):
        values = (C.c_int * n)()
        getattr(self.lib, f"rkcst_{self.name}_counters")(values)
        return list(values)


@pytest.fixture(scope="module")
def sigmoid():
    return Plugin("cstsigmoid")


@pytest.fixture(scope="module")
def argmax():
    return Plugin("argmax")


@pytest.fixture(scope="module")
def relu():
    return Plugin("relu")


@pytest.fixture(scope="module")
def scale():
    return Plugin("cstscale")


@pytest.fixture(autouse=True)
def reset_plugins(request):
    for name in ("sigmoid", "argmax"):
        if name in request.fixturenames:
            plugin = request.getfixturevalue(name)
            getattr(plugin.lib, f"rkcst_{plugin.name}_reset")()
    if "relu" in request.fixturenames:
        request.getfixturevalue("relu").lib.rkcst_relu_reset(-14)


def register(ctx, *ops):
    """rknn_register_custom_ops with the plugins' own structs (one) or an array of copies (several)."""
    if len(ops) == 1 and isinstance(ops[0], Plugin):
        return ctx.lib.rknn_register_custom_ops(ctx.handle, C.cast(ops[0].op_ptr, C.c_void_p), 1)
    array = (rknn_custom_op * len(ops))(*[o.op_copy() if isinstance(o, Plugin) else o for o in ops])
    return ctx.lib.rknn_register_custom_ops(ctx.handle, C.cast(array, C.c_void_p), len(ops))


def sig(x):
    return 1.0 / (1.0 + np.exp(-x.astype(np.float64)))


# --- models -----------------------------------------------------------------------------------------------------

def sigmoid_twice(elem=TensorProto.FLOAT):
    """y = cstSigmoid(2 * cstSigmoid(x)), x [1,3,4,5]: two nodes of one custom op type."""
    shape = [1, 3, 4, 5]
    np_type = np.float16 if elem == TensorProto.FLOAT16 else np.float32
    nodes = [helper.make_node("cstSigmoid", ["x"], ["a"], name="sig1", domain=DOMAIN),
             helper.make_node("Mul", ["a", "two"], ["b"], name="double"),
             helper.make_node("cstSigmoid", ["b"], ["y"], name="sig2", domain=DOMAIN)]
    model = M.make_model(nodes, [M.vi("x", elem, shape)], [M.vi("y", elem, shape)],
                         [numpy_helper.from_array(np.array(2, np_type), "two")], check=False,
                         extra_opsets=[(DOMAIN, 1)])
    model.graph.value_info.append(M.vi("a", elem, shape))
    return M.to_bytes(model)


def sigmoid_then_scale():
    """y = cstScale(cstSigmoid(x)) with alpha 0.5, shift 3 and attributes of every other kind, x [2,6]."""
    scale_node = helper.make_node("cstScale", ["s"], ["y"], name="scale", domain=DOMAIN, alpha=0.5, shift=3,
                                  offsets=[1.0, 2.5], axes=[0, -1], tag="hello")
    scale_node.attribute.append(helper.make_attribute(
        "table", numpy_helper.from_array(np.array([[1, 2], [3, 4]], np.int32))))
    nodes = [helper.make_node("cstSigmoid", ["x"], ["s"], name="sig", domain=DOMAIN), scale_node]
    model = M.make_model(nodes, [M.vi("x", TensorProto.FLOAT, [2, 6])], [M.vi("y", TensorProto.FLOAT, [2, 6])],
                         check=False, extra_opsets=[(DOMAIN, 1)])
    model.graph.value_info.append(M.vi("s", TensorProto.FLOAT, [2, 6]))
    return M.to_bytes(model)


def argmaxes():
    """i = ArgMax(x, axis=1, keepdims=0) [2,4] and j = ArgMax(x, axis=-1) [2,3,1], x [2,3,4]."""
    nodes = [helper.make_node("ArgMax", ["x"], ["i"], name="am_axis1", axis=1, keepdims=0),
             helper.make_node("ArgMax", ["x"], ["j"], name="am_last", axis=-1)]
    return M.to_bytes(M.make_model(nodes, [M.vi("x", TensorProto.FLOAT, [2, 3, 4])],
                                   [M.vi("i", TensorProto.INT64, [2, 4]), M.vi("j", TensorProto.INT64, [2, 3, 1])]))


def relu_model():
    return M.to_bytes(M.make_model([helper.make_node("Relu", ["x"], ["y"], name="relu")],
                                   [M.vi("x", TensorProto.FLOAT, [2, 5])], [M.vi("y", TensorProto.FLOAT, [2, 5])]))


def conv_relu_model():
    """Conv then Relu: the emulator fuses the Relu into the Conv at load time."""
    w = numpy_helper.from_array(np.ones((2, 1, 1, 1), np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
             helper.make_node("Relu", ["c"], ["y"], name="fused_relu")]
    return M.to_bytes(M.make_model(nodes, [M.vi("x", TensorProto.FLOAT, [1, 1, 2, 2])],
                                   [M.vi("y", TensorProto.FLOAT, [1, 2, 2, 2])], [w]))


X4 = np.linspace(-3, 3, 60, dtype=np.float32).reshape(1, 3, 4, 5)


# --- running plugins ---------------------------------------------------------------------------------------------

def test_unregistered_custom_op_fails_run_naming_it(emu):
    ctx = emu.open(sigmoid_twice())
    ctx.inputs_set(X4)
    assert emu.lib.rknn_run(ctx.handle, None) == R.RKNN_ERR_FAIL
    assert "'cstSigmoid'" in emu.last_error() and "sig1" in emu.last_error()
    assert "rknn_register_custom_ops" in emu.last_error()


def test_sigmoid_plugin_runs_each_node_with_init_once_and_destroy_once(emu, sigmoid):
    ctx = emu.open(sigmoid_twice())
    assert register(ctx, sigmoid) == R.RKNN_SUCC, emu.last_error()
    assert sigmoid.counters() == [2, 0, 0, 0]  # init once per node, inside the registration
    for _ in range(3):
        (y,) = ctx.infer(X4)
        np.testing.assert_allclose(y, sig(2 * sig(X4)), rtol=2e-3, atol=1e-3)  # outputs travel as fp16
    init, prepare, compute, destroy, priv_errors, moved = sigmoid.counters(6)
    assert (init, prepare, compute, destroy) == (2, 6, 6, 0)
    assert priv_errors == 0, "priv_data set in init did not come back in prepare/compute"
    assert moved == 0, "the runtime moved a tensor buffer between runs"
    assert ctx.destroy() == R.RKNN_SUCC
    assert sigmoid.counters(6)[3:5] == [2, 0]


def test_plugin_tensors_follow_the_data_contract(emu, sigmoid):
    ctx = emu.open(sigmoid_twice())
    assert register(ctx, sigmoid) == R.RKNN_SUCC
    ctx.infer(X4)
    a_in, a_out, fds = R.rknn_tensor_attr(), R.rknn_tensor_attr(), (C.c_int * 2)()
    sigmoid.lib.rkcst_cstsigmoid_last_attrs(C.byref(a_in), C.byref(a_out), fds)
    # The last compute was node sig2: input 'b', output 'y'.
    assert a_in.name == b"b" and a_out.name == b"y"
    assert a_in.n_dims == 4 and list(a_in.dims[:4]) == [1, 3, 4, 5]
    assert a_in.n_elems == 60 and a_in.size == 240 and a_out.size == 240
    assert a_in.fmt == R.RKNN_TENSOR_NCHW and a_in.type == R.RKNN_TENSOR_FLOAT32
    assert a_out.type == R.RKNN_TENSOR_FLOAT32 and a_in.qnt_type == R.RKNN_TENSOR_QNT_NONE
    assert list(fds) == [-1, -1]


def test_float16_tensors_reach_the_plugin_as_float32(emu, sigmoid):
    ctx = emu.open(sigmoid_twice(TensorProto.FLOAT16))
    assert register(ctx, sigmoid) == R.RKNN_SUCC
    (y,) = ctx.infer(X4.astype(np.float16), type=R.RKNN_TENSOR_FLOAT16)
    np.testing.assert_allclose(y, sig(2 * sig(X4)), rtol=3e-3, atol=2e-3)
    a_in, a_out, fds = R.rknn_tensor_attr(), R.rknn_tensor_attr(), (C.c_int * 2)()
    sigmoid.lib.rkcst_cstsigmoid_last_attrs(C.byref(a_in), C.byref(a_out), fds)
    assert a_in.type == R.RKNN_TENSOR_FLOAT32 and a_in.size == 240


def test_argmax_plugin_overrides_the_builtin_and_reads_its_attributes(emu, argmax):
    x = np.random.default_rng(3).standard_normal((2, 3, 4)).astype(np.float32)
    ctx = emu.open(argmaxes())
    assert register(ctx, argmax) == R.RKNN_SUCC, emu.last_error()
    assert argmax.counters() == [2, 0, 0, 0]
    i, j = ctx.infer(x, want_float=False)
    np.testing.assert_array_equal(i, np.argmax(x, axis=1))
    np.testing.assert_array_equal(j, np.argmax(x, axis=-1)[..., None])
    assert argmax.counters() == [2, 2, 2, 0]
    ctx.destroy()
    assert argmax.counters()[3] == 2


def test_init_returning_skip_keeps_the_builtin(emu, relu):
    x = np.linspace(-2, 2, 10, dtype=np.float32).reshape(2, 5)
    ctx = emu.open(relu_model())
    assert register(ctx, relu) == R.RKNN_SUCC, emu.last_error()
    (y,) = ctx.infer(x)
    np.testing.assert_allclose(y, np.maximum(x, 0), atol=1e-3)
    ctx.destroy()
    assert relu.counters() == [1, 0, 0, 0]  # no compute, and no destroy for a node that skipped

    relu.lib.rkcst_relu_reset(0)  # now init accepts: the plugin's own (recognisable) Relu runs
    ctx = emu.open(relu_model())
    assert register(ctx, relu) == R.RKNN_SUCC
    (y,) = ctx.infer(x)
    np.testing.assert_allclose(y, np.maximum(x, 0) + 1000, atol=0.5)
    ctx.destroy()
    assert relu.counters() == [1, 0, 1, 1]


def test_a_relu_fused_into_its_conv_keeps_the_builtin(emu, relu):
    relu.lib.rkcst_relu_reset(0)
    ctx = emu.open(conv_relu_model())
    assert register(ctx, relu) == R.RKNN_SUCC
    x = np.array([-1, 2, -3, 4], np.float32).reshape(1, 1, 2, 2)
    (y,) = ctx.infer(x)
    np.testing.assert_allclose(y, np.maximum(np.concatenate([x, x], axis=1), 0), atol=1e-3)
    assert relu.counters() == [0, 0, 0, 0]


# --- registration: one call, incremental, per context ------------------------------------------------------------

def expected_scaled(x):
    return sig(x) * 0.5 + 3


def test_one_call_and_incremental_registration_both_work(emu, sigmoid, scale):
    x = np.linspace(-4, 4, 12, dtype=np.float32).reshape(2, 6)
    one = emu.open(sigmoid_then_scale())
    assert register(one, sigmoid, scale) == R.RKNN_SUCC, emu.last_error()
    np.testing.assert_allclose(one.infer(x)[0], expected_scaled(x), rtol=2e-3)

    step = emu.open(sigmoid_then_scale())
    assert register(step, sigmoid) == R.RKNN_SUCC
    step.inputs_set(x)
    assert emu.lib.rknn_run(step.handle, None) == R.RKNN_ERR_FAIL
    assert "'cstScale'" in emu.last_error()
    assert register(step, scale) == R.RKNN_SUCC, emu.last_error()
    np.testing.assert_allclose(step.infer(x)[0], expected_scaled(x), rtol=2e-3)


def test_dup_contexts_register_their_own_ops(emu, sigmoid):
    first = emu.open(sigmoid_twice())
    dup = first.dup()
    assert register(first, sigmoid) == R.RKNN_SUCC
    np.testing.assert_allclose(first.infer(X4)[0], sig(2 * sig(X4)), rtol=2e-3, atol=1e-3)
    dup.inputs_set(X4)
    assert emu.lib.rknn_run(dup.handle, None) == R.RKNN_ERR_FAIL  # the dup registered nothing
    assert "'cstSigmoid'" in emu.last_error()
    assert register(dup, sigmoid) == R.RKNN_SUCC
    assert sigmoid.counters()[0] == 4  # each context inits its own nodes
    assert first.destroy() == R.RKNN_SUCC
    assert sigmoid.counters()[3] == 2  # the first context's nodes only, while the dup still shares the model
    np.testing.assert_allclose(dup.infer(X4)[0], sig(2 * sig(X4)), rtol=2e-3, atol=1e-3)
    assert dup.destroy() == R.RKNN_SUCC
    assert sigmoid.counters()[3] == 4


def test_an_unused_op_type_is_accepted(emu, argmax):
    ctx = emu.open(sigmoid_twice())
    assert register(ctx, argmax) == R.RKNN_SUCC
    assert argmax.counters() == [0, 0, 0, 0]


# --- callbacks that fail -----------------------------------------------------------------------------------------

def test_init_failure_fails_registration_and_registers_nothing(emu, sigmoid):
    ctx = emu.open(sigmoid_twice())
    sigmoid.lib.rkcst_cstsigmoid_fail(0, -7)
    assert register(ctx, sigmoid) == R.RKNN_ERR_FAIL
    error = emu.last_error()
    assert "'cstSigmoid'" in error and "sig1" in error and "-7" in error
    sigmoid.lib.rkcst_cstsigmoid_reset()
    assert register(ctx, sigmoid) == R.RKNN_SUCC, emu.last_error()  # the failed call left nothing registered


def test_a_failed_init_on_a_later_node_destroys_the_earlier_ones(emu, sigmoid):
    ctx = emu.open(sigmoid_twice())
    sigmoid.lib.rkcst_cstsigmoid_fail_from(0, -9, 2)  # node sig1 inits, node sig2 fails
    assert register(ctx, sigmoid) == R.RKNN_ERR_FAIL
    assert "sig2" in emu.last_error() and "-9" in emu.last_error()
    assert sigmoid.counters(6)[:5] == [2, 0, 0, 1, 0]  # sig1 was rolled back with its destroy
    ctx.inputs_set(X4)
    assert emu.lib.rknn_run(ctx.handle, None) == R.RKNN_ERR_FAIL  # nothing stayed registered
    assert "has no registered implementation" in emu.last_error()
    assert ctx.destroy() == R.RKNN_SUCC
    assert sigmoid.counters()[3] == 1  # no second destroy for the rolled-back node


def test_skip_from_a_custom_domain_op_fails_registration(emu, sigmoid):
    ctx = emu.open(sigmoid_twice())
    sigmoid.lib.rkcst_cstsigmoid_fail(0, -14)
    assert register(ctx, sigmoid) == R.RKNN_ERR_FAIL
    assert "'cstSigmoid'" in emu.last_error() and "no built-in" in emu.last_error()


@pytest.mark.parametrize("stage,callback", [(1, "prepare"), (2, "compute")])
def test_prepare_or_compute_failure_fails_the_run(emu, sigmoid, stage, callback):
    ctx = emu.open(sigmoid_twice())
    assert register(ctx, sigmoid) == R.RKNN_SUCC
    sigmoid.lib.rkcst_cstsigmoid_fail(stage, -3)
    ctx.inputs_set(X4)
    assert emu.lib.rknn_run(ctx.handle, None) == R.RKNN_ERR_FAIL
    error = emu.last_error()
    assert f"its {callback} callback returned -3" in error and "'cstSigmoid'" in error and "sig1" in error
    sigmoid.lib.rkcst_cstsigmoid_reset()
    ctx.run()  # the context stays usable


# --- bad registrations -------------------------------------------------------------------------------------------

def test_bad_registrations_are_refused_with_param_invalid(emu, sigmoid, argmax):
    ctx = emu.open(sigmoid_twice())
    lib = emu.lib

    def refused(code, *words):
        assert code == R.RKNN_ERR_PARAM_INVALID, (code, emu.last_error())
        for w in words:
            assert w in emu.last_error(), (w, emu.last_error())

    refused(lib.rknn_register_custom_ops(ctx.handle, None, 1), "NULL")
    refused(lib.rknn_register_custom_ops(ctx.handle, C.cast(sigmoid.op_ptr, C.c_void_p), 0), "custom_op_num is 0")
    op = sigmoid.op_copy()
    op.op_type = b""
    refused(register(ctx, op), "op_type is empty")
    op = sigmoid.op_copy()
    op.compute = CALLBACK()
    refused(register(ctx, op), "compute is NULL")
    op = sigmoid.op_copy()
    op.compute_native = op.compute
    refused(register(ctx, op), "compute_native is reserved")
    op = sigmoid.op_copy()
    op.target = RKNN_TARGET_TYPE_GPU
    refused(register(ctx, op), "RKNN_TARGET_TYPE_GPU", "no GPU")
    op = sigmoid.op_copy()
    op.target = 7
    refused(register(ctx, op), "target 7")
    refused(register(ctx, sigmoid, argmax, sigmoid), "op[2] ('cstSigmoid') is already registered")
    refused(register(ctx, argmax, op), "target 7")  # one bad op: nothing of the call is registered
    assert sigmoid.counters()[0] == 0
    assert register(ctx, sigmoid) == R.RKNN_SUCC
    refused(register(ctx, sigmoid), "already registered on this context")
    assert register(ctx, argmax) == R.RKNN_SUCC  # argmax was not left registered by the refused calls
    assert lib.rknn_register_custom_ops(0xdead, C.cast(sigmoid.op_ptr, C.c_void_p), 1) == R.RKNN_ERR_CTX_INVALID


# --- rknn_custom_op_get_op_attr ----------------------------------------------------------------------------------

def answer(scale, i):
    a = R.rknn_custom_op_attr()
    computes = scale.lib.rkcst_cstscale_answer(i, C.byref(a))
    return a, computes


def values(a, ctype):
    return list((ctype * a.n_elems).from_address(a.data)) if a.n_elems else []


def test_get_op_attr_answers_every_attribute_kind(emu, sigmoid, scale):
    ctx = emu.open(sigmoid_then_scale())
    assert register(ctx, sigmoid, scale) == R.RKNN_SUCC, emu.last_error()
    ctx.infer(np.zeros((2, 6), np.float32))
    alpha, computes = answer(scale, 0)
    assert computes >= 1
    assert alpha.name == b"alpha" and alpha.dtype == R.RKNN_TENSOR_FLOAT32 and values(alpha, C.c_float) == [0.5]
    shift = answer(scale, 1)[0]
    assert shift.dtype == R.RKNN_TENSOR_INT64 and values(shift, C.c_int64) == [3]
    offsets = answer(scale, 2)[0]
    assert offsets.dtype == R.RKNN_TENSOR_FLOAT32 and values(offsets, C.c_float) == [1.0, 2.5]
    axes = answer(scale, 3)[0]
    assert axes.dtype == R.RKNN_TENSOR_INT64 and values(axes, C.c_int64) == [0, -1]
    tag = answer(scale, 4)[0]
    assert tag.dtype == R.RKNN_TENSOR_UINT8 and bytes(values(tag, C.c_uint8)) == b"hello"
    table = answer(scale, 5)[0]
    assert table.dtype == R.RKNN_TENSOR_INT32 and values(table, C.c_int32) == [1, 2, 3, 4]
    missing = answer(scale, 6)[0]
    assert missing.n_elems == 0 and not missing.data


def test_get_op_attr_with_bad_arguments_reports_nothing(emu, emu_lib):
    attr = R.rknn_custom_op_attr()
    attr.n_elems, attr.data = 7, 1234
    emu_lib.rknn_custom_op_get_op_attr(None, b"axis", C.byref(attr))
    assert attr.n_elems == 0 and not attr.data
    assert "rknn_custom_op_get_op_attr" in emu.last_error()
    fake = rknn_custom_op_context(target=1, internal_ctx=0x12345678)
    attr.n_elems, attr.data = 7, 1234
    emu_lib.rknn_custom_op_get_op_attr(C.cast(C.pointer(fake), C.c_void_p), b"axis", C.byref(attr))
    assert attr.n_elems == 0 and not attr.data
    assert "not the context of a registered custom op node" in emu.last_error()
    emu_lib.rknn_custom_op_get_op_attr(None, None, None)  # must not crash
