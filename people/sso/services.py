"""Signing in through an OpenID provider: the Authlib client of this app, the round trip's checks, and who
the provider's answer is.

SSO is on when ``OIDC_ISSUER`` and ``OIDC_CLIENT_ID`` are set. The provider is found by discovery
(``{OIDC_ISSUER}/.well-known/openid-configuration``, read on first use and kept for ``METADATA_HOURS``);
the flow is the Authorization Code flow with PKCE (S256), a ``state`` and a ``nonce`` kept in this
browser's session. The ID token is refused unless its signature (the provider's published keys), issuer,
audience (our client id), expiry (``LEEWAY_SECONDS`` of clock skew allowed) and nonce all check out.

A person is matched by the ID token's e-mail, and only when the provider says it is verified
(``email_verified``, or Entra ID's ``xms_edov``); without an e-mail in the ID token, the UserInfo
endpoint's answer for the same subject is used. With ``OIDC_CREATE_PEOPLE`` someone unknown is added as an employee.

Every refusal is a :class:`errors.Forbidden` whose message, written for the person signing in, says what
went wrong; nothing is signed in then.

May import: ``people.directory`` (to add people), ``inputs``, ``audit``, the models and the session.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
import sqlalchemy as sa
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app, request, session
from flask_babel import gettext as _
from joserfc.errors import ClaimError, ExpiredTokenError, JoseError

import audit
import inputs
from errors import Forbidden, ValidationError
from extensions import db
from people import directory
from people.models import Person

log = logging.getLogger(__name__)

CLIENT_NAME = "oidc"
CALLBACK_PATH = "/auth/oidc/callback"
SCOPE = "openid email profile"
LEEWAY_SECONDS = 60
METADATA_HOURS = 24
HTTP_TIMEOUT_SECONDS = 10
NEXT_KEY = "sso_next"
_EXTENSION = "polso.sso"


@dataclass(frozen=True)
class SignIn:
    """Who the provider vouched for, and where they were going."""

    person: Person
    next_url: str | None


def configured(app: Flask | None = None) -> bool:
    config = (app or current_app).config
    return bool(config.get("OIDC_ISSUER") and config.get("OIDC_CLIENT_ID"))


def provider_name() -> str:
    return current_app.config["OIDC_PROVIDER_NAME"]


def redirect_uri() -> str:
    """The callback the provider sends the browser back to, as registered there."""
    return current_app.config["POLSO_BASE_URL"].rstrip("/") + CALLBACK_PATH


def _issuer() -> str:
    return current_app.config["OIDC_ISSUER"].rstrip("/")


def _client_key() -> tuple:
    config = current_app.config
    return _issuer(), config["OIDC_CLIENT_ID"], config.get("OIDC_CLIENT_SECRET")


def _client():
    """This app's Authlib client for the provider (one per app and settings, so apps never share one)."""
    app = current_app._get_current_object()
    config = app.config
    key = _client_key()
    clients = app.extensions.setdefault(_EXTENSION, {})
    client = clients.get(key)
    loaded_at = client.server_metadata.get("_loaded_at") if client is not None else None
    if client is None or (loaded_at and time.time() - loaded_at > METADATA_HOURS * 3600):
        oauth = OAuth(app)
        client = oauth.register(
            CLIENT_NAME, client_id=config["OIDC_CLIENT_ID"], client_secret=config.get("OIDC_CLIENT_SECRET"),
            server_metadata_url=f"{_issuer()}/.well-known/openid-configuration",
            client_kwargs={"scope": SCOPE, "code_challenge_method": "S256",
                           "default_timeout": HTTP_TIMEOUT_SECONDS})
        clients[key] = client
    return client


def _unreachable() -> Forbidden:
    return Forbidden(_("%(provider)s cannot be reached right now. Please try again in a few minutes.",
                       provider=provider_name()))


