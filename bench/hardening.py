#!/usr/bin/env python3
"""A busy, hostile and bad day against a running Porta (127.0.0.1 only, bounded).

Replays the hardening issue's measurements and prints failures, 5xx, 429s for right
passwords and peak RSS. Run through bench/hardening.sh, which builds, starts Porta on
SQLite and on PostgreSQL and passes --base/--pid/--outbox.

Scenarios:
  sign-ins    200 password sign-ins of one account, 16 in flight; 240 of 4 accounts, 16
  floods      POST /login/code, /password/forgot, /register with made-up addresses, 48 in
              flight, FLOOD requests each
  burst       20 parallel code requests for one real address (limit: 3 per window)
  malformed   NUL bytes in queries, forms, JSON and paths
  RSS         idle, peak through everything, and SETTLE seconds after
"""

import argparse
import concurrent.futures as cf
import http.client
import json
import os
import re
import threading
import time
import urllib.parse

CSRF = re.compile(r'name="csrf" value="([^"]*)"')


class Browser:
    """One person's browser: cookies kept, redirects not followed."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.cookies = {}

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        h = dict(headers or {})
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if isinstance(body, dict):
            body = urllib.parse.urlencode(body)
            h["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=h)
            resp = conn.getresponse()
            data = resp.read()
            for k, v in resp.getheaders():
                if k.lower() == "set-cookie":
                    name, _, rest = v.partition("=")
                    self.cookies[name] = rest.split(";", 1)[0]
            return resp.status, data.decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as e:
            return 0, str(e)
        finally:
            conn.close()

    def form(self, page_path, action, fields):
        status, page = self.request("GET", page_path)
        m = CSRF.search(page)
        if status != 200 or not m:
            return status or 0
        return self.request("POST", action, dict(fields, csrf=m.group(1)))[0]


class Rss:
    """Samples the server's resident memory every 100 ms."""

    def __init__(self, pid):
        self.pid, self.peak, self.stop = pid, 0, False
        threading.Thread(target=self.run, daemon=True).start()

    def now(self):
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) // 1024
        except OSError:
            pass
        return 0

    def run(self):
        while not self.stop:
            self.peak = max(self.peak, self.now())
            time.sleep(0.1)


def parallel(n, in_flight, job):
    with cf.ThreadPoolExecutor(in_flight) as pool:
        return list(pool.map(job, range(n)))


def tally(statuses):
    out = {}
    for s in statuses:
        out[s] = out.get(s, 0) + 1
    return dict(sorted(out.items()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--outbox", required=True, help="the development outbox folder")
    ap.add_argument("--password", default="bench password 123")
    ap.add_argument("--flood", type=int, default=int(os.environ.get("FLOOD", "600")))
    ap.add_argument("--settle", type=int, default=int(os.environ.get("SETTLE", "60")))
    a = ap.parse_args()
    u = urllib.parse.urlparse(a.base)
    host, port = u.hostname, u.port
    rss = Rss(a.pid)
    idle = rss.now()
    rows = []

    def sign_in(email):
        return Browser(host, port).form("/login", "/login", {"email": email, "password": a.password})

    t = time.time()
    one = parallel(200, 16, lambda i: sign_in("bench0@example.com"))
    rows.append(("200 sign-ins, 1 account, 16 in flight", tally(one), time.time() - t))
    t = time.time()
    four = parallel(240, 16, lambda i: sign_in(f"bench{i % 4}@example.com"))
    rows.append(("240 sign-ins, 4 accounts, 16 in flight", tally(four), time.time() - t))
    signins = one + four
    right_refused = sum(1 for s in signins if s == 429)
    failed_signins = sum(1 for s in signins if s != 303)

    before = len(os.listdir(a.outbox)) if os.path.isdir(a.outbox) else 0
    burst = parallel(20, 20, lambda i: Browser(host, port).form("/login", "/login/code", {"email": "bench0@example.com"}))
    time.sleep(3)
    after = len(os.listdir(a.outbox)) if os.path.isdir(a.outbox) else 0
    rows.append(("burst: 20 code requests, one address", tally(burst), after - before))

    floods = {}
    for name, page, action, fields in [
        ("/login/code", "/login", "/login/code", lambda i: {"email": f"nobody{i}@flood.test"}),
        ("/password/forgot", "/password/forgot", "/password/forgot", lambda i: {"email": f"nobody{i}@flood.test"}),
        ("/register", "/register", "/register", lambda i: {"email": f"new{i}@flood.test", "password": f"a long flood password {i}"}),
    ]:
        t = time.time()
        statuses = parallel(a.flood, 48, lambda i: Browser(host, port).form(page, action, fields(i)))
        floods[name] = statuses
        rows.append((f"flood {name}, {a.flood} made-up, 48 in flight", tally(statuses), time.time() - t))


    # Let the per-IP rate limit refill after the floods: the probes test the boundary.
    time.sleep(6)
    b = Browser(host, port)
    probes = [
        ("POST", "/token", "grant_type=client_credentials&client_id=a%00b&client_secret=x", {"Content-Type": "application/x-www-form-urlencoded"}),
        ("GET", "/authorize?client_id=%00&response_type=code", None, {}),
        ("GET", "/login?request=%00", None, {}),
        ("GET", "/consent?request=%00", None, {}),
        ("GET", "/api/content/search?q=%00", None, {}),
        ("POST", "/api/bookings/services", '{"name":"a\\u0000"}', {"Content-Type": "application/json"}),
        ("GET", "/login%00", None, {}),
    ]
    malformed = [b.request(m, p, body, h)[0] for m, p, body, h in probes]
    rows.append(("malformed probes (NUL)", tally(malformed), len(probes)))

    peak = rss.peak
    time.sleep(a.settle)
    settled = rss.now()
    rss.stop = True

    everything = signins + malformed + burst + [s for v in floods.values() for s in v]
    fivexx = sum(1 for s in everything if s >= 500 and s != 503)
    unavailable = sum(1 for s in everything if s == 503)
    print(f"{'scenario':48} {'statuses':40} seconds/messages")
    for name, statuses, extra in rows:
        print(f"{name:48} {json.dumps(statuses):40} {extra:.1f}" if isinstance(extra, float) else f"{name:48} {json.dumps(statuses):40} {extra}")
    print()
    print(f"failed sign-ins (not 303): {failed_signins}")
    print(f"429 for right passwords:   {right_refused}")
    print(f"5xx other than 503:        {fivexx}")
    print(f"503 (busy, Retry-After):   {unavailable}")
    print(f"RSS idle / peak / {a.settle}s after: {idle} / {peak} / {settled} MiB")
    ok = failed_signins == 0 and fivexx == 0 and peak <= 256 and settled - idle <= 64 and all(s == 400 for s in malformed)
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
