/**
 * The `memory` store shared by the workers of one process: the store contract through a real
 * node IPC channel (JSON serialization, as node:cluster uses), with the store in another process.
 */
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { IpcStore } from '../../../src/store/ipc.js';
import { storeContract } from './contract.js';
import { record } from './support.js';

const PRIMARY = fileURLToPath(new URL('./ipc-primary.js', import.meta.url));

async function forkPrimary(t: { after(fn: () => unknown): void }) {
  const child = fork(PRIMARY, [], { serialization: 'json', stdio: 'inherit' });
  t.after(() => {
    if (child.connected) child.disconnect();
    child.kill();
  });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.on('message', (m) => {
      if ((m as { type?: string }).type === 'gatehouse:store-ready') resolve();
    });
  });
  return child;
}

storeContract('memory over IPC', async (t) => {
  const child = await forkPrimary(t);
  const a = new IpcStore(child);
  const b = new IpcStore(child);
  t.after(async () => {
    await a.close();
    await b.close();
  });
  return { a, b };
});

test('memory over IPC: a primary that does not answer is ERR_SESSION_STORE_UNAVAILABLE, not a hang', async (t) => {
  const child = await forkPrimary(t);
  const store = new IpcStore(child, { timeoutMs: 300 });
  t.after(() => store.close());
  child.kill('SIGSTOP');
  try {
    await assert.rejects(store.get(record('a').sid), { code: 'ERR_SESSION_STORE_UNAVAILABLE' });
  } finally {
    child.kill('SIGCONT');
  }
});
