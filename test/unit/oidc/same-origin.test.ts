import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertSameOriginRequest, isSameOriginRequest } from '../../../src/oidc/sign-out.js';

const HOST = 'app.example.test';

describe('isSameOriginRequest (sign-out is not triggerable cross-site)', () => {
  const cases: [string, Record<string, string>, string, boolean][] = [
    ['Sec-Fetch-Site same-origin', { 'sec-fetch-site': 'same-origin' }, HOST, true],
    ['Sec-Fetch-Site none (typed URL, bookmark)', { 'sec-fetch-site': 'none' }, HOST, true],
    [
      'Sec-Fetch-Site same-site (sibling subdomain)',
      { 'sec-fetch-site': 'same-site' },
      HOST,
      false,
    ],
    ['Sec-Fetch-Site cross-site', { 'sec-fetch-site': 'cross-site' }, HOST, false],
    [
      'Sec-Fetch-Site wins over a forged-looking Origin',
      { 'sec-fetch-site': 'cross-site', origin: `https://${HOST}` },
      HOST,
      false,
    ],
    ['Origin same host', { origin: `https://${HOST}` }, HOST, true],
    ['Origin same host, default port', { origin: `https://${HOST}` }, `${HOST}:443`, true],
    ['Origin same host, case', { origin: `https://APP.example.test` }, HOST, true],
    ['Origin other host', { origin: 'https://evil.example' }, HOST, false],
    ['Origin other port', { origin: `https://${HOST}:8443` }, HOST, false],
    ['Origin null (sandboxed iframe, data:)', { origin: 'null' }, HOST, false],
    ['Origin suffix attack', { origin: `https://${HOST}.evil.example` }, HOST, false],
    ['Referer same host', { referer: `https://${HOST}/settings` }, HOST, true],
    [
      'Referer other host',
      { referer: 'https://evil.example/?x=https://app.example.test/' },
      HOST,
      false,
    ],
    ['Referer with userinfo trick', { referer: `https://${HOST}@evil.example/` }, HOST, false],
    ['Referer not a URL', { referer: 'nonsense' }, HOST, false],
    ['Referer javascript:', { referer: 'javascript:alert(1)' }, HOST, false],
    [
      'Origin wins over Referer',
      { origin: 'https://evil.example', referer: `https://${HOST}/` },
      HOST,
      false,
    ],
    ['no headers at all: fail closed', {}, HOST, false],
  ];
  for (const [name, headers, host, expected] of cases) {
    test(`${name} → ${expected ? 'allowed' : 'refused'}`, () => {
      assert.equal(isSameOriginRequest(headers, host), expected);
      if (expected) assertSameOriginRequest(headers, host);
      else
        assert.throws(() => assertSameOriginRequest(headers, host), {
          code: 'ERR_SIGN_OUT_FORBIDDEN',
        });
    });
  }
});
