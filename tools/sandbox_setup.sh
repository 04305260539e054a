#!/usr/bin/env bash
# Installs the sandbox around student kernels: Debian's bubblewrap (bwrap).
# Idempotent: silent and quick when bwrap is already there. Where it can't be installed
# (no apt-get, not root and no sudo) grading still works, unsandboxed, and says so:
# `python -m autograder doctor` reports the sandbox, `grade --require-sandbox` refuses.
# --optional (make test-gpu, on an offline node): a failed apt-get warns instead of failing.
set -euo pipefail
OPTIONAL=0
[ "${1:-}" = "--optional" ] && OPTIONAL=1

if command -v bwrap >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "sandbox_setup: no bwrap and no apt-get here: student code will run unsandboxed (see README)" >&2
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo"
    else
        echo "sandbox_setup: bwrap is missing and we are not root: install the 'bubblewrap' package" >&2
        exit 0
    fi
fi

echo "sandbox_setup: installing bubblewrap with apt-get (once)..."
export DEBIAN_FRONTEND=noninteractive
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends bubblewrap; } >"$LOG" 2>&1; then
    cat "$LOG" >&2
    if [ "$OPTIONAL" = 1 ]; then
        echo "sandbox_setup: apt-get failed (output above): student code will run unsandboxed" >&2
        exit 0
    fi
    echo "sandbox_setup: apt-get failed (output above)" >&2
    exit 1
fi
echo "sandbox_setup: $(bwrap --version) installed"
