/**
 * Every Rego snippet in the README and docs/ compiles and runs as written (issue 11, point 9):
 *
 * - a policy (`package envoy…` with an `allow` rule) is compiled by Gatehouse's own loader — the
 *   real `opa build -t wasm`, then only the builtins Gatehouse provides — and evaluated on the
 *   input Gatehouse builds for a real CheckRequest;
 * - a test module (`package …_test`) runs with `opa test` against the shipped policy it imports;
 * - a fragment (a rule without its package) is checked by `opa check` inside the smallest module
 *   that can hold it: `package snippet` and `import rego.v1` in front, nothing else.
 *
 * And the field names the docs tell policy authors to use are the input's: a per-route condition
 * written as envoy/README.md says sees the route; the wrong spelling sees nothing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { create } from '@bufbuild/protobuf';
import { CheckRequestSchema } from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { buildInput } from '../../../src/input/build.js';
import { ANONYMOUS } from '../../../src/input/types.js';
import { loadPolicy } from '../../../src/policy/load.js';
import { httpRequest } from '../../support/grpc-client.js';
import { repoPath } from '../../support/paths.js';
import { requireTool } from '../../support/tools.js';

const run = promisify(execFile);

const DOCS = [
  'README.md',
  'envoy/README.md',
  ...readdirSync(repoPath('docs'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
].sort();

interface Snippet {
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly source: string;
}

function snippets(): Snippet[] {
  const found: Snippet[] = [];
  for (const file of DOCS) {
    const text = readFileSync(repoPath(file), 'utf8');
    for (const m of text.matchAll(/^( *)```rego\n([\s\S]*?)^ *```/gm)) {
      const indent = new RegExp(`^${m[1]}`, 'gm');
      found.push({
        file,
        line: text.slice(0, m.index).split('\n').length,
        source: m[2]!.replace(indent, ''),
      });
    }
  }
  return found;
}

const ALL = snippets();
const packageOf = (source: string) => /^package\s+(\S+)/m.exec(source)?.[1];

function scratch(name: string, source: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-rego-snippet-'));
  writeFileSync(join(dir, name), source);
  return dir;
}

/** A GET as Envoy sends it, turned into Gatehouse's policy input. */
function sampleInput(): unknown {
  return buildInput(
    create(
      CheckRequestSchema,
      httpRequest({
        path: '/api/items?page=1',
        headers: { accept: 'application/json' },
        contextExtensions: { route: 'api' },
      }),
    ),
    ANONYMOUS,
  );
}

test('the docs hold Rego snippets of each kind (the extraction works)', () => {
  assert.ok(ALL.length >= 9, `found ${ALL.length}`);
  assert.ok(ALL.some((s) => packageOf(s.source)?.endsWith('_test')));
  assert.ok(ALL.some((s) => packageOf(s.source) === undefined));
});

for (const snippet of ALL) {
  const pkg = packageOf(snippet.source);
  const where = `${snippet.file}:${snippet.line}`;
  if (pkg === undefined) {
    test(`${where}: the fragment compiles in a module of its own (opa check)`, async (t) => {
      const opa = requireTool(t, 'opa');
      if (opa === undefined) return;
      const dir = scratch('snippet.rego', `package snippet\n\nimport rego.v1\n\n${snippet.source}`);
      await run(opa, ['check', '--strict', dir]).catch((err: { stderr?: string }) =>
        assert.fail(`${where}:\n${err.stderr ?? String(err)}`),
      );
    });
  } else if (pkg.endsWith('_test')) {
    test(`${where}: the test module passes with opa test against the shipped policy`, async (t) => {
      const opa = requireTool(t, 'opa');
      if (opa === undefined) return;
      const dir = scratch('snippet_test.rego', snippet.source);
      const ran = await run(opa, [
        'test',
        repoPath('policies', 'authz.rego'),
        join(dir, 'snippet_test.rego'),
      ]).catch((err: { stdout?: string; stderr?: string }) =>
        assert.fail(`${where}:\n${err.stdout ?? ''}${err.stderr ?? String(err)}`),
      );
      assert.match(ran.stdout, /^PASS: (\d+)\/\1$/m, ran.stdout);
    });
  } else {
    test(`${where}: the policy compiles to wasm in Gatehouse and evaluates on a real input`, async (t) => {
      const opa = requireTool(t, 'opa');
      if (opa === undefined) return;
      const entrypoint = `${pkg.replaceAll('.', '/')}/allow`;
      const policy = await loadPolicy({
        dir: scratch('policy.rego', snippet.source),
        entrypoint,
        opaPath: opa,
      }).catch((err: unknown) =>
        assert.fail(
          `${where} (${entrypoint}): ${(err as Error).message}\n${String((err as { cause?: Error }).cause?.message ?? '')}`,
        ),
      );
      // Runs: evaluation neither throws nor needs anything the input lacks to be well-formed.
      policy.evaluate(sampleInput());
    });
  }
}

test('envoy/README.md: the per-route condition it gives sees the route; the spelling the docs used to give (context_extensions) sees nothing', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const readme = readFileSync(repoPath('envoy', 'README.md'), 'utf8').replace(/\s*\n\s*/g, ' ');
  const condition = /policy can say `([^`]+)`/.exec(readme)?.[1];
  assert.equal(condition, 'input.attributes.contextExtensions.route == "admin"');
  const decide = async (expression: string, route: string) => {
    const source = `package envoy.authz\n\nimport rego.v1\n\ndefault allow := false\n\nallow if ${expression}\n`;
    const policy = await loadPolicy({
      dir: scratch('policy.rego', source),
      entrypoint: 'envoy/authz/allow',
      opaPath: opa,
    });
    return policy.evaluate(
      buildInput(
        create(CheckRequestSchema, httpRequest({ path: '/admin', contextExtensions: { route } })),
        ANONYMOUS,
      ),
    );
  };
  assert.equal(await decide(condition, 'admin'), true);
  assert.equal(await decide(condition, 'app'), false);
  assert.equal(
    await decide('input.attributes.context_extensions.route == "admin"', 'admin'),
    false,
    'the wrong name is never true',
  );
});

test('no doc tells a policy author to read input.attributes.context_extensions (the input has contextExtensions)', () => {
  const offenders: string[] = [];
  for (const file of DOCS) {
    const text = readFileSync(repoPath(file), 'utf8').replace(/\s*\n\s*/g, ' ');
    for (const m of text.matchAll(/input\.attributes\.context_extensions/g)) {
      const sentence = text.slice(Math.max(0, m.index - 80), m.index + 80);
      // The one place that names it does so to warn against it.
      if (!/finds nothing there/.test(sentence)) offenders.push(`${file}: …${sentence}…`);
    }
  }
  assert.deepEqual(offenders, []);
});
