/**
 * Handing the policy only the parts of the input it can read never changes a decision.
 *
 * A differential test on the real `opa`: every policy of the corpus (the repo's examples, the
 * policies in the docs, the benchmark's, the test fixtures', the OPA Envoy tutorial's, and hostile
 * ones written against each rule of the analysis) is compiled once with every rule as an
 * entrypoint, and each rule is evaluated with the whole input and with the projected input over
 * many inputs (the fixtures' requests, the benchmark's traffic request, seeded random variations),
 * through {@link loadPolicyFromBundle} as the loader wires it. Each hostile policy also names what
 * an analysis that missed its rule would keep, and the test checks that this would change a
 * decision on these inputs: the differential can fail.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, test } from 'node:test';
import { create, fromJson, type JsonValue } from '@bufbuild/protobuf';
import { trafficRequestJson } from '../../../bench/traffic.js';
import { createCheckHandler } from '../../../src/check/handle.js';
import { GatehouseError, hasCode } from '../../../src/errors/gatehouse-error.js';
import { CheckRequestSchema } from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { anonymousRuntime } from '../../../src/identity/anonymous.js';
import { buildInput } from '../../../src/input/build.js';
import { ANONYMOUS, type Identity } from '../../../src/input/types.js';
import { createLogger } from '../../../src/log/logger.js';
import { readBundle, type PolicyBundle } from '../../../src/policy/bundle.js';
import { compileRegoDir, type RegoVersion } from '../../../src/policy/compile.js';
import { inputPathsOf, type InputPaths } from '../../../src/policy/input-paths.js';
import { inputProjector } from '../../../src/policy/input-projection.js';
import { PolicyEngine } from '../../../src/policy/engine.js';
import { loadPolicy, loadPolicyFromBundle } from '../../../src/policy/load.js';
import { parseRegoModules, readRegoSources } from '../../../src/policy/rego-ast.js';
import { httpRequest } from '../../support/grpc-client.js';
import { repoPath, testdata } from '../../support/paths.js';
import { requireTool } from '../../support/tools.js';
import { regoDir } from './support.js';

/** 2025-06-02T09:30:00Z, a Monday morning; inside the tutorial tokens' window. */
const NOW_NS = 1_748_856_600_000_000_000n;
const clock = (): bigint => NOW_NS;

// ---------------------------------------------------------------------------------------------
// The corpus

interface Policy {
  readonly name: string;
  /** Files by name, copied into a fresh directory. */
  readonly files: Readonly<Record<string, string>>;
  readonly regoVersion?: RegoVersion;
  /**
   * What an analysis that missed this policy's rule would keep; the test checks that handing only
   * that over changes at least one decision (so the differential catches the miss).
   */
  readonly naive?: InputPaths;
}

const read = (path: string): string => readFileSync(path, 'utf8');

/** Every `.rego` file of `dir` but the tests, under its own name. */
function regoFilesOf(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(dir)) {
    if (name.endsWith('.rego') && !name.endsWith('_test.rego')) files[name] = read(join(dir, name));
  }
  return files;
}

function onePolicyPerFile(prefix: string, paths: readonly string[]): Policy[] {
  return paths.map((path) => ({
    name: `${prefix}/${basename(path)}`,
    files: { 'policy.rego': read(path) },
  }));
}

/** The ```rego blocks of the docs that are whole modules (they declare a package). */
function docsPolicies(): Policy[] {
  const docs = [
    repoPath('README.md'),
    ...readdirSync(repoPath('docs'))
      .filter((n) => n.endsWith('.md'))
      .map((n) => repoPath('docs', n)),
    ...readdirSync(repoPath('docs', 'reference'))
      .filter((n) => n.endsWith('.md'))
      .map((n) => repoPath('docs', 'reference', n)),
  ];
  const policies: Policy[] = [];
  for (const doc of docs) {
    let i = 0;
    for (const match of read(doc).matchAll(/^```rego\n([\s\S]*?)^```/gm)) {
      const source = match[1] ?? '';
      i++;
      if (/^package /m.test(source))
        policies.push({ name: `docs/${basename(doc)}#${i}`, files: { 'policy.rego': source } });
    }
  }
  return policies;
}

