#!/usr/bin/env bash
# The second README command: install everything the tests need and run all of them, with the
# linters. Extra arguments go to pytest (e.g. scripts/test.sh -k payments).
# DATABASE_URL=postgres://postgres@127.0.0.1:5432/procuresync runs the same suite on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "Installing Debian's chromium for the browser tests..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null
  else
    echo "Browser tests need /usr/bin/chromium: run 'sudo apt-get install -y chromium'." >&2
    exit 1
  fi
fi
./scripts/install.sh --dev
mkdir -p var
.venv/bin/ruff check .
.venv/bin/mypy .
.venv/bin/python manage.py makemigrations --check --dry-run --verbosity 0 || {
  echo "Models and migrations disagree: run manage.py makemigrations." >&2; exit 1; }
exec .venv/bin/pytest -n 2 "$@"
