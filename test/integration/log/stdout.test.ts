import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const LOGGER = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'src',
  'log',
  'logger.js',
);

/**
 * The service logger writes to stdout through a batcher that holds lines until the end of the
 * event loop's turn (src/log/line-batcher.ts): a process that exits in the same turn must still
 * write every line, in order, whether stdout is a pipe (here) or a file.
 */
test('service logger: every line reaches stdout, in order, when the process exits in the same turn', () => {
  for (const maxWrite of [16_384, 4_096]) {
    const script = `
      const { createLogger, stdoutDestination } = await import(${JSON.stringify(LOGGER)});
      const log = createLogger({ level: 'info', destination: stdoutDestination({ minLength: ${maxWrite / 4}, maxWrite: ${maxWrite} }) });
      for (let i = 0; i < 3000; i++) log.info({ i, pad: 'x'.repeat(i % 300) }, 'line');
      process.exit(0);
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    const lines = out.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 3000, `maxWrite ${maxWrite}`);
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as { i: number }).i),
      Array.from({ length: 3000 }, (_, i) => i),
    );
  }
});
