#!/usr/bin/env bash
# Transcript search under load: a library of TRACKS tracks (default 10,000) with transcripts
# of PAGES pages (20) of WORDS words (300), seeded by bench/seed_search.py, searched through
# GET /api/content/search/transcripts with a client-credentials token (JWKS mode) by wrk.
# Porta is pinned to core 0 with one HTTP worker, wrk to core 1 (PostgreSQL, unpinned, shares
# the machine). Talks to 127.0.0.1 only; every run is bounded by DURATION.
#
#   bench/search.sh                       # both backends
#   BACKENDS=sqlite DURATION=10 bench/search.sh
set -euo pipefail
cd "$(dirname "$0")/.."

BACKENDS=${BACKENDS:-"sqlite postgres"}
DURATION=${DURATION:-15}
CONNECTIONS=${CONNECTIONS:-16}
PORT=${PORT:-18090}
BASE="http://127.0.0.1:$PORT"
PG_BASE=${PG_BASE:-postgres://postgres@127.0.0.1:5432}
export TRACKS=${TRACKS:-10000} PAGES=${PAGES:-20} WORDS=${WORDS:-300}

if ! command -v wrk >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi
cargo build --release --quiet
BIN=$PWD/target/release/porta
WORK=$(mktemp -d)
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
  psql "$PG_BASE/postgres" -qc "DROP DATABASE IF EXISTS porta_bench_search" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# Queries: common and rare words, one or two, English and Portuguese, per_page 20.
cat >"$WORK/search.lua" <<'LUA'
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
local queries = {
  "breath", "kindness", "silence%20breath", "walking", "kindness%20silence",
  "medita%C3%A7%C3%A3o", "compaix%C3%A3o", "medita%C3%A7%C3%B5es", "sil%C3%AAncio%20compaix%C3%A3o",
  "breath&language=en", "medita%C3%A7%C3%A3o&page=3", "nosuchwordanywhere",
}
local i = 0
function request()
  i = i + 1
  return wrk.format("GET", "/api/content/search/transcripts?q=" .. queries[(i % #queries) + 1])
end
LUA

echo "Porta $(git rev-parse --short HEAD) — $TRACKS tracks x $PAGES pages x $WORDS words; server on core 0 (1 worker), wrk on core 1, $CONNECTIONS connections, ${DURATION}s"
printf '| %-9s | %10s | %8s | %8s | %8s | %8s | %6s |\n' backend req/s p50 p99 "RSS MB" "seed s" non-2xx
printf '|%s|%s|%s|%s|%s|%s|%s|\n' ----------- ------------ ---------- ---------- ---------- ---------- --------
for backend in $BACKENDS; do
  if [ "$backend" = sqlite ]; then
    DB="$WORK/porta.db"
  else
    psql "$PG_BASE/postgres" -qc "DROP DATABASE IF EXISTS porta_bench_search" >/dev/null
    psql "$PG_BASE/postgres" -qc "CREATE DATABASE porta_bench_search" >/dev/null
    DB="$PG_BASE/porta_bench_search"
  fi
  export PORTA_DATABASE_URL="$DB" PORTA_DATA_DIR="$WORK/data-$backend" PORTA_BIND="127.0.0.1:$PORT" \
    PORTA_ISSUER="$BASE" PORTA_LOG=warn PORTA_WORKERS=1 PORTA_RATE_LIMIT_PER_IP=0 \
    PORTA_RATE_LIMIT_PER_CLIENT=0 PORTA_MASTER_KEY="$(head -c32 /dev/urandom | base64)"
  mkdir -p "$PORTA_DATA_DIR"
  $BIN migrate >/dev/null
  START=$(date +%s)
  python3 bench/seed_search.py "$backend" "$DB"
  SEEDED=$(( $(date +%s) - START ))
  CLIENT=$($BIN client create --name bench --redirect-uri http://127.0.0.1:9/cb \
    --grant-type client_credentials --scope "content:read")
  CID=$(echo "$CLIENT" | sed -n 's/.*"client_id": "\(.*\)".*/\1/p')
  SECRET=$(echo "$CLIENT" | sed -n 's/.*"client_secret": "\(.*\)".*/\1/p')
  taskset -c 0 $BIN serve >"$WORK/server-$backend.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do curl -sf "$BASE/jwks" >/dev/null && break; sleep 0.1; done
  TOKEN=$(curl -s -u "$CID:$SECRET" -d grant_type=client_credentials -d "scope=content:read" "$BASE/token" \
    | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
  [ -n "$TOKEN" ] || { echo "no token (see $WORK/server-$backend.log)" >&2; exit 1; }
  # One answer checked by eye of the script: the common word is found.
  TOTAL=$(curl -s -H "Authorization: Bearer $TOKEN" "$BASE/api/content/search/transcripts?q=breath" \
    | sed -n 's/.*"total":\([0-9]*\).*/\1/p')
  [ "${TOTAL:-0}" -gt 0 ] || { echo "the search finds nothing: set-up failed" >&2; exit 1; }
  # Warm the caches (page cache, PostgreSQL buffers) for a few seconds first.
  TOKEN=$TOKEN taskset -c 1 wrk -t2 -c"$CONNECTIONS" -d3s -s "$WORK/search.lua" "$BASE" >/dev/null
  OUT=$(TOKEN=$TOKEN taskset -c 1 wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/search.lua" "$BASE")
  RPS=$(echo "$OUT" | awk '/Requests\/sec/ {print $2}')
  P50=$(echo "$OUT" | awk '$1=="50%" {print $2}')
  P99=$(echo "$OUT" | awk '$1=="99%" {print $2}')
  NON2XX=$(echo "$OUT" | awk '/Non-2xx/ {print $NF}')
  RSS=$(( $(awk '/VmRSS/ {print $2}' /proc/$PID/status) / 1024 ))
  printf '| %-9s | %10s | %8s | %8s | %8s | %8s | %6s |\n' "$backend" "$RPS" "$P50" "$P99" "$RSS" "$SEEDED" "${NON2XX:-0}"
  echo "  (breath: $TOTAL hits)"
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
done
