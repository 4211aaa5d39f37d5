import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { CheckResponseSchema } from '../../../src/gen/envoy/service/auth/v3/external_auth_pb.js';
import { startServingGrpc } from '../../support/grpc-server.js';
import { requireTool } from '../../support/tools.js';

// HTTP/2 conformance of the gRPC listener: h2spec (github.com/summerwind/h2spec, pinned in
// scripts/install-tools.sh) runs all three of its suites — `generic`, `http2` (RFC 7540) and
// `hpack` (RFC 7541) — against the listener as production starts it (cleartext, default limits),
// and every case must pass unless KNOWN below accepts it with a reason.
//
// h2spec *skips* a case (a JUnit <skipped/>) when the server gives it nothing to test: the four
// flow-control cases (6.5.3/1, 6.9.1/1, 6.9.2/1, 6.9.2/2) first send h2spec's probe request — a
// GET of the -P path, no body — and skip when the reply carries no DATA. The listener answers a
// request that is not gRPC with an HTTP status and a line of text, so they run. A skipped case
// proves nothing, so here it counts as not passing: it too needs a KNOWN entry to pass.
//
// Many cases send a request and then a frame that breaks the protocol on its stream. The listener
// answers a refused request only once the request has ended (src/wire/http2/server.ts,
// afterRequest), so that frame always meets an open stream and gets the protocol's answer; a
// server that answers at once races it (node:http2 failed 12–14 of these cases, varying by run).

const CHECK = '/envoy.service.auth.v3.Authorization/Check';
/** h2spec's own wait for each expected frame (-o, seconds); the cases that time out cost this. */
const CASE_TIMEOUT_S = 3;
/** The whole h2spec run; a hang is killed and fails the test. */
const RUN_TIMEOUT_MS = 120_000;
/** h2spec 2.2.1 has 145 cases in its default (non-strict) run; fewer means a broken invocation. */
const MIN_CASES = 140;

/**
 * Cases accepted as not passing (failed or skipped), by h2spec id (`suite/section/number`, as
 * h2spec prints them: 'http2/6.3/1' is case 1 of section 6.3 of the http2 suite), each with why.
 * Empty: the listener must pass every case. An entry whose case passes, or that names no case,
 * fails the test, so the table cannot go stale.
 */
const KNOWN: ReadonlyMap<string, string> = new Map<string, string>([
  // ['http2/6.3/1', 'why this case is accepted'],
]);

const ALLOW = create(CheckResponseSchema, {
  status: { code: 0 },
  httpResponse: { case: 'okResponse', value: {} },
});

/** One h2spec case, as its JUnit report tells it. */
interface H2specCase {
  /** `suite/section/number`, e.g. 'http2/6.3/1'. */
  readonly id: string;
  readonly description: string;
  readonly outcome: 'passed' | 'failed' | 'skipped';
  /** What h2spec would have accepted (any one of them); empty unless failed. */
  readonly expected: readonly string[];
  /** What it got instead (a frame, `Timeout`, `Connection closed`) or its error; '' unless failed. */
  readonly actual: string;
}

/** The report's own totals (the <testsuite> attributes), to cross-check the case parse. */
interface H2specTotals {
  readonly tests: number;
  readonly skipped: number;
  readonly failed: number;
}

const ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
};

function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, name: string) => {
    if (name.startsWith('#x')) return String.fromCodePoint(Number.parseInt(name.slice(2), 16));
    if (name.startsWith('#')) return String.fromCodePoint(Number.parseInt(name.slice(1), 10));
    return ENTITIES[name] ?? whole;
  });
}

