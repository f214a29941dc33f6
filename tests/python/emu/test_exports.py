"""The emulator exports the whole RKNN C API of rknn-api.md §6 and nothing of its internals."""
from __future__ import annotations

import ctypes
import re
import shutil
import subprocess

import pytest

import rknn_ctypes as R

# rknn-api.md §6, all 35 functions of librknnrt 2.3.2 (matmul API and create_mem_from_mb_blk included).
SECTION_6_FUNCTIONS = [
    "rknn_init", "rknn_dup_context", "rknn_destroy", "rknn_query", "rknn_inputs_set", "rknn_set_batch_core_num",
    "rknn_set_core_mask", "rknn_run", "rknn_wait", "rknn_outputs_get", "rknn_outputs_release",
    "rknn_create_mem_from_phys", "rknn_create_mem_from_fd", "rknn_create_mem_from_mb_blk", "rknn_create_mem",
    "rknn_create_mem2", "rknn_destroy_mem", "rknn_set_weight_mem", "rknn_set_internal_mem", "rknn_set_io_mem",
    "rknn_set_input_shape", "rknn_set_input_shapes", "rknn_mem_sync", "rknn_register_custom_ops",
    "rknn_custom_op_get_op_attr", "rknn_matmul_create", "rknn_matmul_create_dynamic_shape",
    "rknn_matmul_set_io_mem", "rknn_matmul_set_core_mask", "rknn_matmul_set_quant_params",
    "rknn_matmul_get_quant_params", "rknn_matmul_set_dynamic_shape", "rknn_matmul_run", "rknn_matmul_destroy",
    "rknn_B_normal_layout_to_native_layout",
]
EMULATOR_FUNCTIONS = ["ezrknn_emu_version", "ezrknn_emu_last_error"]


def defined_dynamic_symbols(path):
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("nm (binutils) is not installed")
    out = subprocess.run([nm, "-D", "--defined-only", str(path)], check=True, capture_output=True, text=True).stdout
    symbols = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            symbols[parts[2].split("@")[0]] = parts[1]
    return symbols


def test_section_6_list_is_complete():
    assert len(SECTION_6_FUNCTIONS) == 35 == len(set(SECTION_6_FUNCTIONS))
    assert set(SECTION_6_FUNCTIONS) == set(R.PROTOTYPES)


def test_every_rknn_function_is_exported(emu_library_path):
    symbols = defined_dynamic_symbols(emu_library_path)
    missing = [name for name in SECTION_6_FUNCTIONS + EMULATOR_FUNCTIONS if name not in symbols]
    assert not missing, f"not exported: {missing}"
    for name in SECTION_6_FUNCTIONS + EMULATOR_FUNCTIONS:
        assert symbols[name] == "T", f"{name} is exported as {symbols[name]}, expected a function (T)"


def test_nothing_else_leaks(emu_library_path):
    symbols = defined_dynamic_symbols(emu_library_path)
    leaked = sorted(s for s in symbols if not re.match(r"^(rknn_|ezrknn_emu_)", s))
    assert not leaked, f"symbols outside the RKNN ABI are exported: {leaked[:20]}"
    assert not [s for s in symbols if s.startswith("_Z")], "C++ mangled names are exported"


def test_struct_layouts_of_the_ctypes_declarations():
    for struct, size in R.STRUCT_SIZES.items():
        assert ctypes.sizeof(struct) == size, struct.__name__
    assert R.rknn_tensor_attr.h_stride.offset == 372
    assert R.rknn_tensor_attr.size_with_stride.offset == 364
    assert R.rknn_input.fmt.offset == 28
    assert R.rknn_output.size.offset == 16


def test_version_functions(emu_lib):
    version = emu_lib.ezrknn_emu_version().decode()
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", version)
    assert isinstance(emu_lib.ezrknn_emu_last_error().decode(), str)
