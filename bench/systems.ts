/**
 * The systems under test, started as separate processes pinned to the server CPU:
 * Gatehouse (`gatehouse serve`) and the OPA-Envoy plugin (`opa-envoy-plugin run --server`),
 * each serving one benchmark scenario's policy (bench/policies/<system>/<scenario>/), and a
 * tiny identity provider (in the harness process): discovery + JWKS for the bearer JWTs the
 * identity scenarios send, and the authorization code flow (authorize + token, PKCE S256) through
 * which the `sessions` stage signs its users in to Gatehouse (bench/sessions.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect as netConnect } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromJson, type JsonValue } from '@bufbuild/protobuf';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { stringify } from 'yaml';
import {
  CheckRequestSchema,
  type CheckRequest,
  type CheckResponse,
} from '../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { connect } from '../test/support/grpc-client.js';
import { freePort, ROOT, run, SERVER_CPU, spawnPinned, waitFor, type Pinned } from './lib.js';
import { NODE_FLAGS } from '../src/server/node-flags.js';

export type SystemName = 'gatehouse' | 'plugin';
export type ScenarioName = 'noop' | 'rbac' | 'headers';
export const SYSTEMS: readonly SystemName[] = ['gatehouse', 'plugin'];
export const SCENARIOS: readonly ScenarioName[] = ['noop', 'rbac', 'headers'];
export const SYSTEM_LABELS: Record<SystemName | 'envoy', string> = {
  gatehouse: 'Gatehouse',
  plugin: 'OPA-Envoy plugin',
  envoy: 'Envoy alone',
};

/** The rule each scenario's decision comes from (same path for both systems). */
const ENTRYPOINT: Record<ScenarioName, string> = {
  noop: 'envoy/authz/allow',
  rbac: 'envoy/authz/allow',
  headers: 'envoy/authz/result',
};
export const PLUGIN_BIN = join(ROOT, '.tools', 'bench', 'opa-envoy-plugin');
export const CLIENT_ID = 'gatehouse-bench';
/** The API's audience: what its RFC 9068 access tokens name (never the client id, which is the ID token's). */
export const API_AUDIENCE = 'https://api.bench.example';

/** A local identity provider: OIDC discovery and a JWKS, plus the token it "issued". */
export interface Idp {
  readonly issuer: string;
  readonly jwks: { keys: JWK[] };
  /** An RS256 access token for alice (groups: reader), valid for a day. */
  readonly token: string;
  /** The private keys behind the JWKS (`kid` bench-1 for RS256, bench-es-1 for ES256), to mint more tokens. */
  readonly privateKeys: Readonly<Record<'RS256' | 'ES256', CryptoKey>>;
  close(): Promise<void>;
}

