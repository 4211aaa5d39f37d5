import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_MULTIPART_PARTS } from '../../../src/input/limits.js';
import { parseBody, type BodySource } from '../../../src/input/parse-body.js';
import { assertCode, fixture, plain } from './support.js';

interface BodyCase {
  name: string;
  headers: Record<string, string>;
  body?: string;
  raw_body_base64?: string;
  parsed_body?: unknown;
  /** Exact JSON serialisation expected, for values JSON.parse cannot represent (big numbers). */
  parsed_body_json?: string;
  truncated_body?: boolean;
  error?: string;
}

function source(c: Pick<BodyCase, 'headers' | 'body' | 'raw_body_base64'>): BodySource {
  return {
    contentType: c.headers['content-type'],
    contentLength: c.headers['content-length'],
    partialBody: c.headers['x-envoy-auth-partial-body'],
    body: c.body ?? '',
    rawBody:
      c.raw_body_base64 === undefined
        ? new Uint8Array()
        : new Uint8Array(Buffer.from(c.raw_body_base64, 'base64')),
  };
}

for (const c of fixture<BodyCase[]>('bodies.json')) {
  test(`parseBody: ${c.name}`, () => {
    if (c.error !== undefined) {
      assertCode(() => parseBody(source(c)), c.error);
      return;
    }
    const { parsedBody, truncated } = parseBody(source(c));
    if (c.parsed_body_json !== undefined)
      assert.equal(JSON.stringify(parsedBody), c.parsed_body_json);
    else assert.deepEqual(plain(parsedBody), c.parsed_body);
    assert.equal(truncated, c.truncated_body);
  });
}

test('security: a truncated body is never parsed, even when what arrived is valid', () => {
  const r = parseBody(
    source({
      headers: { 'content-type': 'application/json', 'x-envoy-auth-partial-body': 'true' },
      body: '{"a":1}',
    }),
  );
  assert.deepEqual(r, { parsedBody: null, truncated: true });
});

test('security: form keys named __proto__ are data, not prototypes', () => {
  const r = parseBody(
    source({
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '__proto__=x',
    }),
  );
  assert.equal(Object.getPrototypeOf(r.parsedBody), null);
});

test('limits: multipart part count is bounded', () => {
  const part = '--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n';
  const ok = `${part.repeat(MAX_MULTIPART_PARTS)}--b--\r\n`;
  const over = `${part.repeat(MAX_MULTIPART_PARTS + 1)}--b--\r\n`;
  const headers = { 'content-type': 'multipart/form-data; boundary=b' };
  assert.equal(
    (parseBody(source({ headers, body: ok })).parsedBody as Record<string, unknown[]>)['a']?.length,
    MAX_MULTIPART_PARTS,
  );
  assertCode(() => parseBody(source({ headers, body: over })), 'ERR_BODY_INVALID');
});

test('a text body is measured in UTF-8 bytes against content-length, as its encoding would be', () => {
  // Text bodies are no longer encoded to compare lengths (Buffer.byteLength instead of
  // Buffer.from(...).length): the two must agree on every string, lone surrogates included
  // (each is written as U+FFFD, 3 bytes).
  const texts = ['{"a":"é"}', '{"a":"😀"}', '{"a":"\ud800"}', '{"a":"\udfff x"}', '{"a":"€ ✓ 漢"}'];
  for (const text of texts) {
    const bytes = Buffer.from(text, 'utf8').length;
    assert.equal(Buffer.byteLength(text, 'utf8'), bytes, text);
    const at = (length: number) =>
      parseBody({
        contentType: 'application/json',
        contentLength: String(length),
        partialBody: undefined,
        body: text,
        rawBody: new Uint8Array(),
      });
    assert.equal(at(bytes).truncated, false, text);
    assert.equal(at(bytes + 1).truncated, true, text);
  }
});

test('multipart text bodies are still parsed from their UTF-8 bytes', () => {
  const body =
    '--b\r\ncontent-disposition: form-data; name="note"\r\n\r\nsüß\r\n--b\r\n' +
    'content-disposition: form-data; name="doc"\r\ncontent-type: application/json\r\n\r\n{"k":1.5}\r\n--b--\r\n';
  const parsed = parseBody({
    contentType: 'multipart/form-data; boundary=b',
    contentLength: String(Buffer.byteLength(body)),
    partialBody: undefined,
    body,
    rawBody: new Uint8Array(),
  });
  assert.deepEqual(plain(parsed.parsedBody), { note: ['süß'], doc: [{ k: 1.5 }] });
  assert.equal(parsed.truncated, false);
});
