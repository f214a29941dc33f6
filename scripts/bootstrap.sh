#!/usr/bin/env bash
# Shared set-up for scripts/demo.sh and scripts/test.sh: install what is missing (Debian packages, the venv and its
# PyPI packages), then build and install the package, reusing one build folder. Each step is skipped when done.
# Sourced, not run: it defines REPO, VENV, PY, BUILD_DIR and the `stage` timer.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv"
PY="$VENV/bin/python"
BUILD_DIR="${EZRKNN_BUILD_DIR:-$REPO/build/release}"
export EZRKNN_BUILD_DIR="$BUILD_DIR"

APT_PACKAGES=(g++ binutils libdnnl-dev libgtest-dev clang libclang-rt-14-dev)  # clang + its runtime: libFuzzer (tests/fuzz)
# onnx stays below 1.23: later wheels no longer ship the backend node-test files.
# pillow renders the OCR demo's picture.
PIP_PACKAGES=(numpy pybind11 "scikit-build-core>=0.10" cmake ninja pytest "onnx>=1.16,<1.23" onnxruntime pillow)

STAGE_TIMES=()
stage() {  # stage NAME CMD...: run CMD, print and remember how long it took
    local name="$1"; shift
    local t0=$SECONDS rc=0
    echo "==> $name"
    "$@" || rc=$?
    local dt=$((SECONDS - t0))
    STAGE_TIMES+=("$name: ${dt}s$([ $rc -eq 0 ] || echo " (failed: exit $rc)")")
    echo "==> $name took ${dt}s"
    return $rc
}

print_stage_times() {
    echo "---- stage times ----"
    local line
    for line in "${STAGE_TIMES[@]}"; do echo "  $line"; done
}

install_apt_packages() {
    local missing=() p
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then echo "Debian packages already installed"; return; fi
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing Debian packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

install_venv() {
    if [ ! -x "$PY" ]; then
        echo "creating $VENV with $(command -v python3) ($(python3 --version))"
        python3 -m venv "$VENV"
    fi
    local want stamp="$VENV/.ezrknn-pip-packages"
    want="${PIP_PACKAGES[*]}"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then echo "venv packages already installed"; return; fi
    "$PY" -m pip install -q --disable-pip-version-check "${PIP_PACKAGES[@]}"
    echo "$want" > "$stamp"
}

# The package is rebuilt and reinstalled only when a source file is newer than the last install.
build_and_install() {
    local stamp="$BUILD_DIR/.ezrknn-installed"
    if [ -f "$stamp" ] && "$PY" -c "import ztu_somemodelruntime_ez_rknn_async" 2>/dev/null; then
        local newer
        newer=$(cd "$REPO" && find CMakeLists.txt pyproject.toml include src emu python tests/cpp tests/models examples tools \
                    -type f -newer "$stamp" -print -quit 2>/dev/null || true)
        if [ -z "$newer" ]; then echo "build is up to date ($BUILD_DIR)"; return; fi
        echo "rebuilding: $newer changed"
    fi
    mkdir -p "$BUILD_DIR"
    # Tests and examples are built in the same folder that pip uses, so ctest and later builds reuse it.
    "$PY" -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps "$REPO" \
        -Cbuild-dir="$BUILD_DIR" \
        -Ccmake.define.EZRKNN_BUILD_TESTS=ON \
        -Ccmake.define.EZRKNN_WERROR="${EZRKNN_WERROR:-ON}" \
        -Cbuild.verbose=false
    touch "$stamp"
}

bootstrap() {
    stage "install Debian packages" install_apt_packages
    stage "install venv and PyPI packages" install_venv
    stage "build and install the package" build_and_install
}
