#!/usr/bin/env bash
# The main job: install and build what is missing, then read text with the real PP-OCRv4 models (detection, then
# recognition) through InferenceSession on the emulated NPU, printing what it found and how long each stage took.
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
bootstrap
stage "OCR demo" "$PY" "$REPO/examples/ocr_demo.py" "$@"
print_stage_times
