#!/usr/bin/env bash
# Quick start 1/2: set up, then serve the API on SQLite under ./data (demo data on first run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/contact-ledger serve "$@"
