/**
 * Differential test: Gatehouse's fast evaluator (src/deps/opa-wasm.ts) against the OPA SDK's own
 * `LoadedPolicy.evaluate`, on the same compiled modules — the shipped policies
 * (policies/*.rego, policies/examples/*.rego) and the test fixtures — over a corpus of inputs:
 * the policy inputs Gatehouse builds from the CheckRequest fixtures (with several identities),
 * hand-picked edge values (falsy inputs, Unicode, large inputs that grow wasm memory), and
 * seeded random inputs shaped like Gatehouse's. Every result set must be equal, and so must
 * every abort. For the shipped policies, Gatehouse's decision (`LoadedPolicy.evaluate`) must
 * also be the SDK's.
 *
 * One difference is intended: the fast evaluator hands a lone surrogate over as U+FFFD (as Go's
 * JSON does for the plugin), where the SDK writes `\ud800`, which OPA's JSON parser refuses. The
 * SDK reference is therefore given the input with U+FFFD in their place ({@link wellFormed}),
 * and a named test pins the SDK's refusal.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fromJson, type JsonValue } from '@bufbuild/protobuf';
import { instantiatePolicy, type SdkPolicy } from '../../../src/deps/opa-wasm.js';
import { hasCode } from '../../../src/errors/gatehouse-error.js';
import { CheckRequestSchema } from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { buildInput } from '../../../src/input/build.js';
import { ANONYMOUS, type Identity } from '../../../src/input/types.js';
import { readBundle, type PolicyBundle } from '../../../src/policy/bundle.js';
import { createBuiltins, EvalContext } from '../../../src/policy/builtins/index.js';
import { compileRegoDir, type RegoVersion } from '../../../src/policy/compile.js';
import { loadPolicyFromBundle } from '../../../src/policy/load.js';
import { repoPath } from '../../support/paths.js';
import { requireTool } from '../../support/tools.js';
import { fixture as inputFixture, FIXTURE_REGISTRY } from '../../unit/input/support.js';
import { buildBundle, fixture } from './support.js';

/** A Tuesday, 10:30 UTC, and a Sunday, 03:00 UTC (business_hours decides differently). */
const CLOCKS: readonly bigint[] = [
  BigInt(Date.UTC(2026, 11, 1, 10, 30)) * 1_000_000n,
  BigInt(Date.UTC(2026, 11, 6, 3, 0)) * 1_000_000n,
];

interface Subject {
  readonly name: string;
  readonly dir: string;
  readonly entrypoints: readonly string[];
  readonly regoVersion?: RegoVersion;
  /** Part of the shipped policies: Gatehouse's decision is compared too. */
  readonly shipped: boolean;
}

const EXAMPLES = ['business_hours', 'email_domain', 'group', 'per_route', 'request_body'];
const SUBJECTS: readonly Subject[] = [
  {
    name: 'policies/ (authz.rego and examples/)',
    dir: repoPath('policies'),
    entrypoints: [
      'envoy/authz/allow',
      ...[...EXAMPLES, 'source_network'].map((e) => `envoy/examples/${e}/allow`),
    ],
    shipped: true,
  },
  ...['allow-all', 'conflict', 'envoy-tutorial', 'object-decision', 'time', 'undefined'].map(
    (name) => ({ name, dir: fixture(name), entrypoints: ['envoy/authz/allow'], shipped: false }),
  ),
  {
    name: 'with-data',
    dir: fixture('with-data'),
    entrypoints: ['envoy/authz/allow'],
    shipped: false,
  },
  {
    name: 'envoy-tutorial-v0',
    dir: fixture('envoy-tutorial-v0'),
    entrypoints: ['envoy/authz/allow'],
    regoVersion: 'v0',
    shipped: false,
  },
];

// --- the input corpus ----------------------------------------------------------------------

