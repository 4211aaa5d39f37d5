import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { hasCode } from '../../../src/errors/gatehouse-error.js';
import { readBundle } from '../../../src/policy/bundle.js';
import { DEFAULT_ENTRYPOINT, loadPolicy, loadPolicyFromBundle } from '../../../src/policy/load.js';
import { repoPath } from '../../support/paths.js';
import { requireTool } from '../../support/tools.js';
import { buildBundle, fixture, opaEval } from './support.js';

const EP = DEFAULT_ENTRYPOINT;

function rejectsWith(code: Parameters<typeof hasCode>[1], message?: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(hasCode(err, code), `expected ${code}, got ${String((err as { code?: unknown }).code)}: ${String(err)}`);
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
      { identity: { authenticated: true, sub: 'alice' }, attributes: { request: { http: { method: 'GET' } } } },
      { allowed: true, headers: { 'x-policy-user': 'alice' }, reasons: ['user alice may GET'] },
    ],
    [
      'object-decision',
      { identity: { authenticated: true, sub: 'alice' }, attributes: { request: { http: { method: 'POST' } } } },
      { allowed: false, http_status: 403, body: 'denied', reasons: ['default deny'] },
    ],
    ['object-decision', undefined, { allowed: false, http_status: 403, body: 'denied', reasons: ['default deny'] }],
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
    assert.throws(() => policy.evaluate({ a: true, b: true }), (err: unknown) => {
      assert.ok(hasCode(err, 'ERR_POLICY_EVAL'));
      assert.ok((err as Error).cause instanceof Error, 'the abort reason is kept as cause');
      assert.equal((err as Error).message, 'The policy failed to evaluate.', 'fixed, non-leaking message');
      return true;
    });
    assert.equal(policy.evaluate({ a: true }), true, 'the instance is usable after an abort');
    assert.equal(policy.evaluate({ b: true }), false);
  });

  test('a policy needing http.send is refused: ERR_POLICY_BUILTIN_MISSING names it', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    await assert.rejects(loadPolicy({ dir: fixture('http-send'), entrypoint: EP, opaPath: opa }), rejectsWith('ERR_POLICY_BUILTIN_MISSING', /`http\.send`/));
  });

  test('a missing entrypoint in a directory is ERR_POLICY_ENTRYPOINT naming it', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    await assert.rejects(loadPolicy({ dir: fixture('allow-all'), entrypoint: 'envoy/authz/nope', opaPath: opa }), rejectsWith('ERR_POLICY_ENTRYPOINT', /`envoy\/authz\/nope`/));
  });

  test('a Rego syntax error is ERR_POLICY_COMPILE carrying opa’s message', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    await assert.rejects(loadPolicy({ dir: fixture('syntax-error'), entrypoint: EP, opaPath: opa }), rejectsWith('ERR_POLICY_COMPILE', /rego_parse_error/));
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
    const policy = await loadPolicy({ dir: fixture('time'), entrypoint: EP, opaPath: opa, clock: () => (now += 1000n) });
    const first = policy.evaluate({}) as { a: number; b: number; same: boolean; weekday: string };
    assert.equal(first.same, true);
    assert.equal(first.a, first.b);
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
    const withRevision = await loadPolicy({ bundle: await writeBundle(await buildBundle(opa, fixture('allow-all'), [EP], 'v42')), entrypoint: EP });
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
    await assert.rejects(loadPolicy({ bundle: path, entrypoint: 'envoy/authz/deny' }), rejectsWith('ERR_POLICY_ENTRYPOINT', /`envoy\/authz\/deny`.*`envoy\/authz\/allow`/));
  });

  test('bundle data.json reaches the policy', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    const policy = await loadPolicy({ bundle: await writeBundle(await buildBundle(opa, fixture('with-data'), [EP])), entrypoint: EP });
    assert.equal(policy.evaluate({ user: 'alice' }), true);
  });

  test('an unreadable or corrupt bundle is ERR_POLICY_LOAD', async () => {
    await assert.rejects(loadPolicy({ bundle: '/nonexistent/bundle.tar.gz', entrypoint: EP }), rejectsWith('ERR_POLICY_LOAD'));
    await assert.rejects(loadPolicy({ bundle: await writeBundle(new TextEncoder().encode('junk')), entrypoint: EP }), rejectsWith('ERR_POLICY_LOAD'));
  });

  test('neither or both of bundle and dir is ERR_POLICY_LOAD', async () => {
    await assert.rejects(loadPolicy({ entrypoint: EP }), rejectsWith('ERR_POLICY_LOAD'));
    await assert.rejects(loadPolicy({ entrypoint: EP, bundle: 'a', dir: 'b' }), rejectsWith('ERR_POLICY_LOAD'));
  });
});

describe('the example policy (policies/authz.rego) in wasm agrees with opa eval', () => {
  const key = new TextEncoder().encode('example-policy-test-key-32-bytes!!');
  const nowS = Math.floor(Date.now() / 1000);
  const sign = (claims: Record<string, unknown>): Promise<string> => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(key);
  const req = (method: string, path: string, headers: Record<string, string> = {}, identity?: unknown): Record<string, unknown> => ({
    attributes: { request: { http: { method, path, headers } } },
    parsed_path: path.split('?')[0]?.split('/').filter((s) => s !== '') ?? [],
    parsed_query: {},
    ...(identity === undefined ? {} : { identity }),
  });

  const inputs: Array<[string, () => Promise<Record<string, unknown>>, Partial<Record<string, unknown>>]> = [
    ['public path', async () => req('GET', '/healthz'), { allowed: true }],
    ['anonymous', async () => req('GET', '/api/items'), { allowed: false, http_status: 401 }],
    ['identity editor', async () => req('PUT', '/api/items/1', {}, { authenticated: true, sub: 'alice', groups: ['engineering'] }), { allowed: true }],
    ['identity viewer writing', async () => req('POST', '/api/items', {}, { authenticated: true, sub: 'alice', groups: ['staff'] }), { allowed: false, http_status: 403 }],
    ['bearer viewer', async () => req('GET', '/docs/a', { authorization: `Bearer ${await sign({ sub: 'bob', groups: ['staff'], exp: nowS + 3600 })}` }), { allowed: true }],
    ['expired bearer', async () => req('GET', '/api/items', { authorization: `Bearer ${await sign({ sub: 'bob', groups: ['admins'], exp: nowS - 60 })}` }), { http_status: 401 }],
  ];

  for (const [name, makeInput, expectedSubset] of inputs) {
    test(name, async (t) => {
      const opa = requireTool(t, 'opa');
      if (opa === undefined) return;
      const policy = await loadPolicy({ dir: repoPath('policies'), entrypoint: EP, opaPath: opa });
      const input = await makeInput();
      const decision = policy.evaluate(input) as Record<string, unknown>;
      for (const [k, v] of Object.entries(expectedSubset)) assert.deepEqual(decision[k], v, k);
      assert.deepEqual(decision, await opaEval(opa, 'data.envoy.authz.allow', [repoPath('policies', 'authz.rego')], input));
    });
  }
});
