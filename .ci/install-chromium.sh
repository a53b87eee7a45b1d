#!/usr/bin/env bash
# Debian's chromium for the browser tests (tests/test_app_browser.py drives it by path with Playwright;
# `playwright install` downloads a browser build from outside the package registries and is never used).
# Does nothing when chromium is already installed, so apt is only needed on a fresh machine.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "chromium is missing: install Debian's package as root (apt-get install chromium)" >&2
    exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
