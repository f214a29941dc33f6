#!/usr/bin/env bash
# The main job: install and build what is missing, then run a real convolutional network through
# InferenceSession on the emulated NPU, printing its outputs and latency.
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
bootstrap
stage "demo" "$PY" "$REPO/examples/demo.py" "$@"
print_stage_times
