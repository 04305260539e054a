#!/usr/bin/env bash
# Installs what the browser tests (tests/browser/) need: Debian's Chromium.
# Playwright's own browser download is not reachable here, so the tests drive
# /usr/bin/chromium. The lesson is written in Korean: fonts-nanum gives the
# screenshots real Hangul instead of empty boxes.
# Idempotent: silent and quick when everything is already there.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
HANGUL_FONT=/usr/share/fonts/truetype/nanum/NanumGothic.ttf

if [ -x "$CHROMIUM" ] && [ -f "$HANGUL_FONT" ]; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "browser_setup: $CHROMIUM is missing and we are not root (no sudo): install the 'chromium' and 'fonts-nanum' packages" >&2
        exit 1
    fi
fi

echo "browser_setup: installing Chromium and fonts with apt-get (once)..."
export DEBIAN_FRONTEND=noninteractive
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
if ! { $SUDO apt-get update -qq && \
       $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core fonts-nanum; } >"$LOG" 2>&1; then
    cat "$LOG" >&2
    echo "browser_setup: apt-get failed (output above)" >&2
    exit 1
fi

if [ ! -x "$CHROMIUM" ]; then
    echo "browser_setup: apt-get finished but $CHROMIUM is still missing" >&2
    exit 1
fi
echo "browser_setup: $("$CHROMIUM" --version 2>/dev/null || echo chromium) installed"
