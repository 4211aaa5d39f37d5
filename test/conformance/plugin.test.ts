/**
 * Conformance with the OPA-Envoy plugin, the reference build (v1.10.0-envoy, from the Go module
 * proxy, built by scripts/install-tools.sh): the same CheckRequests and the same policies, fed
 * unchanged to both, compared at three stages —
 *
 * - `input`: the input document each gives the policy (a policy that returns it as the body);
 * - `decision`: the CheckResponse each answers, reduced to what it means for Envoy;
 * - `envoy`: what a real Envoy then does with each answer — status, headers and body the client
 *   gets, URL and headers the upstream gets.
 *
 * Cases: the requests of the plugin's envoyauth/request_test.go and internal/internal_test.go,
 * the policies of internal_test.go and of its quick_start.yaml (Rego v0), the decisions of
 * envoyauth/response_test.go, and the policies and requests of the OPA docs' Envoy and Istio
 * tutorials.
 *
 * Every difference must be listed, with its reason, in test/conformance/known-differences.json;
 * an unlisted difference fails the test, and so does a listed one that no longer happens.
 * `CONFORMANCE_DUMP=<file>` writes every difference found (key → first difference) to a file.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { create, createRegistry, fromJson, type JsonValue } from '@bufbuild/protobuf';
import {
  anyPack,
  file_google_protobuf_duration,
  file_google_protobuf_struct,
  StructSchema,
  TimestampSchema,
} from '@bufbuild/protobuf/wkt';
import {
  CheckRequestSchema,
  type CheckRequest,
  type CheckResponse,
} from '../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { connect, type TestClient } from '../support/grpc-client.js';
import { repoPath } from '../support/paths.js';
import { requireTool } from '../support/tools.js';
import { decided, firstDifference } from './compare.js';
import { startEnvoyStage, type EnvoyStage } from './envoy-stage.js';
import {
  envoyTutorialPolicy,
  envoyTutorialTokens,
  findReference,
  istioTutorialPolicy,
  pluginPolicies,
  pluginRequests,
  quickStartPolicy,
  type PolicyCase,
  type Reference,
  type RequestCase,
} from './sources.js';
import { policyFolder, startGatehouseFor, startPlugin } from './systems.js';
import { envoyTutorialRequests, istioTutorialRequests } from './tutorials.js';

interface KnownDifference {
  /** `<policy> × <request> <stage>`; `*` matches any run of characters. */
  readonly case: string;
  readonly reason: string;
}

interface KnownDifferences {
  /** What Gatehouse adds on top of the plugin's contract; the comparison leaves these out. */
  readonly additions: readonly { readonly what: string; readonly reason: string }[];
  readonly differences: readonly KnownDifference[];
}

const KNOWN_FILE = repoPath('test', 'conformance', 'known-differences.json');

function globMatches(pattern: string, text: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(text);
}

/** Run `fn` over `items`, at most `limit` at a time. */
/**
 * Runs `fn` over `items`, `limit` at a time. After a failure no new item starts, and the ones
 * already running finish (their servers and processes are stopped) before the first error is
 * rethrown: a failed run never leaves a server holding the test process open.
 */
async function pool<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      try {
        await fn(items[next++] as T);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: limit }, worker));
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected !== undefined) throw rejected.reason;
}

function decisionRequest(name: string): RequestCase {
  return {
    id: name,
    request: fromJson(CheckRequestSchema, {
      attributes: {
        request: {
          http: {
            method: 'GET',
            path: '/decision',
            host: 'app.example.com',
            headers: { ':path': '/decision', 'x-conformance-decision': name },
          },
        },
      },
    }),
  };
}

/**
 * Requests that exercise every part of the attributes encoding: Gatehouse's own input fixtures
 * (metadata, raw bodies, header maps, typed metadata) and a few edge values.
 */
