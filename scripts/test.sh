#!/usr/bin/env bash
# Quick start 2/2: set up, make sure PostgreSQL runs, then lint, type-check, check layers, test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

PG_HOST=127.0.0.1
pg_up() { pg_isready -q -h "$PG_HOST" -p 5432 2>/dev/null; }
if ! pg_up && command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "PostgreSQL is down: starting it" >&2
  version="$(ls /etc/postgresql 2>/dev/null | sort -n | tail -1)"
  pg_ctlcluster --skip-systemctl-redirect "${version:-15}" main start || true
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
if pg_up; then
  psql -h "$PG_HOST" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" postgres \
    | grep -q 1 || createdb -h "$PG_HOST" -U postgres test
elif [ "${CI:-}" = "true" ]; then
  echo "CI=true and PostgreSQL is unreachable on $PG_HOST:5432: failing, not skipping" >&2
  exit 1
else
  echo "PostgreSQL unreachable: its tests will be skipped (never in CI)" >&2
fi

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/pytest "$@"
