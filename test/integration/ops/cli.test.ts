/**
 * The `gatehouse` binary as operators run it: `check` (the policy author's debugger, with an
 * optional simulated identity), start failures that name the key and exit non-zero, and SIGHUP.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort } from '../../support/ports.js';
import { repoPath } from '../../support/paths.js';
import { findTool } from '../../support/tools.js';
import { configDoc, get, policyDir, until, writeConfig } from './support.js';

const opa = findTool('opa');
const skip = opa === undefined && 'opa not found';
const MAIN = repoPath('dist', 'src', 'cli', 'main.js');

const POLICY = `package envoy.authz

import rego.v1

default allow := {"allowed": false, "reasons": ["engineering only"]}

allow := {"allowed": true, "reasons": [sprintf("%s is in engineering", [input.identity.sub])]} if {
	input.identity.authenticated
	"engineering" in input.identity.groups
}
`;

// The printed report is untyped JSON; `any` at this one test boundary keeps the assertions readable.
// biome-ignore lint/suspicious/noExplicitAny: untyped JSON read back from the CLI's output
type Report = Record<string, any>;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(
  args: string[],
  options: { onSpawn?: (child: ReturnType<typeof spawn>) => void } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, GATEHOUSE_CONFIG: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    options.onSpawn?.(child);
  });
}

function file(name: string, content: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'gatehouse-cli-')), name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

test('gatehouse check: anonymous deny, then the same request allowed for a simulated identity', {
  skip,
}, async () => {
  const config = writeConfig(configDoc(policyDir(POLICY), opa!));
  const request = file('request.json', {
    method: 'GET',
    url: 'https://app.example.com/reports?q=1',
    headers: { accept: 'application/json' },
  });

  const anonymous = await run(['check', '--config', config, '--request', request]);
  assert.equal(anonymous.code, 1, anonymous.stderr);
  const denied = JSON.parse(anonymous.stdout) as Report;
  assert.equal(denied['simulated_identity'], false);
  assert.deepEqual(denied['input']['identity'], { authenticated: false });
  assert.deepEqual(denied['input']['parsed_query'], { q: ['1'] });
  assert.equal(denied['decision']['allowed'], false);
  assert.deepEqual(denied['reasons'], ['engineering only']);
  assert.equal(denied['response']['deniedResponse']['status']['code'], 'Forbidden');

  const identity = file('identity.json', {
    sub: 'alice',
    email: 'alice@example.com',
    groups: ['engineering'],
    department: 'r&d',
  });
  const signedIn = await run([
    'check',
    '--config',
    config,
    '--request',
    request,
    '--identity',
    identity,
  ]);
  assert.equal(signedIn.code, 0, signedIn.stderr);
  const allowed = JSON.parse(signedIn.stdout) as Report;
  assert.equal(allowed['simulated_identity'], true);
  assert.equal(allowed['input']['identity']['method'], 'session');
  assert.equal(allowed['input']['identity']['session_id'], 'simulated');
  assert.equal(allowed['input']['identity']['claims']['department'], 'r&d');
  assert.deepEqual(allowed['reasons'], ['alice is in engineering']);
  const headers = (
    allowed['response']['okResponse']['headers'] as { header: { key: string; value: string } }[]
  ).map((h) => [h.header.key, h.header.value]);
  assert.deepEqual(
    headers.find(([k]) => k === 'x-gatehouse-user'),
    ['x-gatehouse-user', 'alice'],
    'the upstream would be told who',
  );
});

test('gatehouse check reads a CheckRequest as Envoy sends it', { skip }, async () => {
  const config = writeConfig(configDoc(policyDir(POLICY), opa!));
  const request = file('check-request.json', {
    attributes: {
      request: {
        http: {
          method: 'POST',
          host: 'api.example.com',
          path: '/items',
          headers: { ':authority': 'api.example.com', 'content-type': 'application/json' },
          body: '{"a":1}',
        },
      },
    },
  });
  const result = await run(['check', '--config', config, '--request', request]);
  assert.equal(result.code, 1, result.stderr);
  const report = JSON.parse(result.stdout) as Report;
  assert.deepEqual(report['input']['parsed_body'], { a: 1 });
  assert.equal(report['input']['attributes']['request']['http']['method'], 'POST');
});

const START_FAILURES: {
  name: string;
  doc: (dir: string) => Record<string, unknown>;
  key: RegExp;
}[] = [
  {
    name: 'a signing key file that does not exist',
    doc: (dir) => configDoc(dir, opa ?? 'opa', { keys: { signing: ['/nonexistent/signing.pem'] } }),
    key: /keys\.signing\[0\]: cannot read \/nonexistent\/signing\.pem: ENOENT/,
  },
  {
    name: 'an entrypoint the policy does not have',
    doc: (dir) =>
      configDoc(dir, opa ?? 'opa', { policy: { dir, opa, entrypoint: 'envoy/authz/missing' } }),
    key: /ERR_POLICY_ENTRYPOINT: policy\.entrypoint: /,
  },
  {
    name: 'an unknown key',
    doc: (dir) => ({ ...configDoc(dir, opa ?? 'opa'), metrcs: {} }),
    key: /metrcs: unknown key/,
  },
  {
    name: 'a tracing endpoint that is not a URL',
    doc: (dir) => configDoc(dir, opa ?? 'opa', { tracing: { otlp_endpoint: 'collector:4318' } }),
    key: /tracing\.otlp_endpoint: expected an http\(s\) URL/,
  },
];

for (const c of START_FAILURES) {
  test(`gatehouse serve refuses to start, exit 2, naming the key: ${c.name}`, {
    skip,
  }, async () => {
    const result = await run(['serve', '--config', writeConfig(c.doc(policyDir(POLICY)))]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, c.key);
  });
}

test('SIGHUP on a running gatehouse serve applies log.level and refuses a port change, logged with the revision', {
  skip,
}, async () => {
  const httpPort = await freePort();
  const doc = configDoc(policyDir(POLICY), opa!, {
    http: { address: '127.0.0.1', port: httpPort },
  });
  const config = writeConfig(doc);
  let child: ReturnType<typeof spawn> | undefined;
  let logged = '';
  const done = run(['serve', '--config', config], {
    onSpawn: (c) => {
      child = c;
      c.stdout?.on('data', (chunk: Buffer) => (logged += chunk.toString()));
    },
  });
  await until(
    async () => (await get(httpPort, '/readyz').catch(() => ({ status: 0 }))).status === 200,
    15_000,
    'serve ready',
  );
  writeConfig(
    { ...doc, log: { level: 'debug' }, grpc: { ...(doc['grpc'] as object), port: 1 } },
    config,
  );
  child!.kill('SIGHUP');
  // Stop once the reload and the refusal are both logged (no fixed sleep).
  await until(
    () => logged.includes('"msg":"reloaded"') && logged.includes('"refused":["grpc.port"]'),
    15_000,
    'the reload logged',
  );
  child!.kill('SIGTERM');
  const result = await done;
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const reloaded = lines.find((l) => l['msg'] === 'reloaded');
  assert.deepEqual(reloaded?.['applied'], ['log.level']);
  assert.deepEqual(reloaded?.['refused'], ['grpc.port']);
  assert.match(String(reloaded?.['policy_revision']), /^sha256:/);
  const refusal = lines.find((l) => l['level'] === 'error' && Array.isArray(l['refused']));
  assert.deepEqual(refusal?.['refused'], ['grpc.port']);
});

// --- gatehouse check: exit 0 allowed, 1 denied, 2 the check could not be made (issue 11, point 8) ---

test('gatehouse check prints a one-line summary on stderr; stdout stays the JSON report', {
  skip,
}, async () => {
  const config = writeConfig(configDoc(policyDir(POLICY), opa!));
  const request = file('request.json', {
    method: 'GET',
    url: 'https://app.example.com/reports?q=1',
    headers: { accept: 'application/json' },
  });
  const denied = await run(['check', '--config', config, '--request', request]);
  assert.equal(denied.code, 1, denied.stderr);
  assert.equal(
    denied.stderr,
    'gatehouse check: denied: GET https://app.example.com/reports?q=1 -> 403 for anonymous (engineering only)\n',
  );
  JSON.parse(denied.stdout);

  const identity = file('identity.json', { sub: 'alice', groups: ['engineering'] });
  const allowed = await run([
    'check',
    '--config',
    config,
    '--request',
    request,
    '--identity',
    identity,
  ]);
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.equal(
    allowed.stderr,
    'gatehouse check: allowed: GET https://app.example.com/reports?q=1 -> upstream (alice is in engineering)\n',
  );
});

const CHECK_ERRORS: {
  name: string;
  policy?: string;
  config?: (dir: string) => Record<string, unknown>;
  request?: string;
  summary: RegExp;
}[] = [
  {
    name: 'a policy that does not compile',
    policy: 'package envoy.authz\n\nimport rego.v1\n\nallow if {\n',
    summary:
      /^gatehouse check: error: GET https:\/\/app\.example\.com\/ -> 503 ERR_POLICY_COMPILE: .*rego_parse_error/m,
  },
  {
    name: 'a policy calling a builtin Gatehouse does not provide',
    policy:
      'package envoy.authz\n\nimport rego.v1\n\nallow if http.send({"method": "GET", "url": "https://example.com"}).status_code == 200\n',
    summary: /^gatehouse check: error: .* ERR_POLICY_BUILTIN_MISSING: .*http\.send/m,
  },
  {
    name: 'no opa to compile the policy',
    config: (dir) => configDoc(dir, '/nonexistent/opa'),
    summary: /^gatehouse check: error: .* ERR_POLICY_COMPILE: /m,
  },
  {
    name: 'a request that is not JSON',
    request: 'GET / HTTP/1.1\n',
    summary: /^gatehouse check: error: the request is not JSON: /m,
  },
  {
    name: 'a request that is JSON but not a request',
    request: '{"method": "GET"}',
    summary: /^gatehouse check: error: the simple form needs "url"/m,
  },
];

for (const c of CHECK_ERRORS) {
  test(`gatehouse check exits 2, not 1 (a "must be denied" CI check must not pass): ${c.name}`, {
    skip,
  }, async () => {
    const dir = policyDir(c.policy ?? POLICY);
    const config = writeConfig(c.config?.(dir) ?? configDoc(dir, opa!));
    const request = file(
      'request.json',
      c.request ?? {
        method: 'GET',
        url: 'https://app.example.com/',
        headers: { accept: 'application/json' },
      },
    );
    const result = await run(['check', '--config', config, '--request', request]);
    assert.equal(result.code, 2, `${result.stderr}\n${result.stdout}`);
    assert.match(result.stderr, c.summary);
    assert.equal(result.stderr.trim().split('\n').length, 1, 'one line');
  });
}

test('gatehouse check shows an anonymous browser the sign-in redirect the live server sends (an API client the 401)', {
  skip,
}, async () => {
  const config = writeConfig(
    configDoc(policyDir(POLICY), opa!, {
      development: true,
      identity: { issuer: 'https://idp.example.com', client_id: 'gatehouse', client_secret: 'x' },
    }),
  );
  const browser = file('request.json', {
    method: 'GET',
    url: 'https://app.example.com/reports?q=1',
    headers: { accept: 'text/html' },
  });
  const result = await run(['check', '--config', config, '--request', browser]);
  assert.equal(result.code, 1, result.stderr);
  assert.equal(
    result.stderr,
    'gatehouse check: denied: GET https://app.example.com/reports?q=1 -> 302 redirect to sign-in: <authorization_endpoint of https://idp.example.com> (engineering only)\n',
  );
  const report = JSON.parse(result.stdout) as Report;
  const denied = report['response']['deniedResponse'];
  assert.equal(denied['status']['code'], 'Found');
  const headers = new Map(
    (denied['headers'] as { header: { key: string; value: string } }[]).map((h) => [
      h.header.key,
      h.header.value,
    ]),
  );
  const location = new URL(
    String(headers.get('location')).replace(
      '<authorization_endpoint of https://idp.example.com>',
      'https://placeholder.invalid/',
    ),
  );
  assert.equal(
    location.searchParams.get('redirect_uri'),
    'https://app.example.com/.gatehouse/callback',
  );
  assert.equal(location.searchParams.get('client_id'), 'gatehouse');
  assert.equal(location.searchParams.get('code_challenge_method'), 'S256');
  assert.match(String(headers.get('set-cookie')), /^__Host-gatehouse-txn=/);

  const api = file('request.json', {
    method: 'GET',
    url: 'https://app.example.com/reports',
    headers: { accept: 'application/json' },
  });
  const apiResult = await run(['check', '--config', config, '--request', api]);
  assert.equal(apiResult.code, 1, apiResult.stderr);
  assert.match(apiResult.stderr, /-> 401 for anonymous/);
});

test('gatehouse --version prints the package version', async () => {
  const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', 'version', '-v']) {
    const result = await run([flag]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `gatehouse ${pkg.version}\n`);
  }
});

test('gatehouse keygen over existing keys writes nothing and says why (not EEXIST: EEXIST)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-keygen-'));
  const first = await run(['keygen', '--out', dir]);
  assert.equal(first.code, 0, first.stderr);
  const before = readFileSync(join(dir, 'signing-key.pem'), 'utf8');
  const again = await run(['keygen', '--out', dir]);
  assert.equal(again.code, 2);
  assert.doesNotMatch(again.stderr, /EEXIST/);
  assert.match(
    again.stderr,
    /signing-key\.pem and .*session-secret already exist; keygen never overwrites keys and wrote nothing/,
  );
  assert.match(again.stderr, /docs\/reference\/identity\.md/);
  assert.equal(readFileSync(join(dir, 'signing-key.pem'), 'utf8'), before);

  // Only one of the two in the way: still nothing written (no half-rotated folder).
  const partial = mkdtempSync(join(tmpdir(), 'gatehouse-keygen-'));
  writeFileSync(join(partial, 'session-secret'), 'keep me\n');
  const refused = await run(['keygen', '--out', partial]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /session-secret already exists/);
  assert.equal(existsSync(join(partial, 'signing-key.pem')), false);
});

test('development: true is logged loudly at start (warn, first thing), as docs/reference/config.md says', {
  skip,
}, async () => {
  const httpPort = await freePort();
  const config = writeConfig(
    configDoc(policyDir(POLICY), opa!, {
      development: true,
      http: { address: '127.0.0.1', port: httpPort },
    }),
  );
  let child: ReturnType<typeof spawn> | undefined;
  const done = run(['serve', '--config', config], { onSpawn: (c) => (child = c) });
  await until(
    async () => (await get(httpPort, '/readyz').catch(() => ({ status: 0 }))).status === 200,
    15_000,
    'serve ready',
  );
  child!.kill('SIGTERM');
  const result = await done;
  const lines = result.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines[0]?.['level'], 'warn', result.stdout);
  assert.equal(lines[0]?.['development'], true);
  assert.match(String(lines[0]?.['msg']), /^DEVELOPMENT MODE .*Never use this in production/);
});

test('gatehouse check with a central sign-in host: an anonymous browser on another host is sent to the central host, as live', {
  skip,
}, async () => {
  const config = writeConfig(
    configDoc(policyDir(POLICY), opa!, {
      development: true,
      identity: {
        issuer: 'https://idp.example.com',
        client_id: 'gatehouse',
        client_secret: 'x',
        sign_in_host: 'login.example.com',
        allowed_hosts: ['app.example.com'],
      },
    }),
  );
  const browser = file('request.json', {
    method: 'GET',
    url: 'https://app.example.com/reports',
    headers: { accept: 'text/html' },
  });
  const result = await run(['check', '--config', config, '--request', browser]);
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    result.stderr,
    /^gatehouse check: denied: GET https:\/\/app\.example\.com\/reports -> 302 redirect to sign-in: https:\/\/login\.example\.com\/\.gatehouse\/sign_in \(engineering only\)\n$/,
  );
});
