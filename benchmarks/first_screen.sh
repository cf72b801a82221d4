#!/bin/sh
# Time to the course map (the first screen) vs a minimal Textual app, measured from outside in tmux.
# Quote the ratio: absolute times drift on a shared machine. Target: ratio <= 1.5.
#   benchmarks/first_screen.sh            (from the repository root; extra arguments go to the tool)
set -eu
cd "$(dirname "$0")/.."
HOME_DIR="$(mktemp -d)"
trap 'rm -rf "$HOME_DIR"' EXIT
# PYTHON: the interpreter of an environment with backend-tutor installed (default: the clone's .venv).
PY="${PYTHON:-.venv/bin/python}"
exec "$PY" "${FIRST_SCREEN_TOOL:-../shared/tools/first_screen.py}" \
    --python "$PY" --marker "Authentication" --baseline --runs "${RUNS:-7}" "$@" \
    -- env BACKEND_TUTOR_HOME="$HOME_DIR" "$(dirname "$PY")/backend-tutor"
