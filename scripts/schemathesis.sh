#!/usr/bin/env bash
# Property-based tests of the bookings and content APIs generated from their OpenAPI
# document (/api/openapi.json) by schemathesis, against a real Porta on SQLite and (when
# reachable) PostgreSQL, with a person's token holding every API scope and the admin and
# consultant roles. 127.0.0.1 only; bounded by MAX_EXAMPLES per operation and MAX_TIME.
#
#   scripts/schemathesis.sh                       # both backends
#   BACKENDS=sqlite MAX_EXAMPLES=200 scripts/schemathesis.sh
#
# Needs schemathesis (pip install schemathesis). Exits non-zero when any check fails:
# a 5xx, a response that does not match the document, or valid data (by the document)
# refused / invalid data accepted.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${PORT:-18082}
BASE="http://127.0.0.1:$PORT"
PG_URL=${PORTA_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
BACKENDS=${BACKENDS:-sqlite postgres}
MAX_EXAMPLES=${MAX_EXAMPLES:-50}
MAX_TIME=${MAX_TIME:-600}
PHASES=${PHASES:-examples,coverage,fuzzing,stateful}
SCOPES="openid roles bookings:read bookings:write content:read content:write"
REDIRECT="http://127.0.0.1:9/cb"
command -v schemathesis >/dev/null || { echo "schemathesis is not installed (pip install schemathesis)"; exit 2; }

cargo build --quiet
BIN=target/debug/porta
failed=0

run_backend() {
  local backend=$1 work db pid
  work=$(mktemp -d)
  if [ "$backend" = postgres ]; then
    if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
      echo "== postgres: not reachable, skipped"
      return
    fi
    local name="porta_st_$$"
    psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $name" >/dev/null
    psql "$PG_URL" -qc "CREATE DATABASE $name" >/dev/null
    db="${PG_URL%/*}/$name"
  else
    db="$work/porta.db"
  fi
  export PORTA_DATABASE_URL="$db" PORTA_DATA_DIR="$work" PORTA_BIND="127.0.0.1:$PORT" \
         PORTA_ISSUER="$BASE" PORTA_LOG=warn PORTA_MASTER_KEY="$(head -c32 /dev/urandom | base64)" \
         PORTA_RATE_LIMIT_PER_IP=0
  echo 'schemathesis password 1' | $BIN user create --email st@example.com --password-stdin >/dev/null
  $BIN user role add st@example.com admin >/dev/null
  $BIN user role add st@example.com consultant >/dev/null
  client=$($BIN client create --name schemathesis --public --skip-consent \
             --redirect-uri "$REDIRECT" --scope "$SCOPES" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])')
  $BIN serve >"$work/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -sf "$BASE/health/ready" >/dev/null && break; sleep 0.1; done
  token=$(python3 scripts/api_token.py --base "$BASE" --client-id "$client" \
            --email st@example.com --password 'schemathesis password 1' \
            --scope "$SCOPES" --redirect-uri "$REDIRECT")
  echo "== $backend"
  if [ -n "${KEEP:-}" ]; then
    echo "serving at $BASE (pid $pid); token in $work/token"; echo "$token" > "$work/token"
    echo "$token" > /tmp/porta_st_token; wait "$pid"; return
  fi
  schemathesis --config-file schemathesis.toml run "$BASE/api/openapi.json" -H "Authorization: Bearer $token" \
    --phases "$PHASES" --max-examples "$MAX_EXAMPLES" --max-time "$MAX_TIME" --workers 1 \
    --seed 1 --report-dir "$work/report" || failed=1
  echo "server log lines with 'panicked' or ' 500': $(grep -c 'panicked\| 500' "$work/server.log" || true)"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ "$backend" = postgres ]; then
    psql "$PG_URL" -qc "DROP DATABASE IF EXISTS porta_st_$$ WITH (FORCE)" >/dev/null || true
  fi
  rm -rf "$work"
}

for b in $BACKENDS; do run_backend "$b"; done
exit $failed