/** mulberry32: a small seeded PRNG, so a failure reproduces. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** `value` with every lone surrogate, in strings and keys, replaced by U+FFFD. */
function wellFormed(value: unknown): unknown {
  const fix = (s: string): string => (s as unknown as { toWellFormed(): string }).toWellFormed();
  if (typeof value === 'string') return fix(value);
  if (Array.isArray(value)) return value.map(wellFormed);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [fix(k), wellFormed(v)]));
}

function pick<T>(r: () => number, values: readonly T[]): T {
  return values[Math.floor(r() * values.length)] as T;
}

const STRINGS = [
  '',
  'alice',
  'bob',
  'a b',
  'caf\u00e9',
  '\u65e5\u672c\u8a9e',
  '\u{1f512}\u{1f511}',
  '\ud800',
  'line\nbreak',
  'quote"back\\slash',
  '\u0000nul',
  '%2F%00',
  '<script>',
];
const NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.1,
  1e21,
  1e-7,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 31),
  1.7976931348623157e308,
  42,
];
const GROUPS = ['admins', 'engineering', 'staff', 'sre', 'finance', 'on-call', 'viewers', ''];
const ROUTES = ['admin', 'internal', 'wiki', 'status', 'reports', 'unknown', 'caf\u00e9'];
const PATHS = [
  [],
  ['api'],
  ['api', 'items'],
  ['apiary'],
  ['docs', 'x'],
  ['healthz'],
  ['public', 'a'],
  ['people'],
  ['payments'],
  ['caf\u00e9', '\u{1f512}'],
];
const ADDRESSES = [
  '10.1.2.3',
  '192.168.1.20',
  '172.17.0.10',
  '8.8.8.8',
  '::1',
  'fd00::1',
  'not-an-ip',
];
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'get', 'OPTIONS'];

/** Any JSON value, nested up to `depth`. */
function randomJson(r: () => number, depth: number): unknown {
  const kind = Math.floor(r() * (depth > 0 ? 7 : 5));
  switch (kind) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return pick(r, NUMBERS);
    case 3:
    case 4:
      return pick(r, STRINGS);
    case 5:
      return Array.from({ length: Math.floor(r() * 4) }, () => randomJson(r, depth - 1));
    default:
      return Object.fromEntries(
        Array.from({ length: Math.floor(r() * 4) }, () => [
          pick(r, [...STRINGS, 'amount', 'a', 'b', 'user']),
          randomJson(r, depth - 1),
        ]),
      );
  }
}

/** An input shaped like Gatehouse's, with values the shipped policies branch on. */
function randomInput(r: () => number): unknown {
  const segments = pick(r, PATHS);
  const authenticated = r() < 0.75;
  const identity = authenticated
    ? {
        authenticated: true,
        method: pick(r, ['session', 'bearer']),
        sub: pick(r, ['alice', 'bob', 'u-1', '\u{1f512}']),
        email: pick(r, ['alice@example.com', 'bob@other.org', 'x@EXAMPLE.COM', null]),
        email_verified: r() < 0.7,
        name: null,
        groups: GROUPS.filter(() => r() < 0.3),
        claims: { sub: 'alice', extra: randomJson(r, 2) },
        session_id: null,
        issued_at: 1_700_000_000,
        expires_at: 1_700_000_600,
      }
    : { authenticated: false };
  return {
    attributes: {
      source: { address: { socketAddress: { address: pick(r, ADDRESSES), portValue: 40000 } } },
      ...(r() < 0.6 ? { contextExtensions: { route: pick(r, ROUTES) } } : {}),
      request: {
        http: {
          method: pick(r, METHODS),
          path: `/${segments.join('/')}`,
          host: 'app.example.com',
          headers: { 'x-any': pick(r, STRINGS) },
        },
      },
    },
    parsed_path: segments,
    parsed_query: {},
    parsed_body: pick(r, [null, { amount: pick(r, NUMBERS) }, { amount: '12' }, randomJson(r, 3)]),
    identity,
    ...(r() < 0.2 ? { a: r() < 0.5, b: r() < 0.5, user: pick(r, ['alice', 'bob']) } : {}),
  };
}

