/**
 * Every shell command in the README and docs/ (issue 11, point 9): each one is either run here as
 * written — in a scratch copy of the checkout ("a clone"), so the working tree stays clean — or
 * covered by a named test, or listed as not runnable here with the reason. A command added to the
 * docs without a verdict fails the first test.
 *
 * Commands are the lines of ```sh / ```bash blocks (`\` continuations joined, comments dropped)
 * and the `$ `-prompted lines of ```text blocks, whose following lines are their output.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { repoPath } from '../../support/paths.js';
import { requireTool } from '../../support/tools.js';

// --- the commands in the docs ----------------------------------------------------------------------

interface DocCommand {
  readonly file: string;
  readonly command: string;
  /** For `$ ` lines in ```text blocks: the lines shown after it, up to the next `$ `. */
  readonly output: readonly string[];
}

const DOCS = [
  'README.md',
  'envoy/README.md',
  ...readdirSync(repoPath('docs'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
].sort();

/** Drop a trailing ` # comment` outside quotes. */
function withoutComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i).trimEnd();
  }
  return line.trimEnd();
}

function docCommands(file: string): DocCommand[] {
  const text = readFileSync(repoPath(file), 'utf8');
  const found: DocCommand[] = [];
  for (const block of text.matchAll(/^```(\w*)\n([\s\S]*?)^```/gm)) {
    const lang = block[1];
    const body = block[2]!.replace(/\\\n\s*/g, ' ');
    if (lang === 'sh' || lang === 'bash') {
      for (const line of body.split('\n')) {
        const command = withoutComment(line.trim());
        if (command !== '') found.push({ file, command, output: [] });
      }
    } else if (lang === 'text' || lang === 'console') {
      let current: { command: string; output: string[] } | undefined;
      for (const line of body.split('\n')) {
        if (line.startsWith('$ ')) {
          if (current) found.push({ file, ...current });
          current = { command: line.slice(2).trim(), output: [] };
        } else if (current && line.trim() !== '') current.output.push(line);
      }
      if (current) found.push({ file, ...current });
    }
  }
  return found;
}

const ALL = DOCS.flatMap(docCommands);

// --- the verdicts ----------------------------------------------------------------------------------

type Verdict =
  | { readonly run: string }
  | { readonly coveredBy: string }
  | { readonly notRunnable: string };

