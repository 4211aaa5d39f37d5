/**
 * The example policies in `policies/examples/` run in Gatehouse, not only in `opa`:
 * each is compiled with the real `opa build -t wasm` through Gatehouse's loader (which refuses
 * a policy needing a builtin Gatehouse does not provide), evaluated in Gatehouse's wasm engine
 * on inputs built by Gatehouse's own input pipeline from recorded requests (the same forms
 * `gatehouse check --request` reads), and the decisions are checked three ways: against the
 * expected value, against `opa eval` of the same Rego, and through Gatehouse's decision
 * normaliser (so every decision is one Gatehouse accepts).
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { create, toJson } from '@bufbuild/protobuf';
import { parseRecordedRequest } from '../../../src/cli/request-file.js';
import { resolveDevice } from '../../../src/device/resolve.js';
import type { DeviceInput } from '../../../src/input/device.js';
import { normalizeDecision } from '../../../src/decision/normalize.js';
import { CheckRequestSchema } from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { buildInput } from '../../../src/input/build.js';
import {
  ANONYMOUS,
  type AuthenticatedIdentity,
  type Identity,
  type JsonObject,
} from '../../../src/input/types.js';
import { loadPolicy, type LoadedPolicy } from '../../../src/policy/load.js';
import { isEnvoyHttpStatus } from '../../../src/response/check-response.js';
import { DeviceCa } from '../../support/device-certs.js';
import { repoPath } from '../../support/paths.js';
import { requireTool } from '../../support/tools.js';
import { opaEval } from './support.js';

const EXAMPLES = repoPath('policies', 'examples');

/** A request in `gatehouse check`'s simple form, plus the source address Envoy would report. */
interface Recorded {
  readonly method?: string;
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly context_extensions?: Record<string, string>;
  readonly source?: string;
}

interface Case {
  readonly name: string;
  readonly request: Recorded;
  readonly identity: Identity;
  /** RFC 3339 instant for `time.now_ns()`. */
  readonly now?: string;
  /** `input.device`, as Gatehouse's device stage made it from a presented certificate. */
  readonly device?: DeviceInput;
  readonly expected: unknown;
}

function user(
  groups: string[],
  fields: Partial<AuthenticatedIdentity> = {},
): AuthenticatedIdentity {
  const email = fields.email === undefined ? 'alice@example.com' : fields.email;
  return {
    authenticated: true,
    method: 'session',
    sub: 'alice',
    email,
    email_verified: true,
    name: 'Alice',
    groups,
    claims: { sub: 'alice', email, groups } as JsonObject,
    session_id: 'sess-1',
    issued_at: 1_714_550_400,
    expires_at: 1_714_554_000,
    ...fields,
  };
}

/** The CheckRequest Gatehouse would receive, through the same parser as `gatehouse check`. */
function checkRequest(recorded: Recorded) {
  const { source, ...simple } = recorded;
  const parsed = parseRecordedRequest(simple);
  if (source === undefined) return parsed;
  // Add the peer address through the CheckRequest (protobuf JSON) form of a request file.
  const json = toJson(CheckRequestSchema, parsed) as { attributes: Record<string, unknown> };
  json.attributes['source'] = { address: { socketAddress: { address: source, portValue: 40000 } } };
  return parseRecordedRequest(json);
}

