import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { PolicyEvent } from '../../../src/policy/engine.js';
import { startTestGatehouse } from '../../support/gatehouse.js';
import { connect, httpRequest } from '../../support/grpc-client.js';
import { requireTool } from '../../support/tools.js';

const version = (n: number) => `package envoy.authz

import rego.v1

allow := {"allowed": true, "headers": {"x-policy-version": "${n}"}}
`;

/** Replace a file atomically, as editors and deploy tools do. */
function replace(dir: string, source: string): void {
  const tmp = join(dir, '.authz.rego.tmp');
  writeFileSync(tmp, source);
  renameSync(tmp, join(dir, 'authz.rego'));
}

function waitFor(
  events: PolicyEvent[],
  type: PolicyEvent['type'],
  after: number,
): Promise<PolicyEvent> {
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`no ${type} event`)), 30_000);
    const poll = setInterval(() => {
      const found = events.slice(after).find((e) => e.type === type);
      if (found) {
        clearInterval(poll);
        clearTimeout(deadline);
        resolve(found);
      }
    }, 20);
  });
}

/** Poll `condition` every 20 ms until it holds; fail after 30 s naming `what`. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('hot reload while requests flow: no request fails, the new policy takes over, a broken one is refused', async (t) => {
  const opa = requireTool(t, 'opa');
  if (opa === undefined) return;
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-reload-'));
  writeFileSync(join(dir, 'authz.rego'), version(1));
  const { gatehouse } = await startTestGatehouse({ dir, opa, watch: true });
  const events: PolicyEvent[] = [];
  gatehouse.policy.on((e) => events.push(e));
  const client = connect(gatehouse.grpcPort);

  const seen = new Set<string>();
  let failures = 0;
  let total = 0;
  let running = true;
  // Four concurrent callers keep Checks in flight throughout both reloads.
  const load = Array.from({ length: 4 }, async () => {
    while (running) {
      const response = await client.check(httpRequest({ path: '/x' }));
      total += 1;
      if (response.httpResponse.case !== 'okResponse') failures += 1;
      else seen.add(response.httpResponse.value.headers[0]?.header?.value ?? '?');
    }
  });

  try {
    await until(() => seen.has('1'), 'Checks answered by the first policy');
    const firstRevision = gatehouse.policy.current()?.revision;
    replace(dir, version(2));
    const loaded = await waitFor(events, 'loaded', 0);
    assert.equal(loaded.type === 'loaded' && loaded.previousRevision, firstRevision);
    await until(() => seen.has('2'), 'Checks answered by the second policy');
    const goodRevision = gatehouse.policy.current()?.revision;
    assert.notEqual(goodRevision, firstRevision);

    const before = events.length;
    replace(dir, 'package envoy.authz\n\nallow := {\n');
    const failed = await waitFor(events, 'failed', before);
    assert.equal(failed.type === 'failed' && failed.error.code, 'ERR_POLICY_COMPILE');
    const atFailure = total;
    await until(() => total >= atFailure + 20, 'Checks answered after the refused reload');
    assert.equal(
      gatehouse.policy.current()?.revision,
      goodRevision,
      'the last good policy keeps serving',
    );
  } finally {
    running = false;
    await Promise.all(load);
    client.close();
    await gatehouse.stop();
  }
  assert.equal(failures, 0, `${failures} of ${total} Checks failed during reloads`);
  assert.ok(seen.has('1') && seen.has('2'), `both versions served (saw ${[...seen].join(', ')})`);
  assert.ok(!seen.has('?'));
  assert.ok(total > 20, `only ${total} Checks ran`);
});
