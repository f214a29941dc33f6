#!/usr/bin/env bash
# Runs every test: the C++ suites (ctest) and the Python suites (pytest), after installing and building what is
# missing. Exits non-zero if any suite fails; ends with each runner's summary line and the time of each stage.
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
bootstrap

status=0
run_ctest() { ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" 2>&1 | tee "$BUILD_DIR/ctest.log"; }
run_pytest() { (cd "$REPO" && "$PY" -m pytest tests/python -q -p no:cacheprovider "$@") 2>&1 | tee "$BUILD_DIR/pytest.log"; }

stage "C++ tests (ctest)" run_ctest || status=1
stage "Python tests (pytest)" run_pytest "$@" || status=1

print_stage_times
echo "---- summaries ----"
grep -E "tests passed|tests failed" "$BUILD_DIR/ctest.log" | tail -1 || true
tail -1 "$BUILD_DIR/pytest.log"
exit $status
