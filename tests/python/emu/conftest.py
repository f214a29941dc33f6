"""Fixtures of the emulator's C ABI tests: librknnrt_emu.so is loaded with ctypes and driven as an application
written against rknn_api.h would drive it.

The library is looked up at $EZRKNN_BUILD_DIR/lib/librknnrt_emu.so (default: build/release of the repository).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import rknn_ctypes  # noqa: E402
from emu_session import Emulator  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
BUILD_DIR = Path(os.environ.get("EZRKNN_BUILD_DIR", REPO / "build" / "release"))
LIBRARY = BUILD_DIR / "lib" / "librknnrt_emu.so"


@pytest.fixture(scope="session")
def emu_library_path() -> Path:
    if not LIBRARY.is_file():
        pytest.skip(f"librknnrt_emu.so is not built at {LIBRARY} (build the rknnrt_emu target, or set "
                    f"EZRKNN_BUILD_DIR to the build directory)")
    return LIBRARY


@pytest.fixture(scope="session")
def emu_lib(emu_library_path):
    return rknn_ctypes.load(emu_library_path)


@pytest.fixture
def emu(emu_lib, monkeypatch) -> Emulator:
    """The emulator with default settings; contexts a test leaves open are destroyed after it."""
    for name in ("EZRKNN_EMU_PLATFORM", "EZRKNN_EMU_EXACT_FP32", "RKNN_LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    emulator = Emulator(emu_lib)
    yield emulator
    emulator.destroy_all()


@pytest.fixture
def mems(emu_lib):
    """Mems a test creates with rknn_create_mem*; destroyed afterwards (a second destroy of one the test freed is
    harmless)."""
    created = []
    yield created
    for m in created:
        emu_lib.rknn_destroy_mem(0, m)


@pytest.fixture(scope="session")
def emu_models(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("emu_models")
