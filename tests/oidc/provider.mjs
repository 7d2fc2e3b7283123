// A real OpenID provider (npm `oidc-provider`, panva, OpenID-certified) for Concierge's tests,
// started by tests/app/oidc.rs on a free port.
//
//   node provider.mjs [--port=0] [--client-id=ID] [--client-secret=S] [--redirect-uris=U1,U2]
//
// Each flag falls back to an environment variable: OIDC_PORT (0 = a free port), OIDC_CLIENT_ID,
// OIDC_CLIENT_SECRET, OIDC_REDIRECT_URIS (comma-separated). Accounts come from OIDC_ACCOUNTS, a
// JSON list of claim sets, each with at least `sub`:
//   [{"sub":"alice","email":"alice@example.com","email_verified":true,"given_name":"Alice"}]
// OIDC_CONFORM=1 keeps email/profile claims out of the ID token of a code flow (as the spec
// says; they are then only at the userinfo endpoint), to test a relying party's fallback.
//
// Once listening it prints ONE line of JSON on stdout: {"issuer":"http://127.0.0.1:PORT",...}.
//
// Logging in needs no form. At /interaction/{uid} the account is the first that names one:
//   1. the query parameter `login` (sub or email) on the interaction URL,
//   2. the cookie `login` sent to the provider,
//   3. the authorization request's `login_hint`,
//   4. the one set by `POST /__test/login?account=SUB_OR_EMAIL` (a control endpoint),
//   5. the first account of OIDC_ACCOUNTS.
// An unknown name ends the flow with `access_denied` back at the redirect URI. Consent is given
// by the same handler, so a client that follows redirects with a cookie jar walks the whole flow.
import http from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const arg = (name) => process.argv.slice(2).find((a) => a.startsWith(`--${name}=`))?.split('=').slice(1).join('=');
const conf = {
  port: Number(arg('port') ?? process.env.OIDC_PORT ?? 0),
  clientId: arg('client-id') ?? process.env.OIDC_CLIENT_ID ?? 'concierge',
  clientSecret: arg('client-secret') ?? process.env.OIDC_CLIENT_SECRET ?? 'concierge-test-secret',
  redirectUris: (arg('redirect-uris') ?? process.env.OIDC_REDIRECT_URIS ?? 'http://127.0.0.1:8080/sign-in/oidc/1/callback')
    .split(',').map((s) => s.trim()).filter(Boolean),
  accounts: JSON.parse(process.env.OIDC_ACCOUNTS ?? '[{"sub":"alice","email":"alice@example.com","email_verified":true}]'),
  conform: process.env.OIDC_CONFORM === '1',
};
let chosen = null; // set by POST /__test/login

const find = (name) => name && conf.accounts.find((a) => a.sub === name || a.email?.toLowerCase() === String(name).toLowerCase());
const cookie = (req, name) => (req.headers.cookie ?? '').split(/;\s*/).map((c) => c.split('=')).find(([k]) => k === name)?.[1];

const server = http.createServer();
server.listen(conf.port, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-1', use: 'sig', alg: 'RS256' };

  const provider = new Provider(issuer, {
    clients: [{
      client_id: conf.clientId,
      client_secret: conf.clientSecret,
      redirect_uris: conf.redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    pkce: { required: () => true },
    conformIdTokenClaims: conf.conform,
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified', 'xms_edov'], // xms_edov: as Entra ID says an address is verified
      profile: ['name', 'given_name', 'family_name'],
    },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, sub) {
      const account = find(sub);
      if (!account) return undefined;
      return { accountId: account.sub, claims: async () => ({ ...account }) };
    },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  const oidc = provider.callback();

  server.on('request', async (req, res) => {
    const url = new URL(req.url, issuer);
    try {
      if (req.method === 'POST' && url.pathname === '/__test/login') {
        chosen = url.searchParams.get('account');
        res.writeHead(204).end();
        return;
      }
      const m = url.pathname.match(/^\/interaction\/([\w-]+)$/);
      if (!m) return oidc(req, res);
      const details = await provider.interactionDetails(req, res);
      const { prompt, params } = details;
      if (prompt.name === 'login') {
        const name = url.searchParams.get('login') ?? cookie(req, 'login') ?? params.login_hint ?? chosen ?? conf.accounts[0]?.sub;
        const account = find(decodeURIComponent(name ?? ''));
        const result = account
          ? { login: { accountId: account.sub } }
          : { error: 'access_denied', error_description: 'unknown test account' };
        return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
      }
      if (prompt.name === 'consent') {
        const grant = details.grantId
          ? await provider.Grant.find(details.grantId)
          : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
        const missing = prompt.details;
        if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
        if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
        for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
          grant.addResourceScope(indicator, scopes.join(' '));
        }
        const grantId = await grant.save();
        return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      }
      res.writeHead(400).end(`unexpected prompt ${prompt.name}`);
    } catch (err) {
      console.error(err);
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' }).end(String(err.message ?? err));
    }
  });

  console.log(JSON.stringify({ issuer, client_id: conf.clientId, redirect_uris: conf.redirectUris }));
});

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
