#!/usr/bin/env bash
# The database work of a sign-in and of a refresh on PostgreSQL: statements (round trips),
# rows written and tables read per operation, and the database's CPU time per operation.
# Starts Porta (release) on a fresh database whose statements PostgreSQL logs, runs
# bench/dbwork.py against it over 127.0.0.1, and drops the database. SQLite runs the same
# statements (one code path), so the statement and row counts hold for it too.
#
#   bench/dbwork.sh            # N=200 of each
#   BIN=/tmp/porta-old bench/dbwork.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-200}
PORT=${PORT:-18090}
BASE="http://127.0.0.1:$PORT"
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
LOG=${PG_LOG:-$(ls -t /var/log/postgresql/postgresql-*-main.log | head -n1)}
# BIN=path: measure another build (an older commit, say), as it is.
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN=target/release/porta
fi
WORK=$(mktemp -d)
DB="porta_dbwork_$$"
trap 'kill "${PID:-}" 2>/dev/null || true; psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
psql "$PG_URL" -qc "CREATE DATABASE $DB" >/dev/null
psql "$PG_URL" -qc "ALTER DATABASE $DB SET log_statement = 'all'" >/dev/null
URL="${PG_URL%/*}/$DB"
export PORTA_DATABASE_URL="$URL" PORTA_DATA_DIR="$WORK" PORTA_BIND="127.0.0.1:$PORT" PORTA_ISSUER="$BASE" \
  PORTA_LOG=warn PORTA_WORKERS=1 PORTA_RATE_LIMIT_PER_IP=0 PORTA_RATE_LIMIT_PER_CLIENT=0 \
  PORTA_MASTER_KEY="$(head -c32 /dev/urandom | base64)"
CLIENT=$($BIN client create --name dbwork --redirect-uri http://127.0.0.1:9/cb --skip-consent \
  --grant-type authorization_code refresh_token --scope "openid email offline_access")
CID=$(echo "$CLIENT" | sed -n 's/.*"client_id": "\(.*\)".*/\1/p')
SECRET=$(echo "$CLIENT" | sed -n 's/.*"client_secret": "\(.*\)".*/\1/p')
echo 'bench password 123' | $BIN user create --email bench@example.com --password-stdin >/dev/null
start() {
  $BIN serve >"$WORK/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 50); do curl -sf "$BASE/jwks" >/dev/null && break; sleep 0.1; done
}
measure() {
  python3 bench/dbwork.py --base "$BASE" --client-id "$CID" --secret "$SECRET" --email bench@example.com \
    --password "bench password 123" --url "$URL" --db "$DB" --pid "$PID" -n "$N" "$@"
}
echo "Porta $BIN (checkout $(git rev-parse --short HEAD 2>/dev/null || echo '?')) on PostgreSQL, $(date -u +%F), N=$N each"
echo "statements (round trips, BEGIN/COMMIT included), rows written and tables read per operation:"
start
measure --log "$LOG"
kill "$PID"; wait "$PID" 2>/dev/null || true
echo "CPU per operation, statements not logged (one operation at a time):"
psql "$PG_URL" -qc "ALTER DATABASE $DB RESET log_statement" >/dev/null
start
measure
