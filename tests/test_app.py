"""The factory, configuration, security headers and error pages."""

import pytest
from flask import Flask

from app import CONTENT_SECURITY_POLICY, create_app
from errors import Conflict, Forbidden, NotFound, ValidationError


def test_create_app_returns_a_configured_app(app):
    assert isinstance(app, Flask)
    assert app.config["TESTING"] is True


def test_secret_key_is_required_outside_development(monkeypatch, database_uri):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("POLSO_ENV", "production")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": database_uri})


def test_development_runs_without_a_secret_key(monkeypatch, database_uri):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("POLSO_ENV", "development")
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_uri})
    assert app.config["SECRET_KEY"]
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_production_cookies_are_secure(monkeypatch, database_uri):
    monkeypatch.setenv("POLSO_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "s3cret")
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_uri})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_settings_come_from_the_environment(monkeypatch, database_uri):
    monkeypatch.setenv("POLSO_MIN_GROUP_SIZE", "7")
    monkeypatch.setenv("MAIL_SERVER", "smtp.example.com")
    monkeypatch.setenv("DATABASE_URL", database_uri)
    app = create_app({"TESTING": True})
    assert app.config["POLSO_MIN_GROUP_SIZE"] == 7
    assert app.config["MAIL_SERVER"] == "smtp.example.com"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == database_uri


@pytest.mark.parametrize("k", ["2", "11"])
def test_min_group_size_outside_3_to_10_is_refused(monkeypatch, database_uri, k):
    monkeypatch.setenv("POLSO_MIN_GROUP_SIZE", k)
    with pytest.raises(RuntimeError, match="POLSO_MIN_GROUP_SIZE"):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_uri})


def test_pages_carry_security_headers(client):
    response = client.get("/login")
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_unknown_page_shows_the_404_page(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert b"Page not found" in response.data
    assert b'<html lang="en">' in response.data


def test_unknown_api_path_answers_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_unexpected_error_shows_the_500_page_without_details(app, client):
    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    app.testing = False  # let the handler run instead of propagating
    response = client.get("/boom")
    assert response.status_code == 500
    assert b"Something went wrong" in response.data
    assert b"secret internals" not in response.data


def test_static_assets_are_served_locally(client):
    assert client.get("/static/vendor/bootstrap/bootstrap.min.css").status_code == 200
    assert client.get("/static/vendor/bootstrap/bootstrap.bundle.min.js").status_code == 200


@pytest.mark.parametrize(("error", "status", "heading"), [
    (Conflict("Somebody paid this milestone a moment ago."), 409, "This could not be done"),
    (Forbidden("Only the manager changes the schedule."), 403, "Not allowed"),
    (NotFound("This item was removed meanwhile."), 404, "Page not found"),
    (ValidationError("The date is not valid.", {"due_on": "Not a date."}), 422, "Bad request"),
])
def test_a_refusal_that_reaches_a_page_shows_its_reason_and_status(app, client, error, status, heading):
    @app.route("/refused")
    def refused():
        raise error

    response = client.get("/refused")
    html = response.get_data(as_text=True)
    assert response.status_code == status
    assert heading in html and error.message in html
    body = client.get("/api/v1/refused-too")  # the API keeps answering JSON
    assert body.is_json


@pytest.mark.parametrize(("status", "language", "text"), [
    (405, "en", "This page does not accept that kind of request."),
    (405, "it", "Questa pagina non accetta questo tipo di richiesta."),
    (400, "en", "The request could not be understood."),
    (400, "it", "Non è stato possibile interpretare la richiesta."),
])
def test_http_errors_show_the_error_page_in_the_readers_language(app, client, status, language, text):
    from werkzeug.exceptions import abort

    @app.route("/refused-plainly", methods=["GET"])
    def refused_plainly():
        abort(400)

    headers = {"Accept-Language": language}
    response = client.delete("/login", headers=headers) if status == 405 else client.get("/refused-plainly",
                                                                                           headers=headers)
    assert response.status_code == status
    assert f'<html lang="{language}">' in response.get_data(as_text=True)
    assert text in response.get_data(as_text=True)


def test_a_refused_form_field_is_named_on_the_error_page(app, client):
    @app.route("/refused-field")
    def refused_field():
        raise ValidationError("The date is not valid.", {"due_on": "Not a date."})

    html = client.get("/refused-field").get_data(as_text=True)
    assert "<code>due_on</code>: Not a date." in html


def test_get_or_raise_finds_the_row_or_refuses_with_the_message_given(db):
    from errors import NotFound, get_or_raise
    from people.models import Department

    department = Department(name="Sales", name_key="sales")
    db.session.add(department)
    db.session.commit()
    assert get_or_raise(Department, department.id, "No such department.") is department
    with pytest.raises(NotFound, match=r"No such department\."):
        get_or_raise(Department, department.id + 1, "No such department.")
