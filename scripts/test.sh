#!/usr/bin/env bash
# Install vistream with its test extras, start the servers the tests need, run the whole test suite,
# stop the servers. Usage: scripts/test.sh [pytest arguments]
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# Playwright drives the system Chromium; it must not try to download its own browser
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
"$PY" -m pip install --quiet --disable-pip-version-check -e ".[dev]" || exit 1
if [ -x .ci/services.sh ]; then
  .ci/services.sh start || { echo "could not start the test servers" >&2; exit 1; }
  trap '.ci/services.sh stop' EXIT
fi
"$PY" -m pytest -q "$@"
status=$?
# pytest's exit code 5 means "no tests collected": with arguments that select nothing, that is not a failure
if [ "$status" -eq 5 ]; then status=0; fi
exit "$status"
