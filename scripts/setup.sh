#!/usr/bin/env bash
# Create .venv (Python 3.11) and install the project with pinned dependencies.
# `setup.sh` installs the project and its test toolchain (the `dev` extras: pytest,
# hypothesis, ruff, mypy, import-linter, schemathesis); `setup.sh serve` only what serving
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
