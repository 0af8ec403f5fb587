// A certified OpenID provider (the `oidc-provider` package) for the end-to-end tests, on
// 127.0.0.1:PORT, with its own development sign-in and consent pages.
//
//   node provider.mjs PORT CONFIG_JSON
//
// CONFIG_JSON: {"client_id", "client_secret", "redirect_uris": [...],
//               "post_logout_redirect_uris": [...]}.
// Accounts: type the account name on its sign-in page (any password); see ACCOUNTS.
import Provider from "oidc-provider";

const [port, configJson] = process.argv.slice(2);
const config = JSON.parse(configJson);
const issuer = `http://127.0.0.1:${port}`;

const ACCOUNTS = {
  ann: { email: "ann@acme.test", name: "Ann Analyst", groups: ["analysts", "admins"] },
  bob: { email: "bob@acme.test", name: "Bob Builder", groups: ["builders"] },
  eve: { email: "eve@elsewhere.test", name: "Eve Outsider", groups: [] },
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: config.client_id,
    client_secret: config.client_secret,
    redirect_uris: config.redirect_uris,
    post_logout_redirect_uris: config.post_logout_redirect_uris,
    grant_types: ["authorization_code"],
    response_types: ["code"],
  }],
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name", "preferred_username"],
    groups: ["groups"],
  },
  scopes: ["openid", "email", "profile", "groups"],
  cookies: { keys: ["numerous-e2e-cookie-key"] },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  pkce: { required: () => true },
  ttl: { IdToken: 300, AccessToken: 300, Session: 3600, Interaction: 600, Grant: 3600 },
  async findAccount(ctx, id) {
    const account = ACCOUNTS[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, email_verified: true, ...account };
      },
    };
  },
});

provider.listen(Number(port), "127.0.0.1", () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
