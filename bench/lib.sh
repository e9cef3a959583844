# What bench/run.sh and bench/peer.sh share: a server's RSS, a wrk row and its table line.
# Sourced; the caller sets PID (the server), WORK (its rss.log: one RSS sample in kB per
# line), LOAD_CORE, DURATION, CONNECTIONS and, to measure only some rows, ONLY (a regex).
# The wrk scripts are bench/wrk/*.lua, driven by environment variables (BASIC, BODY,
# AUTH, TOKENS).

# The server's RSS in kB (0 once it has gone).
rss() { awk '/VmRSS/ {print $2}' "/proc/$PID/status" 2>/dev/null || echo 0; }
# Peak RSS (MB) sampled since line $1 of the log.
peak_since() { tail -n +"$(( $1 + 1 ))" "$WORK/rss.log" | sort -n | tail -n1 | awk '{printf "%d", $1 / 1024}'; }
row() { printf '| %-24s | %10s | %8s | %6s | %5s |\n' "$@"; }
run() { # name, url, script, threads, connections
  local name=$1 url=$2 script=$3 threads=${4:-2} conns=${5:-$CONNECTIONS}
  local out mark rps p99 non2xx
  [[ "$name" =~ ${ONLY:-.} ]] || return 0
  mark=$(wc -l <"$WORK/rss.log")
  out=$(taskset -c "$LOAD_CORE" wrk -t"$threads" -c"$conns" -d"${DURATION}s" --latency -s "$script" "$url" 2>&1)
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  row "$name" "$rps" "$p99" "${non2xx:-0}" "$(peak_since "$mark")"
}
