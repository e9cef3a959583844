#!/usr/bin/env bash
# Porta side by side with the OpenID-certified peer, oidc-provider 9.13 on Node.js
# (bench/peer/server.mjs: two confidential apps, one given RS256 JWT access tokens as
# Porta's are and one the peer's default opaque ones, id tokens RS256, refresh tokens
# rotating on every use, grants in the peer's own memory). Both are pinned
# to core 0 in turn, the load (wrk) on core 1, and the runs alternate: Porta's rows, the
# peer's rows, ROUNDS times, so a machine whose speed drifts drifts for both. Talks to
# 127.0.0.1 only; every run is bounded by DURATION.
#
#   bench/peer.sh                    # 2 rounds of both
#   ROUNDS=3 DURATION=10 bench/peer.sh
#   PORTA=0 bench/peer.sh            # the peer alone
#   BIN=/tmp/porta-old bench/peer.sh # another build of Porta (passed to bench/run.sh)
#
# Needs Node.js 20 or later (`node`, `npm`; the peer itself is installed from the npm
# registry into target/bench-peer on first use).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
ROUNDS=${ROUNDS:-2}
PORTA=${PORTA:-1}
PORT=${PEER_PORT:-18090}
BASE="http://127.0.0.1:$PORT"
SERVER_CORE=${SERVER_CORE:-0}
LOAD_CORE=${LOAD_CORE:-1}
SECRET=bench-secret-$(head -c12 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
# Porta's rows that the peer has too.
ROWS='discovery|jwks|client_credentials|introspection|userinfo|refresh \(\+ id'

command -v node >/dev/null && command -v npm >/dev/null \
  && node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
  || { echo "bench/peer.sh needs Node.js 20+ (node, npm)" >&2; exit 1; }
if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi
PEER_DIR=target/bench-peer
mkdir -p "$PEER_DIR"
cp bench/peer/package.json bench/peer/package-lock.json bench/peer/server.mjs bench/peer/grants.mjs "$PEER_DIR/"
# The lockfile pins the peer and everything it pulls in.
if [ ! -f "$PEER_DIR/node_modules/oidc-provider/package.json" ] \
  || ! grep -q '"version": "9.13.3"' "$PEER_DIR/node_modules/oidc-provider/package.json"; then
  (cd "$PEER_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
if [ "$PORTA" = 1 ] && [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN=target/release/porta
fi

WORK=$(mktemp -d)
cleanup() {
  kill "${SAMPLER:-}" "${PID:-}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

JWT_BASIC=$(printf 'bench:%s' "$SECRET" | base64 -w0)
OPAQUE_BASIC=$(printf 'bench-opaque:%s' "$SECRET" | base64 -w0)

source bench/lib.sh

peer_round() {
  if curl -s -o /dev/null "$BASE/"; then echo "port $PORT is taken: set PEER_PORT" >&2; exit 1; fi
  PEER_PORT=$PORT PEER_SECRET=$SECRET taskset -c "$SERVER_CORE" node "$PEER_DIR/server.mjs" >"$WORK/peer.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 50); do curl -sf "$BASE/jwks" >/dev/null && break; sleep 0.1; done
  curl -sf "$BASE/jwks" >/dev/null || { echo "the peer did not start:" >&2; cat "$WORK/peer.log" >&2; exit 1; }
  sleep 5
  local idle
  idle=$(rss)
  ( while kill -0 "$PID" 2>/dev/null; do rss; sleep 0.2; done ) >"$WORK/rss.log" 2>/dev/null &
  SAMPLER=$!
  # Grants are minted right before the rows that use them: the peer's in-memory store is
  # an LRU of 1,000 entries, and a refresh row's rotations push older grants out of it.
  mint() { # app, scope, count, file; checks that every grant came
    node "$PEER_DIR/grants.mjs" "$BASE" "$3" "$2" "$SECRET" "$1" >"$4" \
      && [ "$(grep -c . "$4")" -ge "$3" ] \
      || { echo "peer set-up failed:" >&2; cat "$WORK/peer.log" >&2; exit 1; }
  }
  echo
  echo "oidc-provider $(node -p "require('./$PEER_DIR/node_modules/oidc-provider/package.json').version") on Node.js $(node --version) — server on core $SERVER_CORE, load on core $LOAD_CORE, ${DURATION}s each, $(date -u '+%F %H:%M')"
  echo "idle RSS: $((idle / 1024)) MB"
  echo
  row "scenario" "req/s" "p99" "non-2xx" "RSS MB"
  printf '|%s|%s|%s|%s|%s|\n' "--------------------------" "------------" "----------" "--------" "-------"
  AUTH="" run "discovery" "$BASE/.well-known/openid-configuration" bench/wrk/get.lua
  AUTH="" run "jwks" "$BASE/jwks" bench/wrk/get.lua
  BASIC=$JWT_BASIC BODY="grant_type=client_credentials&scope=api" run "client_credentials" "$BASE/token" bench/wrk/post.lua
  mint bench-opaque "openid email offline_access" 1 "$WORK/opaque.txt"
  local access
  access=$(tail -n1 "$WORK/opaque.txt")
  BASIC=$OPAQUE_BASIC BODY="token=$access" run "introspection (opaque)" "$BASE/token/introspection" bench/wrk/post.lua
  AUTH="Bearer $access" run "userinfo (opaque)" "$BASE/me" bench/wrk/get.lua
  # Both rows answer 200 for a token the peer no longer knows: check that it still does.
  curl -s -u "bench-opaque:$SECRET" -d "token=$access" "$BASE/token/introspection" | grep -q '"active":true' \
    || echo "(the access token of the two rows above went inactive: their figures do not count)"
  mint bench "openid email offline_access api" "$CONNECTIONS" "$WORK/refresh-jwt.txt"
  BASIC=$JWT_BASIC TOKENS="$WORK/refresh-jwt.txt" run "refresh (+ id token)" "$BASE/token" bench/wrk/refresh.lua "$CONNECTIONS" "$CONNECTIONS"
  # The peer's default: an opaque access token (no signature) and a signed id token.
  mint bench-opaque "openid email offline_access" "$CONNECTIONS" "$WORK/opaque.txt"
  head -n "$CONNECTIONS" "$WORK/opaque.txt" >"$WORK/refresh-opaque.txt"
  BASIC=$OPAQUE_BASIC TOKENS="$WORK/refresh-opaque.txt" run "refresh (+ id, opaque)" "$BASE/token" bench/wrk/refresh.lua "$CONNECTIONS" "$CONNECTIONS"
  echo "RSS right after the load: $(( $(rss) / 1024 )) MB"
  kill "$SAMPLER" "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  SAMPLER="" PID=""
}

for round in $(seq 1 "$ROUNDS"); do
  echo
  echo "== round $round of $ROUNDS"
  if [ "$PORTA" = 1 ]; then
    BIN=$BIN ONLY="$ROWS" DURATION=$DURATION CONNECTIONS=$CONNECTIONS bench/run.sh | grep -v '^$' | grep -v 'server CPU per sign-in'
  fi
  peer_round
done
