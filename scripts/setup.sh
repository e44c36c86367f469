#!/usr/bin/env bash
# Create .venv (Python 3.11) and install the project with pinned dependencies.
# `setup.sh` installs the project and its test toolchain (the `dev` extras: pytest,
# hypothesis, ruff, mypy, import-linter, schemathesis, playwright, and Debian's chromium for
# the browser tests); `setup.sh serve` only what serving
# needs. Both use the same .venv: the full set-up after a serve-only one adds the tools.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
target=".[dev]"
if [ "${1:-}" = "serve" ]; then
  target="."
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$target"
if [ "$target" = ".[dev]" ] && [ ! -x "${LEDGER_CHROMIUM:-/usr/bin/chromium}" ]; then
  # The back office's browser tests drive Debian's chromium (Playwright never downloads one).
  echo "Installing Debian's chromium for the browser tests…" >&2
  SUDO=""
  [ "$(id -u)" = "0" ] || SUDO="sudo"
  $SUDO apt-get install -y --no-install-recommends chromium >/dev/null \
    || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y --no-install-recommends chromium >/dev/null; }
fi
