/**
 * A decision that requires a device (`require_device`, `require_user_verification`) on the Check
 * path: met only by a session whose record holds a proof of possession of an enrolled device
 * younger than `device.webauthn.proof_interval_seconds` (with user verification when asked). A
 * browser navigation is sent to the devices page and back; anything else gets 401
 * ERR_DEVICE_PROOF_REQUIRED. A copied cookie without the authenticator stops working once the
 * proof ages past the interval.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createCheckHandler } from '../../../src/check/handle.js';
import { normalizeDecision } from '../../../src/decision/normalize.js';
import { isEnvoyHttpStatus } from '../../../src/response/check-response.js';
import type { CheckResponse } from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import type { Caller } from '../../../src/identity/caller.js';
import type { VerifiedSession } from '../../../src/identity/session/types.js';
import { createLogger } from '../../../src/log/logger.js';
import { enrolledInput } from '../../../src/device/webauthn/enrolled-input.js';
import { MemoryDeviceRegistry } from '../../../src/device/webauthn/memory-registry.js';
import { ALICE, API, fakePolicy, fakeRuntime, NAV, request, ROBOT, SESSION } from './support.js';

const SILENT = createLogger({ level: 'silent' });
const INTERVAL = 600;
const now = () => Math.floor(Date.now() / 1000);
const DEVICE = { allowed: true, require_device: true };
const UV = { allowed: true, require_user_verification: true };

function withProof(provedAgo: number, userVerified = true): VerifiedSession {
  return Object.freeze({
    ...SESSION,
    device_id: 'cred-1',
    device_proved_at: now() - provedAgo,
    device_user_verified: userVerified,
  });
}

function sessionCaller(session: VerifiedSession): Caller {
  return { kind: 'session', identity: ALICE, session, credential: undefined };
}

async function check(
  caller: Caller,
  policy: unknown,
  headers: Record<string, string>,
  webauthn = true,
) {
  const runtime = {
    ...fakeRuntime({ caller }),
    ...(webauthn
      ? {
          deviceProofIntervalSeconds: INTERVAL,
          devices: async () => undefined,
        }
      : {}),
  };
  return createCheckHandler({ policy: () => fakePolicy(policy), identity: runtime, log: SILENT })(
    request('/admin?x=1', headers),
  );
}

function status(response: CheckResponse): number {
  const r = response.httpResponse;
  if (r.case === 'okResponse') return 200;
  return r.case === 'deniedResponse' ? (r.value.status?.code ?? 403) : 0;
}

function header(response: CheckResponse, name: string): string | undefined {
  const r = response.httpResponse;
  if (r.case !== 'deniedResponse') return undefined;
  return r.value.headers.find((h) => h.header?.key.toLowerCase() === name)?.header?.value;
}

function errorOf(response: CheckResponse): unknown {
  const r = response.httpResponse;
  return r.case === 'deniedResponse' ? (JSON.parse(r.value.body) as { error: unknown }).error : '';
}

test('require_device met: a session with a fresh proof is allowed', async () => {
  for (const policy of [DEVICE, UV]) {
    const outcome = await check(sessionCaller(withProof(10)), policy, NAV);
    assert.equal(status(outcome.response), 200, JSON.stringify(policy));
  }
});

test('require_device, no proof yet: a browser goes to the devices page and comes back here', async () => {
  const outcome = await check(sessionCaller(SESSION), DEVICE, NAV);
  assert.equal(status(outcome.response), 302);
  const location = new URL(header(outcome.response, 'location') ?? '', 'https://x');
  assert.equal(location.pathname, '/.gatehouse/devices');
  assert.equal(location.searchParams.get('rd'), '/admin?x=1');
  assert.equal(location.searchParams.get('why'), 'no_proof');
});

test('a copied cookie stops working: the proof ages past proof_interval_seconds', async () => {
  const stale = await check(sessionCaller(withProof(INTERVAL + 5)), DEVICE, API);
  assert.equal(status(stale.response), 401);
  assert.equal(errorOf(stale.response), 'ERR_DEVICE_PROOF_REQUIRED');
  const browser = await check(sessionCaller(withProof(INTERVAL + 5)), DEVICE, NAV);
  assert.equal(
    new URL(header(browser.response, 'location') ?? '', 'https://x').searchParams.get('why'),
    'proof_expired',
  );
});

test('require_user_verification: the browser is sent to the proof with uv=required, require_device without', async () => {
  for (const session of [SESSION, withProof(10, false), withProof(INTERVAL + 5)]) {
    const uv = await check(sessionCaller(session), UV, NAV);
    const location = new URL(header(uv.response, 'location') ?? '', 'https://x');
    assert.equal(location.pathname, '/.gatehouse/devices');
    assert.equal(location.searchParams.get('uv'), 'required');
  }
  const plain = await check(sessionCaller(SESSION), DEVICE, NAV);
  assert.equal(
    new URL(header(plain.response, 'location') ?? '', 'https://x').searchParams.get('uv'),
    null,
  );
});

test('require_user_verification: a proof without UV falls short', async () => {
  const outcome = await check(sessionCaller(withProof(10, false)), UV, API);
  assert.equal(status(outcome.response), 401);
  assert.equal(errorOf(outcome.response), 'ERR_DEVICE_PROOF_REQUIRED');
  assert.equal(
    status((await check(sessionCaller(withProof(10, false)), DEVICE, API)).response),
    200,
  );
});

test('require_device fails closed: a bearer token, or WebAuthn not configured', async () => {
  const bearer: Caller = { kind: 'bearer', identity: ROBOT, credential: undefined };
  const viaToken = await check(bearer, DEVICE, NAV);
  assert.equal(status(viaToken.response), 401);
  assert.equal(errorOf(viaToken.response), 'ERR_DEVICE_PROOF_REQUIRED');
  const unconfigured = await check(sessionCaller(withProof(10)), DEVICE, NAV, false);
  assert.equal(status(unconfigured.response), 401);
  assert.equal(errorOf(unconfigured.response), 'ERR_DEVICE_PROOF_REQUIRED');
});

test('decision fields: booleans only; a deny never carries a requirement', () => {
  assert.deepEqual(normalizeDecision(DEVICE, isEnvoyHttpStatus).requireDevice, {
    userVerification: false,
  });
  assert.deepEqual(normalizeDecision(UV, isEnvoyHttpStatus).requireDevice, {
    userVerification: true,
  });
  assert.equal(
    normalizeDecision({ allowed: true, require_device: false }, isEnvoyHttpStatus).requireDevice,
    undefined,
  );
  assert.equal(
    normalizeDecision({ allowed: false, require_device: true }, isEnvoyHttpStatus).requireDevice,
    undefined,
  );
  for (const bad of ['yes', 1, null, []])
    assert.throws(
      () => normalizeDecision({ allowed: true, require_device: bad }, isEnvoyHttpStatus),
      {
        code: 'ERR_DECISION_INVALID',
      },
    );
});

test('input.device.enrolled: the device this session proved, read from the registry; null without a proof', async () => {
  const registry = new MemoryDeviceRegistry();
  await registry.create({
    id: 'cred-1',
    sub: 'alice',
    kind: 'platform',
    public_key: 'k',
    counter: 0,
    transports: ['internal'],
    aaguid: '00000000-0000-0000-0000-000000000000',
    attestation_format: 'none',
    registered_at: 1_790_000_000,
    approval: 'approved',
  });
  const run = async (session: VerifiedSession) => {
    const policy = fakePolicy(true);
    const runtime = {
      ...fakeRuntime({ caller: sessionCaller(session) }),
      deviceProofIntervalSeconds: INTERVAL,
      enrolledDevice: (s: VerifiedSession | undefined, nowSeconds: number) =>
        enrolledInput(registry, s, INTERVAL, nowSeconds),
    };
    await createCheckHandler({
      policy: () => policy,
      identity: runtime,
      log: SILENT,
      device: { xfccTrusted: false },
    })(request('/admin', API));
    return (policy.inputs[0] as { device: { enrolled: unknown } }).device.enrolled;
  };
  const fresh = withProof(10);
  assert.deepEqual(await run(fresh), {
    id: 'cred-1',
    kind: 'platform',
    registered_at: 1_790_000_000,
    approval: 'approved',
    proved_at: fresh.device_proved_at,
    user_verified: true,
    proof_fresh: true,
  });
  assert.equal(
    ((await run(withProof(INTERVAL + 5))) as { proof_fresh: boolean }).proof_fresh,
    false,
  );
  assert.equal(await run(SESSION), null);
  await registry.revoke('cred-1');
  assert.equal(((await run(fresh)) as { approval: string }).approval, 'revoked');
  assert.equal(((await run(fresh)) as { proof_fresh: boolean }).proof_fresh, false);
});

test('the proof interval runs on the injected clock: a proof older than the interval by the test clock demands a new one', async () => {
  // A time far from the wall clock: only the Check's injected clock can make this proof fresh.
  const provedAt = 1_500_000_000;
  const clock = { ms: (provedAt + 10) * 1000 };
  const session: VerifiedSession = Object.freeze({
    ...SESSION,
    device_id: 'cred-1',
    device_proved_at: provedAt,
    device_user_verified: true,
  });
  const enrolledAt: number[] = [];
  const runtime = {
    ...fakeRuntime({ caller: sessionCaller(session) }),
    deviceProofIntervalSeconds: INTERVAL,
    devices: async () => undefined,
    enrolledDevice: async (_s: VerifiedSession | undefined, nowSeconds: number) => {
      enrolledAt.push(nowSeconds);
      return null;
    },
  };
  const handler = createCheckHandler({
    policy: () => fakePolicy(DEVICE),
    identity: runtime,
    log: SILENT,
    device: { xfccTrusted: false },
    now: () => clock.ms,
  });
  const fresh = await handler(request('/admin', API));
  assert.equal(status(fresh.response), 200, 'fresh by the test clock');
  clock.ms = (provedAt + INTERVAL) * 1000;
  assert.equal(status((await handler(request('/admin', API))).response), 200, 'at the interval');
  clock.ms = (provedAt + INTERVAL + 1) * 1000;
  const stale = await handler(request('/admin', API));
  assert.equal(status(stale.response), 401);
  assert.equal(errorOf(stale.response), 'ERR_DEVICE_PROOF_REQUIRED');
  const browser = await handler(request('/admin', NAV));
  assert.equal(
    new URL(header(browser.response, 'location') ?? '', 'https://x').searchParams.get('why'),
    'proof_expired',
  );
  // input.device.enrolled is computed on the same clock.
  assert.deepEqual(enrolledAt, [
    provedAt + 10,
    provedAt + INTERVAL,
    provedAt + INTERVAL + 1,
    provedAt + INTERVAL + 1,
  ]);
});
