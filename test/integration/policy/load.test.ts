import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { hasCode } from '../../../src/errors/gatehouse-error.js';
import { readBundle } from '../../../src/policy/bundle.js';
import { DEFAULT_ENTRYPOINT, loadPolicy, loadPolicyFromBundle } from '../../../src/policy/load.js';
import { repoPath, testdata } from '../../support/paths.js';
import { requireTool } from '../../support/tools.js';
import { buildBundle, fixture, opaEval, regoDir } from './support.js';

const EP = DEFAULT_ENTRYPOINT;

function rejectsWith(code: Parameters<typeof hasCode>[1], message?: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(
      hasCode(err, code),
      `expected ${code}, got ${String((err as { code?: unknown }).code)}: ${String(err)}`,
    );
    if (message !== undefined) assert.match((err as Error).message, message);
    return true;
  };
}

describe('loadPolicy from a Rego directory', () => {
  const decisions: Array<[string, unknown, unknown]> = [
    ['allow-all', {}, true],
    ['undefined', {}, undefined],
    ['with-data', { user: 'alice' }, true],
    ['with-data', { user: 'bob' }, undefined],
    [
      'object-decision',
      {
        identity: { authenticated: true, sub: 'alice' },
        attributes: { request: { http: { method: 'GET' } } },
      },
      { allowed: true, headers: { 'x-policy-user': 'alice' }, reasons: ['user alice may GET'] },
    ],
    [
      'object-decision',
      {
        identity: { authenticated: true, sub: 'alice' },
        attributes: { request: { http: { method: 'POST' } } },
      },
      { allowed: false, http_status: 403, body: 'denied', reasons: ['default deny'] },
    ],
    [
      'object-decision',
      undefined,
      { allowed: false, http_status: 403, body: 'denied', reasons: ['default deny'] },
    ],
  ];
  for (const [name, input, expected] of decisions) {
    test(`${name} with input ${JSON.stringify(input)} → ${JSON.stringify(expected)}`, async (t) => {
      const opa = requireTool(t, 'opa');
      if (opa === undefined) return;
      const policy = await loadPolicy({ dir: fixture(name), entrypoint: EP, opaPath: opa });
      assert.deepEqual(policy.evaluate(input), expected);
      assert.equal(policy.entrypoint, EP);
      assert.deepEqual(policy.source, { kind: 'dir', path: fixture(name) });
    });
  }

  test('a conflicting complete rule is ERR_POLICY_EVAL, and the policy keeps working', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    const policy = await loadPolicy({ dir: fixture('conflict'), entrypoint: EP, opaPath: opa });
    assert.throws(
      () => policy.evaluate({ a: true, b: true }),
      (err: unknown) => {
        assert.ok(hasCode(err, 'ERR_POLICY_EVAL'));
        assert.ok((err as Error).cause instanceof Error, 'the abort reason is kept as cause');
        assert.equal(
          (err as Error).message,
          'The policy failed to evaluate.',
          'fixed, non-leaking message',
        );
        return true;
      },
    );
    assert.equal(policy.evaluate({ a: true }), true, 'the instance is usable after an abort');
    assert.equal(policy.evaluate({ b: true }), false);
  });

  test('a policy needing http.send is refused: ERR_POLICY_BUILTIN_MISSING names it', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    await assert.rejects(
      loadPolicy({ dir: fixture('http-send'), entrypoint: EP, opaPath: opa }),
      rejectsWith(
        'ERR_POLICY_BUILTIN_MISSING',
        /`http\.send`.*no network calls: put the data .* into the policy's data\.json/,
      ),
    );
  });

  test('a policy verifying certificate chains loads, allows a valid chain and denies a forged one', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    const policy = await loadPolicy({ dir: fixture('x509-verify'), entrypoint: EP, opaPath: opa });
    const pem = (name: string): string => readFileSync(testdata('x509', name), 'utf8');
    assert.equal(policy.evaluate({ chain: pem('ca.pem') + pem('leaf.pem') }), true);
    // Issued in the root's name but signed by another key.
    assert.equal(policy.evaluate({ chain: pem('ca.pem') + pem('chain/forged.pem') }), false);
    assert.equal(policy.evaluate({ chain: pem('leaf.pem') }), false, 'a lone certificate');
  });

  test('a template construct outside Gatehouse’s subset fails the evaluation, naming it; the policy keeps working', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    const dir = await regoDir(
      'package t\n\nimport rego.v1\n\nr := strings.render_template(input.t, {"a": "x"})\n',
    );
    const policy = await loadPolicyFromBundle(readBundle(await buildBundle(opa, dir, ['t/r'])), {
      entrypoint: 't/r',
    });
    assert.throws(
      () => policy.evaluate({ t: '{{define "x"}}{{end}}' }),
      (err: unknown) =>
        hasCode(err, 'ERR_POLICY_EVAL') &&
        /strings\.render_template: \{\{define\}\} is not supported/.test(
          String((err as Error).cause),
        ),
    );
    assert.equal(policy.evaluate({ t: '{{.a}}!' }), 'x!');
  });

  test('a missing entrypoint in a directory is ERR_POLICY_ENTRYPOINT naming it', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    await assert.rejects(
      loadPolicy({ dir: fixture('allow-all'), entrypoint: 'envoy/authz/nope', opaPath: opa }),
      rejectsWith('ERR_POLICY_ENTRYPOINT', /`envoy\/authz\/nope`/),
    );
  });

  test('a Rego syntax error is ERR_POLICY_COMPILE carrying opa’s message', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    await assert.rejects(
      loadPolicy({ dir: fixture('syntax-error'), entrypoint: EP, opaPath: opa }),
      rejectsWith('ERR_POLICY_COMPILE', /rego_parse_error/),
    );
  });

  test('a missing opa binary is ERR_POLICY_COMPILE', async () => {
    await assert.rejects(
      loadPolicy({ dir: fixture('allow-all'), entrypoint: EP, opaPath: '/nonexistent/opa' }),
      rejectsWith('ERR_POLICY_COMPILE', /was not found/),
    );
  });

  test('*_test.rego files are not compiled', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    const bundle = readBundle(await buildBundle(opa, fixture('object-decision'), [EP]));
    const policy = await loadPolicyFromBundle(bundle, { entrypoint: EP });
    assert.deepEqual(policy.entrypoints, [EP]);
  });

  test('time.now_ns is the same for every call in one evaluation', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    let now = 1_700_000_000_123_456_789n;
    const policy = await loadPolicy({
      dir: fixture('time'),
      entrypoint: EP,
      opaPath: opa,
      clock: () => (now += 1000n),
    });
    const first = policy.evaluate({}) as { a: number; b: number; same: boolean; weekday: string };
    assert.equal(first.same, true);
    assert.equal(first.a, first.b);
    // biome-ignore lint/correctness/noPrecisionLoss: the policy sees this nanosecond time as a float64, exactly like this literal
    assert.equal(first.a, 1_700_000_000_123_457_789, 'the frozen clock reached the policy');
    assert.equal(first.weekday, 'Tuesday');
    const second = policy.evaluate({}) as { a: number };
    assert.ok(second.a > first.a, 'a new evaluation reads the clock again');
  });
});

