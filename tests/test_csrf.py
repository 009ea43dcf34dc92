"""CSRF protection on every HTML form (the API uses bearer tokens instead)."""

import re

import pytest
import sqlalchemy as sa

from people.models import Person
from tests.conftest import PASSWORD


@pytest.fixture
def app_config(app_config):
    return {**app_config, "WTF_CSRF_ENABLED": True}


def test_forms_without_a_csrf_token_are_refused(client, factory, db):
    factory.person("a@example.com")
    response = client.post("/login", data={"email": "a@example.com", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302  # not signed in
    assert db.session.scalar(sa.select(Person.id).where(Person.email == "a@example.com"))


def test_forms_with_the_csrf_token_are_accepted(client, factory):
    factory.person("a@example.com")
    token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/login").data).group(1)
    response = client.post("/login", data={"email": "a@example.com", "password": PASSWORD,
                                           "csrf_token": token.decode()})
    assert response.status_code == 302


def test_api_needs_no_csrf_token(client, factory):
    factory.person("a@example.com")
    response = client.post("/api/v1/auth/token", json={"email": "a@example.com", "password": PASSWORD})
    assert response.status_code == 201