const fixtures = (name: string): Policy => ({
  name: `fixture/${name}`,
  files: {
    ...regoFilesOf(testdata('policies', name)),
    ...(name === 'with-data' ? { 'data.json': read(testdata('policies', name, 'data.json')) } : {}),
  },
  ...(name.endsWith('-v0') ? { regoVersion: 'v0' as const } : {}),
});

const H = 'package hostile\n\nimport rego.v1\n\n';

/** Policies written against each rule of the analysis; `open-sesame` is the marker they look for. */
const HOSTILE: readonly Policy[] = [
  ['walk', `${H}allow if { walk(input, [_, v]); v == "open-sesame" }`, []],
  ['json.marshal', `${H}allow if contains(json.marshal(input), "open-sesame")`, []],
  [
    'object.get',
    `${H}allow if object.get(input, ["parsed_body", "secret"], "") == "open-sesame"`,
    [],
  ],
  ['a variable first key', `${H}allow if { some k; input[k].secret == "open-sesame" }`, []],
  [
    'a first key bound to a string',
    `${H}allow if { k := "parsed_body"; input[k].secret == "open-sesame" }`,
    [],
  ],
  [
    'bare input as an argument',
    `${H}f(x) := x.parsed_body.secret\n\nallow if f(input) == "open-sesame"`,
    [],
  ],
  ['some … in input', `${H}allow if { some v in input; v.secret == "open-sesame" }`, []],
  [
    'a comprehension over input',
    `${H}allow if count([1 | some v in input; v.secret == "open-sesame"]) > 0`,
    [],
  ],
  [
    'every … in input',
    `${H}deny if every k, _ in input { k != "parsed_body" }\n\nallow if not deny`,
    [],
  ],
  [
    'bare input in an else',
    `${H}x := "" if input.never\nelse := json.marshal(input)\n\nallow if contains(x, "open-sesame")`,
    [['never']],
  ],
  ['a template string', `${H}allow if contains($"{input}", "open-sesame")`, []],
  [
    'import input as x',
    'package hostile\n\nimport input as req\nimport rego.v1\n\nallow if req.parsed_body.secret == "open-sesame"',
    [],
  ],
  [
    'import input.a as b',
    'package hostile\n\nimport input.parsed_body as b\nimport rego.v1\n\nallow if b.secret == "open-sesame"',
    [],
  ],
  [
    'import input.a.b (no alias)',
    'package hostile\n\nimport input.attributes.request.http.headers\nimport rego.v1\n\nallow if headers["x-open"] == "open-sesame"',
    [],
  ],
  [
    'a variable key under constant keys',
    `${H}allow if { some h; input.attributes.request.http.headers[h] == "open-sesame" }`,
    [['attributes', 'request', 'http', 'headers', 'accept']],
  ],
  ['a number index', `${H}allow if input.parsed_query.tag[0] == "open-sesame"`, []],
  [
    'a rule head',
    `${H}secrets contains input.parsed_body.secret\n\nallow if "open-sesame" in secrets`,
    [],
  ],
  [
    'a key that refers to input',
    `${H}allow if input.parsed_body.map[input.parsed_body.key] == "open-sesame"`,
    [['parsed_body', 'map']],
  ],
  [
    'with input as …',
    `${H}r if input.parsed_body.secret == "open-sesame"\n\nallow if r with input as object.union(input, {"x": 1})`,
    undefined,
  ],
  [
    'with input.a as …',
    `${H}r if input.parsed_body.secret == "open-sesame"\n\nallow if r with input.x as 1`,
    undefined,
  ],
  ['print(input)', `${H}allow if { print(input); input.identity.authenticated }`, undefined],
  // The body's lone-surrogate key `\udfff` reaches the module as U+FFFD: the key names it.
  ['a key holding U+FFFD', `${H}allow if input.parsed_body["\\ufffd"] == 1`, undefined],
].map(([name, source, naive]) => ({
  name: `hostile/${name as string}`,
  files: { 'policy.rego': source as string },
  ...(naive === undefined ? {} : { naive: naive as InputPaths }),
}));

