// A real OpenID provider (panva's oidc-provider) on loopback, for the single sign-on tests.
//
// Usage: node oidc-provider.mjs CONFIG_JSON   (or the same JSON in the OIDC_TEST_CONFIG environment variable)
//
// CONFIG_JSON: {
//   "port": 4000,                           listens on 127.0.0.1:port; the issuer is http://127.0.0.1:port
//   "clients": [{"client_id", "client_secret", "redirect_uris": [...]}],   confidential, PKCE required
//   "accounts": {"ada": {"email": ..., "email_verified": true, "name": ...}},   the login id → its claims
//   "clockSkewSeconds": -600,               optional: the provider's clock runs this far off the real one
//   "idTokenTtl": 60,                       optional: ID tokens' lifetime in seconds (default 3600)
//   "idTokenAudience": "someone-else",      optional: ID tokens are issued for this audience, not the client
//   "claimsOnlyFromUserInfo": true          optional: e-mail and name only from UserInfo, not in the ID token
// }
//
// Sign-in pages are this script's own (no devInteractions: their page loads a web font from the internet):
// GET /interaction/:uid shows a form asking for a login id, POST .../login signs that account in, and
// POST .../abort ends the request with error=access_denied. Consent is given at once (a first-party app).
// Prints "ready <issuer>" once it is listening.
import { createServer } from "node:http";
import Provider from "oidc-provider";

const config = JSON.parse(process.argv[2] || process.env.OIDC_TEST_CONFIG || "{}");
const port = Number(config.port);
if (!Number.isInteger(port) || port <= 0) {
  console.error("usage: node oidc-provider.mjs '{\"port\": 4000, \"clients\": [...], \"accounts\": {...}}'");
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;
const accounts = config.accounts || {};

if (config.clockSkewSeconds) {
  // Everything the provider stamps (iat, exp, code and cookie lifetimes) comes from Date.now.
  const realNow = Date.now.bind(Date);
  Date.now = () => realNow() + config.clockSkewSeconds * 1000;
}

const provider = new Provider(issuer, {
  clients: (config.clients || []).map((client) => ({
    client_id: client.client_id,
    client_secret: client.client_secret,
    redirect_uris: client.redirect_uris,
    grant_types: ["authorization_code"],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_basic",
  })),
  async findAccount(ctx, id) {
    const claims = accounts[id];
    if (!claims) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...claims }; } };
  },
  claims: { openid: ["sub"], email: ["email", "email_verified", "xms_edov"], profile: ["name"] },
  // Scope claims (email, name) go into the ID token too, as Keycloak and Okta put them; with
  // "claimsOnlyFromUserInfo" they are only at the UserInfo endpoint, as OpenID Connect allows.
  conformIdTokenClaims: Boolean(config.claimsOnlyFromUserInfo),
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope("openid email profile");
    await grant.save();
    return grant;
  },
  ttl: { IdToken: config.idTokenTtl || 3600 },
  cookies: { keys: ["polso-test-provider-cookie-key"] },
});
provider.on("server_error", (ctx, error) => console.error("server_error", error));

if (config.idTokenAudience) {
  // A provider that mixes up its clients: the token is signed as usual, for someone else.
  const { issue } = provider.IdToken.prototype;
  provider.IdToken.prototype.issue = async function issueForSomeoneElse(options = {}) {
    if (options.use !== "idtoken") return issue.call(this, options);
    const real = this.client;
    this.client = new Proxy(real, {
      get(target, key) {
        if (key === "clientId") return config.idTokenAudience;
        const value = Reflect.get(target, key);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    try {
      return await issue.call(this, options);
    } finally {
      this.client = real;
    }
  };
}

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res, status, title, body) {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>`
    + `<link rel="icon" href="data:,"></head><body><main><h1>${escape(title)}</h1>${body}</main></body></html>`);
}

async function readForm(req) {
  let body = "";
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error("interaction mismatch");
  if (req.method === "GET" && !action) {
    const hint = details.params.login_hint || "";
    return page(res, 200, "Test provider: sign in", `
      <form method="post" action="/interaction/${escape(uid)}/login">
        <label for="login">Account</label>
        <input id="login" name="login" required value="${escape(hint)}">
        <button type="submit">Continue</button>
      </form>
      <form method="post" action="/interaction/${escape(uid)}/abort"><button type="submit">Cancel</button></form>`);
  }
  if (req.method === "POST" && action === "login") {
    const login = (await readForm(req)).get("login") || "";
    if (!accounts[login]) return page(res, 400, "Test provider: sign in", "<p>Unknown account.</p>");
    return provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
  }
  if (req.method === "POST" && action === "abort") {
    return provider.interactionFinished(req, res, {
      error: "access_denied", error_description: "End-User aborted interaction",
    }, { mergeWithLastSubmission: false });
  }
  return page(res, 405, "Not allowed", "");
}

const handle = provider.callback();
const server = createServer((req, res) => {
  const match = /^\/interaction\/([\w-]+)(?:\/(login|abort))?$/.exec(new URL(req.url, issuer).pathname);
  if (!match) return handle(req, res);
  return interaction(req, res, match[1], match[2]).catch((error) => {
    console.error("interaction failed", error);
    if (!res.headersSent) page(res, 400, "Interaction failed", `<p>${escape(error.message)}</p>`);
  });
});
server.listen(port, "127.0.0.1", () => console.log(`ready ${issuer}`));
const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
