// A real OpenID Provider for the single sign-on tests: the certified
// `oidc-provider` package (npm), with one client (Glasschat) and the
// account the test names next. Only what a test needs around it:
//
//   POST /test/account {sub, email, email_verified, name}: who signs in next
//     (the login and consent steps finish by themselves, for that account);
//   POST /test/mode {mode}: "normal", or a bad ID token from the token
//     endpoint: "expired", "wrong_nonce", "wrong_audience" (each signed with
//     the provider's own key, so only the claim is wrong) or "forged"
//     (signed with another key under the same key id).
//
// Usage: node tests/oidc/provider.mjs REDIRECT_URI[,REDIRECT_URI…]
// Prints "oidc provider listening on http://127.0.0.1:PORT" when ready.
import http from "node:http";
import Provider from "oidc-provider";
import * as jose from "jose";

export const CLIENT_ID = "glasschat";
export const CLIENT_SECRET = "glasschat-test-client-secret";

const redirectUris = (process.argv[2] ?? "").split(",").filter(Boolean);
if (redirectUris.length === 0) {
  console.error("usage: node provider.mjs REDIRECT_URI[,REDIRECT_URI…]");
  process.exit(2);
}

const { privateKey } = await jose.generateKeyPair("RS256", { extractable: true });
const signing = { ...(await jose.exportJWK(privateKey)), kid: "test-key", alg: "RS256", use: "sig" };
const { privateKey: forger } = await jose.generateKeyPair("RS256", { extractable: true });

const accounts = new Map();
let next = { sub: "user-1", email: "sso@example.com", email_verified: true, name: "Sso Person" };
accounts.set(next.sub, next);
let mode = "normal";

const server = http.createServer();
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: redirectUris,
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  jwks: { keys: [signing] },
  cookies: { keys: ["glasschat-test-provider-cookies"] },
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
  // The scope's claims in the ID token itself (Glasschat reads them there).
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false } },
  pkce: { required: () => true },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: async (ctx, id) => {
    const account = accounts.get(id);
    return account && { accountId: id, claims: async () => ({ ...account }) };
  },
});

// The bad ID tokens: the provider's own token response, one claim changed
// and signed again (or signed with a key that is not the provider's).
provider.use(async (ctx, next_) => {
  await next_();
  if (ctx.path !== "/token" || ctx.status !== 200 || !ctx.body?.id_token || mode === "normal") return;
  const claims = jose.decodeJwt(ctx.body.id_token);
  const now = Math.floor(Date.now() / 1000);
  let key = privateKey;
  if (mode === "expired") Object.assign(claims, { iat: now - 7200, exp: now - 3600 });
  if (mode === "wrong_nonce") claims.nonce = "not-the-nonce-glasschat-sent";
  if (mode === "wrong_audience") claims.aud = "another-client";
  if (mode === "forged") key = forger;
  ctx.body = {
    ...ctx.body,
    id_token: await new jose.SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: "test-key" }).sign(key),
  };
});

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === "login") {
    await provider.interactionFinished(req, res, { login: { accountId: next.sub } }, { mergeWithLastSubmission: false });
    return;
  }
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
  const missing = details.prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

async function body(req) {
  let text = "";
  for await (const chunk of req) text += chunk;
  return JSON.parse(text || "{}");
}

const callback = provider.callback();
server.on("request", async (req, res) => {
  try {
    if (req.method === "POST" && req.url === "/test/account") {
      next = await body(req);
      accounts.set(next.sub, next);
      res.writeHead(204).end();
    } else if (req.method === "POST" && req.url === "/test/mode") {
      mode = (await body(req)).mode ?? "normal";
      res.writeHead(204).end();
    } else if (req.url?.startsWith("/interaction/")) {
      await interaction(req, res);
    } else {
      callback(req, res);
    }
  } catch (err) {
    console.error(err);
    if (!res.headersSent) res.writeHead(500).end(String(err));
  }
});
console.log(`oidc provider listening on ${issuer}`);