const HOSTILE_MORE: readonly Policy[] = [
  {
    name: 'hostile/walk in another package',
    files: {
      'a.rego': `${H}allow if data.lib.secret == "open-sesame"`,
      'b.rego':
        'package lib\n\nimport rego.v1\n\nsecret := v if { walk(input, [_, v]); v == "open-sesame" }',
    },
    naive: [],
  },
  {
    name: 'hostile/walk in Rego v0',
    files: {
      'policy.rego':
        'package hostile\n\ndefault allow = false\n\nallow { walk(input, [_, v]); v == "open-sesame" }',
    },
    regoVersion: 'v0',
    naive: [],
  },
];

function corpus(): Policy[] {
  return [
    {
      name: 'policies/authz.rego',
      files: { 'authz.rego': read(repoPath('policies', 'authz.rego')) },
    },
    { name: 'policies/examples', files: regoFilesOf(repoPath('policies', 'examples')) },
    ...docsPolicies(),
    ...['gatehouse', 'plugin'].flatMap((system) =>
      ['noop', 'rbac', 'headers'].map((scenario) => ({
        name: `bench/${system}/${scenario}`,
        files: regoFilesOf(repoPath('bench', 'policies', system, scenario)),
      })),
    ),
    ...onePolicyPerFile('conformance', [
      repoPath('test', 'conformance', 'decisions.rego'),
      repoPath('test', 'conformance', 'echo.rego'),
    ]),
    ...onePolicyPerFile('e2e', [
      testdata('e2e', 'authz.rego'),
      testdata('e2e', 'device.rego'),
      testdata('e2e', 'prefix.rego'),
      testdata('e2e', 'devices', 'authz.rego'),
      testdata('e2e', 'identity', 'authz.rego'),
      testdata('e2e', 'step-up', 'authz.rego'),
      testdata('identity', 'authz.rego'),
    ]),
    ...[
      'allow-all',
      'conflict',
      'envoy-tutorial',
      'envoy-tutorial-v0',
      'object-decision',
      'time',
      'undefined',
      'with-data',
      'x509-verify',
    ].map(fixtures),
    ...HOSTILE,
    ...HOSTILE_MORE,
  ];
}

// ---------------------------------------------------------------------------------------------
// The inputs

