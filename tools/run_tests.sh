#!/usr/bin/env bash
# Set up the environment (and the browser of the web page's test) if
# needed, check style, then run the whole test suite. Extra arguments go to
# pytest, e.g. `bash tools/run_tests.sh -k parity`.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup_env.sh
bash tools/install_browser.sh

echo "[run_tests] style: ruff, ruff format, codespell (pre-commit)"
pre-commit run --all-files --show-diff-on-failure

echo "[run_tests] pytest"
set +e
python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "[run_tests] pytest collected no tests: failing on purpose" >&2
    exit 1
fi
exit "$status"
