#!/usr/bin/env bash
# Porta's yardstick: requests per second and latency on the hot endpoints, with the server
# pinned to core 0 and the load generator (wrk) on core 1. Talks to 127.0.0.1 only; every
# run is bounded by DURATION.
#
#   bench/run.sh            # builds release, runs every scenario, prints a table
#   DURATION=5 CONNECTIONS=32 bench/run.sh
#   BACKEND=postgres bench/run.sh   # a fresh database on PG_URL's server, dropped after
#   SETTLE=60 bench/run.sh          # also RSS a minute after the load
#   ONLY='refresh' bench/run.sh     # only the rows whose name matches
#   BIN=/tmp/porta-old bench/run.sh # another build, as it is (no cargo build)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-18080}
BASE="http://127.0.0.1:$PORT"
SERVER_CORE=${SERVER_CORE:-0}
LOAD_CORE=${LOAD_CORE:-1}
BACKEND=${BACKEND:-sqlite}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
SETTLE=${SETTLE:-0}
SIGNIN_IN_FLIGHT=${SIGNIN_IN_FLIGHT:-16}
# The sign-in rows: SIGNIN_IN_FLIGHT people at once (bench0@… bench15@…, one browser
# each), then one person in SIGNIN_IN_FLIGHT browsers at once (bench@…), whose attempts
# wait for each other at the per-account throttle.
# PROFILE=1: perf profiles of the server (self time by library, thread and function)
# during the refresh with id token (bench-profile.txt), the refresh without it
# (bench-profile-lean.txt) and the sign-ins
# (bench-profile-signin.txt).
PROFILE=${PROFILE:-0}
# ONLY=REGEX: only the rows whose name matches (ONLY=refresh, ONLY=sign-ins).
ONLY=${ONLY:-.}

if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi
# BIN=path: measure another build of Porta (an older commit, say) with this script.
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN=target/release/porta
  BUILD="$(git describe --always --dirty 2>/dev/null || echo "?")"
else
  # Another build: the checkout's commit says nothing about it.
  BUILD="$BIN"
fi

WORK=$(mktemp -d)
PGDB=""
cleanup() {
  kill "${SAMPLER:-}" "${PID:-}" 2>/dev/null || true
  wait 2>/dev/null || true
  [ -n "$PGDB" ] && psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $PGDB" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
if [ "$BACKEND" = postgres ]; then
  PGDB="porta_bench_$$"
  psql "$PG_URL" -qc "CREATE DATABASE $PGDB" >/dev/null
  DB_URL="${PG_URL%/*}/$PGDB"
else
  DB_URL="$WORK/porta.db"
fi
export PORTA_DATABASE_URL="$DB_URL" PORTA_DATA_DIR="$WORK" PORTA_BIND="127.0.0.1:$PORT" \
       PORTA_ISSUER="$BASE" PORTA_LOG=warn,porta::crypto=info PORTA_WORKERS=1 PORTA_RATE_LIMIT_PER_IP=0 PORTA_RATE_LIMIT_PER_CLIENT=0 PORTA_MASTER_KEY="$(head -c32 /dev/urandom | base64)" \
       PORTA_AUTHORIZE_MAX_PENDING_PER_IP=1000000
# Every browser comes from 127.0.0.1: the per-IP limits are for a crowd, not for this.

CLIENT=$($BIN client create --name bench --redirect-uri http://127.0.0.1:9/cb --skip-consent \
  --grant-type authorization_code refresh_token client_credentials --scope "openid profile email offline_access api bookings:read content:read")
CID=$(echo "$CLIENT" | sed -n 's/.*"client_id": "\(.*\)".*/\1/p')
SECRET=$(echo "$CLIENT" | sed -n 's/.*"client_secret": "\(.*\)".*/\1/p')
# The same app with the id token left out of refresh answers (OIDC Core 12.2).
LEAN=$($BIN client create --name bench-lean --redirect-uri http://127.0.0.1:9/cb --skip-consent --no-refresh-id-token \
  --grant-type authorization_code refresh_token --scope "openid email offline_access")
LEAN_CID=$(echo "$LEAN" | sed -n 's/.*"client_id": "\(.*\)".*/\1/p')
LEAN_SECRET=$(echo "$LEAN" | sed -n 's/.*"client_secret": "\(.*\)".*/\1/p')
# The same app with opaque access tokens (sealed, no RSA signature: the peer's default);
# a build from before them has no such app and skips its rows.
OPAQUE=$($BIN client create --name bench-opaque --redirect-uri http://127.0.0.1:9/cb --skip-consent --access-token-format opaque \
  --grant-type authorization_code refresh_token --scope "openid email offline_access" 2>/dev/null) || OPAQUE=""
OPAQUE_CID=$(echo "$OPAQUE" | sed -n 's/.*"client_id": "\(.*\)".*/\1/p')
OPAQUE_SECRET=$(echo "$OPAQUE" | sed -n 's/.*"client_secret": "\(.*\)".*/\1/p')
for who in bench $(seq -f 'bench%g' 0 $((SIGNIN_IN_FLIGHT - 1))); do
  echo 'bench password 123' | $BIN user create --email "$who@example.com" --password-stdin >/dev/null
done

taskset -c "$SERVER_CORE" $BIN serve >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 50); do curl -sf "$BASE/jwks" >/dev/null && break; sleep 0.1; done
# Idle means start-up has settled: Porta hands start-up's freed memory back 3 s in.
sleep 5
source bench/lib.sh
IDLE_RSS=$(rss)
# RSS every 200 ms while the scenarios run; each row reports its peak.
( while kill -0 "$PID" 2>/dev/null; do rss; sleep 0.2; done ) >"$WORK/rss.log" 2>/dev/null &
SAMPLER=$!

