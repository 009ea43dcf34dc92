"""The application factory: read top to bottom, it names every part of Polso."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Flask, g, has_request_context, request, session
from flask_babel import format_date, format_datetime, format_decimal, format_percent, get_locale
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

import inputs
import settings
import static_files
from errors import ServiceError, Unavailable
from extensions import babel, csrf, db, login_manager, migrate


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from the environment, with ``config`` overriding it (tests pass a mapping)."""
    app = Flask(__name__, instance_path=str(settings.INSTANCE_DIR), instance_relative_config=True)
    app.config.update(settings.from_environment())
    if config:
        app.config.update(config)
    check_config(app)
    register_extensions(app)
    inputs.init_app(app)  # before the blueprints: their <int:…> rules use its converter
    trust_proxies(app)
    register_blueprints(app)
    static_files.init_app(app)  # compressed, fingerprinted static files
    register_errorhandlers(app)
    register_security_headers(app)
    register_template_helpers(app)
    register_commands(app)
    configure_logger(app)
    return app


def check_config(app: Flask) -> None:
    if not app.config.get("SECRET_KEY"):
        if app.config["POLSO_ENV"] != "development" and not app.testing:
            raise RuntimeError("SECRET_KEY must be set outside development (POLSO_ENV=development).")
        app.config["SECRET_KEY"] = "development-only-not-secret"
    k = app.config["POLSO_MIN_GROUP_SIZE"]
    if not 3 <= int(k) <= 10:
        raise RuntimeError("POLSO_MIN_GROUP_SIZE must be between 3 and 10.")
    if app.config["POLSO_PASSWORD_LOGIN"] not in ("all", "admins"):
        raise RuntimeError("POLSO_PASSWORD_LOGIN must be all or admins.")
    if app.config["POLSO_REQUIRE_2FA"] not in ("none", "hr_admin"):
        raise RuntimeError("POLSO_REQUIRE_2FA must be none or hr_admin.")
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        settings.INSTANCE_DIR.mkdir(exist_ok=True)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # SQLite enforces foreign keys only when asked, per connection; WAL lets readers and a writer overlap.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        # Deleted rows (mixed ballots) are overwritten in the file, not left in its free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()


def select_locale() -> str | None:
    if not has_request_context():
        return None
    if g.get("locale_override") in settings.LANGUAGES:  # a personal survey link opens in the invitee's language
        return g.locale_override
    if current_user and current_user.is_authenticated and current_user.locale:
        return current_user.locale
    if session.get("locale") in settings.LANGUAGES:
        return session["locale"]
    return request.accept_languages.best_match(settings.LANGUAGES) or "en"


def select_timezone() -> str | None:
    if not has_request_context():
        return None
    if current_user and current_user.is_authenticated:
        return current_user.timezone
    # A page opened by a personal link (no session) sets the invited person's zone.
    return g.get("timezone")