def _metadata(client) -> dict[str, Any]:
    """The provider's discovery document, which must name the issuer we were configured with (give or
    take a final slash, which ``OIDC_ISSUER`` loses when read; its ``issuer`` is then the exact one)."""
    try:
        metadata = client.load_server_metadata()
    except (requests.RequestException, ValueError) as error:
        log.warning("OpenID provider discovery failed: %s", error)
        raise _unreachable() from None
    issuer = metadata.get("issuer")
    if not isinstance(issuer, str) or issuer.rstrip("/") != _issuer():
        log.warning("OpenID provider names issuer %r, not OIDC_ISSUER %r", issuer, _issuer())
        current_app.extensions[_EXTENSION].pop(_client_key(), None)  # read it afresh next time
        raise Forbidden(_("%(provider)s is not set up correctly for Polso (it names another issuer). "
                          "Please tell your administrator.", provider=provider_name()))
    return metadata


def authorization_redirect(next_url: str | None):
    """The redirect that sends the browser to the provider's sign-in page, with a fresh state, nonce and
    PKCE challenge remembered in this browser's session.

    :raise Forbidden: the provider cannot be reached, or its discovery document names another issuer.
    """
    client = _client()
    _metadata(client)
    session[NEXT_KEY] = next_url
    return client.authorize_redirect(redirect_uri(), nonce=secrets.token_urlsafe(32))


def _state_refused() -> Forbidden:
    return Forbidden(_("Signing in with %(provider)s did not complete: it was started in another browser or "
                       "tab, or took too long. Please try again.", provider=provider_name()))


def _token_refused(reason: str) -> Forbidden:
    return Forbidden(_("The sign-in from %(provider)s could not be verified: %(reason)s Please try again.",
                       provider=provider_name(), reason=reason))


def _claim_reason(error: ClaimError) -> str:
    if isinstance(error, ExpiredTokenError) or error.claim in ("exp", "iat", "nbf"):
        return _("it has expired (or the clocks of Polso and the provider disagree).")
    if error.claim in ("aud", "azp"):
        return _("it was issued for another application.")
    if error.claim == "iss":
        return _("it was issued by another provider.")
    if error.claim == "nonce":
        return _("it does not belong to this sign-in.")
    return _("it is not valid.")


def _provider_error(args) -> Forbidden | None:
    error = args.get("error")
    if not error:
        return None
    log.info("OpenID provider answered %s: %s", error, args.get("error_description"))
    if error == "access_denied":
        return Forbidden(_("Signing in with %(provider)s was cancelled.", provider=provider_name()))
    return Forbidden(_("%(provider)s did not sign you in (%(error)s). Please try again or ask your administrator.",
                       provider=provider_name(), error=re.sub(r"[^a-z_]", "", error.lower())[:60]))


def _verified_claims(client) -> dict[str, Any]:
    """Exchange the code for tokens and return the checked ID token's claims (completed from UserInfo
    when they carry no e-mail)."""
    args = request.args
    refusal = _provider_error(args)
    if refusal is not None:
        raise refusal
    state = args.get("state")
    if not state or client.framework.get_state_data(session, state) is None:
        raise _state_refused()
    issuer = _metadata(client)["issuer"]
    # RFC 9207: a provider that names itself in the answer must be ours (defeats mix-up attacks).
    if args.get("iss") is not None and args["iss"] != issuer:
        raise _token_refused(_("it was issued by another provider."))
    options = {"iss": {"essential": True, "value": issuer},
               "aud": {"essential": True, "value": current_app.config["OIDC_CLIENT_ID"]}}
    try:
        token = client.authorize_access_token(claims_options=options, leeway=LEEWAY_SECONDS)
    except ClaimError as error:
        log.info("ID token refused: %s", error)
        raise _token_refused(_claim_reason(error)) from None
    except (JoseError, ValueError) as error:
        log.info("ID token refused: %s", error)
        raise _token_refused(_("it is not valid.")) from None
    except AuthlibBaseError as error:  # the token endpoint said no: a used or foreign code, a wrong verifier
        log.info("Token request refused: %s", error)
        raise _token_refused(_("the provider did not accept it.")) from None
    except requests.RequestException as error:
        log.warning("Token request failed: %s", error)
        raise _unreachable() from None
    claims = token.get("userinfo")
    if not claims:
        raise _token_refused(_("it is not valid."))
    claims = dict(claims)
    if not claims.get("email"):
        claims.update(_userinfo(client, token, claims["sub"]))
    return claims


