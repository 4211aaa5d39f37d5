/**
 * A loopback identity provider for bearer tests: a JWKS endpoint that counts fetches, keys
 * generated with jose, and a canary server that must never be contacted.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTHeaderParameters,
} from 'jose';

export const ISSUER = 'https://idp.example.test';
export const AUDIENCE = 'api://gatehouse-test';
/** Gatehouse's own client id at the fake IdP: the audience of its ID tokens. */
export const CLIENT_ID = 'gatehouse-client';

/** A key the fake IdP signs with. */
export interface IdpKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

export async function idpKey(
  kid: string,
  alg = 'ES256',
  options: { crv?: string } = {},
): Promise<IdpKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(options.crv === undefined ? {} : { crv: options.crv }),
  });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, jwk };
}

/** A loopback HTTP server counting requests; `body` decides what it answers. */
export interface CountingServer {
  readonly url: URL;
  readonly requests: string[];
  body: () => unknown;
  status: number;
  close(): Promise<void>;
}

export async function countingServer(
  initial: () => unknown = () => ({ keys: [] }),
): Promise<CountingServer> {
  const state: { body: () => unknown; status: number } = { body: initial, status: 200 };
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '');
    res.writeHead(state.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(state.body()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/jwks.json`),
    requests,
    get body() {
      return state.body;
    },
    set body(value) {
      state.body = value;
    },
    get status() {
      return state.status;
    },
    set status(value) {
      state.status = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Sign an access token with `key`; claims and header override the valid defaults. */
export async function accessToken(
  key: IdpKey,
  now: number,
  claims: Record<string, unknown> = {},
  header: Readonly<Record<string, string | undefined>> = {},
): Promise<string> {
  // RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti.
  return new SignJWT({
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'api-client-1',
    client_id: 'api-client',
    jti: `jti-${now}-${Math.random()}`,
    iat: now,
    exp: now + 300,
    scope: 'read',
    groups: ['api'],
    ...claims,
  })
    .setProtectedHeader({
      alg: key.alg,
      kid: key.kid,
      typ: 'at+jwt',
      ...header,
    } as JWTHeaderParameters)
    .sign(key.privateKey);
}
