#!/usr/bin/env python3
"""Prints an access token for a person, got the way an app gets one: the authorization-code
flow with PKCE through Porta's own sign-in pages (identifier, then password). Standard
library only. Used by scripts/schemathesis.sh.

  api_token.py --base http://127.0.0.1:18082 --client-id ID --email E --password P \
               --scope "openid roles bookings:read ..." --redirect-uri http://127.0.0.1:9/cb
"""

import argparse
import base64
import hashlib
import http.client
import json
import re
import secrets
import sys
import urllib.parse

CSRF = re.compile(r'name="csrf" value="([^"]*)"')
REQUEST = re.compile(r'name="request" value="([^"]*)"')


class Browser:
    def __init__(self, base):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port
        self.cookies = {}

    def request(self, method, path, form=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read().decode("utf-8", "replace")
        for k, v in resp.getheaders():
            if k.lower() == "set-cookie":
                name, _, rest = v.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        conn.close()
        return resp.status, resp.getheader("Location") or "", data


def main():
    p = argparse.ArgumentParser()
    for arg in ("--base", "--client-id", "--email", "--password", "--scope", "--redirect-uri"):
        p.add_argument(arg, required=True)
    a = p.parse_args()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    b = Browser(a.base)
    query = urllib.parse.urlencode({
        "response_type": "code", "client_id": a.client_id, "redirect_uri": a.redirect_uri,
        "scope": a.scope, "state": "s", "nonce": "n",
        "code_challenge": challenge, "code_challenge_method": "S256",
    })
    status, location, _ = b.request("GET", f"/authorize?{query}")
    status, _, page = b.request("GET", location)
    csrf, request = CSRF.search(page).group(1), REQUEST.search(page).group(1)
    form = {"csrf": csrf, "request": request, "identifier": a.email, "password": a.password}
    status, location, page = b.request("POST", "/login", form)
    while location.startswith("/"):
        status, location, page = b.request("GET", location)
    if "code=" not in location:
        sys.exit(f"no code: {status} {location} {page[:300]}")
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["code"][0]
    status, _, body = b.request("POST", "/token", {
        "grant_type": "authorization_code", "code": code, "redirect_uri": a.redirect_uri,
        "client_id": a.client_id, "code_verifier": verifier,
    })
    if status != 200:
        sys.exit(f"token endpoint: {status} {body}")
    print(json.loads(body)["access_token"])


if __name__ == "__main__":
    main()
