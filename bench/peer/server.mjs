// The peer that docs/sizing.md compares Porta with: the OpenID-certified oidc-provider
// (Node), configured as Porta is in bench/run.sh: confidential apps (client_secret_basic)
// with the code, refresh and client-credentials grants, tokens signed RS256 with one
// RSA-2048 key, refresh tokens rotating on every use (Porta always rotates). Two apps:
// `bench` gets RS256 JWT access tokens (RFC 9068, through resource indicators), as Porta
// issues them; `bench-opaque` gets the peer's default, opaque access tokens (no signature;
// the token is a row in the peer's store, and the one that its introspection and userinfo
// accept). Grants live in the provider's own in-memory store, so the peer does no
// database work at all. Started by bench/peer.sh; localhost only.
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.PEER_PORT || 18090);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench', use: 'sig', alg: 'RS256' };
const api = 'urn:porta-bench:api';

const provider = new Provider(issuer, {
  clients: ['bench', 'bench-opaque'].map((id) => ({
    client_id: id,
    client_secret: process.env.PEER_SECRET || 'bench-secret-bench-secret-bench-secret',
    redirect_uris: ['http://127.0.0.1:9/cb'],
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: id === 'bench' ? 'openid email offline_access api' : 'openid email offline_access',
  })),
  jwks: { keys: [jwk] },
  scopes: ['openid', 'email', 'offline_access', 'api'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  async findAccount(_ctx, sub) {
    return { accountId: sub, claims: async () => ({ sub, email: `${sub}@example.com`, email_verified: true }) };
  },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: (_ctx, client) => (client?.clientId === 'bench' ? api : undefined),
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'api',
        audience: api,
        accessTokenTTL: 600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  rotateRefreshToken: () => true,
  ttl: { AccessToken: 600, ClientCredentials: 600, IdToken: 600, RefreshToken: 86400, Grant: 86400 },
  cookies: { keys: ['bench-cookie-key-bench-cookie-key'] },
  pkce: { required: () => false },
});
provider.on('server_error', (_ctx, err) => console.error('server_error', err));
provider.listen(port, '127.0.0.1', () => console.log(`peer listening on ${issuer}`));