/** A small seeded generator (mulberry32): the same inputs on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// The OPA docs Envoy tutorial's tokens (HS256, secret "secret"; alice a guest, bob an admin).
const TUTORIAL_ALICE =
  'eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9.eyJleHAiOiAyMjQxMDgxNTM5LCAibmJmIjogMTUxNDg1MTEzOSwgInJvbGUiOiAiZ3Vlc3QiLCAic3ViIjogIllXeHBZMlU9In0.Uk5hgUqMuUfDLvBLnlXMD0-X53aM_Hlziqg3vhOsCc8';
const TUTORIAL_BOB =
  'eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9.eyJleHAiOiAyMjQxMDgxNTM5LCAibmJmIjogMTUxNDg1MTEzOSwgInJvbGUiOiAiYWRtaW4iLCAic3ViIjogIlltOWkifQ.5qsm7rRTvqFHAgiB6evX0a_hWnGbWquZC0HImVQPQo8';

const GROUPS = [
  [],
  ['staff'],
  ['admin'],
  ['admins'],
  ['finance'],
  ['finance-approvers'],
  ['editor'],
  ['viewer'],
  ['reader'],
  ['writer'],
  ['oncall', 'staff'],
  ['engineering', 'sre'],
];

function identity(pick: () => number): Identity {
  if (pick() < 0.2) return ANONYMOUS;
  const groups = GROUPS[Math.floor(pick() * GROUPS.length)] ?? [];
  const domain = pick() < 0.7 ? 'example.com' : 'evil.example';
  return {
    authenticated: true,
    method: pick() < 0.5 ? 'session' : 'bearer',
    sub: pick() < 0.5 ? 'alice' : 'bob',
    email: `alice@${domain}`,
    email_verified: pick() < 0.8,
    name: 'Alice',
    groups,
    claims: { groups: [...groups], role: pick() < 0.5 ? 'admin' : 'guest' },
    session_id: 'sid-1',
    issued_at: 1_748_850_000,
    expires_at: 1_748_860_000,
    auth_time: pick() < 0.5 ? 1_748_856_000 : 1_748_000_000,
    acr: pick() < 0.5 ? 'mfa' : 'pwd',
    amr: pick() < 0.5 ? ['pwd', 'otp'] : ['pwd'],
  };
}

const PATHS = [
  '/',
  '/api/orders?source=web&ref=cart',
  '/api/payments',
  '/admin/users',
  '/public/index.html',
  '/healthz',
  '/people',
  '/hello',
  '/wiki/page?tag=open-sesame&tag=b',
  '/metrics',
];
const METHODS = ['GET', 'POST', 'DELETE', 'PUT'];
const ROUTES = [undefined, 'wiki', 'payments', 'admin', 'grafana', 'unknown'];
const BODIES: readonly unknown[] = [
  null,
  { amount: 50 },
  { amount: 5000 },
  { amount: 500_000 },
  { firstname: 'Bob', lastname: 'Bar' },
  { secret: 'open-sesame', list: ['open-sesame'], map: { k: 'open-sesame' }, key: 'k' },
  // A lone surrogate, as JSON.parse makes it from a `\ud800` escape in a body.
  JSON.parse('{"note": "\\ud800 x", "\\udfff": 1}'),
];

function device(pick: () => number): unknown {
  const r = pick();
  if (r < 0.4) return undefined;
  const certificate = {
    source: 'xfcc',
    verified: pick() < 0.7,
    subject: 'CN=laptop-1',
    subject_fields: { CN: ['laptop-1'] },
    issuer: 'CN=Acme Device CA,O=Acme Corp',
    issuer_fields: { CN: ['Acme Device CA'], O: [pick() < 0.8 ? 'Acme Corp' : 'Impostor'] },
    san: { dns: [], uri: ['spiffe://acme.example/device/laptop-1'], email: [], ip: [] },
    spiffe_id: 'spiffe://acme.example/device/laptop-1',
    serial: '01',
    fingerprint_sha256: 'ab'.repeat(32),
    not_before: 1_700_000_000,
    not_after: 1_800_000_000,
  };
  return {
    certificate: r < 0.7 ? certificate : null,
    certificate_error: null,
    session_bound: pick() < 0.5,
    enrolled:
      pick() < 0.5
        ? null
        : {
            id: 'cred-1',
            kind: 'platform',
            registered_at: 1_700_000_000,
            approval: pick() < 0.8 ? 'approved' : 'pending',
            proved_at: 1_748_856_000,
            user_verified: pick() < 0.6,
            proof_fresh: pick() < 0.7,
          },
  };
}

type Mutable = Record<string, unknown> & {
  attributes: {
    request: { http: Record<string, unknown> & { headers: Record<string, string> } };
  } & Record<string, unknown>;
};

/** A variation of `base`: another caller, method, path, body, route, device, headers. */
function vary(base: unknown, pick: () => number): unknown {
  const input = structuredClone(base) as Mutable;
  const http = input.attributes.request.http;
  const method = METHODS[Math.floor(pick() * METHODS.length)] as string;
  const path = PATHS[Math.floor(pick() * PATHS.length)] as string;
  http['method'] = method;
  http['path'] = path;
  http.headers = { ...http.headers, ':method': method, ':path': path };
  const [pathname = '', query = ''] = path.split('?');
  input['parsed_path'] = pathname.split('/').filter((s) => s !== '');
  const parsedQuery: Record<string, string[]> = {};
  for (const pair of query === '' ? [] : query.split('&')) {
    const [k = '', v = ''] = pair.split('=');
    const values = parsedQuery[k] ?? [];
    values.push(v);
    parsedQuery[k] = values;
  }
  input['parsed_query'] = parsedQuery;
  input['parsed_body'] = structuredClone(BODIES[Math.floor(pick() * BODIES.length)]);
  input['truncated_body'] = pick() < 0.1;
  const route = ROUTES[Math.floor(pick() * ROUTES.length)];
  input.attributes['contextExtensions'] = route === undefined ? {} : { route };
  input['identity'] = identity(pick);
  const dev = device(pick);
  if (dev === undefined) delete input['device'];
  else input['device'] = dev;
  if (pick() < 0.3) http.headers['x-open'] = 'open-sesame';
  if (pick() < 0.3) {
    const token = pick() < 0.5 ? TUTORIAL_ALICE : TUTORIAL_BOB;
    http.headers['authorization'] = `Bearer ${token}`;
  }
  if (pick() < 0.2) http.headers['x-conformance-decision'] = 'allow';
  return input;
}