function encodingRequests(): RequestCase[] {
  const registry = createRegistry(file_google_protobuf_duration, file_google_protobuf_struct);
  const fixtures = JSON.parse(
    readFileSync(repoPath('test', 'testdata', 'input', 'check-requests.json'), 'utf8'),
  ) as { name: string; request: JsonValue }[];
  const out: RequestCase[] = fixtures.map((f) => ({
    id: `fixture: ${f.name}`,
    request: fromJson(CheckRequestSchema, f.request, { registry }),
  }));
  out.push({
    id: 'edge: UDP peer, time with nanos, 64-bit size beyond 2^53, typed metadata, labels, tls',
    request: create(CheckRequestSchema, {
      attributes: {
        source: {
          address: {
            address: {
              case: 'socketAddress',
              value: {
                protocol: 1,
                address: '10.0.0.1',
                portSpecifier: { case: 'portValue', value: 0 },
              },
            },
          },
          labels: { app: 'client' },
          principal: 'spiffe://test-domain/test',
          certificate: '-----BEGIN CERTIFICATE-----',
        },
        destination: {
          address: { address: { case: 'pipe', value: { path: '/run/app.sock', mode: 384 } } },
        },
        request: {
          time: create(TimestampSchema, { seconds: 1_700_000_000n, nanos: 5 }),
          http: {
            id: '1',
            method: 'PUT',
            path: '/x',
            host: 'h',
            size: 9_007_199_254_740_993n,
            headers: { ':path': '/x' },
            fragment: 'f',
            query: 'q=1',
          },
        },
        contextExtensions: { route: 'r', __proto__: 'p' },
        metadataContext: {
          filterMetadata: {
            'envoy.filters.http.jwt_authn': {
              payload: { sub: 'alice', n: 1.5, list: [1, 'a', null, true] },
            },
          },
          typedFilterMetadata: {
            typed: anyPack(StructSchema, create(StructSchema, { fields: {} })),
          },
        },
        routeMetadataContext: {},
        tlsSession: { sni: 'h' },
      },
    }),
  });
  // Where newer plugin releases (v1.14/1.15) changed behaviour to the safer one Gatehouse has.
  const newer = (
    id: string,
    path: string,
    headers: Record<string, string> = {},
    body = '',
  ): RequestCase => ({
    id: `newer plugin: ${id}`,
    request: fromJson(CheckRequestSchema, {
      attributes: {
        request: {
          http: {
            method: body === '' ? 'GET' : 'POST',
            path,
            host: 'h',
            headers: { ':path': path, ...headers },
            body,
          },
        },
      },
    }),
  });
  out.push(
    newer('//admin is a path, not a host', '//admin/x'),
    newer('a malformed query escape is refused', '/p?a=%zz&role=admin'),
    newer('a ; in a query pair is refused', '/p?role=admin;x=1'),
    newer(
      "Envoy's partial-body header marks the body truncated",
      '/p',
      { 'content-type': 'application/json', 'x-envoy-auth-partial-body': 'true' },
      '{"a":',
    ),
  );
  return out;
}

/** Every policy with the requests it is fed. */
function policies(ref: Reference): PolicyCase[] {
  const requests = pluginRequests(ref);
  const decisions = JSON.parse(
    readFileSync(repoPath('test', 'conformance', 'decisions.json'), 'utf8'),
  ) as { plugin_response_test: { decisions: Record<string, unknown> } };
  const istio = istioTutorialRequests();
  return [
    ...pluginPolicies(ref).map((p) => ({ ...p, requests })),
    {
      id: 'echo',
      rego: readFileSync(repoPath('test', 'conformance', 'echo.rego'), 'utf8'),
      entrypoint: 'conformance/echo/allow',
      requests: [
        ...requests,
        ...istio,
        ...envoyTutorialRequests(envoyTutorialTokens(ref)),
        ...encodingRequests(),
      ],
    },
    {
      id: 'envoyauth/response_test.go decisions',
      rego: readFileSync(repoPath('test', 'conformance', 'decisions.rego'), 'utf8'),
      data: decisions,
      entrypoint: 'conformance/decisions/allow',
      requests: Object.keys(decisions.plugin_response_test.decisions).map(decisionRequest),
    },
    { ...envoyTutorialPolicy(ref), requests: envoyTutorialRequests(envoyTutorialTokens(ref)) },
    { ...istioTutorialPolicy(ref), requests: [...istio, ...requests] },
    { ...quickStartPolicy(ref), requests: envoyTutorialRequests(envoyTutorialTokens(ref)) },
  ];
}

async function answer(client: TestClient, request: CheckRequest): Promise<CheckResponse | Error> {
  return client
    .check(request)
    .catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
}

/** The input document a policy saw, from the echo policy's body (Gatehouse's `identity` left out). */
function echoedInput(response: CheckResponse | Error, system: 'plugin' | 'gatehouse'): unknown {
  // A request the system refused (it cannot build the input) has no input to compare.
  if (decided(response, system).kind === 'error') return 'request refused';
  if (response instanceof Error || response.httpResponse.case !== 'deniedResponse')
    return 'no body';
  const input = JSON.parse(response.httpResponse.value.body) as Record<string, unknown>;
  delete input['identity'];
  return input;
}