function attributes(tag: string): Map<string, string> {
  return new Map([...tag.matchAll(/([\w:-]+)="([^"]*)"/g)].map((m) => [m[1]!, unescapeXml(m[2]!)]));
}

/**
 * Reads h2spec's JUnit report (-j). Each <testcase> carries its suite and section in `package`
 * and its description in `classname`; its number is its position within that package (h2spec
 * numbers cases in run order, as the report lists them). A failed case has an <error> (h2spec
 * 2.2.1 reports every failure so) or a <failure>, whose text is the expected events one a line
 * followed by the actual event on the last line; a skipped one has <skipped>.
 */
function parseReport(xml: string): { cases: H2specCase[]; totals: H2specTotals } {
  const cases: H2specCase[] = [];
  const numbers = new Map<string, number>();
  for (const m of xml.matchAll(/<testcase\b([^>]*?)(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const attrs = attributes(m[1]!);
    const body = m[2] ?? '';
    const suite = attrs.get('package') ?? '?';
    const number = (numbers.get(suite) ?? 0) + 1;
    numbers.set(suite, number);
    const failure = /<(failure|error)\b[^>]*>([\s\S]*?)<\/\1>|<(failure|error)\b[^>]*\/>/.exec(
      body,
    );
    const outcome = failure ? 'failed' : /<skipped\b/.test(body) ? 'skipped' : 'passed';
    const lines = unescapeXml(failure?.[2] ?? '')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
    cases.push({
      id: `${suite}/${number}`,
      description: attrs.get('classname') ?? '?',
      outcome,
      expected: lines.slice(0, -1),
      actual: lines.at(-1) ?? '',
    });
  }
  let tests = 0;
  let skipped = 0;
  let failed = 0;
  for (const m of xml.matchAll(/<testsuite\b([^>]*)>/g)) {
    const attrs = attributes(m[1]!);
    const count = (name: string) => Number(attrs.get(name) ?? 'NaN');
    tests += count('tests');
    skipped += count('skipped');
    failed += count('failures') + count('errors');
  }
  return { cases, totals: { tests, skipped, failed } };
}

interface H2specRun {
  readonly code: number | string | null;
  readonly output: string;
}

/** Runs h2spec to completion (it exits 1 when any case fails); rejects only on a spawn error. */
function runH2spec(bin: string, args: readonly string[]): Promise<H2specRun> {
  return new Promise((resolve, reject) => {
    execFile(
      bin,
      args,
      { timeout: RUN_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 16 << 20, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const output = `${stdout}${stderr}`.replace(/\x1b\[[0-9;]*m/g, '');
        if (error === null) return resolve({ code: 0, output });
        if (typeof error.code === 'string' && error.code !== 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER')
          return reject(error); // ENOENT, EACCES: h2spec never ran
        const code = error.killed ? `killed after ${RUN_TIMEOUT_MS} ms` : (error.code ?? null);
        resolve({ code, output });
      },
    );
  });
}

function describeCase(c: H2specCase): string {
  const lines = [`  ${c.id}  ${c.description}`];
  if (c.outcome === 'failed') {
    lines.push(`      expected: ${c.expected.length > 0 ? c.expected.join(' | ') : '(n/a)'}`);
    lines.push(`      actual:   ${c.actual}`);
  }
  const reason = KNOWN.get(c.id);
  if (reason !== undefined) lines.push(`      KNOWN: ${reason}`);
  return lines.join('\n');
}

test('the h2spec report reader sees failures, skips and case numbers (a misread report cannot pass)', () => {
  const xml = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<testsuites>',
    '  <testsuite name="6.3. PRIORITY" package="http2/6.3" id="6.3" tests="2" skipped="0" failures="0" errors="1">',
    '    <testcase package="http2/6.3" classname="Sends a PRIORITY frame with 0x0 stream identifier" time="3.0">',
    '      <error>GOAWAY Frame (Error Code: PROTOCOL_ERROR)',
    'Connection closed',
    'Timeout</error>',
    '    </testcase>',
    '    <testcase package="http2/6.3" classname="Sends a PRIORITY frame with a length other than 5 octets" time="0.1"></testcase>',
    '  </testsuite>',
    '  <testsuite name="6.5.3. Settings Synchronization" package="http2/6.5.3" id="6.5.3" tests="2" skipped="1" failures="0" errors="0">',
    '    <testcase package="http2/6.5.3" classname="Sends multiple values of SETTINGS_INITIAL_WINDOW_SIZE" time="0.1">',
    '      <skipped></skipped>',
    '    </testcase>',
    '    <testcase package="http2/6.5.3" classname="Sends a SETTINGS frame without ACK &amp; &#34;waits&#34;" time="0.1"></testcase>',
    '  </testsuite>',
    '</testsuites>',
  ].join('\n');
  const { cases, totals } = parseReport(xml);
  assert.deepEqual(cases, [
    {
      id: 'http2/6.3/1',
      description: 'Sends a PRIORITY frame with 0x0 stream identifier',
      outcome: 'failed',
      expected: ['GOAWAY Frame (Error Code: PROTOCOL_ERROR)', 'Connection closed'],
      actual: 'Timeout',
    },
    {
      id: 'http2/6.3/2',
      description: 'Sends a PRIORITY frame with a length other than 5 octets',
      outcome: 'passed',
      expected: [],
      actual: '',
    },
    {
      id: 'http2/6.5.3/1',
      description: 'Sends multiple values of SETTINGS_INITIAL_WINDOW_SIZE',
      outcome: 'skipped',
      expected: [],
      actual: '',
    },
    {
      id: 'http2/6.5.3/2',
      description: 'Sends a SETTINGS frame without ACK & "waits"',
      outcome: 'passed',
      expected: [],
      actual: '',
    },
  ]);
  assert.deepEqual(totals, { tests: 4, skipped: 1, failed: 1 });
});

test('h2spec: the gRPC listener conforms to RFC 7540/7541 (every generic, http2 and hpack case passes)', {
  timeout: RUN_TIMEOUT_MS + 30_000,
}, async (t) => {
  const h2spec = requireTool(t, 'h2spec');
  if (h2spec === undefined) return;

  const server = await startServingGrpc({ check: () => Promise.resolve(ALLOW) });
  t.after(() => server.shutdown(0));
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-h2spec-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const report = join(dir, 'report.xml');

  const started = performance.now();
  const run = await runH2spec(h2spec, [
    ...['generic', 'http2', 'hpack'],
    ...['-h', '127.0.0.1', '-p', String(server.port), '-P', CHECK],
    ...['-o', String(CASE_TIMEOUT_S), '-j', report],
  ]);
  t.diagnostic(`h2spec ran in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  let xml: string;
  try {
    xml = readFileSync(report, 'utf8');
  } catch (e) {
    assert.fail(`h2spec wrote no report (exit ${String(run.code)}; ${String(e)}):\n${run.output}`);
  }
  const { cases, totals } = parseReport(xml);
  const count = (outcome: H2specCase['outcome']) =>
    cases.filter((c) => c.outcome === outcome).length;
  assert.deepEqual(
    { tests: cases.length, skipped: count('skipped'), failed: count('failed') },
    totals,
    'the cases read from the report agree with its own <testsuite> totals',
  );
  assert.ok(
    cases.length >= MIN_CASES,
    `h2spec ran ${cases.length} cases, expected at least ${MIN_CASES} (exit ${String(run.code)}):\n${run.output}`,
  );
  for (const suite of ['generic', 'http2', 'hpack'])
    assert.ok(
      cases.some((c) => c.id.startsWith(`${suite}/`)),
      `no ${suite} case in the report`,
    );

  const ids = new Set(cases.map((c) => c.id));
  const stale = [...KNOWN.keys()].filter(
    (id) => !ids.has(id) || cases.find((c) => c.id === id)?.outcome === 'passed',
  );
  const failed = cases.filter((c) => c.outcome === 'failed' && !KNOWN.has(c.id));
  const skipped = cases.filter((c) => c.outcome === 'skipped' && !KNOWN.has(c.id));
  const accepted = cases.filter((c) => c.outcome !== 'passed' && KNOWN.has(c.id));
  t.diagnostic(
    `${cases.length} cases: ${count('passed')} passed, ${count('failed')} failed, ` +
      `${count('skipped')} skipped; ${accepted.length} accepted by KNOWN`,
  );
  if (failed.length === 0 && skipped.length === 0 && stale.length === 0) return;

  const sections = [
    `h2spec: ${failed.length} failed and ${skipped.length} skipped of ${cases.length} cases ` +
      `are not in KNOWN (${count('passed')} passed):`,
  ];
  if (failed.length > 0) sections.push(`failed:\n${failed.map(describeCase).join('\n')}`);
  if (skipped.length > 0)
    sections.push(
      `skipped (h2spec found nothing to test; see the comment at the top of the file):\n${skipped.map(describeCase).join('\n')}`,
    );
  if (stale.length > 0)
    sections.push(`KNOWN entries that pass or name no case (remove them): ${stale.join(', ')}`);
  if (accepted.length > 0)
    sections.push(`accepted by KNOWN:\n${accepted.map(describeCase).join('\n')}`);
  assert.fail(sections.join('\n\n'));
});