function inputs(): unknown[] {
  const fromFixtures = (
    JSON.parse(read(testdata('input', 'check-requests.json'))) as Array<{ input: unknown }>
  )
    .map((c) => c.input)
    .filter((input) => input !== undefined);
  const traffic = buildInput(
    fromJson(CheckRequestSchema, trafficRequestJson('token', 1) as JsonValue),
    identity(random(7)),
  );
  const bases = [...fromFixtures, traffic];
  const pick = random(20261202);
  const all: unknown[] = [...bases, { ...traffic, identity: ANONYMOUS }];
  for (let i = 0; i < 120; i++) {
    const base = bases[i % bases.length];
    // Some fixture inputs have no attributes.request.http to vary: keep them as they are.
    const http = (base as { attributes?: { request?: { http?: unknown } } }).attributes?.request
      ?.http;
    if (http !== undefined) all.push(vary(base, pick));
  }
  return all;
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/** Every rule (not function) of the modules, as `opa build -e` names it. */
function entrypointsOf(asts: readonly unknown[]): string[] {
  const found = new Set<string>();
  for (const ast of asts) {
    const module = ast as {
      package: { path: Array<{ value: string }> };
      rules?: Array<{
        head: { name?: string; args?: unknown; ref?: Array<{ type: string; value: string }> };
      }>;
    };
    const pkg = module.package.path.slice(1).map((t) => t.value);
    for (const rule of module.rules ?? []) {
      if (rule.head.args !== undefined) continue;
      const ref = rule.head.ref ?? [];
      const name = rule.head.name ?? (ref.length === 1 ? ref[0]?.value : undefined);
      if (name !== undefined) found.add([...pkg, name].join('/'));
    }
  }
  return [...found].sort();
}

/** A decision, or the error an evaluation ended in (conflicts must stay conflicts). */
function outcome(evaluate: () => unknown): unknown {
  try {
    return { value: evaluate() };
  } catch (err) {
    return {
      error: err instanceof GatehouseError ? `${err.code}: ${String(err.cause)}` : String(err),
    };
  }
}

interface Prepared {
  readonly policy: Policy;
  readonly dir: string;
  readonly bundle: PolicyBundle;
  readonly entrypoints: readonly string[];
  readonly paths: InputPaths;
}

async function prepare(opa: string, policy: Policy): Promise<Prepared> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-projection-'));
  for (const [name, text] of Object.entries(policy.files)) await writeFile(join(dir, name), text);
  const version = policy.regoVersion === undefined ? {} : { regoVersion: policy.regoVersion };
  const asts = await parseRegoModules(await readRegoSources(dir), { opaPath: opa, ...version });
  const build = (entrypoints: readonly string[]) =>
    compileRegoDir({ dir, entrypoints, opaPath: opa, ...version });
  let entrypoints = entrypointsOf(asts);
  // OPA's wasm compiler refuses a few rules as entrypoints (in policies/authz.rego, `method`):
  // then keep the ones it compiles one by one.
  const bytes = await build(entrypoints).catch(async () => {
    const ok: string[] = [];
    for (const e of entrypoints)
      if (
        await build([e]).then(
          () => true,
          () => false,
        )
      )
        ok.push(e);
    entrypoints = ok;
    return build(ok);
  });
  return { policy, dir, bundle: readBundle(bytes), entrypoints, paths: inputPathsOf(asts) };
}