describe('loadPolicy from a bundle', () => {
  async function writeBundle(bytes: Uint8Array): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-bundle-'));
    const path = join(dir, 'bundle.tar.gz');
    await writeFile(path, bytes);
    return path;
  }

  test('revision comes from the manifest, else a sha256 of the module and data', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    const withRevision = await loadPolicy({
      bundle: await writeBundle(await buildBundle(opa, fixture('allow-all'), [EP], 'v42')),
      entrypoint: EP,
    });
    assert.equal(withRevision.revision, 'v42');
    const path = await writeBundle(await buildBundle(opa, fixture('allow-all'), [EP]));
    const a = await loadPolicy({ bundle: path, entrypoint: EP });
    const b = await loadPolicy({ bundle: path, entrypoint: `/${EP}` });
    assert.match(a.revision, /^sha256:[0-9a-f]{64}$/);
    assert.equal(a.revision, b.revision, 'stable for the same bundle');
    assert.equal(b.entrypoint, EP, 'a leading slash is ignored');
  });

  test('an entrypoint the bundle lacks is ERR_POLICY_ENTRYPOINT listing the available ones', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    const path = await writeBundle(await buildBundle(opa, fixture('object-decision'), [EP]));
    await assert.rejects(
      loadPolicy({ bundle: path, entrypoint: 'envoy/authz/deny' }),
      rejectsWith('ERR_POLICY_ENTRYPOINT', /`envoy\/authz\/deny`.*`envoy\/authz\/allow`/),
    );
  });

  test('bundle data.json reaches the policy', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    const policy = await loadPolicy({
      bundle: await writeBundle(await buildBundle(opa, fixture('with-data'), [EP])),
      entrypoint: EP,
    });
    assert.equal(policy.evaluate({ user: 'alice' }), true);
  });

  test('an unreadable or corrupt bundle is ERR_POLICY_LOAD', async () => {
    await assert.rejects(
      loadPolicy({ bundle: '/nonexistent/bundle.tar.gz', entrypoint: EP }),
      rejectsWith('ERR_POLICY_LOAD'),
    );
    await assert.rejects(
      loadPolicy({ bundle: await writeBundle(new TextEncoder().encode('junk')), entrypoint: EP }),
      rejectsWith('ERR_POLICY_LOAD'),
    );
  });

  test('neither or both of bundle and dir is ERR_POLICY_LOAD', async () => {
    await assert.rejects(loadPolicy({ entrypoint: EP }), rejectsWith('ERR_POLICY_LOAD'));
    await assert.rejects(
      loadPolicy({ entrypoint: EP, bundle: 'a', dir: 'b' }),
      rejectsWith('ERR_POLICY_LOAD'),
    );
  });
});