export async function startIdp(): Promise<Idp> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench-1', alg: 'RS256', use: 'sig' };
  const ec = await generateKeyPair('ES256', { extractable: true });
  const ecJwk = { ...(await exportJWK(ec.publicKey)), kid: 'bench-es-1', alg: 'ES256', use: 'sig' };
  const jwks = { keys: [jwk, ecJwk] };
  let issuer = '';
  const codeFlow = authorizationCodeFlow(() => issuer, privateKey);
  const server: Server = createServer((req, res) => {
    if (req.url?.startsWith('/authorize?') === true || req.url === '/token') {
      codeFlow(req).then(
        ({ status, headers, body }) => {
          res.writeHead(status, headers);
          res.end(body);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: 'server_error', detail: String(err) }));
        },
      );
      return;
    }
    const body =
      req.url === '/.well-known/openid-configuration'
        ? {
            issuer,
            authorization_endpoint: `${issuer}/authorize`,
            token_endpoint: `${issuer}/token`,
            jwks_uri: `${issuer}/jwks`,
            response_types_supported: ['code'],
            subject_types_supported: ['public'],
            id_token_signing_alg_values_supported: ['RS256'],
            code_challenge_methods_supported: ['S256'],
          }
        : req.url === '/jwks'
          ? jwks
          : undefined;
    res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? { error: 'not found' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  issuer = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({
    email: 'alice@example.com',
    email_verified: true,
    name: 'Alice',
    groups: ['reader'],
    client_id: 'bench-client',
    jti: 'bench-token-1',
  })
    .setProtectedHeader({ alg: 'RS256', kid: 'bench-1', typ: 'at+jwt' })
    .setIssuer(issuer)
    .setAudience(API_AUDIENCE)
    .setSubject('alice')
    .setIssuedAt(now)
    .setExpirationTime(now + 86_400)
    .sign(privateKey);
  return {
    issuer,
    jwks,
    token,
    privateKeys: { RS256: privateKey, ES256: ec.privateKey },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** One answer of the bench IdP's code flow. */
interface IdpReply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Codes the bench IdP has issued and not yet redeemed (each redeemable once). */
const MAX_PENDING_CODES = 10_000;

/**
 * The authorization code flow of the bench IdP, for the `sessions` stage's sign-ins:
 * - `GET /authorize?response_type=code&client_id&redirect_uri&state&nonce&code_challenge(S256)&login_hint`:
 *   the user named by `login_hint` (`user-<i>`) "signs in" at once (a benchmark has no login form),
 *   and the browser is sent back to `redirect_uri` with a single-use code and the `state`;
 * - `POST /token` (public client, `grant_type=authorization_code`): the code, checked against the
 *   client id, redirect URI and PKCE verifier of its request, buys an RS256 ID token (`nonce`,
 *   groups reader + writer) and an opaque access token. Gatehouse verifies it with openid-client
 *   exactly as any IdP's.
 */
function authorizationCodeFlow(
  issuerOf: () => string,
  key: CryptoKey,
): (req: IncomingMessage) => Promise<IdpReply> {
  const pending = new Map<
    string,
    { sub: string; nonce: string; challenge: string; clientId: string; redirectUri: string }
  >();
  const json = (status: number, body: unknown): IdpReply => ({
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify(body),
  });
  return async (req) => {
    if (req.method === 'GET' && req.url?.startsWith('/authorize?') === true) {
      const q = new URL(req.url, 'http://idp').searchParams;
      const sub = q.get('login_hint') ?? '';
      const redirectUri = q.get('redirect_uri') ?? '';
      if (
        q.get('response_type') !== 'code' ||
        q.get('client_id') !== CLIENT_ID ||
        q.get('code_challenge_method') !== 'S256' ||
        !/^user-\d+$/.test(sub) ||
        !redirectUri.startsWith('https://')
      )
        return json(400, { error: 'invalid_request' });
      if (pending.size >= MAX_PENDING_CODES) pending.clear();
      const code = randomBytes(24).toString('base64url');
      pending.set(code, {
        sub,
        nonce: q.get('nonce') ?? '',
        challenge: q.get('code_challenge') ?? '',
        clientId: CLIENT_ID,
        redirectUri,
      });
      const back = new URL(redirectUri);
      back.searchParams.set('code', code);
      back.searchParams.set('state', q.get('state') ?? '');
      return { status: 302, headers: { location: back.href }, body: '' };
    }
    if (req.method !== 'POST') return json(405, { error: 'invalid_request' });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const code = form.get('code') ?? '';
    const grant = pending.get(code);
    pending.delete(code);
    const verifier = form.get('code_verifier') ?? '';
    if (
      grant === undefined ||
      form.get('grant_type') !== 'authorization_code' ||
      form.get('client_id') !== grant.clientId ||
      form.get('redirect_uri') !== grant.redirectUri ||
      createHash('sha256').update(verifier).digest('base64url') !== grant.challenge
    )
      return json(400, { error: 'invalid_grant' });
    const now = Math.floor(Date.now() / 1000);
    const n = grant.sub.slice('user-'.length);
    const idToken = await new SignJWT({
      nonce: grant.nonce,
      auth_time: now,
      email: `${grant.sub}@example.com`,
      email_verified: true,
      name: `User ${n}`,
      groups: ['reader', 'writer'],
    })
      .setProtectedHeader({ alg: 'RS256', kid: 'bench-1', typ: 'JWT' })
      .setIssuer(issuerOf())
      .setAudience(grant.clientId)
      .setSubject(grant.sub)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(key);
    return json(200, {
      access_token: randomBytes(24).toString('base64url'),
      token_type: 'Bearer',
      expires_in: 3600,
      id_token: idToken,
    });
  };
}

/**
 * The CheckRequest of a scenario, as Envoy's front-proxy config sends it for
 * `GET /api/items?page=2`; the identity scenarios carry the IdP's bearer token.
 */
export function checkRequestJson(scenario: ScenarioName, token: string): JsonValue {
  const headers: Record<string, string> = {
    ':authority': 'app.example.com',
    ':method': 'GET',
    ':path': '/api/items?page=2',
    ':scheme': 'http',
    accept: 'application/json',
    'user-agent': 'bench',
    'x-forwarded-proto': 'http',
    'x-request-id': '6f1c1f2e-8a43-4a39-9d2b-3f9c2b1f0a77',
  };
  if (scenario !== 'noop') headers['authorization'] = `Bearer ${token}`;
  return {
    attributes: {
      source: { address: { socketAddress: { address: '127.0.0.1', portValue: 50000 } } },
      destination: { address: { socketAddress: { address: '127.0.0.1', portValue: 8080 } } },
      request: {
        time: '2026-11-23T12:00:00Z',
        http: {
          id: '6f1c1f2e-8a43-4a39-9d2b-3f9c2b1f0a77',
          method: 'GET',
          headers,
          path: '/api/items?page=2',
          host: 'app.example.com',
          scheme: 'http',
          protocol: 'HTTP/1.1',
        },
      },
      contextExtensions: { route: 'app' },
    },
  };
}

/** A running system under test. */
export interface RunningSystem {
  readonly name: SystemName;
  readonly scenario: ScenarioName;
  /** gRPC Check port on 127.0.0.1. */
  readonly port: number;
  readonly process: Pinned;
}

export interface StartOptions {
  readonly idp: Idp;
  /** Scratch folder for configs. */
  readonly dir: string;
  /** Gatehouse's log.level (its decision log is one line per Check at `info`). */
  readonly logLevel: string;
  /** Extra node flags for Gatehouse (e.g. --cpu-prof). */
  readonly nodeFlags?: readonly string[];
  /** Gatehouse's `workers` (default 1: one process, as every scenario but scaling runs it). */
  readonly workers?: number;
  /** The CPUs Gatehouse may use, as `taskset -c` takes them (default: the server CPU alone). */
  readonly cpus?: string;
  /** Gatehouse's `session.store` (default: none, i.e. the `memory` store). */
  readonly sessionStore?: Readonly<Record<string, unknown>>;
}

let started = 0;

export async function startSystem(
  name: SystemName,
  scenario: ScenarioName,
  options: StartOptions,
): Promise<RunningSystem> {
  const port = await freePort();
  const policyDir = join(ROOT, 'bench', 'policies', name, scenario);
  const dir = join(options.dir, `${name}-${scenario}-${++started}`);
  mkdirSync(dir, { recursive: true });
  let proc: Pinned;
  if (name === 'gatehouse') {
    const cli = join(ROOT, 'dist', 'src', 'cli', 'main.js');
    await run(process.execPath, [cli, 'keygen', '--out', join(dir, 'keys')]);
    const config = {
      grpc: { address: '127.0.0.1', port },
      http: { address: '127.0.0.1', port: 0 },
      policy: {
        dir: policyDir,
        entrypoint: ENTRYPOINT[scenario],
        opa: join(ROOT, '.tools', 'bin', 'opa'),
        watch: false,
      },
      // Only for the plain-http loopback identity provider; keys and secret are real files.
      development: true,
      identity: {
        issuer: options.idp.issuer,
        client_id: CLIENT_ID,
        bearer: { audiences: [API_AUDIENCE] },
      },
      keys: { signing: [join(dir, 'keys', 'signing-key.pem')] },
      session: {
        secret: { file: join(dir, 'keys', 'session-secret') },
        ...(options.sessionStore === undefined ? {} : { store: options.sessionStore }),
      },
      log: { level: options.logLevel },
      workers: options.workers ?? 1,
    };
    const configFile = join(dir, 'config.yaml');
    writeFileSync(configFile, stringify(config));
    // As shipped (Dockerfile ENTRYPOINT, bin): Gatehouse's V8 flags, then any the caller adds.
    const argv = [
      ...NODE_FLAGS,
      ...(options.nodeFlags ?? []),
      cli,
      'serve',
      '--config',
      configFile,
    ];
    // Another CPU set: taskset (pinned to the server CPU) execs a second taskset that widens the
    // mask and execs node, so the pid is still Gatehouse's (the primary, with workers > 1);
    // cluster workers inherit the mask.
    proc =
      options.cpus === undefined || options.cpus === String(SERVER_CPU)
        ? spawnPinned(SERVER_CPU, process.execPath, argv)
        : spawnPinned(SERVER_CPU, 'taskset', ['-c', options.cpus, process.execPath, ...argv]);
  } else {
    const data = {
      bench: {
        jwks: JSON.stringify(options.idp.jwks),
        issuer: options.idp.issuer,
        audience: API_AUDIENCE,
      },
    };
    const dataFile = join(dir, 'data.json');
    writeFileSync(dataFile, JSON.stringify(data));
    const httpPort = await freePort();
    proc = spawnPinned(
      SERVER_CPU,
      PLUGIN_BIN,
      [
        'run',
        '--server',
        // No version check / telemetry: it would call out to the internet on start.
        '--disable-telemetry',
        '--addr',
        `127.0.0.1:${httpPort}`,
        '--log-level',
        'error',
        '--set',
        `plugins.envoy_ext_authz_grpc.addr=127.0.0.1:${port}`,
        '--set',
        `plugins.envoy_ext_authz_grpc.path=${ENTRYPOINT[scenario]}`,
        '--set',
        'decision_logs.console=false',
        join(policyDir, 'policy.rego'),
        dataFile,
      ],
      { GOMAXPROCS: '1' },
    );
  }
  const system: RunningSystem = { name, scenario, port, process: proc };
  try {
    await validate(system, options.idp);
  } catch (err) {
    await proc.stop();
    throw new Error(
      `${name}/${scenario}: ${(err as Error).message}\n${proc.output().slice(0, 4000)}`,
      { cause: err },
    );
  }
  return system;
}

/**
 * Wait until the system answers, then prove the scenario measures what it claims: the
 * benchmark request is allowed (with the scenario's headers), and in the identity scenarios the
 * same request without its token is denied.
 */
async function validate(system: RunningSystem, idp: Idp): Promise<void> {
  await waitFor(`${system.name} port ${system.port}`, () => {
    if (system.process.child.exitCode !== null)
      throw new Error(`exited with ${system.process.child.exitCode}`);
    return new Promise((resolve) => {
      const socket = netConnect(system.port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      }).once('error', () => resolve(false));
    });
  });
  const client = connect(system.port);
  const request = (json: JsonValue): CheckRequest => fromJson(CheckRequestSchema, json);
  // Envoy allows on status OK; the plugin leaves ok_response out when it has nothing to add.
  const allowed = (r: CheckResponse): boolean =>
    (r.status?.code ?? 0) === 0 && r.httpResponse.case !== 'deniedResponse';
  try {
    let response: CheckResponse | undefined;
    await waitFor(`${system.name} Check`, async () => {
      if (system.process.child.exitCode !== null)
        throw new Error(`exited with ${system.process.child.exitCode}`);
      response = await client.check(request(checkRequestJson(system.scenario, idp.token)));
      return allowed(response);
    }).catch((err: unknown) => {
      throw new Error(
        `${(err as Error).message}; last response: ${JSON.stringify({ status: response?.status?.code, case: response?.httpResponse.case })}`,
      );
    });
    if (system.scenario === 'headers') {
      const ok =
        response?.httpResponse.case === 'okResponse' ? response.httpResponse.value : undefined;
      const names = new Set((ok?.headers ?? []).map((h) => h.header?.key.toLowerCase()));
      if (!names.has('x-user-id') || !names.has('x-user-roles'))
        throw new Error(`allowed without the scenario's headers: ${[...names].join(', ')}`);
    }
    if (system.scenario !== 'noop') {
      const anonymous = await client.check(request(checkRequestJson('noop', idp.token)));
      if (allowed(anonymous))
        throw new Error(
          'a request without a token was allowed: the policy does not enforce identity',
        );
    }
  } finally {
    client.close();
  }
}

/** Write a scenario's CheckRequest for ghz (`-D`). */
export function writeCheckRequest(dir: string, scenario: ScenarioName, token: string): string {
  const file = join(dir, `check-${scenario}.json`);
  const json = checkRequestJson(scenario, token);
  fromJson(CheckRequestSchema, json); // throws unless it is valid protobuf-JSON, as ghz needs
  writeFileSync(file, JSON.stringify(json));
  return file;
}