async function decisions(
  prepared: Prepared,
  entrypoint: string,
  paths: InputPaths,
  all: readonly unknown[],
): Promise<unknown[]> {
  const policy = await loadPolicyFromBundle(prepared.bundle, {
    entrypoint,
    clock,
    inputPaths: paths,
    memory: { initialPages: 4 },
  });
  return all.map((input) => outcome(() => policy.evaluate(input)));
}

describe('the projected input decides as the whole input', () => {
  test('every rule of every policy in the corpus, over many inputs', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    const all = inputs();
    const policies = corpus();
    let evaluations = 0;
    let narrowed = 0;
    let naiveCaught = 0;
    for (const policy of policies) {
      const prepared = await prepare(opa, policy);
      assert.ok(prepared.entrypoints.length > 0, `${policy.name}: no rule compiles`);
      if (prepared.paths !== 'all') narrowed++;
      let naiveDiffers = false;
      for (const entrypoint of prepared.entrypoints) {
        const whole = await decisions(prepared, entrypoint, 'all', all);
        const projected = await decisions(prepared, entrypoint, prepared.paths, all);
        for (const [i, expected] of whole.entries()) {
          assert.deepEqual(
            projected[i],
            expected,
            `${policy.name} ${entrypoint} input #${i}: projected onto ${JSON.stringify(prepared.paths)}`,
          );
        }
        evaluations += whole.length;
        if (policy.naive !== undefined) {
          const naive = await decisions(prepared, entrypoint, policy.naive, all);
          if (naive.some((d, i) => !isDeepEqual(d, whole[i]))) naiveDiffers = true;
        }
      }
      if (policy.naive !== undefined) {
        assert.ok(naiveDiffers, `${policy.name}: the inputs cannot tell a missed rule`);
        naiveCaught++;
      }
    }
    t.diagnostic(
      `${policies.length} policies (${narrowed} narrowed), ${all.length} inputs, ${evaluations} decisions compared, ${naiveCaught} naive analyses caught`,
    );
    // The corpus is what it claims to be: the docs' modules and most real policies narrow.
    assert.ok(docsPolicies().length >= 10, 'the docs hold at least ten policies');
    assert.ok(narrowed >= 30, `only ${narrowed} policies narrowed`);
  });

  test('the loader analyses a directory as the test does (the bench policy keeps identity, method and path)', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    const policy = await loadPolicy({
      dir: repoPath('bench', 'policies', 'gatehouse', 'rbac'),
      entrypoint: 'envoy/authz/allow',
      opaPath: opa,
    });
    assert.deepEqual(policy.inputPaths, [
      ['attributes', 'request', 'http', 'method'],
      ['identity', 'authenticated'],
      ['identity', 'groups'],
      ['parsed_path'],
    ]);
    const examples = await loadPolicy({
      dir: repoPath('policies', 'examples'),
      entrypoint: 'envoy/examples/group/allow',
      opaPath: opa,
    });
    const prepared = await prepare(opa, {
      name: 'examples',
      files: regoFilesOf(repoPath('policies', 'examples')),
    });
    assert.deepEqual(examples.inputPaths, prepared.paths);
    const v0 = await loadPolicy({
      dir: testdata('policies', 'envoy-tutorial-v0'),
      entrypoint: 'envoy/authz/allow',
      opaPath: opa,
      regoVersion: 'v0',
    });
    assert.notEqual(v0.inputPaths, 'all');
  });

  test('the engine reports what the module is handed with each load', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    const dir = await regoDir(
      'package envoy.authz\n\nimport rego.v1\n\nallow if input.parsed_path[0] == "api"\n',
    );
    const engine = new PolicyEngine({ dir, entrypoint: 'envoy/authz/allow', opaPath: opa });
    const seen: unknown[] = [];
    engine.on((event) => {
      if (event.type === 'loaded') seen.push(event.inputPaths);
    });
    await engine.start();
    assert.deepEqual(seen, [[['parsed_path']]]);
  });

  test('a policy that reads only input.identity is handed no attributes and no parsed_body', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    const dir = await regoDir(
      'package envoy.authz\n\nimport rego.v1\n\ndefault allow := false\n\nallow if {\n\tinput.identity.authenticated\n\t"admin" in input.identity.groups\n}\n',
    );
    const policy = await loadPolicy({ dir, entrypoint: 'envoy/authz/allow', opaPath: opa });
    assert.deepEqual(policy.inputPaths, [
      ['identity', 'authenticated'],
      ['identity', 'groups'],
    ]);
    // A BigInt cannot be serialised: the evaluation only succeeds if neither reaches the module.
    const input = {
      attributes: { request: { http: { method: 'GET', size: 1n } } },
      parsed_body: { amount: 2n },
      identity: { authenticated: true, groups: ['admin'] },
    };
    const projected = inputProjector(policy.inputPaths)(input) as Record<string, unknown>;
    assert.equal('attributes' in projected, false);
    assert.equal('parsed_body' in projected, false);
    assert.equal(policy.evaluate(input), true);
    const whole = await loadPolicyFromBundle(
      readBundle(await compileRegoDir({ dir, entrypoints: ['envoy/authz/allow'], opaPath: opa })),
      { entrypoint: 'envoy/authz/allow' },
    );
    assert.equal(whole.inputPaths, 'all');
    assert.throws(
      () => whole.evaluate(input),
      (err) => hasCode(err, 'ERR_POLICY_EVAL'),
    );
  });

  test('the loader hands over everything for walk(input) and for a prebuilt bundle', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    const dir = await regoDir(
      'package envoy.authz\n\nimport rego.v1\n\nallow if { walk(input, [_, v]); v == "open-sesame" }\n',
    );
    const fromDir = await loadPolicy({ dir, entrypoint: 'envoy/authz/allow', opaPath: opa });
    assert.equal(fromDir.inputPaths, 'all');
    assert.equal(fromDir.evaluate({ parsed_body: { deep: ['open-sesame'] } }), true);
    // A bundle's Rego sources lack the rules compiled to wasm: it cannot be analysed.
    const narrow = await regoDir(
      'package envoy.authz\n\nimport rego.v1\n\nallow if input.identity.authenticated\n',
    );
    const bundlePath = join(narrow, 'bundle.tar.gz');
    await writeFile(
      bundlePath,
      await compileRegoDir({ dir: narrow, entrypoints: ['envoy/authz/allow'], opaPath: opa }),
    );
    const fromBundle = await loadPolicy({ bundle: bundlePath, entrypoint: 'envoy/authz/allow' });
    assert.equal(fromBundle.inputPaths, 'all');
  });

  test('a file opa build does not load (a test, a dot file, build/) is not analysed; one it loads is', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    const dir = await regoDir(
      'package envoy.authz\n\nimport rego.v1\n\nallow if input.identity.authenticated\n',
      {
        'policy_test.rego':
          'package envoy.authz_test\n\nimport rego.v1\n\ntest_x if walk(input, _)\n',
        '.hidden.rego': 'package h\n\nx := input\n',
      },
    );
    const policy = await loadPolicy({ dir, entrypoint: 'envoy/authz/allow', opaPath: opa });
    assert.deepEqual(policy.inputPaths, [['identity', 'authenticated']]);
    await writeFile(join(dir, 'lib.rego'), 'package lib\n\nx := input.parsed_body\n');
    const again = await loadPolicy({ dir, entrypoint: 'envoy/authz/allow', opaPath: opa });
    assert.deepEqual(again.inputPaths, [['identity', 'authenticated'], ['parsed_body']]);
  });

  test('a Kubernetes ConfigMap volume (files and folders behind symbolic links) is analysed', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    // The layout the kubelet writes: ..<timestamp>/ holds the files, ..data points at it, and each
    // key is a symbolic link through ..data.
    const volume = await mkdtemp(join(tmpdir(), 'gatehouse-configmap-'));
    await mkdir(join(volume, '..2026_12_02_06_00_00.1', 'lib'), { recursive: true });
    await writeFile(
      join(volume, '..2026_12_02_06_00_00.1', 'policy.rego'),
      'package envoy.authz\n\nimport rego.v1\n\nallow if data.lib.ok\n',
    );
    await writeFile(
      join(volume, '..2026_12_02_06_00_00.1', 'lib', 'lib.rego'),
      'package lib\n\nimport rego.v1\n\nok if input.identity.authenticated\n',
    );
    await symlink('..2026_12_02_06_00_00.1', join(volume, '..data'));
    await symlink(join('..data', 'policy.rego'), join(volume, 'policy.rego'));
    await symlink(join('..data', 'lib'), join(volume, 'lib'));
    const policy = await loadPolicy({ dir: volume, entrypoint: 'envoy/authz/allow', opaPath: opa });
    assert.deepEqual(policy.inputPaths, [['identity', 'authenticated']]);
    assert.equal(policy.evaluate({ identity: { authenticated: true } }), true);
  });
});

