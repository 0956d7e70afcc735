#!/usr/bin/env bash
# The first README command: install, prepare the embedded database and demo data, start the QBO
# emulator and the product (web + in-process worker), and print where to go.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-8000}
EMULATOR_PORT=${EMULATOR_PORT:-8010}
./scripts/install.sh
mkdir -p var
.venv/bin/python manage.py migrate --verbosity 0
.venv/bin/python manage.py collectstatic --noinput --verbosity 0

emulator_pid=""
if [ -d qbo_emulator ]; then
  .venv/bin/python -m qbo_emulator --host 127.0.0.1 --port "$EMULATOR_PORT" \
    --state-file var/emulator.sqlite3 --credentials-file var/emulator-credentials.json \
    --webhook-url "http://127.0.0.1:$PORT/quickbooks/webhooks" \
    > var/emulator.log 2>&1 &
  emulator_pid=$!
  trap '[ -n "$emulator_pid" ] && kill "$emulator_pid" 2>/dev/null || true' EXIT INT TERM
fi

.venv/bin/python manage.py demo_data --url "http://127.0.0.1:$PORT/"
[ -n "$emulator_pid" ] && echo "QuickBooks Online emulator (console): http://127.0.0.1:$EMULATOR_PORT/  (log: var/emulator.log)"
echo "API docs: http://127.0.0.1:$PORT/api/docs/    Stop with Ctrl+C."
echo
.venv/bin/python manage.py serve "127.0.0.1:$PORT"
