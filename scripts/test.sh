#!/usr/bin/env bash
# Install vistream with its test extras, start the servers the tests need, run the whole test suite,
# stop the servers. Usage: scripts/test.sh [pytest arguments]
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# Playwright drives the system Chromium; it must not try to download its own browser
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
"$PY" -m pip install --quiet --disable-pip-version-check -e ".[dev]" || exit 1
# The Triton server used by the nvinferserver tests comes from PyPI's nvidia-pytriton, which needs numpy<2:
# it lives in its own virtual environment so the main one keeps its versions.
TRITON_VENV=${VISTREAM_TRITON_VENV:-$HOME/.cache/vistream/triton-venv}
if [ ! -x "$TRITON_VENV/bin/python" ] || ! "$TRITON_VENV/bin/python" -c 'import pytriton' 2>/dev/null; then
  "$PY" -m venv "$TRITON_VENV" && "$TRITON_VENV/bin/pip" install --quiet --disable-pip-version-check \
    nvidia-pytriton onnxruntime || echo "warning: could not prepare the Triton environment" >&2
fi
if [ -x .ci/services.sh ]; then
  .ci/services.sh start || { echo "could not start the test servers" >&2; exit 1; }
  trap '.ci/services.sh stop' EXIT
fi
"$PY" -m pytest -q "$@"
status=$?
# pytest's exit code 5 means "no tests collected": with arguments that select nothing, that is not a failure
if [ "$status" -eq 5 ]; then status=0; fi
exit "$status"