def trust_proxies(app: Flask) -> None:
    """Behind ``POLSO_TRUSTED_PROXIES`` proxies, the client's address and scheme come from the
    ``X-Forwarded-For`` and ``X-Forwarded-Proto`` they set (Werkzeug's ProxyFix), and only from them:
    with 0, the default, a client's own forwarded headers are ignored."""
    hops = app.config["POLSO_TRUSTED_PROXIES"]
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(settings.BASE_DIR / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    import actions.models  # noqa: F401
    import audit.models  # noqa: F401
    import dashboards.models  # noqa: F401  (tables known to migrations)
    import mail.models  # noqa: F401
    import oneonones.models  # noqa: F401
    import people.auth  # registers the user loader
    import rewards.models  # noqa: F401
    import scim.models  # noqa: F401
    import surveys.models  # noqa: F401
    people.auth.no_store_private_responses(app)


def register_blueprints(app: Flask) -> None:
    from actions.views import bp as actions_bp
    from api import bp as api_bp
    from audit.views import bp as audit_bp
    from dashboards.views import bp as dashboards_bp
    from home import bp as home_bp
    from oneonones.views import bp as oneonones_bp
    from people.sso.views import bp as sso_bp
    from people.twofactor.views import bp as twofactor_bp
    from people.views import bp as people_bp
    from replies.views import bp as replies_bp
    from replies.views import public as reply_link_bp
    from rewards.views import bp as rewards_bp
    from scim.admin.views import bp as scim_admin_bp
    from scim.views import bp as scim_bp
    from surveys.views import bp as surveys_bp

    app.register_blueprint(home_bp)
    app.register_blueprint(people_bp)
    app.register_blueprint(twofactor_bp)
    app.register_blueprint(sso_bp)
    app.register_blueprint(surveys_bp)
    app.register_blueprint(oneonones_bp)
    app.register_blueprint(rewards_bp)
    app.register_blueprint(dashboards_bp)
    app.register_blueprint(actions_bp)
    app.register_blueprint(replies_bp)
    app.register_blueprint(reply_link_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(scim_bp)
    app.register_blueprint(scim_admin_bp)


def register_errorhandlers(app: Flask) -> None:
    """The one place errors are answered: a page, or the API's JSON error; a refusal or a crash rolls
    the request's transaction back first, so nothing half-done is kept."""
    import error_pages
    from api import core as api_core

    def is_api() -> bool:
        return request.path.startswith("/api/")

    def handle_http(error: HTTPException):
        if is_api():
            return api_core.handle_http_error(error)
        if error.code in (400, 403, 404, 405, 429):
            return error_pages.render(error.code)
        return error

    def handle_500(error: Exception):
        db.session.rollback()
        if is_api():
            return api_core.handle_unexpected(error)
        app.logger.exception("Unhandled error")
        return error_pages.render(500)

    def handle_service_error(error: ServiceError | Unavailable):
        # A refusal that reached a page unhandled: show the matching error page, never a 500.
        db.session.rollback()
        if is_api():
            return api_core.handle_service_error(error)
        # The page says what the service said (it is written for the person using it).
        page = error.status if error.status in (403, 404, 409, 429) else 400
        return error_pages.render(page, error.status, error.message, error.fields)

    from flask_wtf.csrf import CSRFError

    import expired_forms

    app.register_error_handler(CSRFError, expired_forms.handle_csrf_error)  # the page again, as it was typed
    app.register_error_handler(ServiceError, handle_service_error)
    app.register_error_handler(Unavailable, handle_service_error)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(Exception, handle_500)


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # A personal survey link's page sends its origin as the Referer, never its path: the path would carry the
        # token to the proxy's log, and over HTTPS the CSRF check refuses a form sent with no Referer at all.
        # A comment's reply link (/r/) is as secret.
        secret_path = request.path.startswith(("/s/", "/r/", "/password/"))
        response.headers.setdefault("Referrer-Policy", "strict-origin" if secret_path else "same-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


def register_template_helpers(app: Flask) -> None:
    @app.context_processor
    def inject():
        # The menu's forms (language, sign out) carry the request's CSRF token as a plain hidden field
        # (``csrf_token()``, made once per request): no form object built for every page.
        return {"current_locale": str(get_locale() or "en"), "languages": settings.LANGUAGES,
                "company_name": app.config["POLSO_COMPANY_NAME"]}

    # Helpers that templates of more than one package use, or that e-mail needs outside any request
    # (mail renders without the feature's blueprint). A package's own helpers stay on its blueprint.
    from dashboards.plotly_assets import guarded_style_ids
    from rewards.money import money
    from rewards.plans import plan_label

    app.jinja_env.globals.update(format_date=format_date, format_datetime=format_datetime,
                                 format_decimal=format_decimal, format_percent=format_percent,
                                 now_utc=lambda: datetime.now(UTC), money=money, reward_plan_label=plan_label,
                                 plotly_guarded_style_ids=guarded_style_ids)


def register_commands(app: Flask) -> None:
    from cli import anonymity_cli, pulses_cli
    from dashboards.cli import results_cli
    from demo import DEMO_LOGINS, DEMO_PASSWORD, demo_cli
    from people.cli import people_cli, users_cli
    from scim.cli import scim_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(people_cli)
    app.cli.add_command(demo_cli)
    # The sign-in page lists the demo logins in development; it reads them here, since no page imports demo.
    app.config.setdefault("POLSO_DEMO_LOGINS", DEMO_LOGINS)
    app.config.setdefault("POLSO_DEMO_PASSWORD", DEMO_PASSWORD)
    app.cli.add_command(pulses_cli)
    app.cli.add_command(results_cli)
    app.cli.add_command(anonymity_cli)
    app.cli.add_command(scim_cli)


def configure_logger(app: Flask) -> None:
    import logs

    logs.install(app)  # survey-link tokens never reach a log
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
