import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log/logger.js';
import { startGatehouse, type Gatehouse, type StartOptions } from '../../src/server/start.js';

/** Log lines captured from an in-process Gatehouse. */
export class LogSink extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n'))
      if (line.trim() !== '') this.lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  }
}

/**
 * Start Gatehouse in this process on free loopback ports with `overrides` merged into a test
 * configuration, and `options` (e.g. a test clock) for the start API. Stop it with
 * `gatehouse.stop()`.
 */
export async function startTestGatehouse(
  policy: Record<string, unknown>,
  overrides: Record<string, unknown> = {},
  options: StartOptions = {},
): Promise<{ gatehouse: Gatehouse; logs: LogSink; configFile: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
  const doc = {
    grpc: { address: '127.0.0.1', port: 0, drain_delay_ms: 0, shutdown_grace_ms: 2000 },
    http: { address: '127.0.0.1', port: 0 },
    policy,
    log: { level: 'info' },
    ...overrides,
  };
  const text = stringify(doc);
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, text);
  const config = parseConfig(text, dir);
  const logs = new LogSink();
  const gatehouse = await startGatehouse(
    config,
    createLogger({ level: config.log.level, destination: logs }),
    options,
  );
  return { gatehouse, logs, configFile };
}
