#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment in .venv and install
# vidcap_mm with its test tools and the web page's extra into it. Sourced by tools/demo.sh and
# tools/run_tests.sh; safe to run again: it reinstalls only when
# setup.py or requirements/ changed.
#
# Set VIDCAP_PYTHON to choose the interpreter (default: python3), and
# VIDCAP_VENV to put the environment elsewhere (default: .venv).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${VIDCAP_VENV:-$repo_root/.venv}"
python="${VIDCAP_PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    echo "[setup_env] creating $venv"
    "$python" -m venv "$venv"
fi

stamp="$venv/.vidcap_mm_installed"
wanted="$(cat "$repo_root/setup.py" "$repo_root"/requirements/*.txt \
    | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    echo "[setup_env] installing vidcap_mm and its requirements into $venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -e "$repo_root[tests,web]"
    echo "$wanted" > "$stamp"
fi

# shellcheck disable=SC1091
source "$venv/bin/activate"
