#!/usr/bin/env python3
"""Seeds a Porta database (already migrated) with a library for the transcript-search
benchmark: RETREATS retreats (half English, half Portuguese), one session each, TRACKS
tracks in all, each with a transcript of PAGES pages of WORDS words, written exactly as
Porta writes them (content_transcripts + the FTS5 table on SQLite; the body, from which
PostgreSQL generates the tsvector, on PostgreSQL).

Words follow a Zipf law over a made-up vocabulary, with real words sprinkled in at fixed
rates so that the queries in search.sh have realistic selectivity:
  breath 30 % of English pages, kindness 10 %, silence 5 %, walking 2 %;
  meditação 30 % of Portuguese pages, meditações 5 %, compaixão 10 %, silêncio 5 %.

  seed_search.py sqlite PATH      |  seed_search.py postgres URL
Environment: TRACKS (10000), PAGES (20), WORDS (300), SEED (1).
"""
import io
import os
import random
import subprocess
import sys
import time
import uuid

TRACKS = int(os.environ.get("TRACKS", "10000"))
PAGES = int(os.environ.get("PAGES", "20"))
WORDS = int(os.environ.get("WORDS", "300"))
PER_RETREAT = 100
random.seed(int(os.environ.get("SEED", "1")))

SYLLABLES = ["ka", "lo", "mi", "ne", "ta", "ri", "so", "vu", "pe", "da", "zen", "mar", "tol",
             "ish", "ran", "el", "on", "ba", "qui", "ste"]
VOCAB = sorted({"".join(random.choices(SYLLABLES, k=random.randint(2, 4))) for _ in range(30000)})[:20000]
random.shuffle(VOCAB)
CUM = []
total = 0.0
for rank in range(1, len(VOCAB) + 1):
    total += 1.0 / rank
    CUM.append(total)

SPRINKLE = {
    "en": [("breath", 0.30), ("kindness", 0.10), ("silence", 0.05), ("walking", 0.02)],
    "pt": [("meditação", 0.30), ("meditações", 0.05), ("compaixão", 0.10), ("silêncio", 0.05)],
}


def transcript(language):
    pages = []
    for _ in range(PAGES):
        words = random.choices(VOCAB, cum_weights=CUM, k=WORDS)
        for word, rate in SPRINKLE[language]:
            if random.random() < rate:
                words[random.randrange(WORDS)] = word
        pages.append(" ".join(words))
    return "\n\n".join(pages)


def rows():
    now = int(time.time())
    retreats = (TRACKS + PER_RETREAT - 1) // PER_RETREAT
    for r in range(retreats):
        language = "en" if r % 2 == 0 else "pt"
        retreat_id, session_id = uuid.uuid4().hex, uuid.uuid4().hex
        title = f"Retreat {r}"
        yield ("retreat", (retreat_id, title, "", title.lower(), language, now, now))
        yield ("session", (session_id, retreat_id, "Day one", "", "day one", 0, now, now))
        for t in range(min(PER_RETREAT, TRACKS - r * PER_RETREAT)):
            track_id = uuid.uuid4().hex
            tier = "premium" if t % 5 == 0 else "free"
            ttitle = f"Talk {r}.{t}"
            yield ("track", (track_id, session_id, ttitle, "", ttitle.lower(), language, 1800, t,
                             tier, f"a/{track_id}.mp3", f"t/{track_id}.pdf", now, now))
            body = transcript(language)
            yield ("transcript", (track_id, f"t/{track_id}.pdf", "indexed", "", PAGES,
                                  len(body), now, language, body))


def seed_sqlite(path):
    import sqlite3
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    cur = db.cursor()
    n = 0
    for kind, row in rows():
        if kind == "retreat":
            cur.execute("INSERT INTO content_retreats (id, title, description, search_text, language,"
                        " created_at, updated_at) VALUES (?,?,?,?,?,?,?)", row)
        elif kind == "session":
            cur.execute("INSERT INTO content_sessions (id, retreat_id, title, description, search_text,"
                        " position, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)", row)
        elif kind == "track":
            cur.execute("INSERT INTO content_tracks (id, session_id, title, description, search_text,"
                        " language, duration_seconds, position, tier, audio_file, transcript_file,"
                        " created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", row)
        else:
            *meta, _language, body = row
            cur.execute("INSERT INTO content_transcripts (track_id, file, status, detail, pages,"
                        " characters, extracted_at) VALUES (?,?,?,?,?,?,?) RETURNING doc", meta)
            doc = cur.fetchone()[0]
            cur.execute("INSERT INTO content_transcripts_fts (rowid, body) VALUES (?, ?)", (doc, body))
            n += 1
            if n % 1000 == 0:
                db.commit()
                print(f"  {n} transcripts", file=sys.stderr)
    db.commit()
    db.execute("INSERT INTO content_transcripts_fts (content_transcripts_fts) VALUES ('optimize')")
    db.commit()
    db.close()


def copy_pg(url, table, columns, buf):
    buf.seek(0)
    subprocess.run(["psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-c",
                    f"\\copy {table} ({columns}) FROM STDIN"],
                   input=buf.getvalue().encode(), check=True)


def tsv(row):
    def field(v):
        s = str(v)
        return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return "\t".join(field(v) for v in row) + "\n"


def seed_postgres(url):
    bufs = {k: io.StringIO() for k in ("retreat", "session", "track", "transcript")}
    n = 0
    def flush():
        copy_pg(url, "content_retreats", "id, title, description, search_text, language, created_at,"
                " updated_at", bufs["retreat"])
        copy_pg(url, "content_sessions", "id, retreat_id, title, description, search_text, position,"
                " created_at, updated_at", bufs["session"])
        copy_pg(url, "content_tracks", "id, session_id, title, description, search_text, language,"
                " duration_seconds, position, tier, audio_file, transcript_file, created_at,"
                " updated_at", bufs["track"])
        copy_pg(url, "content_transcripts", "track_id, file, status, detail, pages, characters,"
                " extracted_at, language, body", bufs["transcript"])
        for k in bufs:
            bufs[k] = io.StringIO()
    for kind, row in rows():
        bufs[kind].write(tsv(row))
        if kind == "transcript":
            n += 1
            if n % 1000 == 0:
                flush()
                print(f"  {n} transcripts", file=sys.stderr)
    flush()
    subprocess.run(["psql", url, "-q", "-c", "VACUUM ANALYZE"], check=True)


if __name__ == "__main__":
    started = time.time()
    {"sqlite": seed_sqlite, "postgres": seed_postgres}[sys.argv[1]](sys.argv[2])
    print(f"seeded {TRACKS} tracks x {PAGES} pages x {WORDS} words in {time.time() - started:.0f} s",
          file=sys.stderr)
