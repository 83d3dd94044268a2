// npm oidc-provider 9 as the side-by-side peer of bench/run.py. Not part of IAM.
//
//   PORT=8123 BENCH_CLIENT_SECRET=... NODE_ENV=production node bench/oidc-provider/server.mjs
//
// One process, in-memory adapter, keys made at start-up (EC P-256 and RSA-2048). Four static
// clients with client_secret_basic, all with scope "api", allowed client_credentials:
//   bench-rs256            gets RFC 9068 JWT access tokens signed RS256
//   bench-es256            gets RFC 9068 JWT access tokens signed ES256
//   bench-opaque           gets opaque access tokens (oidc-provider does not introspect its
//                          own JWTs: unsupported_token_type), stored in the in-memory adapter
//   bench-resource-server  only calls introspection
// A plain client_credentials request (no `resource`) goes to the one default resource.
import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const secret = process.env.BENCH_CLIENT_SECRET;
if (!port || !secret) {
  console.error('PORT and BENCH_CLIENT_SECRET are required');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;
const RESOURCE = 'https://api.bench.invalid/';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });

const client = (clientId) => ({
  client_id: clientId,
  client_secret: secret,
  token_endpoint_auth_method: 'client_secret_basic',
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  scope: 'api',
});

const FORMAT = {
  'bench-rs256': { accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } },
  'bench-es256': { accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } },
};

const provider = new Provider(issuer, {
  clients: ['bench-rs256', 'bench-es256', 'bench-opaque', 'bench-resource-server'].map(client),
  jwks: { keys: [{ ...rsa, kid: 'rs256', use: 'sig' }, { ...ec, kid: 'es256', use: 'sig' }] },
  scopes: ['openid', 'api'],
  cookies: { keys: [secret] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (_ctx, _client, oneOf) => oneOf ?? RESOURCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resourceIndicator, forClient) => {
        if (resourceIndicator !== RESOURCE) throw new Provider.errors.InvalidTarget();
        return {
          scope: 'api',
          audience: RESOURCE,
          accessTokenTTL: 3600,
          ...(FORMAT[forClient.clientId] ?? { accessTokenFormat: 'opaque' }),
        };
      },
    },
  },
});

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