test('conformance with the OPA-Envoy plugin: inputs, decisions and what Envoy does, against known-differences.json', {
  timeout: 300_000,
}, async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  if (requireTool(t, 'envoy') === undefined) return;
  const ref = findReference();
  if (typeof ref === 'string') {
    const hint = `the OPA-Envoy plugin: ${ref}: run \`bash scripts/install-tools.sh\``;
    if (process.env['CI'] === 'true') throw new Error(`${hint} (CI=true: not skipping)`);
    t.skip(hint);
    return;
  }
  const known = JSON.parse(readFileSync(KNOWN_FILE, 'utf8')) as KnownDifferences;
  for (const entry of [...known.differences, ...known.additions])
    assert.ok(
      entry.reason.trim() !== '',
      `known difference without a reason: ${JSON.stringify(entry)}`,
    );

  const all = policies(ref);
  const found = new Map<string, string>();
  let compared = 0;
  let echoed = 0;
  let envoy: EnvoyStage | undefined;
  try {
    envoy = await startEnvoyStage();
    const stage = envoy;
    let replays = 0;
    await pool(all, 3, async (policy) => {
      const folder = policyFolder(policy);
      const [plugin, gatehouse] = await Promise.all([
        startPlugin(ref, policy, folder.files),
        startGatehouseFor(opa, policy, folder.dir),
      ]);
      try {
        if ('refused' in plugin || 'refused' in gatehouse) {
          // Every policy here loads in the plugin's own tests: a refusal by either is a difference.
          found.set(
            `${policy.id} load`,
            `plugin ${'refused' in plugin ? `refused: ${plugin.refused}` : 'loaded'}; gatehouse ${'refused' in gatehouse ? `refused: ${gatehouse.refused}` : 'loaded'}`,
          );
          return;
        }
        const pc = connect(plugin.port);
        const gc = connect(gatehouse.port);
        try {
          for (const rc of policy.requests ?? []) {
            const id = `${policy.id} × ${rc.id}`;
            const [pa, ga] = await Promise.all([answer(pc, rc.request), answer(gc, rc.request)]);
            compared++;
            if (policy.id === 'echo') {
              const plugins = echoedInput(pa, 'plugin');
              if (typeof plugins === 'object') echoed++;
              const d = firstDifference(plugins, echoedInput(ga, 'gatehouse'));
              if (d !== undefined) found.set(`${id} input`, d);
              continue;
            }
            let d: string | undefined;
            try {
              d = firstDifference(decided(pa, 'plugin'), decided(ga, 'gatehouse'));
            } catch (err) {
              d = err instanceof Error ? err.message : String(err);
            }
            if (d !== undefined) found.set(`${id} decision`, d);
            const po = await stage.observe(`p${++replays}`, rc.request, pa);
            const go = await stage.observe(`g${++replays}`, rc.request, ga);
            const e = firstDifference(po, go);
            if (e !== undefined) found.set(`${id} envoy`, e);
          }
        } finally {
          pc.close();
          gc.close();
        }
      } finally {
        if (!('refused' in plugin)) await plugin.stop();
        if (!('refused' in gatehouse)) await gatehouse.stop();
        folder.remove();
      }
    });
  } finally {
    await envoy?.stop();
  }

  const unexpected = [...found].filter(
    ([key]) => !known.differences.some((k) => globMatches(k.case, key)),
  );
  const stale = known.differences.filter(
    (k) => ![...found.keys()].some((key) => globMatches(k.case, key)),
  );
  if (process.env['CONFORMANCE_DUMP'] !== undefined) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      process.env['CONFORMANCE_DUMP'],
      JSON.stringify(Object.fromEntries(found), null, 1),
    );
  }
  t.diagnostic(
    `${all.length} policies, ${compared} request × policy pairs compared; ${found.size} known differences hit`,
  );
  assert.ok(
    compared > 300,
    `too few cases compared (${compared}): did the extraction from the plugin's tests break?`,
  );
  assert.ok(
    echoed > 40,
    `too few input documents compared (${echoed}): does the echo policy still run?`,
  );
  assert.deepEqual(
    unexpected.map(([key, detail]) => `${key}: ${detail}`),
    [],
    'differences from the plugin that are not in test/conformance/known-differences.json',
  );
  assert.deepEqual(
    stale.map((k) => k.case),
    [],
    'known differences that no longer happen: remove them from test/conformance/known-differences.json',
  );
});
