// A real OpenID Connect provider (node's oidc-provider) for the Rust integration tests: one
// confidential client (client_secret_basic, authorization code, PKCE required, S256 only),
// id_tokens signed RS256 with a key made at start, scopes openid and profile, accounts from the
// environment. Its login page takes only a login name (no password); a login that is not in
// ACCOUNTS is refused with 401 and the form again. After login it asks for consent.
//
// Environment: PORT, ISSUER (default http://127.0.0.1:PORT), CLIENT_ID, CLIENT_SECRET,
// REDIRECT_URI, ACCOUNTS (JSON: login -> claims, e.g. {"20230001": {"name": "张三"}}). Every claim
// an account has is released under the profile scope, in the id_token and from userinfo.
//
// Prints one line "oidc-provider listening on ISSUER" when it accepts connections.
import * as crypto from 'node:crypto';
import * as http from 'node:http';

import Provider from 'oidc-provider';

function env(name, fallback) {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') {
    console.error(`oidc peer: ${name} must be set`);
    process.exit(2);
  }
  return value;
}

const PORT = Number(env('PORT'));
const ISSUER = env('ISSUER', `http://127.0.0.1:${PORT}`);
const CLIENT_ID = env('CLIENT_ID');
const CLIENT_SECRET = env('CLIENT_SECRET');
const REDIRECT_URI = env('REDIRECT_URI');
const ACCOUNTS = JSON.parse(env('ACCOUNTS'));
if (ACCOUNTS === null || typeof ACCOUNTS !== 'object' || Array.isArray(ACCOUNTS)) {
  console.error('oidc peer: ACCOUNTS must be a JSON object of login -> claims');
  process.exit(2);
}

// The standard profile claims, and whatever else the accounts carry.
const profileClaims = new Set([
  'name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username', 'profile',
  'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at',
]);
for (const claims of Object.values(ACCOUNTS)) {
  for (const claim of Object.keys(claims ?? {})) {
    if (claim !== 'sub') profileClaims.add(claim);
  }
}

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = {
  ...privateKey.export({ format: 'jwk' }), kid: 'tongban-test-rs256', alg: 'RS256', use: 'sig',
};

const provider = new Provider(ISSUER, {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    redirect_uris: [REDIRECT_URI],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  }],
  clientAuthMethods: ['client_secret_basic'],
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  scopes: ['openid', 'profile'],
  claims: { openid: ['sub'], profile: [...profileClaims] },
  // Release the scope's claims in the id_token too, not only from userinfo.
  conformIdTokenClaims: false,
  // Every authorization request must carry a code_challenge; oidc-provider 9 knows only S256.
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(_ctx, sub) {
    if (!Object.hasOwn(ACCOUNTS, sub)) return undefined;
    return { accountId: sub, claims: async () => ({ ...ACCOUNTS[sub], sub }) };
  },
});

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res, status, title, body) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(`<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>`
    + `<body><h1>${escapeHtml(title)}</h1>\n${body}\n</body></html>\n`);
}

function loginPage(res, uid, status, error) {
  page(res, status, 'Sign-in', `${error ? `<p class="error">${escapeHtml(error)}</p>\n` : ''}`
    + `<form autocomplete="off" action="/interaction/${escapeHtml(uid)}/login" method="post">\n`
    + '  <input required type="text" name="login" placeholder="Login name" autofocus>\n'
    + '  <button type="submit">Sign-in</button>\n</form>');
}

function consentPage(res, uid, clientId, scope) {
  page(res, 200, 'Authorize', `<p>${escapeHtml(clientId)} asks for: ${escapeHtml(scope)}</p>\n`
    + `<form autocomplete="off" action="/interaction/${escapeHtml(uid)}/confirm" method="post">\n`
    + '  <button type="submit">Continue</button>\n</form>\n'
    + `<form action="/interaction/${escapeHtml(uid)}/abort" method="post"><button>Cancel</button></form>`);
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) {
    page(res, 400, 'Error', '<p class="error">interaction mismatch</p>');
    return;
  }
  const { prompt, params, session, grantId } = details;
  if (req.method === 'GET' && action === undefined) {
    if (prompt.name === 'login') loginPage(res, uid, 200);
    else if (prompt.name === 'consent') consentPage(res, uid, params.client_id, params.scope);
    else page(res, 501, 'Error', `<p class="error">prompt ${escapeHtml(prompt.name)} not implemented</p>`);
    return;
  }
  if (req.method !== 'POST') {
    page(res, 405, 'Error', '<p class="error">method not allowed</p>');
    return;
  }
  if (action === 'login' && prompt.name === 'login') {
    const login = (await readForm(req)).get('login') ?? '';
    if (!Object.hasOwn(ACCOUNTS, login)) {
      loginPage(res, uid, 401, 'Unknown login');
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: login } }, {
      mergeWithLastSubmission: false,
    });
    return;
  }
  if (action === 'confirm' && prompt.name === 'consent') {
    const grant = grantId
      ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
    for (const [indicator, scope] of Object.entries(missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scope.join(' '));
    }
    await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, {
      mergeWithLastSubmission: true,
    });
    return;
  }
  if (action === 'abort') {
    await provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
    return;
  }
  page(res, 400, 'Error', `<p class="error">${escapeHtml(action)} does not fit prompt ${escapeHtml(prompt.name)}</p>`);
}

const oidc = provider.callback();
const server = http.createServer((req, res) => {
  const match = /^\/interaction\/([^/?]+)(?:\/(login|confirm|abort))?(?:\?.*)?$/.exec(req.url);
  if (!match) {
    oidc(req, res);
    return;
  }
  interaction(req, res, match[1], match[2]).catch((err) => {
    if (!res.headersSent) {
      page(res, 400, 'Error', `<p class="error">${escapeHtml(err.name)}: ${escapeHtml(err.message)}</p>`);
    } else {
      res.end();
    }
  });
});

server.listen(PORT, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${ISSUER}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => process.exit(0));
}
