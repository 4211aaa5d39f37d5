import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { listen } from '../../../src/net/listen.js';

test('listen resolves with the bound port, and an error after binding goes to onError, not the process', async () => {
  const server = createServer();
  const seen: Error[] = [];
  try {
    const port = await listen(server, 0, '127.0.0.1', (err) => seen.push(err));
    assert.ok(port > 0);
    // What net.Server does when accept() fails (EMFILE): emit 'error'. Without a listener, that throws.
    server.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' }));
    assert.deepEqual(
      seen.map((e) => e.message),
      ['accept EMFILE'],
    );
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test('listen rejects when the address is taken', async () => {
  const first = createServer();
  const second = createServer();
  try {
    const port = await listen(first, 0, '127.0.0.1');
    await assert.rejects(listen(second, port, '127.0.0.1'), /EADDRINUSE/);
  } finally {
    await new Promise((resolve) => first.close(resolve));
  }
});