describe('the projection never skips work that can fail a request', () => {
  test('a body that fails to parse is denied ERR_BODY_INVALID though the policy never reads the body', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    const dir = await regoDir(
      'package envoy.authz\n\nimport rego.v1\n\nallow if input.parsed_path[0] == "api"\n',
    );
    const policy = await loadPolicy({ dir, entrypoint: 'envoy/authz/allow', opaPath: opa });
    assert.deepEqual(policy.inputPaths, [['parsed_path']]);
    const check = createCheckHandler({
      policy: () => policy,
      identity: anonymousRuntime(),
      log: createLogger({ level: 'silent' }),
    });
    const post = (body: string) =>
      create(
        CheckRequestSchema,
        httpRequest({
          method: 'POST',
          path: '/api/orders',
          headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
          body,
        }),
      );
    const good = await check(post('{"amount": 1}'));
    assert.equal(good.response.httpResponse.case, 'okResponse');
    // The decision log still records the whole input.
    assert.deepEqual((good.input as { parsed_body?: unknown } | undefined)?.parsed_body, {
      amount: 1,
    });
    assert.ok((good.input as { attributes?: unknown } | undefined)?.attributes !== undefined);
    const bad = await check(post('{"amount": '));
    assert.equal(bad.error?.code, 'ERR_BODY_INVALID');
    assert.equal(bad.response.httpResponse.case, 'deniedResponse');
  });
});