const AUTH_REQUIRED = { allowed: false, reasons: ['authentication required'] };
const get = (url: string, extra: Partial<Recorded> = {}): Recorded => ({
  method: 'GET',
  url,
  headers: { accept: 'text/html' },
  ...extra,
});
const json = (url: string, body: unknown): Recorded => ({
  method: 'POST',
  url,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

// The company device CA, and an impostor with the very same names but its own key.
const deviceCa = new DeviceCa('Acme Corp');
const impostorCa = new DeviceCa('Acme Corp');

/** `input.device` for a certificate from `ca`, verified against the company device CA. */
function presented(ca: DeviceCa | undefined, sans: readonly string[] = []): DeviceInput {
  const pem = ca?.issue({ subject: '/O=Acme Corp/CN=laptop-1', sans }).pem;
  const request = create(CheckRequestSchema, {
    attributes: { source: { certificate: pem === undefined ? '' : encodeURIComponent(pem) } },
  });
  const trust = { anchors: [new X509Certificate(deviceCa.pem)], requireClientAuth: true };
  return { ...resolveDevice(request, { trust, xfccTrusted: false }).device, session_bound: false };
}

const examples: Record<string, Case[]> = {
  email_domain: [
    {
      name: 'anonymous',
      request: get('https://app.example.com/'),
      identity: ANONYMOUS,
      expected: AUTH_REQUIRED,
    },
    {
      name: 'verified address at the domain',
      request: get('https://app.example.com/'),
      identity: user([], { email: 'Alice@Example.com' }),
      expected: {
        allowed: true,
        reasons: ['Alice@Example.com is a verified address at example.com'],
      },
    },
    {
      name: 'unverified address',
      request: get('https://app.example.com/'),
      identity: user([], { email_verified: false }),
      expected: {
        allowed: false,
        reasons: ['a verified email address at example.com is required'],
      },
    },
    {
      name: 'look-alike domain',
      request: get('https://app.example.com/'),
      identity: user([], { email: 'eve@example.com.evil.test' }),
      expected: {
        allowed: false,
        reasons: ['a verified email address at example.com is required'],
      },
    },
    {
      name: 'no email (a bearer token for a service)',
      request: get('https://app.example.com/'),
      identity: user([], {
        email: null,
        email_verified: false,
        method: 'bearer',
        session_id: null,
      }),
      expected: {
        allowed: false,
        reasons: ['a verified email address at example.com is required'],
      },
    },
  ],
  group: [
    {
      name: 'anonymous',
      request: get('https://app.example.com/'),
      identity: ANONYMOUS,
      expected: false,
    },
    {
      name: 'member',
      request: get('https://app.example.com/'),
      identity: user(['staff', 'sre']),
      expected: true,
    },
    {
      name: 'non-member',
      request: get('https://app.example.com/'),
      identity: user(['staff']),
      expected: false,
    },
  ],
  business_hours: [
    {
      name: 'Wednesday 08:00 in Amsterdam',
      request: get('https://app.example.com/'),
      identity: user(['staff']),
      now: '2024-05-01T06:00:00Z',
      expected: {
        allowed: true,
        reasons: ['within working hours; it is Wednesday 08:00 Europe/Amsterdam'],
      },
    },
    {
      name: 'Wednesday 18:00 in Amsterdam',
      request: get('https://app.example.com/'),
      identity: user(['staff']),
      now: '2024-05-01T16:00:00Z',
      expected: {
        allowed: false,
        reasons: [
          'access is limited to Monday to Friday, 08:00 to 18:00 Europe/Amsterdam; it is Wednesday 18:00 Europe/Amsterdam',
        ],
      },
    },
    {
      name: 'winter time (UTC+1)',
      request: get('https://app.example.com/'),
      identity: user(['staff']),
      now: '2024-01-10T07:30:00Z',
      expected: {
        allowed: true,
        reasons: ['within working hours; it is Wednesday 08:30 Europe/Amsterdam'],
      },
    },
    {
      name: 'on call on Saturday night (local weekday)',
      request: get('https://app.example.com/'),
      identity: user(['oncall']),
      now: '2024-05-03T23:30:00Z',
      expected: { allowed: true, reasons: ['on call; it is Saturday 01:30 Europe/Amsterdam'] },
    },
    {
      name: 'anonymous',
      request: get('https://app.example.com/'),
      identity: ANONYMOUS,
      now: '2024-05-01T10:00:00Z',
      expected: AUTH_REQUIRED,
    },
  ],
  source_network: [
    {
      name: 'office IPv4',
      request: get('https://app.example.com/', { source: '10.20.30.40' }),
      identity: user([]),
      expected: { allowed: true, reasons: ['10.20.30.40 is on a trusted network'] },
    },
    {
      name: 'office IPv6',
      request: get('https://app.example.com/', { source: 'fd12:3456::1' }),
      identity: user([]),
      expected: { allowed: true, reasons: ['fd12:3456::1 is on a trusted network'] },
    },
    {
      name: 'internet',
      request: get('https://app.example.com/', { source: '203.0.113.9' }),
      identity: user(['staff']),
      expected: {
        allowed: false,
        reasons: [
          '203.0.113.9 is not on a trusted network, and remote access needs the group remote-access',
        ],
      },
    },
    {
      name: 'internet with remote-access',
      request: get('https://app.example.com/', { source: '203.0.113.9' }),
      identity: user(['remote-access']),
      expected: { allowed: true, reasons: ['remote access granted by group membership'] },
    },
    {
      name: 'office network, anonymous',
      request: get('https://app.example.com/', { source: '10.0.0.1' }),
      identity: ANONYMOUS,
      expected: AUTH_REQUIRED,
    },
  ],
  per_route: [
    {
      name: 'public route, anonymous',
      request: get('https://status.example.com/', { context_extensions: { route: 'status' } }),
      identity: ANONYMOUS,
      expected: {
        allowed: true,
        headers: { 'x-route': 'status' },
        reasons: ['route status is public'],
      },
    },
    {
      name: 'private route, anonymous',
      request: get('https://wiki.example.com/', { context_extensions: { route: 'wiki' } }),
      identity: ANONYMOUS,
      expected: AUTH_REQUIRED,
    },
    {
      name: 'group member',
      request: {
        ...json('https://wiki.example.com/pages', { title: 'x' }),
        context_extensions: { route: 'wiki' },
      },
      identity: user(['engineering']),
      expected: {
        allowed: true,
        headers: { 'x-route': 'wiki' },
        reasons: ['route wiki allows POST for your groups'],
      },
    },
    {
      name: 'non-member',
      request: get('https://admin.example.com/', { context_extensions: { route: 'admin' } }),
      identity: user(['staff']),
      expected: {
        allowed: false,
        reasons: ['route admin allows any method for the groups admins'],
      },
    },
    {
      name: 'method not allowed on the route',
      request: {
        method: 'DELETE',
        url: 'https://reports.example.com/q3',
        context_extensions: { route: 'reports' },
      },
      identity: user(['finance']),
      expected: {
        allowed: false,
        reasons: ['route reports allows GET, HEAD for the groups finance'],
      },
    },
    {
      name: 'no route name',
      request: get('https://app.example.com/'),
      identity: user(['admins']),
      expected: { allowed: false, reasons: ['no access rule for route ""'] },
    },
  ],
  step_up: [
    {
      name: 'an admin is allowed on /admin only with MFA',
      request: get('https://app.example.com/admin/users'),
      identity: user(['admins'], { acr: 'urn:gatehouse:pwd', auth_time: 1_700_000_000 }),
      expected: { allowed: true, acr_values: ['urn:gatehouse:mfa'] },
    },
    {
      name: 'payments need a sign-in within 5 minutes',
      request: get('https://app.example.com/payments/new'),
      identity: user([]),
      expected: { allowed: true, max_auth_age_seconds: 300 },
    },
    {
      name: 'elsewhere a signed-in user is enough',
      request: get('https://app.example.com/reports'),
      identity: user([]),
      expected: true,
    },
    {
      name: 'a non-admin is kept from /admin',
      request: get('https://app.example.com/admin/users'),
      identity: user(['staff']),
      expected: false,
    },
  ],
  device_certificate: [
    {
      name: 'a signed-in person on a company device reaches the app',
      request: get('https://app.example.com/app'),
      identity: user([]),
      device: presented(deviceCa),
      expected: true,
    },
    {
      name: 'no client certificate is denied',
      request: get('https://app.example.com/app'),
      identity: user([]),
      device: presented(undefined),
      expected: false,
    },
    {
      name: 'a certificate from an impostor CA with the same names is denied',
      request: get('https://app.example.com/app'),
      identity: user([]),
      device: presented(impostorCa),
      expected: false,
    },
    {
      name: 'an admin on a managed device (SPIFFE ID) reaches /admin',
      request: get('https://app.example.com/admin/users'),
      identity: user(['admins']),
      device: presented(deviceCa, ['URI:spiffe://acme.example/device/laptop-1']),
      expected: true,
    },
    {
      name: 'an admin on a company device without a SPIFFE ID is kept from /admin',
      request: get('https://app.example.com/admin/users'),
      identity: user(['admins']),
      device: presented(deviceCa),
      expected: false,
    },
  ],
  enrolled_device: [
    {
      name: 'an admin is allowed on /admin only with a device',
      request: get('https://app.example.com/admin/users'),
      identity: user(['admins']),
      expected: { allowed: true, require_device: true },
    },
    {
      name: 'a non-admin is kept from /admin',
      request: get('https://app.example.com/admin/users'),
      identity: user(['staff']),
      expected: false,
    },
    {
      name: 'elsewhere a signed-in user needs no device',
      request: get('https://app.example.com/reports'),
      identity: user(['staff']),
      expected: true,
    },
    {
      name: 'anonymous',
      request: get('https://app.example.com/admin/users'),
      identity: ANONYMOUS,
      expected: false,
    },
  ],
  user_verification: [
    {
      name: 'payments ask for a device that verified the user',
      request: get('https://app.example.com/payments/new'),
      identity: user([]),
      expected: { allowed: true, require_user_verification: true },
    },
    {
      name: 'elsewhere a signed-in user is enough',
      request: get('https://app.example.com/reports'),
      identity: user([]),
      expected: true,
    },
    {
      name: 'anonymous',
      request: get('https://app.example.com/payments/new'),
      identity: ANONYMOUS,
      expected: false,
    },
  ],
  request_body: [
    {
      name: 'within the limit',
      request: json('https://pay.example.com/api/payments', { amount: 250, currency: 'EUR' }),
      identity: user(['staff']),
      expected: {
        allowed: true,
        headers: { 'x-payment-limit': '1000' },
        reasons: ['amount 250 is within your limit of 1000'],
      },
    },
    {
      name: 'over the limit',
      request: json('https://pay.example.com/api/payments', { amount: 1000.5 }),
      identity: user(['staff']),
      expected: { allowed: false, reasons: ['amount 1000.5 exceeds your limit of 1000'] },
    },
    {
      name: 'the highest group limit wins',
      request: json('https://pay.example.com/api/payments', { amount: 50000 }),
      identity: user(['staff', 'finance-approvers']),
      expected: {
        allowed: true,
        headers: { 'x-payment-limit': '100000' },
        reasons: ['amount 50000 is within your limit of 100000'],
      },
    },
    {
      name: 'a form body is not JSON: 400',
      request: {
        method: 'POST',
        url: 'https://pay.example.com/api/payments',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'amount=5',
      },
      identity: user(['finance']),
      expected: {
        allowed: false,
        http_status: 400,
        body: 'Expected a JSON body with a positive number "amount".',
        reasons: ['no positive amount in the JSON body'],
      },
    },
    {
      name: 'a body Envoy cut short: 413',
      request: {
        method: 'POST',
        url: 'https://pay.example.com/api/payments',
        headers: { 'content-type': 'application/json', 'x-envoy-auth-partial-body': 'true' },
        body: '{"amount": 1',
      },
      identity: user(['finance']),
      expected: {
        allowed: false,
        http_status: 413,
        body: 'The payment request is too large to inspect.',
        reasons: ['the body was truncated by Envoy'],
      },
    },
    {
      name: 'not a payment',
      request: get('https://pay.example.com/api/payments'),
      identity: user([]),
      expected: { allowed: true, reasons: ['not a payment'] },
    },
    {
      name: 'anonymous',
      request: json('https://pay.example.com/api/payments', { amount: 1 }),
      identity: ANONYMOUS,
      expected: AUTH_REQUIRED,
    },
  ],
};

for (const [name, cases] of Object.entries(examples)) {
  describe(`example policy ${name}`, () => {
    const entrypoint = `envoy/examples/${name}/allow`;
    let now = 0n;
    let loaded: Promise<LoadedPolicy> | undefined;
    const policy = (opa: string): Promise<LoadedPolicy> =>
      (loaded ??= loadPolicy({ dir: EXAMPLES, entrypoint, opaPath: opa, clock: () => now }));

    test('compiles to wasm and loads with only the builtins Gatehouse provides', async (t) => {
      const opa = requireTool(t, 'opa');
      if (opa === undefined) return;
      const p = await policy(opa);
      assert.equal(p.entrypoint, entrypoint);
    });

    for (const c of cases) {
      test(c.name, async (t) => {
        const opa = requireTool(t, 'opa');
        if (opa === undefined) return;
        const p = await policy(opa);
        const input = buildInput(checkRequest(c.request), c.identity, c.device);
        const nowNs =
          c.now === undefined ? 1_714_557_600_000_000_000n : BigInt(Date.parse(c.now)) * 1_000_000n;
        now = nowNs;
        const decision = p.evaluate(input);
        assert.deepEqual(decision, c.expected);

        // Gatehouse accepts it as a decision; a policy-chosen status survives normalisation.
        const normalized = normalizeDecision(decision, isEnvoyHttpStatus);
        const expected = c.expected as
          | {
              allowed?: boolean;
              http_status?: number;
              require_device?: boolean;
              require_user_verification?: boolean;
            }
          | boolean;
        assert.equal(
          normalized.allowed,
          typeof expected === 'boolean' ? expected : expected.allowed,
        );
        assert.equal(
          normalized.httpStatus,
          typeof expected === 'boolean' ? undefined : expected.http_status,
        );
        // A device requirement survives too (Gatehouse, not the policy, enforces it).
        const device =
          typeof expected !== 'boolean' &&
          (expected.require_device === true || expected.require_user_verification === true);
        assert.deepEqual(
          normalized.requireDevice,
          device
            ? {
                userVerification:
                  typeof expected !== 'boolean' && expected.require_user_verification === true,
              }
            : undefined,
        );

        // And the wasm result is what OPA itself computes from the same Rego and input.
        const query = `data.envoy.examples.${name}.allow with time.now_ns as ${nowNs}`;
        assert.deepEqual(
          await opaEval(opa, query, [repoPath('policies', 'examples', `${name}.rego`)], input),
          decision,
        );
      });
    }
  });
}

test('docs/policy-guide.md shows every example policy exactly as it is in policies/examples', async () => {
  const guide = await readFile(repoPath('docs', 'policy-guide.md'), 'utf8');
  for (const name of Object.keys(examples)) {
    const source = await readFile(repoPath('policies', 'examples', `${name}.rego`), 'utf8');
    assert.ok(
      guide.includes(`\`\`\`rego\n${source}\`\`\``),
      `docs/policy-guide.md is out of date for policies/examples/${name}.rego`,
    );
  }
  const files = (await readdir(EXAMPLES)).filter(
    (f) => f.endsWith('.rego') && !f.endsWith('_test.rego'),
  );
  assert.deepEqual(
    files.map((f) => f.replace(/\.rego$/, '')).sort(),
    Object.keys(examples).sort(),
    'every example has a table here',
  );
});