/** The inputs Gatehouse builds from the CheckRequest fixtures, as anonymous and signed in. */
function fixtureInputs(): unknown[] {
  const identities: Identity[] = [
    ANONYMOUS,
    {
      authenticated: true,
      method: 'session',
      sub: 'alice',
      email: 'alice@example.com',
      email_verified: true,
      name: 'Alice',
      groups: ['admins', 'staff'],
      claims: { sub: 'alice' },
      session_id: 's1',
      issued_at: 1_700_000_000,
      expires_at: 1_700_000_600,
    },
    {
      authenticated: true,
      method: 'bearer',
      sub: 'svc',
      email: null,
      email_verified: false,
      name: null,
      groups: ['engineering'],
      claims: { sub: 'svc' },
      session_id: null,
      issued_at: 1_700_000_000,
      expires_at: 1_700_000_600,
    },
  ];
  const inputs: unknown[] = [];
  for (const c of inputFixture<{ request: JsonValue; error?: string }[]>('check-requests.json')) {
    if (c.error !== undefined) continue;
    const req = fromJson(CheckRequestSchema, c.request, { registry: FIXTURE_REGISTRY });
    for (const identity of identities) inputs.push(buildInput(req, identity));
  }
  return inputs;
}

const EDGE_INPUTS: readonly unknown[] = [
  undefined,
  null,
  false,
  true,
  0,
  1,
  '',
  'x',
  [],
  {},
  { a: true, b: true },
  { a: true },
  { user: 'alice' },
  { user: '\u{1f512}'.repeat(1000) },
  // Larger than the initial 2 MiB of memory: both evaluators must grow it.
  { user: 'alice', big: 'x'.repeat(3 * 1024 * 1024) },
  // Multi-byte text longer than the room left: the fast evaluator's second encode.
  { user: 'alice', big: '\u65e5'.repeat(1024 * 1024) },
  { deep: JSON.parse(`${'['.repeat(200)}1${']'.repeat(200)}`) as unknown },
];

const CORPUS: readonly unknown[] = (() => {
  const r = random(20261201);
  return [...EDGE_INPUTS, ...fixtureInputs(), ...Array.from({ length: 400 }, () => randomInput(r))];
})();

// --- the comparison ------------------------------------------------------------------------

type Outcome = { readonly result: unknown } | { readonly threw: string };

function outcome(evaluate: () => unknown): Outcome {
  try {
    return { result: evaluate() };
  } catch (err) {
    return { threw: err instanceof Error ? err.message : String(err) };
  }
}

interface Pair {
  readonly fast: SdkPolicy;
  readonly sdk: SdkPolicy;
  readonly fastCtx: EvalContext;
  readonly sdkCtx: EvalContext;
}

/** Two instances of the same module, each with its own builtins bound to a frozen clock. */
async function instantiatePair(bundle: PolicyBundle, clock: bigint): Promise<Pair> {
  const memory = { initial: 32, maximum: 8192 };
  const fastCtx = new EvalContext(() => clock);
  const sdkCtx = new EvalContext(() => clock);
  const fast = await instantiatePolicy(bundle.wasm, memory, createBuiltins(fastCtx));
  const sdk = await instantiatePolicy(bundle.wasm, memory, createBuiltins(sdkCtx));
  if (Object.keys(bundle.data).length > 0) {
    fast.setData(bundle.data);
    sdk.setData(bundle.data);
  }
  return { fast, sdk, fastCtx, sdkCtx };
}

