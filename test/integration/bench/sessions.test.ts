/**
 * The benchmark's `sessions` stage measures what it claims: its sign-ins (bench/sessions.ts,
 * through the Check API against the bench IdP's code flow) give real sessions that Gatehouse
 * allows on the role-based benchmark policy with the stage's exact request (bench/traffic.ts,
 * the session cookie among the site's cookies), with the `memory` and the `redis` store; and a
 * request without a valid session is not allowed, so the stage cannot measure an open door.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fromBinary, fromJson } from '@bufbuild/protobuf';
import { signInUsers } from '../../../bench/sessions.js';
import { API_AUDIENCE, CLIENT_ID, startIdp } from '../../../bench/systems.js';
import { mintTokens, trafficGrpcBody, trafficRequestJson } from '../../../bench/traffic.js';
import {
  CheckRequestSchema,
  type CheckResponse,
} from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { generateKeyFiles } from '../../../src/keys/generate.js';
import { startTestGatehouse } from '../../support/gatehouse.js';
import { connect } from '../../support/grpc-client.js';
import { repoPath } from '../../support/paths.js';
import { startRedis } from '../../support/redis.js';
import { requireTool } from '../../support/tools.js';

const USERS = 6;

function verdict(response: CheckResponse): { allowed: boolean; user: string | undefined } {
  const r = response.httpResponse;
  const allowed = (response.status?.code ?? 0) === 0 && r.case !== 'deniedResponse';
  const user =
    r.case === 'okResponse'
      ? r.value.headers.find((h) => h.header?.key === 'x-gatehouse-user')?.header?.value
      : undefined;
  return { allowed, user };
}

test('bench sessions: the stage signs users in for real, and Gatehouse allows their session requests (memory and redis stores)', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const idp = await startIdp();
  t.after(() => idp.close());
  const stores = {
    memory: { kind: 'memory' },
    redis: { kind: 'redis', url: redis.url, key_prefix: 'bench-test:' },
  };
  const cookiesOf: Record<string, string[]> = {};
  for (const [name, store] of Object.entries(stores)) {
    const keys = await generateKeyFiles(mkdtempSync(join(tmpdir(), 'gatehouse-bench-test-')));
    const { gatehouse } = await startTestGatehouse(
      {
        dir: repoPath('bench', 'policies', 'gatehouse', 'rbac'),
        entrypoint: 'envoy/authz/allow',
        opa,
        watch: false,
      },
      {
        // As bench/systems.ts configures it: development only for the loopback http:// issuer.
        development: true,
        identity: {
          issuer: idp.issuer,
          client_id: CLIENT_ID,
          bearer: { audiences: [API_AUDIENCE] },
        },
        keys: { signing: [keys.signingKeyFile] },
        session: { secret: { file: keys.sessionSecretFile }, store },
      },
    );
    t.after(() => gatehouse.stop());
    const client = connect(gatehouse.grpcPort);
    t.after(() => client.close());
    const check = (body: Buffer) => client.check(fromBinary(CheckRequestSchema, body.subarray(5)));

    const cookies = await signInUsers(gatehouse.grpcPort, idp.issuer, USERS, { concurrency: 3 });
    cookiesOf[name] = cookies;
    assert.equal(cookies.length, USERS, name);
    assert.equal(new Set(cookies).size, USERS, `${name}: one distinct session per user`);
    for (const [i, cookie] of cookies.entries()) {
      // The stage's exact request: what the load generator's frames file holds for this session.
      const json = trafficRequestJson(cookie, i, 'session');
      const headers = (fromJson(CheckRequestSchema, json).attributes?.request?.http?.headers ??
        {}) as Record<string, string>;
      assert.equal(headers['authorization'], undefined, 'a browser request carries no bearer');
      assert.match(headers['cookie'] ?? '', new RegExp(`; __Host-gatehouse=${cookie}; `));
      const got = verdict(await client.check(fromJson(CheckRequestSchema, json)));
      assert.deepEqual(got, { allowed: true, user: `user-${i}` }, `${name}: session of user-${i}`);
    }
    // No session, or a forged one: not allowed (the loadgen would count it as an error).
    assert.equal(verdict(await check(trafficGrpcBody('not-a-session', 'session'))).allowed, false);
    const [h, p, s = ''] = (cookies[0] as string).split('.');
    const flipped = s[10] === 'A' ? 'B' : 'A';
    const forged = `${h}.${p}.${s.slice(0, 10)}${flipped}${s.slice(11)}`;
    assert.equal(verdict(await check(trafficGrpcBody(forged, 'session'))).allowed, false);
    // The stage's reference bearer request (same policy, same shape, a token) is allowed too.
    const [token] = mintTokens(idp, 'RS256', 1);
    assert.deepEqual(verdict(await check(trafficGrpcBody(token as string))), {
      allowed: true,
      user: 'user-0',
    });
  }
  // Each Gatehouse has its own keys: a session from one is no session at the other.
  const other = await startTestGatehouse(
    {
      dir: repoPath('bench', 'policies', 'gatehouse', 'rbac'),
      entrypoint: 'envoy/authz/allow',
      opa,
      watch: false,
    },
    {
      development: true,
      identity: { issuer: idp.issuer, client_id: CLIENT_ID, bearer: { audiences: [API_AUDIENCE] } },
    },
  );
  t.after(() => other.gatehouse.stop());
  const client = connect(other.gatehouse.grpcPort);
  t.after(() => client.close());
  const foreign = trafficGrpcBody(cookiesOf['memory']?.[0] as string, 'session');
  assert.equal(
    verdict(await client.check(fromBinary(CheckRequestSchema, foreign.subarray(5)))).allowed,
    false,
  );
});
