#!/usr/bin/env python3
"""The database work of one sign-in and one refresh, read off PostgreSQL (127.0.0.1 only).

Run through bench/dbwork.sh, which starts Porta on a fresh PostgreSQL database with every
statement of that database logged. For each operation this runs it N times one after the
other and reads, before and after:

  statements   lines `statement:` / `execute` of this database in the server log
               (BEGIN and COMMIT included: each is a round trip)
  rows         pg_stat_user_tables: rows inserted, updated, deleted, per table
  reads        pg_stat_user_tables: index and sequential scans, per table
  db CPU       user + system time of every postgres process (/proc), per operation

and prints per-operation figures as JSON.
"""

import argparse
import base64
import http.client
import json
import os
import subprocess
import time
import urllib.parse

from signin import sign_in


def psql(url, sql):
    out = subprocess.run(["psql", url, "-AtF", "\t", "-c", sql], check=True,
                         capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.strip().splitlines() if line]


def table_stats(url):
    rows = psql(url, "select relname, coalesce(seq_scan,0), coalesce(idx_scan,0), n_tup_ins, "
                     "n_tup_upd, n_tup_del from pg_stat_user_tables")
    return {r[0]: list(map(int, r[1:])) for r in rows}


def cpu_ticks(pid):
    """User + system ticks of one process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return 0
    fields = stat[stat.rfind(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def pg_cpu_ticks():
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.find("(") + 1:stat.rfind(")")]
        if name.startswith("postgres"):
            fields = stat[stat.rfind(")") + 2:].split()
            total += int(fields[11]) + int(fields[12])
    return total


def log_lines(log, db):
    if not log:
        return 0
    with open(log, errors="replace") as f:
        return sum(1 for line in f if f"@{db} " in line and ("statement: " in line or "execute " in line))


def measure(name, n, op, a):
    time.sleep(1.5)  # let the stats of earlier work reach the collector
    before = (table_stats(a.url), pg_cpu_ticks(), log_lines(a.log, a.db), cpu_ticks(a.pid))
    t0 = time.monotonic()
    for _ in range(n):
        if not op():
            raise SystemExit(f"{name} failed")
    wall = time.monotonic() - t0
    time.sleep(1.5)
    after = (table_stats(a.url), pg_cpu_ticks(), log_lines(a.log, a.db), cpu_ticks(a.pid))
    tick = os.sysconf("SC_CLK_TCK")
    if a.log:
        per = {"statements": round((after[2] - before[2]) / n, 2), "rows_written": {}, "table_reads": {}}
    else:
        # CPU without statement logging (which costs the database time of its own).
        per = {"db_cpu_us": round((after[1] - before[1]) / tick / n * 1e6),
               "porta_cpu_us": round((after[3] - before[3]) / tick / n * 1e6),
               "latency_ms_one_at_a_time": round(wall / n * 1000, 2)}
        print(json.dumps({name: per}))
        return
    per["rows_written"] = {}
    per["table_reads"] = {}
    for table, now in after[0].items():
        then = before[0].get(table, [0] * 5)
        written = sum(now[i] - then[i] for i in (2, 3, 4)) / n
        reads = sum(now[i] - then[i] for i in (0, 1)) / n
        if written:
            per["rows_written"][table] = round(written, 2)
        if reads:
            per["table_reads"][table] = round(reads, 2)
    per["rows_written_total"] = round(sum(per["rows_written"].values()), 2)
    print(json.dumps({name: per}))


def main():
    ap = argparse.ArgumentParser()
    for flag in ("--base", "--client-id", "--secret", "--email", "--password", "--url", "--db", "--pid"):
        ap.add_argument(flag, required=True)
    ap.add_argument("--log", default="", help="the server log, when statements are logged")
    ap.add_argument("-n", type=int, default=50)
    a = ap.parse_args()
    u = urllib.parse.urlsplit(a.base)
    basic = base64.b64encode(f"{a.client_id}:{a.secret}".encode()).decode()
    first = sign_in(u.hostname, u.port, a, "openid email offline_access")
    state = {"refresh": first["refresh_token"]}

    def refresh():
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        body = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": state["refresh"]})
        conn.request("POST", "/token", body=body, headers={
            "Authorization": "Basic " + basic, "Content-Type": "application/x-www-form-urlencoded"})
        answer = json.loads(conn.getresponse().read())
        conn.close()
        state["refresh"] = answer.get("refresh_token")
        return state["refresh"] is not None

    measure("sign-in (pages + code + tokens)", a.n, lambda: sign_in(u.hostname, u.port, a) is not None, a)
    measure("refresh (access + id token)", a.n, refresh, a)


if __name__ == "__main__":
    main()