# A signed-in browser, then one authorization-code grant per load connection.
JAR="$WORK/jar"
LOGIN=$(curl -s -c "$JAR" -b "$JAR" -o /dev/null -w '%{redirect_url}' \
  "$BASE/authorize?response_type=code&client_id=$CID&redirect_uri=http://127.0.0.1:9/cb&scope=openid%20email%20offline_access&state=s")
PAGE=$(curl -s -c "$JAR" -b "$JAR" "$LOGIN")
# The page has several forms (password, email code, SMS code): take the first.
CSRF=$(echo "$PAGE" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -n1)
REQ=$(echo "$PAGE" | sed -n 's/.*name="request" value="\([^"]*\)".*/\1/p' | head -n1)
curl -s -c "$JAR" -b "$JAR" -o /dev/null --data-urlencode "csrf=$CSRF" --data-urlencode "request=$REQ" \
  --data-urlencode email=bench@example.com --data-urlencode "password=bench password 123" "$BASE/login"
# One grant per load connection (refresh tokens rotate, so each connection needs its own
# chain): $1 = scope, $2 = output file, $3/$4 = another app's id and secret. Sets ACCESS
# to the last access token.
grants() {
  : >"$2"
  local id=${3:-$CID} secret=${4:-$SECRET}
  for _ in $(seq 1 "$CONNECTIONS"); do
    BACK=$(curl -s -c "$JAR" -b "$JAR" -o /dev/null -w '%{redirect_url}' \
      "$BASE/authorize?response_type=code&client_id=$id&redirect_uri=http://127.0.0.1:9/cb&scope=$1&state=s")
    CODE=$(echo "$BACK" | sed -n 's/.*code=\([^&]*\).*/\1/p')
    TOK=$(curl -s -u "$id:$secret" -d grant_type=authorization_code -d "code=$CODE" -d redirect_uri=http://127.0.0.1:9/cb "$BASE/token")
    echo "$TOK" | sed -n 's/.*"refresh_token":"\([^"]*\)".*/\1/p' >>"$2"
    ACCESS=$(echo "$TOK" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
  done
}
grants "api%20offline_access" "$WORK/refresh-oauth.txt"
grants "openid%20email%20offline_access" "$WORK/refresh-oidc.txt"
SAVED_ACCESS=$ACCESS
grants "openid%20email%20offline_access" "$WORK/refresh-lean.txt" "$LEAN_CID" "$LEAN_SECRET"
OPAQUE_ACCESS=""
if [ -n "$OPAQUE_CID" ]; then
  grants "openid%20email%20offline_access" "$WORK/refresh-opaque.txt" "$OPAQUE_CID" "$OPAQUE_SECRET"
  OPAQUE_ACCESS=$ACCESS
fi
ACCESS=$SAVED_ACCESS
BASIC=$(printf '%s:%s' "$CID" "$SECRET" | base64 -w0)
LEAN_BASIC=$(printf '%s:%s' "$LEAN_CID" "$LEAN_SECRET" | base64 -w0)
OPAQUE_BASIC=$(printf '%s:%s' "$OPAQUE_CID" "$OPAQUE_SECRET" | base64 -w0)


API_TOKEN=$(curl -s -u "$CID:$SECRET" -d grant_type=client_credentials -d "scope=bookings:read content:read" "$BASE/token" \
  | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')

# Every scenario below needs working tokens: stop early and loudly if the set-up failed.
[ -n "$ACCESS" ] && [ -n "$API_TOKEN" ] && { [ -z "$OPAQUE_CID" ] || [[ "$OPAQUE_ACCESS" == porta_at_* ]]; } || { echo "set-up failed: no access token (see $WORK/server.log)" >&2; exit 1; }

# CPU clock ticks of each live server thread: "tid kind ticks", kind argon2 (the hashing
# threads), http (the HTTP workers), db (the blocking threads that run database work) or
# other. The name in /proc/…/stat may hold spaces: the fields are read after its ")".
thread_cpu() {
  local t
  for t in /proc/"$PID"/task/*; do
    printf '%s %s %s\n' "${t##*/}" "$(tr ' ' _ <"$t/comm" 2>/dev/null)" \
      "$(sed 's/.*) //' "$t/stat" 2>/dev/null | awk '{print $12 + $13}')"
  done | awk 'NF == 3 { k = "other" }
    $2 ~ /^porta-hash/ { k = "argon2" } $2 ~ /^actix-rt/ { k = "http" } $2 ~ /^tokio-rt/ { k = "db" }
    NF == 3 { print $1, k, $3 }' | sort
}
# Database calls handed to the blocking threads so far (porta_db_runs_total; reading it
# costs one call itself; empty from a build without the metric).
db_runs() { curl -s "$BASE/metrics" | awk '/^porta_db_runs_total /{ print $2 }'; }
signins() { # the row's name, --accounts (0: everyone signs in as bench@)
  local mark out runs after done cpu
  [[ "$1" =~ $ONLY ]] || return 0
  mark=$(wc -l <"$WORK/rss.log")
  runs=$(db_runs)
  thread_cpu >"$WORK/cpu-before"
  out=$(taskset -c "$LOAD_CORE" python3 bench/signin.py --base "$BASE" --client-id "$CID" --secret "$SECRET" \
    --email bench@example.com --password "bench password 123" --seconds "$DURATION" --in-flight "$SIGNIN_IN_FLIGHT" \
    --accounts "$2")
  row "$1" "$(echo "$out" | sed -n 's/.*"sign_ins_per_s": \([0-9.]*\).*/\1/p')" \
    "$(echo "$out" | sed -n 's/.*"p99_ms": \([0-9]*\).*/\1/p')ms" \
    "$(echo "$out" | sed -n 's/.*"failures": \([0-9]*\).*/\1/p')" "$(peak_since "$mark")"
  # Where a sign-in's server time goes (clock ticks are 1/100 s), summed over the threads
  # alive at the end (a thread born during the row counts from zero; blocking threads
  # that ended during it are missed, so the db figure is a floor).
  done=$(echo "$out" | sed -n 's/.*"done": \([0-9]*\).*/\1/p')
  thread_cpu >"$WORK/cpu-after"
  after=$(db_runs)
  runs=${runs:+${after:+$((after - runs - 1))}}
  cpu=$(join -a2 -o 2.2,1.3,2.3 -e 0 "$WORK/cpu-before" "$WORK/cpu-after" | awk -v n="${done:-0}" '
    { s[$1] += $3 - $2 }
    END {
      if (n == 0) { print "no sign-in completed"; exit }
      for (k in s) { ms = s[k] * 10 / n; total += ms; line = line sprintf("%s %.1f ms, ", k, ms) }
      printf "%stotal %.1f ms", line, total
    }')
  SIGNIN_CPU="$SIGNIN_CPU$1: server CPU per sign-in: $cpu; database calls per sign-in: $(awk -v r="$runs" -v n="${done:-0}" 'BEGIN { if (n > 0 && r != "") printf "%.1f", r / n; else print "?" }')
"
}

# PROFILE=1: perf samples the server during one row; profile_end writes its self time by
# library, by thread kind (comm) and by function to $1.
profile_start() { # the row's name
  PROFILING=0
  [ "$PROFILE" = 1 ] && [[ "$1" =~ $ONLY ]] || return 0
  PROFILING=1
  perf record -q -F 1999 -o "$WORK/perf.data" -p "$PID" -- sleep "$DURATION" 2>/dev/null &
  PERF=$!
}
profile_end() {
  [ "$PROFILING" = 1 ] || return 0
  wait "$PERF" || true
  { echo "by library:"
    perf report -i "$WORK/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep -v '^#' | sed '/^$/d'
    echo "by thread:"
    perf report -i "$WORK/perf.data" --no-children --sort comm --stdio 2>/dev/null | grep -v '^#' | sed '/^$/d'
    echo "by function (self time, >= 0.4 %):"
    perf report -i "$WORK/perf.data" --no-children --sort dso,symbol --percent-limit 0.4 --stdio 2>/dev/null \
      | grep -v '^#' | sed '/^$/d'
  } | sed 's/ \{3,\}/  /g; s/  -  -\s*$//' >"$1"
  cp "$WORK/perf.data" "${1%.txt}.data"
  echo "(profile of $2: $1; perf report -i ${1%.txt}.data for more)"
}

echo
echo "Porta $BUILD on $BACKEND — server on core $SERVER_CORE (1 worker), load on core $LOAD_CORE, ${DURATION}s each, $(date -u +%F)"
echo "idle RSS: $((IDLE_RSS / 1024)) MB"
# hash_engine = auto: which argon2id the server measured faster at start (see docs/configuration.md).
grep -o 'engine=.*' "$WORK/server.log" | sed 's/^/password hashing: /' || true
echo
row "scenario" "req/s" "p99" "non-2xx" "RSS MB"
printf '|%s|%s|%s|%s|%s|\n' "--------------------------" "------------" "----------" "--------" "-------"
AUTH="" run "discovery" "$BASE/.well-known/openid-configuration" bench/wrk/get.lua
AUTH="" run "jwks" "$BASE/jwks" bench/wrk/get.lua
BASIC=$BASIC BODY="grant_type=client_credentials&scope=api" run "client_credentials" "$BASE/token" bench/wrk/post.lua
BASIC=$BASIC BODY="token=$ACCESS" run "introspection" "$BASE/introspect" bench/wrk/post.lua
AUTH="Bearer $ACCESS" run "userinfo" "$BASE/userinfo" bench/wrk/get.lua
if [ -n "$OPAQUE_CID" ]; then
  BASIC=$OPAQUE_BASIC BODY="token=$OPAQUE_ACCESS" run "introspection (opaque)" "$BASE/introspect" bench/wrk/post.lua
  AUTH="Bearer $OPAQUE_ACCESS" run "userinfo (opaque)" "$BASE/userinfo" bench/wrk/get.lua
fi
AUTH="Bearer $API_TOKEN" run "API (JWKS), bookings" "$BASE/api/bookings/consultants" bench/wrk/get.lua
AUTH="Bearer $API_TOKEN" run "API (JWKS), content" "$BASE/api/content/retreats" bench/wrk/get.lua
BASIC=$BASIC TOKENS="$WORK/refresh-oauth.txt" run "refresh (access only)" "$BASE/token" bench/wrk/refresh.lua "$CONNECTIONS" "$CONNECTIONS"
profile_start "refresh (+ id token)"
BASIC=$BASIC TOKENS="$WORK/refresh-oidc.txt" run "refresh (+ id token)" "$BASE/token" bench/wrk/refresh.lua "$CONNECTIONS" "$CONNECTIONS"
profile_end bench-profile.txt "the refresh with id token"
profile_start "refresh (OIDC, no id tok.)"
BASIC=$LEAN_BASIC TOKENS="$WORK/refresh-lean.txt" run "refresh (OIDC, no id tok.)" "$BASE/token" bench/wrk/refresh.lua "$CONNECTIONS" "$CONNECTIONS"
profile_end bench-profile-lean.txt "the refresh without id token"
if [ -n "$OPAQUE_CID" ]; then
  BASIC=$OPAQUE_BASIC TOKENS="$WORK/refresh-opaque.txt" run "refresh (+ id, opaque)" "$BASE/token" bench/wrk/refresh.lua "$CONNECTIONS" "$CONNECTIONS"
fi
SIGNIN_CPU=""
profile_start "sign-ins, $SIGNIN_IN_FLIGHT people"
signins "sign-ins, $SIGNIN_IN_FLIGHT people" "$SIGNIN_IN_FLIGHT"
profile_end bench-profile-signin.txt "the sign-ins"
signins "sign-ins, 1 person x$SIGNIN_IN_FLIGHT" 0
echo
printf '%s' "$SIGNIN_CPU"
echo "RSS right after the load: $(( $(rss) / 1024 )) MB"
if [ "$SETTLE" -gt 0 ]; then
  sleep "$SETTLE"
  echo "RSS ${SETTLE}s after the load: $(( $(rss) / 1024 )) MB"
fi
