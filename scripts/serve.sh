#!/usr/bin/env bash
# Quick start 1/2: set up what serving needs (not the test tools), then serve the API on
# SQLite under ./data (demo data on first run). Arguments go to `contact-ledger serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh serve
exec .venv/bin/contact-ledger serve "$@"