/** First match wins. `run`: the test below that runs it as written. */
const VERDICTS: readonly (readonly [RegExp, Verdict])[] = [
  [
    /^npm run demo$/,
    {
      coveredBy:
        'test/e2e/demo-stop.test.ts runs `npm run demo` and stops it; test/e2e/demo.test.ts signs in through it',
    },
  ],
  [/^npm test$/, { coveredBy: 'this is the test command: these tests are its output' }],
  [
    /^bash scripts\/install-tools\.sh$/,
    { coveredBy: 'the first step of `npm test` (scripts/test.sh), before any test runs' },
  ],
  [
    /^bash scripts\/install-tools\.sh demo && npm run build$/,
    {
      coveredBy:
        '`npm test` runs the full install (a superset: npm ci, Envoy, OPA, …) and npm run build first; the scratch clones here reuse that node_modules/, .tools/bin and dist/',
    },
  ],
  [/^npx gatehouse --version$/, { run: 'the README walkthrough' }],
  [/^npx gatehouse keygen --out keys$/, { run: 'the README walkthrough' }],
  [
    /^(\.tools\/bin\/)?opa build /,
    {
      coveredBy:
        'test/integration/docs/bundle-command.test.ts runs every bundle command in the docs and loads the bundle',
    },
  ],
  [/^\(cd \.\.\/\.\. && opa build /, { coveredBy: 'test/integration/docs/bundle-command.test.ts' }],
  [/^npx gatehouse serve --config gatehouse\.yaml$/, { run: 'the README walkthrough' }],
  [
    /^echo '\{"method":"GET".*\| npx gatehouse check --config gatehouse\.yaml --request -$/,
    { run: 'the README walkthrough' },
  ],
  [
    /^curl -si -H "Authorization: Bearer \$\(curl -s -u demo-cli:demo-cli-secret /,
    {
      coveredBy:
        'test/e2e/demo-bearer.test.ts runs the README bearer one-liner against the demo (ports substituted)',
    },
  ],
  [
    /^source scripts\/lib\/env\.sh && npm run --silent build$/,
    {
      coveredBy:
        '`npm test` builds exactly so (scripts/test.sh sources env.sh, then npm run build)',
    },
  ],
  [
    /^node --test (--[\w-]+(=("[^"]*"|\S+))? )*dist\/test\/\S+\.test\.js( \| grep \w+)?$/,
    { coveredBy: '`npm test` runs every dist/test/**/*.test.js, this file included' },
  ],
  [
    /^npm run bench( |$)/,
    {
      notRunnable:
        'the benchmark: minutes to an hour on CPUs pinned for it, with tools tests never install (bench/install-bench-tools.sh)',
    },
  ],
  [
    /^npm run build$/,
    {
      coveredBy:
        '`npm test` runs it first (scripts/test.sh: run_step build, a clean npm run build)',
    },
  ],
  [
    /^node (--[\w-]+(=\S+)? )*dist\/bench\/(check-driver|session-check|decode-micro|ab)\.js( |$)/,
    {
      notRunnable:
        'a benchmark measurement, like npm run bench: the figure depends on the machine and is reported in docs/performance.md, not asserted',
    },
  ],
  [
    /^node --expose-gc dist\/bench\/cache-memory\.js /,
    {
      notRunnable:
        'a benchmark measurement, like npm run bench: the figure depends on the machine and is reported in docs/performance.md, not asserted',
    },
  ],
  [
    /^npx gatehouse sessions (list|revoke) --config gatehouse\.yaml( |$)/,
    {
      coveredBy:
        'test/integration/store/cli.test.ts runs `gatehouse sessions list` and `revoke` (--sid, --user, --reason, --by, --json) against a real Redis',
    },
  ],
  [
    /^npx gatehouse devices (list|approve|revoke) --config gatehouse\.yaml( |$)/,
    {
      coveredBy:
        'test/integration/device/cli.test.ts runs `gatehouse devices list`, `approve` and `revoke` (--id, --user, --reason, --by, --json) against a real Redis',
    },
  ],
  [
    /^bash scripts\/test\.sh dist\/test\/e2e\/replicas-revocation\.test\.js$/,
    {
      coveredBy:
        'test/e2e/replicas-revocation.test.ts is that test: `npm test` runs it (its figures are its # propagation diagnostics)',
    },
  ],
  [
    /^node dist\/bench\/report\.js /,
    {
      notRunnable:
        'rewrites docs/performance.md from a stored benchmark run; the benchmark is not run by the tests',
    },
  ],
  [
    /^envoy -c envoy\/front-proxy\.yaml$/,
    {
      coveredBy:
        'test/e2e/envoy-validate.test.ts validates every shipped Envoy config; the demo and the e2e tests run front-proxy.yaml',
    },
  ],
  [
    /^docker (build|push|run) /,
    {
      notRunnable:
        'no container engine on the test machines; test/e2e/manifests.test.ts lints the Dockerfile',
    },
  ],
  [
    /^cd deploy\/kubernetes$/,
    { run: 'deploy-kubernetes.md step 2 (the commands after it run there)' },
  ],
  [/^npx gatehouse keygen --out secrets$/, { run: 'deploy-kubernetes.md step 2' }],
  [
    /^printf '%s' "\$CLIENT_SECRET" > secrets\/client-secret$/,
    { run: 'deploy-kubernetes.md step 2' },
  ],
  [
    /^printf '%s' "rediss:\/\/gatehouse:\$REDIS_PASSWORD@[^"]+" > secrets\/redis-url$/,
    { run: 'deploy-kubernetes.md step 2' },
  ],
  [/^cp redis-ca\.pem secrets\/redis-ca\.pem$/, { run: 'deploy-kubernetes.md step 2' }],
  [
    /^(kustomize|kubectl) /,
    {
      notRunnable:
        'needs a Kubernetes cluster; test/e2e/manifests.test.ts validates the manifests with kubeconform instead',
    },
  ],
  [/^\.tools\/bin\/kubeconform /, { run: 'the kubeconform command of deploy-kubernetes.md' }],
  [/^istioctl /, { notRunnable: 'needs an Istio mesh' }],
  [
    /^curl -si https:\/\/app\.example\.com\//,
    { notRunnable: "the reader's own deployment behind Istio" },
  ],
  [
    /^curl -s https:\/\/<issuer>\//,
    { notRunnable: "a placeholder for the reader's identity provider" },
  ],
  [/^opa test policies\/( |$)/, { run: 'the opa test commands of the policy guide' }],
  [/^opa test policies\/examples\/ -v$/, { run: 'the opa test commands of the policy guide' }],
  [
    /^npx gatehouse check --config gatehouse\.yaml --request /,
    { run: 'the gatehouse check commands of the policy guide and operations.md' },
  ],
  [
    /^npx gatehouse serve --config gatehouse\.yaml$/,
    { run: 'operations.md: a start that fails naming the key' },
  ],
  [/^echo \$\?$/, { run: 'the exit status of the command before it' }],
];

function verdict(command: string): Verdict | undefined {
  return VERDICTS.find(([pattern]) => pattern.test(command))?.[1];
}

test('every shell command in the README and docs/ is run here, covered by a named test, or listed as not runnable with a reason', () => {
  assert.ok(ALL.length >= 30, `found only ${ALL.length} commands: is the extraction broken?`);
  const unclassified = ALL.filter((c) => verdict(c.command) === undefined).map(
    (c) => `${c.file}: ${c.command}`,
  );
  assert.deepEqual(
    unclassified,
    [],
    'add each to VERDICTS (run it, name the test that covers it, or say why it cannot run)',
  );
  // A verdict nobody uses is a stale entry.
  const unused = VERDICTS.filter(([pattern]) => !ALL.some((c) => pattern.test(c.command))).map(
    ([p]) => String(p),
  );
  assert.deepEqual(unused, []);
});

// --- running them ----------------------------------------------------------------------------------

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The environment a reader has: PATH with the pinned tools. npx links the clone's own package
 * into its cache to run its bin; that cache is the clone's, so nothing is left in ~/.npm.
 */
function readerEnv(opa: string, clone?: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${dirname(opa)}:${process.env['PATH'] ?? ''}`,
    npm_config_yes: 'false',
    GATEHOUSE_CONFIG: '',
    ...(clone === undefined ? {} : { npm_config_cache: join(clone, '.npm-cache') }),
  };
}

function sh(command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A scratch copy of the checkout as a clone has it after the README's install and build; removed after the test. */
function scratchClone(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-docs-clone-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const file of ['package.json', 'package-lock.json'])
    copyFileSync(repoPath(file), join(dir, file));
  for (const folder of ['node_modules', 'dist']) symlinkSync(repoPath(folder), join(dir, folder));
  cpSync(repoPath('policies'), join(dir, 'policies'), {
    recursive: true,
    filter: (src) => !src.endsWith(`${join('policies', 'build')}`),
  });
  mkdirSync(join(dir, 'deploy', 'kubernetes'), { recursive: true });
  return dir;
}

/** The docs' commands matching `pattern`, in order. */
function commandsIn(file: string, pattern: RegExp): DocCommand[] {
  return ALL.filter((c) => c.file === file && pattern.test(c.command));
}

function only(file: string, pattern: RegExp): DocCommand {
  const found = commandsIn(file, pattern);
  assert.equal(
    found.length,
    1,
    `${file}: expected one command matching ${String(pattern)}, found ${found.length}`,
  );
  return found[0]!;
}

/** The first ```lang block after `heading` in `file`. */
function blockAfter(file: string, heading: string, lang: string): string {
  const text = readFileSync(repoPath(file), 'utf8');
  const at = text.indexOf(heading);
  assert.ok(at >= 0, `${file}: no "${heading}"`);
  const block = new RegExp(`^( *)\`\`\`${lang}\\n([\\s\\S]*?)^ *\`\`\``, 'm').exec(text.slice(at));
  assert.ok(block, `${file}: no \`\`\`${lang} block after "${heading}"`);
  // A block inside a list item is indented; its lines lose that indent.
  return block[2]!.replace(new RegExp(`^${block[1]}`, 'gm'), '');
}

test('the README walkthrough ("Run it"), as written, in a clone: --version, keygen, serve with the V8 flags, check', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const clone = scratchClone(t);
  const env = readerEnv(opa, clone);

  const version = await sh(only('README.md', /^npx gatehouse --version$/).command, clone, env);
  assert.equal(version.code, 0, version.stderr);
  assert.match(version.stdout, /^gatehouse \d+\.\d+\.\d+\n$/);

  const keygen = await sh(only('README.md', /^npx gatehouse keygen /).command, clone, env);
  assert.equal(keygen.code, 0, keygen.stderr);
  assert.ok(
    existsSync(join(clone, 'keys', 'signing-key.pem')) &&
      existsSync(join(clone, 'keys', 'session-secret')),
  );

  symlinkSync(repoPath('.tools'), join(clone, '.tools'));
  const build = await sh(only('README.md', /^\.tools\/bin\/opa build /).command, clone, env);
  assert.equal(build.code, 0, build.stderr);

  // The README's gatehouse.yaml, with the client secret file it names.
  writeFileSync(
    join(clone, 'gatehouse.yaml'),
    blockAfter('README.md', 'A `gatehouse.yaml`', 'yaml'),
  );
  writeFileSync(join(clone, 'client-secret'), 'the-secret-from-the-identity-provider\n');

  // serve: it starts (the example issuer is not reachable from here: it serves, not yet ready),
  // with Gatehouse's V8 flags (no node_flags_missing), and stops on SIGTERM.
  // In a process group of its own, stopped as Ctrl-C stops it: npm exec runs the bin under a shell
  // that would not pass a SIGTERM on (the README says so).
  const serve = spawn('bash', ['-c', only('README.md', /^npx gatehouse serve /).command], {
    cwd: clone,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const group = serve.pid!;
  t.after(() => {
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  let out = '';
  serve.stdout.on('data', (d: Buffer) => (out += d.toString()));
  serve.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 60_000;
  while (!out.includes('"msg":"gatehouse serving"')) {
    if (Date.now() > deadline || serve.exitCode !== null)
      assert.fail(`serve did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const serving = out.split('\n').find((l) => l.includes('"msg":"gatehouse serving"')) ?? '';
  assert.doesNotMatch(serving, /node_flags_missing/, 'npx gatehouse runs with the V8 flags');
  // 'close': every process holding its output (npm, the shell, Gatehouse) has gone.
  const stopped = new Promise((r) => serve.once('close', r));
  process.kill(-group, 'SIGINT');
  await stopped;
  assert.match(
    out,
    /"msg":"shutting down".*"signal":"SIGINT"|"signal":"SIGINT".*"msg":"shutting down"/,
    'Gatehouse itself shut down',
  );

  const check = await sh(only('README.md', /\| npx gatehouse check /).command, clone, env);
  assert.equal(check.code, 1, `${check.stderr}\n${check.stdout}`);
  const summary =
    'gatehouse check: denied: GET https://app.example.com/api/items -> 401 for anonymous (authentication required)';
  assert.equal(check.stderr, `${summary}\n`);
  assert.ok(
    readFileSync(repoPath('README.md'), 'utf8')
      .replace(/\s*\n\s*/g, ' ')
      .includes(`\`${summary}\``),
    'the README quotes the summary it prints',
  );
});

test('docs/deploy-kubernetes.md step 2 as written: cd deploy/kubernetes, keygen into secrets, the client secret file, the Redis URL and CA', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const clone = scratchClone(t);
  const env = {
    ...readerEnv(opa, clone),
    CLIENT_SECRET: 'from-the-identity-provider',
    REDIS_PASSWORD: 'redis-acl-password',
  };
  const file = 'docs/deploy-kubernetes.md';
  const [cd] = commandsIn(file, /^cd deploy\/kubernetes$/);
  assert.ok(cd);
  // The operator's Redis CA, where the step expects it.
  writeFileSync(join(clone, 'deploy', 'kubernetes', 'redis-ca.pem'), 'CA PEM\n');
  const steps = [
    cd.command,
    only(file, /^npx gatehouse keygen --out secrets$/).command,
    only(file, /^printf '%s' "\$CLIENT_SECRET" /).command,
    only(file, /^printf '%s' "rediss:/).command,
    only(file, /^cp redis-ca\.pem secrets\/redis-ca\.pem$/).command,
  ];
  const ran = await sh(steps.join(' && '), clone, env);
  assert.equal(ran.code, 0, ran.stderr);
  const secrets = join(clone, 'deploy', 'kubernetes', 'secrets');
  assert.deepEqual(readdirSync(secrets).sort(), [
    'client-secret',
    'redis-ca.pem',
    'redis-url',
    'session-secret',
    'signing-key.pem',
  ]);
  assert.equal(readFileSync(join(secrets, 'client-secret'), 'utf8'), 'from-the-identity-provider');
  assert.equal(
    readFileSync(join(secrets, 'redis-url'), 'utf8'),
    'rediss://gatehouse:redis-acl-password@redis.example.internal:6380',
  );
});

test('docs/deploy-kubernetes.md: the kubeconform command, as written, passes on deploy/', async (t) => {
  if (requireTool(t, 'kubeconform') === undefined) return;
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const ran = await sh(
    only('docs/deploy-kubernetes.md', /^\.tools\/bin\/kubeconform /).command,
    repoPath(),
    readerEnv(opa),
  );
  assert.equal(ran.code, 0, `${ran.stdout}\n${ran.stderr}`);
  assert.match(ran.stdout, /Summary: \d+ resources found .* Valid: \d+, Invalid: 0, Errors: 0/);
});

test('docs/policy-guide.md: the opa test commands, as written', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const commands = commandsIn('docs/policy-guide.md', /^opa test /);
  assert.equal(commands.length, 2);
  for (const { command } of commands) {
    const ran = await sh(command, repoPath(), readerEnv(opa));
    assert.equal(ran.code, 0, `${command}\n${ran.stdout}\n${ran.stderr}`);
    assert.match(ran.stdout, /PASS: \d+\/\d+/, command);
  }
});

test("docs/policy-guide.md: the gatehouse check commands, as written, on the guide's example configuration and request", async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const clone = scratchClone(t);
  const file = 'docs/policy-guide.md';
  writeFileSync(
    join(clone, 'gatehouse.yaml'),
    `${blockAfter(file, 'A configuration for trying an example:', 'yaml')}  opa: ${opa}\n`,
  );
  writeFileSync(join(clone, 'request.json'), blockAfter(file, '- **simple**:', 'json'));
  const identity = /`(\{"sub": "alice"[^`]*\})`/.exec(
    readFileSync(repoPath(file), 'utf8').replace(/\n\s*/g, ' '),
  )?.[1];
  assert.ok(identity, 'the guide shows an identity file');
  writeFileSync(join(clone, 'alice.json'), identity);
  const commands = commandsIn(file, /^npx gatehouse check /);
  assert.equal(commands.length, 3);
  for (const { command } of commands) {
    const ran = await sh(command, clone, readerEnv(opa, clone));
    assert.ok(ran.code === 0 || ran.code === 1, `${command}: exit ${ran.code}\n${ran.stderr}`);
    assert.match(
      ran.stderr,
      /^gatehouse check: (allowed|denied): POST https:\/\/pay\.example\.com\/api\/payments -> /,
      command,
    );
    JSON.parse(ran.stdout);
  }
});

test('docs/operations.md: the shown sessions ($ lines) give the output shown', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const clone = scratchClone(t);
  const env = readerEnv(opa, clone);
  const file = 'docs/operations.md';
  const sessions = commandsIn(file, /./);
  const serve = sessions.find((c) => /^npx gatehouse serve /.test(c.command));
  assert.ok(serve, 'operations.md shows a failing start');
  // The configuration it describes: a signing key file that is not there.
  writeFileSync(
    join(clone, 'gatehouse.yaml'),
    `policy: { dir: ./policies, opa: ${opa} }\nkeys: { signing: [/etc/gatehouse/signing.pem] }\n`,
  );
  const failed = await sh(serve.command, clone, env);
  assert.equal(failed.stderr.trim(), serve.output[0], 'the error line, as shown');
  assert.equal(
    String(failed.code),
    sessions[sessions.indexOf(serve) + 1]?.output[0],
    'the exit status, as shown',
  );

  const check = sessions.find((c) => /^npx gatehouse check /.test(c.command));
  assert.ok(check);
  // The policy the shown answer comes from: analysts may read reports.
  mkdirSync(join(clone, 'analysts'));
  writeFileSync(
    join(clone, 'analysts', 'authz.rego'),
    'package envoy.authz\n\nimport rego.v1\n\ndefault allow := false\n\nallow := {"allowed": true, "reasons": [sprintf("%s is an analyst", [input.identity.sub])]} if "analysts" in input.identity.groups\n',
  );
  writeFileSync(join(clone, 'gatehouse.yaml'), `policy: { dir: ./analysts, opa: ${opa} }\n`);
  writeFileSync(
    join(clone, 'request.json'),
    blockAfter(file, 'A request in the simple form:', 'json'),
  );
  writeFileSync(
    join(clone, 'alice.json'),
    blockAfter(file, '`"simulated_identity": true`:', 'json'),
  );
  const ran = await sh(check.command, clone, env);
  assert.equal(String(ran.code), sessions[sessions.indexOf(check) + 1]?.output[0], ran.stderr);
  assert.equal(ran.stderr.trim(), check.output.at(-1), 'the summary line, as shown');
  const report = JSON.parse(ran.stdout) as { reasons: string[]; simulated_identity: boolean };
  assert.deepEqual(report.reasons, ['alice is an analyst']);
  assert.equal(report.simulated_identity, true);
});
