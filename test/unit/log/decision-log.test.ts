import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { DecisionLog, loggablePath, type DecisionRecord } from '../../../src/log/decision-log.js';
import { createLogger, redactQueryValues, REDACT_PATHS } from '../../../src/log/logger.js';
import { LogSink } from '../../support/gatehouse.js';

const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.c2VjcmV0LXRva2Vu.c2ln';
const COOKIE = 'c2Vzc2lvbi1jb29raWUtdmFsdWU';

function record(overrides: Partial<DecisionRecord> = {}): DecisionRecord {
  return {
    request_id: 'r1',
    decision_id: 'd1',
    trace_id: undefined,
    span_id: undefined,
    host: 'app.example.com',
    method: 'GET',
    path: '/x',
    route: undefined,
    sub: undefined,
    email: undefined,
    auth: 'anonymous',
    allowed: true,
    result: 'allowed',
    status: 200,
    reasons: undefined,
    policy_revision: 'rev',
    latency_us: 12,
    code: undefined,
    identity_error: undefined,
    handled_by: 'policy',
    ...overrides,
  };
}

/** Every chunk the logger wrote, as written. */
class RawSink extends Writable {
  readonly raw: string[] = [];
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.raw.push(chunk.toString('utf8'));
    done();
  }
}

/** pino writes asynchronously to the sink; wait a tick for the line. */
const settle = () => new Promise((r) => setImmediate(r));

test('declared redaction paths: tokens, cookies, codes and bodies never reach the emitted line', async () => {
  const sink = new LogSink();
  const log = createLogger({ level: 'debug', destination: sink });
  const input = {
    attributes: {
      request: {
        http: {
          path: '/cb?code=ONE-TIME-CODE&state=S',
          headers: {
            authorization: `Bearer ${TOKEN}`,
            cookie: `__Host-gatehouse=${COOKIE}`,
            ':path': '/cb?code=ONE-TIME-CODE&state=S',
            'x-gatehouse-jwt-assertion': TOKEN,
            accept: 'text/html',
          },
          body: 'password=hunter2',
        },
      },
    },
    parsed_query: { code: ['ONE-TIME-CODE'], state: ['S'] },
    parsed_body: { password: 'hunter2' },
  };
  new DecisionLog(log, { sampleAllowed: 1, includeQuery: false }).write(record({ input }));
  log.info(
    {
      headers: { authorization: `Bearer ${TOKEN}`, cookie: COOKIE, 'set-cookie': COOKIE },
      detail: { refresh_token: TOKEN, client_secret: 'cs' },
    },
    'other',
  );
  await settle();
  assert.equal(sink.lines.length, 2);
  const raw = JSON.stringify(sink.lines);
  for (const secret of [TOKEN, COOKIE, 'ONE-TIME-CODE', 'hunter2', '"cs"'])
    assert.ok(!raw.includes(secret), `${secret} leaked: ${raw}`);
  const http = (sink.lines[0]!['input'] as typeof input).attributes.request.http;
  assert.equal(http.headers.accept, 'text/html', 'harmless headers stay');
  assert.equal(http.path, '/cb?code=[redacted]&state=[redacted]', 'the path stays readable');
  assert.ok(REDACT_PATHS.includes('input.parsed_query.*'));
});

test('sampling drops only allowed decisions; denies and errors are always written', async () => {
  const sink = new LogSink();
  const decisions = new DecisionLog(
    createLogger({ level: 'info', destination: sink }),
    { sampleAllowed: 0.25, includeQuery: false },
    () => 0.5,
  );
  assert.equal(
    decisions.write(record({ request_id: 'allowed' })),
    false,
    '0.5 >= 0.25: sampled out',
  );
  assert.equal(
    decisions.write(record({ request_id: 'denied', allowed: false, status: 403 })),
    true,
  );
  assert.equal(
    decisions.write(
      record({ request_id: 'error', allowed: false, status: 500, code: 'ERR_POLICY_EVAL' }),
      new Error('detail'),
    ),
    true,
  );
  decisions.configure({ sampleAllowed: 0, includeQuery: false });
  assert.equal(decisions.write(record({ request_id: 'never' })), false);
  decisions.configure({ sampleAllowed: 1, includeQuery: false });
  assert.equal(decisions.write(record({ request_id: 'always' })), true);
  await settle();
  assert.deepEqual(
    sink.lines.map((l) => [l['request_id'], l['level']]),
    [
      ['denied', 'info'],
      ['error', 'warn'],
      ['always', 'info'],
    ],
  );
});

test('the logged path drops the query, or with include_query masks credential-like values', () => {
  assert.equal(loggablePath('/a/b?code=c&page=2', false), '/a/b');
  assert.equal(
    loggablePath('/a/b?code=c&page=2&access_token=t', true),
    '/a/b?code=[redacted]&page=2&access_token=[redacted]',
  );
  assert.equal(redactQueryValues('/x'), '/x');
  assert.equal(redactQueryValues('/x?a=1&flag'), '/x?a=[redacted]&flag');
});

test('a plain decision line is the line pino writes for it: same members, bindings and level, one JSON line', async () => {
  const sink = new RawSink();
  const log = createLogger({ level: 'info', destination: sink }).child({ pid: 42, worker: 2 });
  const full = record({
    sub: 'alice',
    email: null,
    auth: 'bearer',
    reasons: ['ok "quoted"\n'],
    route: 'app',
    path: '/ünïcode/\u2028',
  });
  new DecisionLog(log, { sampleAllowed: 1, includeQuery: false }).write(full);
  log.info(full, 'check');
  await settle();
  const lines = sink.raw.join('').split(/(?<=\n)/);
  assert.equal(lines.length, 2);
  const [ours, theirs] = lines.map((l) => JSON.parse(l) as Record<string, unknown>) as [
    Record<string, unknown>,
    Record<string, unknown>,
  ];
  assert.ok(typeof ours['time'] === 'string' && !Number.isNaN(Date.parse(ours['time'] as string)));
  assert.deepEqual({ ...ours, time: 0 }, { ...theirs, time: 0 });
  assert.deepEqual(Object.keys(ours), Object.keys(theirs), 'members in the same order');
  assert.ok(lines.every((line) => line.endsWith('\n') && line.indexOf('\n') === line.length - 1));
});

test('plain decision lines follow the service logger level (SIGHUP may raise it to warn)', async () => {
  const sink = new LogSink();
  const log = createLogger({ level: 'info', destination: sink });
  const decisions = new DecisionLog(log, { sampleAllowed: 1, includeQuery: false });
  log.level = 'warn';
  assert.equal(decisions.write(record({ request_id: 'quiet' })), false);
  log.level = 'info';
  assert.equal(decisions.write(record({ request_id: 'loud' })), true);
  await settle();
  assert.deepEqual(
    sink.lines.map((l) => l['request_id']),
    ['loud'],
  );
});

test('stdout lines are flushed within a second at a trickle, not held until 4 KiB accumulate', async () => {
  const logger = new URL('../../../src/log/logger.js', import.meta.url).href;
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `
    const { createLogger } = await import(${JSON.stringify(logger)});
    createLogger({ level: 'info' }).info({ request_id: 'trickle' }, 'check');
    setTimeout(() => {}, 10_000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString('utf8');
        if (out.includes('\n')) resolve(out);
      });
      child.once('exit', () => reject(new Error(`exited before writing: ${out}`)));
      setTimeout(
        () => reject(new Error('no line within 5 s while the process kept running')),
        5_000,
      ).unref();
    });
    assert.equal((JSON.parse(line) as { request_id: string }).request_id, 'trickle');
  } finally {
    child.kill();
  }
});
