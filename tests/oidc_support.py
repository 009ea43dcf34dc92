"""A real OpenID provider for the tests (``tests/js/oidc-provider.mjs``, panva's oidc-provider on loopback),
and the browser's part of the round trip played with ``requests``."""

from __future__ import annotations

import json
import re
import subprocess
import time
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import pytest
import requests

JS = Path(__file__).parent / "js"
SCRIPT = JS / "oidc-provider.mjs"
CLIENT_ID = "polso"
CLIENT_SECRET = "polso-test-client-secret-0123456789"
CALLBACK = "/auth/oidc/callback"
#: The provider's accounts: login id → the claims it vouches for.
ACCOUNTS = {
    "ada": {"email": "Ada@Example.com", "email_verified": True, "name": "Ada Lovelace"},
    "grace": {"email": "grace@example.com", "email_verified": True, "name": "Grace Hopper"},
    "newcomer": {"email": "newcomer@example.com", "email_verified": True, "name": "Nina Newcomer"},
    "unverified": {"email": "ada@example.com", "email_verified": False, "name": "Not Ada"},
    "entra": {"email": "grace@example.com", "xms_edov": True, "name": "Grace Hopper"},  # no email_verified
    "entra-unverified": {"email": "grace@example.com", "xms_edov": False, "name": "Grace Hopper"},
    "former": {"email": "former@example.com", "email_verified": True, "name": "Fred Former"},
}


class Provider:
    """One provider process; ``start`` it with the redirect URIs of the Polso under test."""

    def __init__(self, port: int, log_path: Path):
        self.port = port
        self.issuer = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self, redirect_uris: list[str] | None = None, **options) -> Provider:
        """Run the provider; ``options`` as the script takes them (clockSkewSeconds, idTokenTtl,
        idTokenAudience)."""
        if not (JS / "node_modules" / "oidc-provider").is_dir():
            pytest.fail("oidc-provider is not installed: run `npm ci --prefix tests/js` (make test does)")
        config = {"port": self.port, "accounts": ACCOUNTS, **options, "clients": [{
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "redirect_uris": redirect_uris or [f"http://localhost{CALLBACK}"]}]}
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(["node", str(SCRIPT), json.dumps(config)], stdout=log,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the OpenID provider stopped: {self.log_path.read_text()}")
            try:
                if requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=1).ok:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        pytest.fail(f"the OpenID provider did not start: {self.log_path.read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def changed_query(url: str, **params) -> str:
    """``url`` with some query parameters replaced, or removed where the value is None."""
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    for key, value in params.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    return urlunsplit(parts._replace(query=urlencode(query)))


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def at_provider(authorization_url: str, login: str | None, *, back_to: str = "http://localhost") -> str:
    """Play the browser at the provider: open ``authorization_url``, sign in as ``login`` (None: press
    Cancel) and return the URL the provider sends the browser back to (starting with ``back_to``)."""
    browser = requests.Session()
    response = browser.get(authorization_url, allow_redirects=False, timeout=10)
    for _step in range(10):
        if response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(back_to):
                return location
            response = browser.get(location, allow_redirects=False, timeout=10)
            continue
        assert response.status_code == 200, response.text
        forms = {label: action for action, label in re.findall(
            r'<form method="post" action="([^"]+)">.*?<button type="submit">(\w+)</button>', response.text, re.S)}
        action = forms["Continue"] if login is not None else forms["Cancel"]
        response = browser.post(urljoin(response.url, unescape(action)), data={"login": login or ""},
                                allow_redirects=False, timeout=10)
    raise AssertionError("the provider never sent the browser back")
