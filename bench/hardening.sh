#!/usr/bin/env bash
# The hardening benchmark: a busy, hostile and bad day against a release build, on SQLite
# and (when reachable) PostgreSQL. 127.0.0.1 only; every scenario is bounded.
#
#   bench/hardening.sh                       # both backends, FLOOD=600 requests per flood
#   FLOOD=300 SETTLE=30 bench/hardening.sh   # shorter
#   BACKENDS=sqlite bench/hardening.sh
#
# Prints, per backend: statuses per scenario, failed sign-ins, 429s for right passwords,
# 5xx, and RSS idle / peak / a minute after. Targets: 0 failed sign-ins, 0 × 5xx (503 with
# Retry-After is the designed answer to overload), peak RSS ≤ 256 MiB, back within 64 MiB
# of idle a minute later.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${PORT:-18081}
BASE="http://127.0.0.1:$PORT"
PG_URL=${PORTA_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
BACKENDS=${BACKENDS:-sqlite postgres}

cargo build --release --quiet
BIN=target/release/porta

run_backend() {
  local backend=$1 label=$2 work db
  work=$(mktemp -d)
  if [ "$backend" = postgres ]; then
    if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
      echo "== postgres: not reachable, skipped"
      return
    fi
    local name="porta_bench_$$"
    psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $name" >/dev/null
    psql "$PG_URL" -qc "CREATE DATABASE $name" >/dev/null
    db="${PG_URL%/*}/$name"
  else
    db="$work/porta.db"
  fi
  export PORTA_DATABASE_URL="$db" PORTA_DATA_DIR="$work" PORTA_BIND="127.0.0.1:$PORT" \
         PORTA_ISSUER="$BASE" PORTA_LOG=warn PORTA_MASTER_KEY="$(head -c32 /dev/urandom | base64)"
  for i in 0 1 2 3; do
    echo 'bench password 123' | $BIN user create --email "bench$i@example.com" --password-stdin >/dev/null
  done
  $BIN serve >"$work/server.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do curl -sf "$BASE/health/ready" >/dev/null && break; sleep 0.1; done
  sleep 1
  echo "== $backend, $label"
  python3 bench/hardening.py --base "$BASE" --pid "$pid" --outbox "$work/outbox" || true
  echo "server log lines with 'error': $(grep -ci error "$work/server.log" || true)"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ "$backend" = postgres ]; then
    psql "$PG_URL" -qc "DROP DATABASE IF EXISTS porta_bench_$$ WITH (FORCE)" >/dev/null || true
  fi
  rm -rf "$work"
}

for b in $BACKENDS; do
  [ -n "${ONLY_UNCAPPED:-}" ] && { PORTA_OTP_MAX_SENDS_PER_IP=1000000 PORTA_OTP_MAX_SENDS_PER_MINUTE=1000000 PORTA_RATE_LIMIT_PER_IP=0 run_backend "$b" "per-IP caps and rate limit off"; continue; }
  # A fresh install's defaults: the per-IP caps stop the floods early.
  run_backend "$b" "defaults"
  # The caps lifted: the floods reach the hashing pool, which alone must keep memory flat.
  PORTA_OTP_MAX_SENDS_PER_IP=1000000 PORTA_OTP_MAX_SENDS_PER_MINUTE=1000000 \
    PORTA_RATE_LIMIT_PER_IP=0 run_backend "$b" "per-IP caps and rate limit off"
done
