#!/usr/bin/env bash
# Install the browser that the web page's test drives: Debian's chromium
# and chromium-driver, with apt-get, when they are not there yet. Run by
# tools/run_tests.sh. Without apt-get or root it says what to install and
# leaves it at that (the browser test then fails saying the same).
# VIDCAP_CHROMIUM / VIDCAP_CHROMEDRIVER name other binaries.
set -euo pipefail

chromium="${VIDCAP_CHROMIUM:-/usr/bin/chromium}"
chromedriver="${VIDCAP_CHROMEDRIVER:-/usr/bin/chromedriver}"
if [ -x "$chromium" ] && [ -x "$chromedriver" ]; then
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo > /dev/null && sudo -n true 2> /dev/null; then
        sudo="sudo -n"
    else
        sudo="no"
    fi
fi
if ! command -v apt-get > /dev/null || [ "$sudo" = "no" ]; then
    echo "[install_browser] $chromium or $chromedriver is missing and" \
        "cannot be installed here (needs apt-get as root): install" \
        "chromium and chromium-driver (Debian / Ubuntu), or set" \
        "VIDCAP_CHROMIUM and VIDCAP_CHROMEDRIVER" >&2
    exit 0
fi

echo "[install_browser] apt-get install chromium chromium-driver"
export DEBIAN_FRONTEND=noninteractive
# A brand-new machine may have no package lists yet.
$sudo apt-get install -y -q chromium chromium-driver > /dev/null 2>&1 || {
    $sudo apt-get update -q > /dev/null
    $sudo apt-get install -y -q chromium chromium-driver > /dev/null
}
"$chromium" --version
