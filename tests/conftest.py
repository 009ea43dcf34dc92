"""Fixtures: every test gets its own migrated database.

On SQLite (the default) each test copies a file migrated once per session.
With ``TEST_DATABASE_URL`` set to a PostgreSQL server, each test gets a fresh
database cloned from a migrated template database on that server.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import uuid
from datetime import date
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from werkzeug.serving import make_server

from app import create_app
from extensions import db as _db
from people.models import Department, Person

pytest_plugins = ["tests.dashboard_fixtures"]

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
PASSWORD = "correct horse battery"
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")


def _config(uri: str) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": uri,
        "WTF_CSRF_ENABLED": False,
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False,
        "POLSO_BASE_URL": "http://localhost",
        "MAIL_SERVER": None,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }


def _migrate(uri: str) -> None:
    from flask_migrate import upgrade

    app = create_app(_config(uri))
    with app.app_context():
        upgrade()
        _db.engine.dispose()


class _Postgres:
    def __init__(self, url: str):
        self.url = sa.make_url(url)
        self.admin = sa.create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        # Per process, so two test runs against one server never clone a template being rebuilt.
        self.template = f"polso_tpl_{_WORKER}_{os.getpid()}"

    def _execute(self, sql: str) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(sql)

    def url_for(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def prepare(self) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
        self._execute(f'CREATE DATABASE "{self.template}"')
        _migrate(self.url_for(self.template))

    def new(self) -> tuple[str, str]:
        name = f"polso_t_{os.getpid()}_{uuid.uuid4().hex[:10]}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return name, self.url_for(name)

    def drop(self, name: str) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def _database_source(tmp_path_factory):
    if TEST_DATABASE_URL:
        pg = _Postgres(TEST_DATABASE_URL)
        pg.prepare()
        yield pg
        pg.drop(pg.template)
    else:
        template = tmp_path_factory.mktemp("db") / "template.sqlite3"
        _migrate(f"sqlite:///{template}")
        yield template


@pytest.fixture
def new_database(_database_source, tmp_path):
    """A factory of fresh migrated databases (URIs), dropped after the test."""
    made = []

    def make() -> str:
        if isinstance(_database_source, _Postgres):
            name, uri = _database_source.new()
            made.append(name)
            return uri
        path = tmp_path / f"polso{len(made)}.sqlite3"
        made.append(path)
        shutil.copy(_database_source, path)
        return f"sqlite:///{path}"

    yield make
    if isinstance(_database_source, _Postgres):
        for name in made:
            _database_source.drop(name)


@pytest.fixture
def database_uri(new_database):
    return new_database()


@pytest.fixture
def app_config(database_uri) -> dict:
    """Override in a test module (or parametrize) to change settings."""
    return _config(database_uri)


@pytest.fixture
def app(app_config):
    app = create_app(app_config)
    with app.app_context():
        yield app
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Factory:
    """Builds people and departments with sensible defaults."""

    def __init__(self, db):
        self.db = db
        self.count = 0

    def department(self, name: str, parent: Department | None = None) -> Department:
        dept = Department(name=name, name_key=name.lower(), parent_id=parent.id if parent else None)
        self.db.session.add(dept)
        self.db.session.commit()
        return dept

    def person(self, email: str | None = None, *, name: str | None = None, role: str = "employee",
               kind: str = "employee", manager: Person | None = None, department: Department | None = None,
               password: str | None = PASSWORD, active: bool = True, locale: str | None = None,
               hired_on: date | None = date(2020, 1, 15), timezone: str = "Europe/Rome") -> Person:
        self.count += 1
        email = email or f"person{self.count}@example.com"
        person = Person(email=email, name=name or f"Person {self.count}", role=role, kind=kind,
                        manager_id=manager.id if manager else None,
                        department_id=department.id if department else None, active=active, locale=locale,
                        hired_on=hired_on, timezone=timezone)
        if password:
            person.set_password(password)
        self.db.session.add(person)
        self.db.session.commit()
        return person


@pytest.fixture
def factory(db):
    return Factory(db)


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, email: str, password: str = PASSWORD, **kwargs):
        return self.client.post("/login", data={"email": email, "password": password}, **kwargs)

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def api_token(client):
    def token_for(email: str, password: str = PASSWORD) -> dict[str, str]:
        response = client.post("/api/v1/auth/token", json={"email": email, "password": password})
        assert response.status_code == 201, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['token']}"}

    return token_for


def run_concurrently(*calls, timeout: float = 60) -> list:
    """Start every call at the same moment, each in its own thread; return their results in order.

    An exception in a call is re-raised here, so a test sees it.
    """
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list = []

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as error:  # re-raised below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    if errors:
        raise errors[0]
    return results


# --- A real SMTP server on loopback -------------------------------------------------------

class Mailbox:
    """An aiosmtpd handler that keeps every message it accepts, and which SMTP session brought it.

    ``replies`` maps a recipient address to the reply its ``RCPT TO`` gets instead
    of ``250 OK``, e.g. ``"550 5.1.1 No such user"``, or to ``HANG_UP`` to drop
    the connection there; ``rcpt_tos`` lists every recipient asked for,
    accepted or not. The server accepts ``AUTH`` as ``SMTP_USER``/``SMTP_PASSWORD``
    only (without TLS, on loopback), and does not require it.
    """

    HANG_UP = object()

    def __init__(self):
        self.envelopes = []
        self.sessions = []
        self.rcpt_tos = []
        self.replies = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpt_tos.append(address)
        reply = self.replies.get(address)
        if reply is self.HANG_UP:
            server.transport.close()
            return "421 4.3.2 Closing"  # never arrives
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.sessions.append(id(session))
        return "250 Message accepted for delivery"

    @property
    def messages(self):
        return [message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]


SMTP_USER, SMTP_PASSWORD = "polso", "smtp secret"


def _smtp_authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        SMTP_USER.encode(), SMTP_PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(app):
    """A real SMTP server on loopback, with the app configured to send to it."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), authenticator=_smtp_authenticator,
                            auth_require_tls=False)
    controller.start()
    mailbox.port = controller.port
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_USE_TLS=False,
                      MAIL_USE_SSL=False, MAIL_DEFAULT_SENDER="Polso <polso@example.com>")
    yield mailbox
    controller.stop()