def _userinfo(client, token, subject: str) -> dict[str, Any]:
    try:
        info = dict(client.userinfo(token=token))
    except (requests.RequestException, AuthlibBaseError, ValueError, KeyError) as error:
        log.info("UserInfo request failed: %s", error)
        return {}
    if info.get("sub") != subject:  # OpenID Connect Core 5.3.2: another subject's answer is ignored
        return {}
    return {key: info[key] for key in ("email", "email_verified", "xms_edov", "name") if key in info}


def _true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _email_verified(claims: dict[str, Any]) -> bool:
    """``email_verified``; Entra ID sends none, but its optional claim ``xms_edov`` says the same."""
    if "email_verified" in claims:
        return _true(claims["email_verified"])
    return _true(claims.get("xms_edov"))


def _add_person(email: str, name: Any, now: datetime) -> Person:
    name = name.strip()[:120] if isinstance(name, str) and name.strip() else email
    try:
        person = directory.create_person({"email": email, "name": name})
    except ValidationError:
        try:  # a name Polso cannot keep (a control character, say): the e-mail serves
            person = directory.create_person({"email": email, "name": email[:120]})
        except ValidationError as error:
            raise Forbidden(_("Polso could not add you: %(reason)s",
                              reason=next(iter(error.fields.values()), error.message))) from None
    audit.record("person.created_by_sso", actor=None, target=person,
                 summary=f"{person.email} ({provider_name()})", now=now)
    db.session.commit()
    return person


def person_for_claims(claims: dict[str, Any], now: datetime) -> Person:
    """The active person the provider's (checked) claims name, added first with ``OIDC_CREATE_PEOPLE``.

    :raise Forbidden: no e-mail, or one the provider has not verified; a deactivated person; someone
        unknown while ``OIDC_CREATE_PEOPLE`` is off.
    """
    email = inputs.email_key(claims.get("email"))
    if not email:
        raise Forbidden(_("%(provider)s did not tell Polso your e-mail address, so Polso cannot tell who you are.",
                          provider=provider_name()))
    if not _email_verified(claims):
        raise Forbidden(_("%(provider)s has not verified your e-mail address %(email)s, so Polso cannot sign "
                          "you in with it.", provider=provider_name(), email=email))
    person = db.session.scalar(sa.select(Person).where(Person.email == email))
    if person is None:
        if not current_app.config["OIDC_CREATE_PEOPLE"]:
            raise Forbidden(_("No one in Polso has the e-mail address %(email)s. Ask your HR team to add you.",
                              email=email))
        person = _add_person(email, claims.get("name"), now)
    if not person.active:
        raise Forbidden(_("Your Polso account has been deactivated. Ask your HR team if this is a mistake."))
    return person


def complete_sign_in(now: datetime) -> SignIn:
    """Finish the round trip on the callback: check the provider's answer and find who it names.

    The state, PKCE verifier and nonce kept for this browser are used once, whatever the outcome.
    :raise Forbidden: the provider reported an error; the state is unknown here; the tokens do not
        check out; or the person may not sign in (see :func:`person_for_claims`).
    """
    next_url = session.pop(NEXT_KEY, None)
    claims = _verified_claims(_client())
    return SignIn(person_for_claims(claims, now), next_url)


def password_login_admins_only() -> bool:
    return current_app.config["POLSO_PASSWORD_LOGIN"] == "admins"
