/**
 * src/server/thread-priority.ts: every thread but the event loop's at nice 19, the event loop
 * untouched. Run in a child process, whose threads (V8's helpers, libuv's pool once used) are
 * read back from /proc.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';

const MODULE = new URL('../../../src/server/thread-priority.js', import.meta.url).href;

test('every thread but the event loop is lowered to nice 19; the event loop keeps its priority', {
  skip: existsSync('/proc/self/task')
    ? false
    : 'no /proc (not Linux): the module changes nothing there',
}, () => {
  const script = `
    import { readdirSync, readFileSync } from 'node:fs';
    import { pbkdf2 } from 'node:crypto';
    import { lowerBackgroundThreads } from ${JSON.stringify(MODULE)};
    // Start libuv's pool too (it starts on first use).
    await new Promise((resolve, reject) => pbkdf2('x', 'y', 1, 32, 'sha256', (e) => (e ? reject(e) : resolve())));
    const nice = (tid) => Number(readFileSync('/proc/self/task/' + tid + '/stat', 'utf8').split(') ')[1].split(' ')[16]);
    const before = Object.fromEntries(readdirSync('/proc/self/task').map((t) => [t, nice(t)]));
    const changed = lowerBackgroundThreads();
    const after = Object.fromEntries(readdirSync('/proc/self/task').map((t) => [t, nice(t)]));
    process.stdout.write(JSON.stringify({ pid: process.pid, before, after, changed }));
  `;
  const out = JSON.parse(
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }),
  ) as {
    pid: number;
    before: Record<string, number>;
    after: Record<string, number>;
    changed: number;
  };
  const main = String(out.pid);
  const others = Object.keys(out.after).filter((tid) => tid !== main);
  assert.ok(others.length >= 4, `helper threads seen: ${others.length}`); // V8's and libuv's
  assert.equal(out.changed, others.length);
  for (const tid of others) assert.equal(out.after[tid], 19, `thread ${tid}`);
  assert.equal(out.after[main], out.before[main], 'the event loop keeps its priority');
  assert.notEqual(out.after[main], 19);
});
