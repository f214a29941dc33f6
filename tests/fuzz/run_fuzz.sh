#!/usr/bin/env bash
# Fuzzes rknn_init on model bytes for N seconds (default 60) with libFuzzer + ASan + UBSan, and fails on any
# finding (crash, sanitizer report, leak, timeout, out-of-memory). Usage: tests/fuzz/run_fuzz.sh [seconds]
#
# Installs clang and its runtime when missing, builds the emulator with clang in build/fuzz (or $EZRKNN_FUZZ_BUILD_DIR),
# seeds build/fuzz/corpus with the ONNX backend node-test models and the regression inputs, then runs. The corpus
# is kept between runs, so each run goes on from the last. A finding lands in build/fuzz/artifacts/: copy it to
# tests/fuzz/regressions/ once fixed, so ctest (fuzz_regressions) replays it.
set -euo pipefail

SECONDS_TO_RUN="${1:-60}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="$REPO/.venv/bin/python"
[ -x "$PY" ] || PY="$(command -v python3)"
FUZZ_DIR="${EZRKNN_FUZZ_BUILD_DIR:-$REPO/build/fuzz}"
CORPUS="$FUZZ_DIR/corpus"
ARTIFACTS="$FUZZ_DIR/artifacts"
SEED_COUNT=300
MAX_LEN=65536

# cmake and ninja come from the venv (PyPI), like the rest of the project's builds.
export PATH="$REPO/.venv/bin:$PATH"

apt_install() {
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing Debian packages: $*"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@"
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }

install_clang() {
    command -v clang++ >/dev/null || apt_install clang
    local major
    major="$(clang++ --version | sed -n 's/.*clang version \([0-9][0-9]*\).*/\1/p' | head -1)"
    # libFuzzer and the sanitizer runtimes live in the runtime package of the same major version.
    installed "libclang-rt-$major-dev" || apt_install "libclang-rt-$major-dev"
}

build() {
    mkdir -p "$FUZZ_DIR"
    cmake -S "$REPO" -B "$FUZZ_DIR" -G Ninja \
        -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_CXX_FLAGS="-fno-sanitize-recover=all" -DCMAKE_C_FLAGS="-fno-sanitize-recover=all" \
        -DEZRKNN_FUZZ=ON -DEZRKNN_SANITIZE=address,undefined \
        -DEZRKNN_BUILD_PYTHON=OFF -DEZRKNN_BUILD_TESTS=OFF -DEZRKNN_WERROR=OFF >"$FUZZ_DIR/configure.log" 2>&1 ||
        { cat "$FUZZ_DIR/configure.log"; return 1; }
    cmake --build "$FUZZ_DIR" --target fuzz_rknn_init -j 2
}

# A few hundred of the node-test models (every k-th, so all op families are present), the repository's test
# models and the regression inputs. Seeding happens once; later runs reuse the grown corpus.
seed_corpus() {
    mkdir -p "$CORPUS" "$ARTIFACTS"
    if [ -f "$CORPUS/.seeded" ]; then
        echo "corpus: $(find "$CORPUS" -type f ! -name .seeded | wc -l) inputs (kept from earlier runs)"
    else
        "$PY" - "$CORPUS" "$SEED_COUNT" "$MAX_LEN" <<'EOF'
import os, shutil, sys
from pathlib import Path
import onnx
corpus, count, max_len = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
node = Path(onnx.__file__).parent / "backend" / "test" / "data" / "node"
models = [p for p in sorted(node.glob("*/model.onnx")) if p.stat().st_size <= max_len]
step = max(1, len(models) // count)
for p in models[::step][:count]:
    shutil.copyfile(p, corpus / f"seed_{p.parent.name}.onnx")
EOF
        touch "$CORPUS/.seeded"
    fi
    local f
    for f in "$REPO"/tests/models/*.onnx "$REPO"/tests/fuzz/regressions/*; do
        [ -f "$f" ] && cp -f "$f" "$CORPUS/$(basename "$f")"
    done
    return 0
}

run() {
    local log="$FUZZ_DIR/fuzz.log" rc=0
    rm -f "$ARTIFACTS"/crash-* "$ARTIFACTS"/leak-* "$ARTIFACTS"/timeout-* "$ARTIFACTS"/oom-* "$ARTIFACTS"/slow-unit-*
    # close_fd_mask=2 silences the emulator's error log (one line per refused model); libFuzzer and the sanitizers
    # still report on their own descriptor.
    set +e
    ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1" UBSAN_OPTIONS="print_stacktrace=1" \
        "$FUZZ_DIR/bin/fuzz_rknn_init" "$CORPUS" -max_total_time="$SECONDS_TO_RUN" -max_len="$MAX_LEN" \
        -rss_limit_mb=2048 -timeout=30 -close_fd_mask=2 -print_final_stats=1 \
        -artifact_prefix="$ARTIFACTS/" 2>&1 | tee "$log" | grep -vE "^#[0-9]+\s+(NEW|REDUCE|pulse)"
    rc=${PIPESTATUS[0]}
    set -e
    local execs findings
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    findings="$(find "$ARTIFACTS" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)"
    if [ "$rc" -ne 0 ] && [ "$findings" -eq 0 ]; then findings=1; fi
    echo "fuzz: ${execs:-0} executions in ${SECONDS_TO_RUN} s, $findings findings$([ "$findings" -eq 0 ] || echo " (see $ARTIFACTS and $log)")"
    [ "$findings" -eq 0 ]
}

install_clang
build
seed_corpus
run
