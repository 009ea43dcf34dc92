"""Single sign-on with OpenID Connect (Authorization Code with PKCE): ``services`` holds the provider's
client and the rules for who may sign in, ``views`` the two pages of the round trip."""