describe('what the module is handed can always be parsed by it', () => {
  test('a lone surrogate from a JSON body reaches the policy as U+FFFD, as Go decodes it for the plugin, whole input or not', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    const dir = await regoDir(
      'package envoy.authz\n\nimport rego.v1\n\nallow if input.identity.ok\n\nnote := input.parsed_body.note\n\nkeys := object.keys(input.parsed_body)\n',
    );
    const bundle = readBundle(
      await compileRegoDir({
        dir,
        entrypoints: ['envoy/authz/allow', 'envoy/authz/note', 'envoy/authz/keys'],
        opaPath: opa,
      }),
    );
    const input = {
      identity: { ok: true },
      parsed_body: JSON.parse('{"note": "\\ud800 x", "\\udfff": 1}') as unknown,
    };
    for (const paths of ['all', [['identity']]] as const) {
      const allow = await loadPolicyFromBundle(bundle, {
        entrypoint: 'envoy/authz/allow',
        inputPaths: paths,
      });
      assert.equal(allow.evaluate(input), true, `allow with ${JSON.stringify(paths)}`);
    }
    const note = await loadPolicyFromBundle(bundle, { entrypoint: 'envoy/authz/note' });
    assert.equal(note.evaluate(input), '\ufffd x');
    const keys = await loadPolicyFromBundle(bundle, { entrypoint: 'envoy/authz/keys' });
    assert.deepEqual(new Set(keys.evaluate(input) as string[]), new Set(['note', '\ufffd']));
    // A backslash followed by `ud` is text, not an escape: it stays as it is.
    assert.equal(note.evaluate({ parsed_body: { note: '\\ud800' } }), '\\ud800');
  });
});

function isDeepEqual(a: unknown, b: unknown): boolean {
  try {
    assert.deepEqual(a, b);
    return true;
  } catch {
    return false;
  }
}
