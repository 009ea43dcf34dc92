"""scim2-tester's RFC 7643/7644 checks against /scim/v2, served on loopback by a real HTTP server.

Every check must pass, or be skipped by the tester (features ServiceProviderConfig declares
unsupported), or be one of ``EXPECTED`` below, each with the reason Polso answers differently.

The tester invents values from the schemas the server publishes. Three of Polso's documented
rules cannot be published in a SCIM schema, so the client is told them, as an identity provider's
attribute mapping would be: userName is an e-mail address, a name is required (formatted, or given
and family), locale is a language Polso speaks, timezone an IANA zone.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from scim import tokens

PASSED = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE}

#: (check, what it names) → why Polso's answer differs from what the check wants.
EXPECTED = {
    ("check_remove_attribute", "timezone"):
        "every person has a time zone: removing it gives them the company's (POLSO_DEFAULT_TIMEZONE)",
    ("check_remove_attribute", "active"):
        "every person is active or not: removing active changes nothing (active: false deactivates)",
}


class Generated(Sequence):
    """As many distinct examples as the tester could ask for, made on demand (``random.choice`` reads it)."""

    def __init__(self, make):
        self.make = make

    def __len__(self) -> int:
        return 10**12

    def __getitem__(self, index: int):
        return self.make(index)


def _name(index: int) -> dict[str, str]:
    return {"formatted": f"Given{index} Family{index}", "givenName": f"Given{index}", "familyName": f"Family{index}"}


def _expected(result) -> str | None:
    for (title, named), reason in EXPECTED.items():
        if result.title == title and f"'{named}'" in (result.reason or ""):
            return reason
    return None


def test_scim2_tester_finds_nothing_wrong(db, live_server):
    random.seed(15)  # the tester draws its values from ``random``: the same run every time
    raw = tokens.create_token(datetime.now(UTC))[1]
    http = httpx2.Client(base_url=f"{live_server}/scim/v2", headers={"Authorization": f"Bearer {raw}"}, timeout=30)
    client = SyncSCIMClient(http)
    client.discover()
    fields = client.provider.model_for("User").model_fields
    fields["user_name"].examples = Generated(lambda i: f"user{i}@example.com")
    fields["name"].examples = Generated(_name)
    fields["locale"].examples = ["en", "it"]
    fields["timezone"].examples = ["Europe/Rome", "America/New_York", "Asia/Tokyo"]

    results = check_server(client)

    failed = [(r.title, r.status.name, r.reason) for r in results
              if r.status not in PASSED and r.status != Status.SKIPPED and _expected(r) is None]
    assert failed == []
    passed = sum(r.status in PASSED for r in results)
    skipped = [(r.title, _expected(r) or r.reason) for r in results if r.status not in PASSED]
    print(f"scim2-tester: {passed} passed, {len(skipped)} skipped: {skipped}")
    assert passed >= 50
    assert len([r for r in results if _expected(r)]) == len(EXPECTED)
