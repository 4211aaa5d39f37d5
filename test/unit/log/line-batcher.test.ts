import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineBatcher, type LineTarget } from '../../../src/log/line-batcher.js';

/** A target that records what it is handed. */
function recorder(): LineTarget & { chunks: string[]; syncFlushes: number; destroyed: boolean } {
  return {
    chunks: [],
    syncFlushes: 0,
    destroyed: false,
    write(chunk: string) {
      if (this.destroyed) throw new Error('SonicBoom destroyed');
      this.chunks.push(chunk);
    },
    flush(cb?: (err?: Error) => void) {
      cb?.();
    },
    flushSync() {
      this.syncFlushes++;
    },
  };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

test('LineBatcher: lines of one turn reach the target together, in order, at the end of the turn', async () => {
  const target = recorder();
  const batcher = new LineBatcher(target, 16_384);
  for (let i = 0; i < 5; i++) batcher.write(`{"n":${i}}\n`);
  assert.deepEqual(target.chunks, []);
  await turn();
  assert.deepEqual(target.chunks, ['{"n":0}\n{"n":1}\n{"n":2}\n{"n":3}\n{"n":4}\n']);
  batcher.write('{"n":5}\n');
  await turn();
  assert.deepEqual(target.chunks.slice(1), ['{"n":5}\n']);
});

test('LineBatcher: each chunk is whole lines of at most maxBytes bytes; a longer line goes alone', async () => {
  const target = recorder();
  const batcher = new LineBatcher(target, 2_500);
  const line = (c: string, n: number) => `${c.repeat(n - 1)}\n`;
  // 'é' is two bytes: 600 characters, 1,200 bytes.
  const lines = [
    line('a', 1_000),
    line('é', 600),
    line('b', 1_000),
    line('c', 3_000),
    line('d', 10),
  ];
  for (const l of lines) batcher.write(l);
  await turn();
  assert.deepEqual(target.chunks, [
    `${lines[0]}${lines[1]}`,
    `${lines[2]}`,
    `${lines[3]}`,
    `${lines[4]}`,
  ]);
  assert.equal(target.chunks.join(''), lines.join(''));
  for (const chunk of target.chunks)
    assert.ok(Buffer.byteLength(chunk) <= 2_500 || chunk.split('\n').length === 2, 'one long line');
});

test('LineBatcher: flushSync and flush hand pending lines over at once', async () => {
  const target = recorder();
  const batcher = new LineBatcher(target, 16_384);
  batcher.write('one\n');
  batcher.flushSync();
  assert.deepEqual(target.chunks, ['one\n']);
  assert.equal(target.syncFlushes, 1);
  batcher.write('two\n');
  let flushed = false;
  batcher.flush(() => {
    flushed = true;
  });
  assert.deepEqual(target.chunks, ['one\n', 'two\n']);
  assert.ok(flushed);
  // The turn's scheduled hand-over then finds nothing left.
  await turn();
  assert.deepEqual(target.chunks, ['one\n', 'two\n']);
});

test('LineBatcher: lines for a destroyed target are dropped, never thrown', async () => {
  const target = recorder();
  const batcher = new LineBatcher(target, 16_384);
  target.destroyed = true;
  batcher.write('late\n');
  await turn();
  batcher.flushSync();
  assert.deepEqual(target.chunks, []);
  assert.equal(target.syncFlushes, 0);
});

test('LineBatcher: flushSync hands over with the target in its synchronous mode, then restores it', () => {
  // An asynchronous write started while flushing on exit would race the synchronous writes of
  // the chunks after it (lines out of order in test/integration/log/stdout.test.ts).
  const modes: (boolean | undefined)[] = [];
  const target: LineTarget = {
    sync: false,
    write() {
      modes.push(this.sync);
    },
    flushSync() {
      modes.push(this.sync);
    },
  };
  const batcher = new LineBatcher(target, 8);
  for (const line of ['aaaa\n', 'bbbb\n', 'cccc\n']) batcher.write(line);
  batcher.flushSync();
  assert.deepEqual(modes, [true, true, true, true]);
  assert.equal(target.sync, false);
});
