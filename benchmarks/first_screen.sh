#!/bin/sh
# Time to the course map (the first screen) vs a minimal Textual app, measured from outside in tmux.
# Quote the ratio: absolute times drift on a shared machine. Target: ratio <= 1.5.
#   benchmarks/first_screen.sh            (from the repository root; extra arguments go to the tool)
set -eu
cd "$(dirname "$0")/.."
HOME_DIR="$(mktemp -d)"
trap 'rm -rf "$HOME_DIR"' EXIT
exec .venv/bin/python "${FIRST_SCREEN_TOOL:-/work/shared/tools/first_screen.py}" \
    --python .venv/bin/python --marker "Authentication" --baseline --runs "${RUNS:-7}" "$@" \
    -- env BACKEND_TUTOR_HOME="$HOME_DIR" .venv/bin/backend-tutor