describe('the example policy (policies/authz.rego) in wasm agrees with opa eval', () => {
  const req = (
    method: string,
    path: string,
    identity: unknown = { authenticated: false },
    extra: { headers?: Record<string, string>; route?: string } = {},
  ): Record<string, unknown> => ({
    attributes: {
      request: { http: { method, path, headers: extra.headers ?? {} } },
      ...(extra.route === undefined ? {} : { contextExtensions: { route: extra.route } }),
    },
    parsed_path:
      path
        .split('?')[0]
        ?.split('/')
        .filter((s) => s !== '') ?? [],
    parsed_query: {},
    parsed_body: null,
    truncated_body: false,
    identity,
  });
  const user = (groups: string[]): Record<string, unknown> => ({
    authenticated: true,
    method: 'session',
    sub: 'alice',
    email: 'alice@example.com',
    email_verified: true,
    name: 'Alice',
    groups,
    claims: { sub: 'alice', groups },
    session_id: 'sess-1',
    issued_at: 1_700_000_000,
    expires_at: 1_700_003_600,
  });
  // An unsigned token claiming admin: the policy must not read it (only input.identity counts).
  const forged = `Bearer ${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"mallory","groups":["admins"]}').toString('base64url')}.`;

  const inputs: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
    [
      'public path',
      req('GET', '/healthz'),
      { allowed: true, headers: { 'x-policy-role': 'public' }, reasons: ['/healthz is public'] },
    ],
    // No http_status or body: Gatehouse starts sign-in (302 for a browser, 401 for an API client).
    [
      'anonymous',
      req('GET', '/api/items'),
      { allowed: false, reasons: ['authentication required'] },
    ],
    [
      'a forged bearer header is ignored',
      req('GET', '/api/items', { authenticated: false }, { headers: { authorization: forged } }),
      { allowed: false, reasons: ['authentication required'] },
    ],
    [
      'identity editor',
      req('PUT', '/api/items/1', user(['engineering'])),
      {
        allowed: true,
        headers: { 'x-policy-role': 'editor' },
        reasons: ['role editor allows PUT /api/items/1'],
      },
    ],
    // No http_status or body: Gatehouse renders its 403 page with the reasons.
    [
      'identity viewer writing',
      req('POST', '/api/items', user(['staff'])),
      { allowed: false, reasons: ['alice@example.com (roles: viewer) may not POST /api/items'] },
    ],
    [
      'admin route, not an admin',
      req('GET', '/api/items', user(['staff']), { route: 'admin' }),
      {
        allowed: false,
        reasons: ['route admin requires one of the roles admin; alice@example.com (roles: viewer)'],
      },
    ],
    [
      'admin route, admin',
      req('DELETE', '/settings/x', user(['admins']), { route: 'admin' }),
      {
        allowed: true,
        headers: { 'x-policy-role': 'admin' },
        reasons: ['role admin allows DELETE /settings/x'],
      },
    ],
  ];

  for (const [name, input, expected] of inputs) {
    test(name, async (t) => {
      const opa = requireTool(t, 'opa');
      if (opa === undefined) return;
      const policy = await loadPolicy({ dir: repoPath('policies'), entrypoint: EP, opaPath: opa });
      const decision = policy.evaluate(input);
      assert.deepEqual(decision, expected);
      assert.deepEqual(
        decision,
        await opaEval(opa, 'data.envoy.authz.allow', [repoPath('policies', 'authz.rego')], input),
      );
    });
  }
});
