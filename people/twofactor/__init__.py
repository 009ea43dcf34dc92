"""Two-factor sign-in (TOTP codes from an authenticator app, and one-use recovery codes): ``services``
holds the rules, ``views`` the pages and the gate of ``POLSO_REQUIRE_2FA``."""
