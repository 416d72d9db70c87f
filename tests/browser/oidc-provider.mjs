// A real OpenID Connect provider for naervaer's sign-in tests: panva's
// certified `oidc-provider`, with its built-in login and consent pages.
// Usage: node oidc-provider.mjs PORT CALLBACK
//   PORT: where it listens (issuer http://127.0.0.1:PORT)
//   CALLBACK: naervaer's redirect URL (…/oidc/callback)
// Env: EXPIRED_EMAIL — the e-mail of the account «utlopt», whose ID token
// lives one second and is handed over after two (it arrives expired), and
// of «ubekreftet», whose e-mail the provider says is not verified.
// Any login with an @ is an account with that e-mail address; «anna» is
// anna@test.no. Two clients: naervaer, and «annen-app» (another
// application of the same provider, for tokens with another audience).
// Prints "READY PORT" when it listens.
import { Provider } from "oidc-provider";

const PORT = Number(process.argv[2]);
const CALLBACK = process.argv[3];
const ISSUER = `http://127.0.0.1:${PORT}`;

const account = (sub) => {
  if (sub === "utlopt") return { email: process.env.EXPIRED_EMAIL || "utlopt@test.no", expired: true };
  // The same address, which this provider says is not verified.
  if (sub === "ubekreftet") return { email: process.env.EXPIRED_EMAIL || "utlopt@test.no", unverified: true };
  if (sub === "anna") return { email: "anna@test.no" };
  if (sub.includes("@")) return { email: sub };
  return undefined;
};

const configuration = {
  clients: [
    {
      client_id: "naervaer",
      client_secret: "naervaer-test-secret",
      redirect_uris: [CALLBACK],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_post",
    },
    {
      client_id: "annen-app",
      client_secret: "annen-app-secret",
      redirect_uris: [CALLBACK],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_post",
    },
  ],
  pkce: { required: () => true, methods: ["S256"] },
  scopes: ["openid", "email", "profile"],
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
  // The e-mail claim in the ID token itself, as Entra ID sends it.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ["naervaer-test-only-cookie-key-0123456789"] },
  ttl: {
    IdToken: (ctx, token) => (account(token.available?.sub ?? token.accountId ?? "")?.expired ? 1 : 3600),
    AccessToken: 3600,
    AuthorizationCode: 60,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
  async findAccount(ctx, sub) {
    const a = account(sub);
    if (!a) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { sub, email: a.email, email_verified: !a.unverified, name: a.email };
      },
    };
  },
};

const provider = new Provider(ISSUER, configuration);
// The «utlopt» account's token is handed over after it has expired.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.oidc?.route === "token" && account(ctx.oidc.entities?.Account?.accountId ?? "")?.expired) {
    await new Promise((r) => setTimeout(r, 2100));
  }
});
const server = provider.listen(PORT, "127.0.0.1", () => console.log(`READY ${PORT}`));
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => { server.close(); process.exit(0); });
