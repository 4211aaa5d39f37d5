/**
 * The bundle command the docs give (README, docs/deploy-kubernetes.md, the kustomization's
 * comment) works on the repository's own policies/ as written — authz_test.rego and the examples
 * sit next to authz.rego — and the bundle it writes is one Gatehouse serves.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { loadPolicy } from '../../../src/policy/load.js';
import { repoPath } from '../../support/paths.js';
import { requireTool } from '../../support/tools.js';

const run = promisify(execFile);

/** Where each command is run from, as the text around it says. */
const SOURCES: { file: string[]; cwd: string[] }[] = [
  { file: ['README.md'], cwd: [] },
  { file: ['docs', 'deploy-kubernetes.md'], cwd: ['deploy', 'kubernetes'] },
  { file: ['deploy', 'kubernetes', 'kustomization.yaml'], cwd: [] },
  { file: ['docs', 'policy-guide.md'], cwd: [] },
];

/**
 * `opa build … -o …` commands in a file, each from `opa build` (or a `(cd …` around it) to the end
 * of its line; a trailing `\` joins the next line, comment markers and trailing comments dropped.
 */
function opaBuildCommands(text: string): string[] {
  const lines = text.replace(/\\\n#?\s*/g, ' ').split('\n');
  return lines
    .filter((line) => /opa build .* -o /.test(line))
    .map((line) => {
      const at = line.indexOf('opa build');
      const sub = line.lastIndexOf('(cd ', at);
      return line
        .slice(sub >= 0 ? sub : at)
        .replace(/`.*$/, '')
        .replace(/\s+#.*$/, '')
        .replace(/\s{2,}\(.*\)\s*$/, '')
        .trim();
    });
}

for (const source of SOURCES) {
  test(`the bundle command in ${source.file.join('/')} works on the repository's policies/, as written`, async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    const commands = opaBuildCommands(readFileSync(repoPath(...source.file), 'utf8'));
    assert.ok(commands.length > 0, `no opa build command found in ${source.file.join('/')}`);
    for (const command of commands) {
      // The output goes to a temporary folder: the checkout stays clean.
      const out = join(mkdtempSync(join(tmpdir(), 'gatehouse-bundle-cmd-')), 'bundle.tar.gz');
      const rewritten = command.replace(/-o \S+/, `-o ${out}`);
      await run('bash', ['-c', rewritten], {
        cwd: repoPath(...source.cwd),
        env: { ...process.env, PATH: `${dirname(opa)}:${process.env['PATH'] ?? ''}` },
      }).catch((err: { stderr?: string }) => {
        assert.fail(
          `${command}\n(run in ${source.cwd.join('/') || 'the repository root'}) failed:\n${err.stderr ?? String(err)}`,
        );
      });
      const policy = await loadPolicy({ bundle: out, entrypoint: 'envoy/authz/allow' });
      assert.equal(policy.entrypoint, 'envoy/authz/allow', command);
      assert.notEqual(
        policy.evaluate({
          parsed_path: [],
          attributes: { request: { http: { method: 'GET', headers: {} } } },
          identity: { authenticated: false },
        }),
        undefined,
        command,
      );
    }
  });
}
