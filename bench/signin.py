#!/usr/bin/env python3
"""Full password sign-ins through the hosted pages, as fast as they go (127.0.0.1 only).

Each sign-in is a new browser: GET /authorize (→ the sign-in page), POST the email and
password (argon2id verification), follow the redirects back to the app with a code, and
redeem the code at /token (tokens signed). IN_FLIGHT browsers run at once for SECONDS.
Prints one JSON line: sign-ins per second, p50 and p99 of a whole sign-in, failures.

With --accounts N, browser k signs in to account k mod N, whose address is --email with
the number put before the "@" (bench0@example.com, bench1@…); all share --password.
Without it every browser signs in to --email: one person in many browsers at once, whose
attempts wait for each other at the per-account throttle (docs/architecture.md,
"Brute-force defence and audit").

  bench/signin.py --base http://127.0.0.1:18080 --client-id ID --secret S \
      --email bench@example.com --password 'bench password 123' --seconds 10 [--accounts 16]
"""

import argparse
import base64
import concurrent.futures as cf
import http.client
import json
import re
import threading
import time
import urllib.parse

CSRF = re.compile(r'name="csrf" value="([^"]*)"')
REQUEST = re.compile(r'name="request" value="([^"]*)"')
REDIRECT = "http://127.0.0.1:9/cb"


def fail(why, step, status):
    if why is not None:
        why.append(f"{step} {status}")
    return None


def account(email, k, accounts):
    """The address browser k signs in with (see --accounts)."""
    if not accounts:
        return email
    local, _, domain = email.partition("@")
    return f"{local}{k % accounts}@{domain}"


def sign_in(host, port, a, scope="openid email", why=None, email=None):
    """One whole sign-in (to `email`, else a.email); the app's token answer (a dict), or
    None (with the step and status that failed appended to `why`)."""
    conn = http.client.HTTPConnection(host, port, timeout=60)
    cookies = {}

    def call(method, path, body=None, headers=None):
        h = dict(headers or {})
        if cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        if isinstance(body, dict):
            body = urllib.parse.urlencode(body)
            h["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=h)
        resp = conn.getresponse()
        data = resp.read().decode("utf-8", "replace")
        for k, v in resp.getheaders():
            if k.lower() == "set-cookie":
                name, _, rest = v.partition("=")
                cookies[name] = rest.split(";", 1)[0]
        return resp.status, resp.getheader("Location") or "", data

    def local(url):
        parts = urllib.parse.urlsplit(url)
        return parts.path + ("?" + parts.query if parts.query else "")

    try:
        q = urllib.parse.urlencode({
            "response_type": "code", "client_id": a.client_id, "redirect_uri": REDIRECT,
            "scope": scope, "state": "s",
        })
        status, location, _ = call("GET", "/authorize?" + q)
        if status not in (302, 303):
            return fail(why, "authorize", status)
        status, _, page = call("GET", local(location))
        csrf, request = CSRF.search(page), REQUEST.search(page)
        if status != 200 or not csrf or not request:
            return fail(why, "sign-in page", status)
        status, location, _ = call("POST", "/login", {
            "csrf": csrf.group(1), "request": request.group(1),
            "email": email or a.email, "password": a.password,
        })
        for _ in range(5):
            if status not in (302, 303) or location.startswith(REDIRECT):
                break
            status, location, _ = call("GET", local(location))
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query).get("code")
        if not code:
            return fail(why, "password", status)
        basic = base64.b64encode(f"{a.client_id}:{a.secret}".encode()).decode()
        status, _, body = call("POST", "/token", {
            "grant_type": "authorization_code", "code": code[0], "redirect_uri": REDIRECT,
        }, {"Authorization": "Basic " + basic})
        answer = json.loads(body) if status == 200 else {}
        return answer if "id_token" in answer else fail(why, "token", status)
    except (OSError, http.client.HTTPException, ValueError) as e:
        return fail(why, "connection", type(e).__name__)
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--email", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--in-flight", type=int, default=16)
    ap.add_argument("--accounts", type=int, default=0)
    a = ap.parse_args()
    u = urllib.parse.urlsplit(a.base)
    lock = threading.Lock()
    times, failures, kinds = [], [0], {}
    end = time.monotonic() + a.seconds

    def worker(k):
        email = account(a.email, k, a.accounts)
        while time.monotonic() < end:
            t0 = time.monotonic()
            why = []
            ok = sign_in(u.hostname, u.port, a, why=why, email=email) is not None
            with lock:
                if ok:
                    times.append(time.monotonic() - t0)
                else:
                    failures[0] += 1
                    for w in why:
                        kinds[w] = kinds.get(w, 0) + 1

    start = time.monotonic()
    with cf.ThreadPoolExecutor(a.in_flight) as pool:
        for f in [pool.submit(worker, k) for k in range(a.in_flight)]:
            f.result()
    elapsed = time.monotonic() - start
    times.sort()
    pick = lambda q: round(times[min(len(times) - 1, int(q * len(times)))] * 1000) if times else None
    print(json.dumps({
        "sign_ins_per_s": round(len(times) / elapsed, 1), "p50_ms": pick(0.5),
        "p99_ms": pick(0.99), "failures": failures[0], "done": len(times), "failure_kinds": kinds,
    }))


if __name__ == "__main__":
    main()