for (const subject of SUBJECTS) {
  describe(`fast evaluator = SDK evaluate: ${subject.name}`, () => {
    test(`${CORPUS.length} inputs × ${subject.entrypoints.length} entrypoint(s) × ${CLOCKS.length} clocks`, async (t) => {
      const opa = requireTool(t, 'opa');
      if (opa === undefined) return;
      const bundle = readBundle(
        await compileRegoDir({
          dir: subject.dir,
          entrypoints: subject.entrypoints,
          opaPath: opa,
          ...(subject.regoVersion === undefined ? {} : { regoVersion: subject.regoVersion }),
        }),
      );
      let compared = 0;
      let defined = 0;
      let aborted = 0;
      for (const clock of CLOCKS) {
        const { fast, sdk, fastCtx, sdkCtx } = await instantiatePair(bundle, clock);
        assert.equal(fast.fast, true, 'the module is ABI ≥ 1.2: the fast evaluator is in use');
        for (const entrypoint of subject.entrypoints) {
          const id = fast.entrypoints[entrypoint];
          assert.equal(typeof id, 'number', `entrypoint ${entrypoint}`);
          for (const [i, input] of CORPUS.entries()) {
            fastCtx.begin();
            const a = outcome(() => fast.evaluate(input, id as number));
            sdkCtx.begin();
            const b = outcome(() => sdk.sdkEvaluate(wellFormed(input), id as number));
            assert.deepEqual(
              a,
              b,
              `${entrypoint}, input #${i}: ${JSON.stringify(input)?.slice(0, 300)}`,
            );
            compared++;
            if ('threw' in a) aborted++;
            else if (Array.isArray(a.result) && a.result.length > 0) defined++;
          }
        }
      }
      t.diagnostic(`${compared} evaluations compared: ${defined} defined, ${aborted} aborted`);
      assert.ok(defined > 0 || subject.name === 'undefined', 'the corpus reaches defined results');
      if (subject.name === 'conflict') assert.ok(aborted > 0, 'the corpus reaches the abort');
    });
  });
}

describe("the shipped policies' decisions: Gatehouse's LoadedPolicy = the SDK's evaluate", () => {
  const shipped = SUBJECTS.filter((s) => s.shipped);
  for (const subject of shipped) {
    for (const entrypoint of subject.entrypoints) {
      test(entrypoint, async (t) => {
        const opa = requireTool(t, 'opa');
        if (opa === undefined) return;
        const bundle = readBundle(await buildBundle(opa, subject.dir, [entrypoint]));
        const clock = CLOCKS[0] as bigint;
        const policy = await loadPolicyFromBundle(bundle, { entrypoint, clock: () => clock });
        const ctx = new EvalContext(() => clock);
        const sdk = await instantiatePolicy(
          bundle.wasm,
          { initial: 32, maximum: 8192 },
          createBuiltins(ctx),
        );
        const id = sdk.entrypoints[entrypoint] as number;
        const decisions = new Set<string>();
        for (const [i, input] of CORPUS.entries()) {
          ctx.begin();
          const reference = outcome(() => {
            const resultSet = sdk.sdkEvaluate(wellFormed(input), id) as Array<{
              result?: unknown;
            }>;
            return resultSet[0]?.result;
          });
          // An abort is ERR_POLICY_EVAL with the SDK's reason as its cause.
          const actual = outcome(() => {
            try {
              return policy.evaluate(input);
            } catch (err) {
              assert.ok(hasCode(err, 'ERR_POLICY_EVAL'), String(err));
              throw (err as Error).cause;
            }
          });
          assert.deepEqual(actual, reference, `input #${i}`);
          decisions.add(JSON.stringify(reference));
        }
        t.diagnostic(`${CORPUS.length} decisions equal, ${decisions.size} distinct`);
        assert.ok(decisions.size > 1, 'the corpus reaches more than one decision');
      });
    }
  }
});

test("a lone surrogate: the SDK's JSON is refused by OPA, the fast evaluator's reads as U+FFFD", async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const bundle = readBundle(await buildBundle(opa, fixture('allow-all'), ['envoy/authz/allow']));
  const clock = CLOCKS[0] as bigint;
  const { fast, sdk } = await instantiatePair(bundle, clock);
  const id = fast.entrypoints['envoy/authz/allow'] as number;
  const input = { parsed_body: { note: '\ud800' } };
  assert.throws(() => sdk.sdkEvaluate(input, id));
  assert.deepEqual(fast.evaluate(input, id), sdk.sdkEvaluate(wellFormed(input), id));
});
