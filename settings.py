"""Configuration read from the environment (12-factor).

Every setting has a safe default for development; production must set
``SECRET_KEY`` (``create_app`` refuses to start without it).
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"

LANGUAGES = ("en", "it")


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def from_environment() -> dict:
    """Return the app configuration as read from ``os.environ`` now."""
    env = os.environ.get("POLSO_ENV", "production").strip().lower()
    development = env == "development"
    return {
        "POLSO_ENV": env,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or None,
        # Seals answers waiting to be mixed; by default derived from SECRET_KEY. Keep it out of backups.
        "POLSO_BALLOT_KEY": os.environ.get("POLSO_BALLOT_KEY") or None,
        "SQLALCHEMY_DATABASE_URI": os.environ.get(
            "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'polso.sqlite3'}"
        ),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "POLSO_MIN_GROUP_SIZE": _int("POLSO_MIN_GROUP_SIZE", 5),
        "POLSO_BASE_URL": os.environ.get("POLSO_BASE_URL", "http://127.0.0.1:5000"),
        "POLSO_COMPANY_NAME": os.environ.get("POLSO_COMPANY_NAME", "Polso Demo"),
        "POLSO_DEFAULT_TIMEZONE": os.environ.get("POLSO_DEFAULT_TIMEZONE", "Europe/Rome"),
        "PASSWORD_HASH_METHOD": "scrypt",
        "LOGIN_MAX_FAILURES": _int("LOGIN_MAX_FAILURES", 5),
        "LOGIN_LOCKOUT_MINUTES": _int("LOGIN_LOCKOUT_MINUTES", 15),
        "LOGIN_BACKOFF_SECONDS": _int("LOGIN_BACKOFF_SECONDS", 30),
        "LOGIN_FAILURE_HOURS": _int("LOGIN_FAILURE_HOURS", 24),
        "LOGIN_ADDRESS_MAX_FAILURES": _int("LOGIN_ADDRESS_MAX_FAILURES", 300),
        "POLSO_TRUSTED_PROXIES": _int("POLSO_TRUSTED_PROXIES", 0),
        "API_TOKEN_DAYS": _int("API_TOKEN_DAYS", 30),
        # NIST SP 800-63B asks for at least 8; Polso never goes below 12.
        "PASSWORD_MIN_LENGTH": max(12, _int("PASSWORD_MIN_LENGTH", 12)),
        # A signed-in browser: "Keep me signed in" lasts this many days from the last request,
        # otherwise until the browser closes or this many hours without a request.
        "SESSION_REMEMBER_DAYS": _int("SESSION_REMEMBER_DAYS", 30),
        "SESSION_IDLE_HOURS": _int("SESSION_IDLE_HOURS", 12),
        # Single sign-on (OpenID Connect): on when OIDC_ISSUER and OIDC_CLIENT_ID are set.
        "OIDC_ISSUER": (os.environ.get("OIDC_ISSUER") or "").rstrip("/") or None,
        "OIDC_CLIENT_ID": os.environ.get("OIDC_CLIENT_ID") or None,
        "OIDC_CLIENT_SECRET": os.environ.get("OIDC_CLIENT_SECRET") or None,
        "OIDC_PROVIDER_NAME": os.environ.get("OIDC_PROVIDER_NAME") or "single sign-on",
        "OIDC_CREATE_PEOPLE": _bool("OIDC_CREATE_PEOPLE", False),
        # "all", or "admins": only HR admins may sign in with a password (break-glass access).
        "POLSO_PASSWORD_LOGIN": (os.environ.get("POLSO_PASSWORD_LOGIN") or "all").strip().lower(),
        # "none", or "hr_admin": HR admins must set up two-factor sign-in before they see anything.
        "POLSO_REQUIRE_2FA": (os.environ.get("POLSO_REQUIRE_2FA") or "none").strip().lower(),
        "MAIL_SERVER": os.environ.get("MAIL_SERVER") or None,
        "MAIL_PORT": _int("MAIL_PORT", 587),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS", True),
        "MAIL_USE_SSL": _bool("MAIL_USE_SSL", False),
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER", "polso@localhost"),
        "MAIL_SENT_RETENTION_DAYS": _int("MAIL_SENT_RETENTION_DAYS", 90),
        "PERMANENT_SESSION_LIFETIME": 86400 * _int("SESSION_REMEMBER_DAYS", 30),
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", not development),
        "REMEMBER_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", not development),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "BABEL_TRANSLATION_DIRECTORIES": str(BASE_DIR / "translations"),
        "REWARDS_PAYMENT_TERMS_DAYS": _int("REWARDS_PAYMENT_TERMS_DAYS", 14),
        "REWARDS_DEFAULT_CURRENCY": os.environ.get("REWARDS_DEFAULT_CURRENCY", "EUR"),
        "PEOPLE_PER_PAGE": 25,
        "MAX_CONTENT_LENGTH": 5 * 1024 * 1024,
    }