# --- Real Chromium through Playwright ----------------------------------------------------

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        # A newcomer's first `make test` skips the browser tests; CI sets POLSO_REQUIRE_BROWSER so they
        # can never be skipped there.
        message = (f"Chromium not found at {CHROMIUM}: install Debian's chromium (apt-get install chromium) "
                   "or set CHROMIUM_PATH")
        if os.environ.get("POLSO_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                  "--no-first-run", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()


def axe_violations(page, impacts=("serious", "critical")) -> list:
    """Run axe-core (evaluated through the browser's debugging protocol, so the page's CSP stays on)."""
    page.evaluate(AXE_SOURCE)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
            if v["impact"] in impacts]


def chart_drawn(page, chart_id: str) -> None:
    """Scroll to a chart and wait until plotly.js has drawn it (charts are drawn as they near the screen)."""
    page.locator(f"#{chart_id}").scroll_into_view_if_needed()
    page.locator(f"#{chart_id} .main-svg").first.wait_for()


@pytest.fixture
def live_server(app):
    """Serve ``app`` on a free loopback port in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def page(browser, live_server):
    """A fresh browser page that records console errors and requests to other origins."""
    context = browser.new_context(base_url=live_server, locale="en-GB")
    page = context.new_page()
    page.console_errors = []
    page.foreign_requests = []
    page.on("console", lambda msg: page.console_errors.append(f"{msg.text} @ {msg.location}")
            if msg.type == "error" else None)
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
    page.on("request", lambda req: page.foreign_requests.append(req.url)
            if not req.url.startswith(live_server) and not req.url.startswith("data:") else None)
    yield page
    context.close()


def personal_token(invitation_id: int) -> str:
    """A fresh personal-link token for an invitation, as an invitation e-mail would carry."""
    from surveys import links

    token = links.new_token(invitation_id)
    _db.session.commit()
    return token


def mix_all() -> int:
    """Move every waiting ballot into the response store now, as closing the round would."""
    import sqlalchemy as sa

    from surveys import ballots
    from surveys.models import Ballot, Round, Survey

    moved = 0
    for round_id, k in _db.session.execute(sa.select(Round.id, Survey.min_group_size).join(Survey).where(
            Round.id.in_(sa.select(Ballot.round_id)))).all():
        moved += ballots.mix(round_id, k, final=True)
        _db.session.commit()
    return moved
