#!/usr/bin/env bash
# How long housekeeping holds SQLite's write lock: OLD audit events (default 500,000) past
# their retention, beside 100,000 recent ones, purged by one DELETE (as before 2026-12-04)
# and in batches of BATCHES rows per write (Porta's housekeeping: 500), each write a
# `BEGIN IMMEDIATE … COMMIT` like the write gate's, WAL and `synchronous = NORMAL` as
# Porta's connections. The schema is Porta's own (migrations/sqlite); the SQLite is
# Python's (its version is printed), not the one bundled in Porta.
#
#   bench/purge.sh
#   OLD=200000 BATCHES="250 500 1000" bench/purge.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=${OLD:-500000}
BATCHES=${BATCHES:-"500 1000"}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
python3 - "$DIR" "$OLD" $BATCHES <<'PY'
import glob, shutil, sqlite3, sys, time
work, old, batches = sys.argv[1], int(sys.argv[2]), [int(b) for b in sys.argv[3:]]
base = f"{work}/base.db"
db = sqlite3.connect(base, isolation_level=None)
db.execute("PRAGMA journal_mode = WAL")
for up in sorted(glob.glob("migrations/sqlite/*/up.sql")):
    db.executescript(open(up).read())
seed = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
        "INSERT INTO audit_events (id, at, kind, ip, user_agent, detail) "
        "SELECT lower(hex(randomblob(16))), ? + i, 'sign_in.failure', '203.0.113.7', "
        "'Mozilla/5.0 (X11; Linux x86_64)', '' FROM n")
db.execute(seed, (old, 1_000_000_000))
db.execute(seed, (100_000, 2_000_000_000))
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
db.close()
cut = 1_500_000_000
print(f"SQLite {sqlite3.sqlite_version}: {old} old audit events beside 100000 recent ones")
print("| purge | writes | median write | longest write | all writes |")
print("| --- | --- | --- | --- | --- |")
for batch in [None] + batches:
    path = f"{work}/run.db"
    shutil.copy(base, path)
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("PRAGMA journal_mode = WAL")
    c.execute("PRAGMA synchronous = NORMAL")
    times, gone = [], 0
    while True:
        t = time.perf_counter()
        c.execute("BEGIN IMMEDIATE")
        if batch is None:
            n = c.execute("DELETE FROM audit_events WHERE at < ?", (cut,)).rowcount
        else:
            n = c.execute("DELETE FROM audit_events WHERE at < ? AND id IN "
                          "(SELECT id FROM audit_events WHERE at < ? LIMIT ?)",
                          (cut, cut, batch)).rowcount
        c.execute("COMMIT")
        times.append(time.perf_counter() - t)
        gone += n
        if batch is None or n < batch:
            break
    c.close()
    assert gone == old, (gone, old)
    s = sorted(times)
    name = "one DELETE" if batch is None else f"batches of {batch}"
    print(f"| {name} | {len(s)} | {s[len(s) // 2] * 1000:.1f} ms | {s[-1] * 1000:.1f} ms "
          f"| {sum(s):.2f} s |")
PY
