#!/usr/bin/env bash
# Two Porta nodes on one PostgreSQL database against one node on the same machine:
# client_credentials (CPU-bound, no database) and refresh with id token (a write
# transaction per request). Node A on core 0, node B on core 1; wrk unpinned, one wrk per
# node with half the connections each. The single-node run uses the same unpinned wrk
# against node A alone. Talks to 127.0.0.1 only, each run DURATION seconds.
#
#   bench/two-nodes.sh
#
# On a two-core machine the load generator and PostgreSQL share the cores with the nodes,
# so the second node's gain here is a lower bound; docs/sizing.md derives capacity from
# the per-operation CPU that bench/dbwork.sh measures.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
PORT_A=${PORT_A:-18180}
PORT_B=$((PORT_A + 1))
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
cargo build --release --quiet
BIN=target/release/porta
WORK=$(mktemp -d)
DB="porta_twonodes_$$"
cleanup() {
  kill "${A:-}" "${B:-}" 2>/dev/null || true
  wait 2>/dev/null || true
  psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
psql "$PG_URL" -qc "CREATE DATABASE $DB" >/dev/null
# Both nodes answer for one issuer (as behind a load balancer) and share the master key.
export PORTA_DATABASE_URL="${PG_URL%/*}/$DB" PORTA_DATA_DIR="$WORK" PORTA_ISSUER="http://127.0.0.1:$PORT_A" \
  PORTA_LOG=warn PORTA_WORKERS=1 PORTA_RATE_LIMIT_PER_IP=0 PORTA_RATE_LIMIT_PER_CLIENT=0 \
  PORTA_MASTER_KEY="$(head -c32 /dev/urandom | base64)"
CLIENT=$($BIN client create --name bench --redirect-uri http://127.0.0.1:9/cb --skip-consent \
  --grant-type authorization_code refresh_token client_credentials --scope "openid email offline_access api")
CID=$(echo "$CLIENT" | sed -n 's/.*"client_id": "\(.*\)".*/\1/p')
SECRET=$(echo "$CLIENT" | sed -n 's/.*"client_secret": "\(.*\)".*/\1/p')
echo 'bench password 123' | $BIN user create --email bench@example.com --password-stdin >/dev/null
PORTA_BIND="127.0.0.1:$PORT_A" taskset -c 0 $BIN serve >"$WORK/a.log" 2>&1 &
A=$!
PORTA_BIND="127.0.0.1:$PORT_B" taskset -c 1 $BIN serve >"$WORK/b.log" 2>&1 &
B=$!
for port in $PORT_A $PORT_B; do
  for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/jwks" >/dev/null && break; sleep 0.1; done
done

# Refresh-token chains: one per connection, from real sign-ins at node A.
chains() { # $1 = count, $2 = file
  python3 - "$1" "$2" <<PY
import sys, types
sys.path.insert(0, "bench")
from signin import sign_in
a = types.SimpleNamespace(client_id="$CID", secret="$SECRET", email="bench@example.com", password="bench password 123")
with open(sys.argv[2], "w") as f:
    for _ in range(int(sys.argv[1])):
        f.write(sign_in("127.0.0.1", $PORT_A, a, "openid email offline_access")["refresh_token"] + "\n")
PY
}
BASIC=$(printf '%s:%s' "$CID" "$SECRET" | base64 -w0)
export BASIC
rps() { awk '/Requests\/sec/ {print $2}' "$1"; }
one() { # name, script, tokens file
  local conns=$CONNECTIONS
  TOKENS=${3:-} wrk -t"$conns" -c"$conns" -d"${DURATION}s" -s "$2" "http://127.0.0.1:$PORT_A/token" >"$WORK/one.txt" 2>&1
  echo "$(rps "$WORK/one.txt")"
}
two() { # name, script, tokens file A, tokens file B
  local half=$((CONNECTIONS / 2))
  TOKENS=${3:-} wrk -t"$half" -c"$half" -d"${DURATION}s" -s "$2" "http://127.0.0.1:$PORT_A/token" >"$WORK/a.txt" 2>&1 &
  local wa=$!
  TOKENS=${4:-} wrk -t"$half" -c"$half" -d"${DURATION}s" -s "$2" "http://127.0.0.1:$PORT_B/token" >"$WORK/b.txt" 2>&1 &
  wait "$wa" $!
  echo "$(rps "$WORK/a.txt") + $(rps "$WORK/b.txt")"
}
chains "$CONNECTIONS" "$WORK/one.tokens"
chains $((CONNECTIONS / 2)) "$WORK/a.tokens"
chains $((CONNECTIONS / 2)) "$WORK/b.tokens"
echo "Porta $(git rev-parse --short HEAD 2>/dev/null || echo '?'), PostgreSQL, $(date -u +%F), ${DURATION}s each, $CONNECTIONS connections"
echo "| scenario | one node (core 0) req/s | two nodes (cores 0, 1) req/s |"
echo "| --- | --- | --- |"
export BODY="grant_type=client_credentials&scope=api"
echo "| client_credentials | $(one cc bench/wrk/post.lua) | $(two cc bench/wrk/post.lua) |"
echo "| refresh (+ id token) | $(one refresh bench/wrk/refresh.lua "$WORK/one.tokens") | $(two refresh bench/wrk/refresh.lua "$WORK/a.tokens" "$WORK/b.tokens") |"
