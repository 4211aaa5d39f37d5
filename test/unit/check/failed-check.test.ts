/** A failed Check's answer: Gatehouse's page for a browser when the IdP is unavailable, JSON otherwise. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RequestView } from '../../../src/input/request-view.js';
import { failedCheckResponse } from '../../../src/check/failed-check.js';
import { GatehouseError } from '../../../src/errors/gatehouse-error.js';

const NAV = {
  accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8',
  'sec-fetch-mode': 'navigate',
};

function view(path: string, headers: Record<string, string>, method = 'GET'): RequestView {
  const q = path.indexOf('?');
  return {
    method,
    host: 'app.example.test',
    scheme: 'https',
    path,
    pathname: q < 0 ? path : path.slice(0, q),
    headers,
    requestId: 'req-1',
  };
}

function denied(error: GatehouseError, v: RequestView) {
  const response = failedCheckResponse(error, v);
  assert.equal(response.httpResponse.case, 'deniedResponse');
  const d = response.httpResponse.value;
  const header = (name: string) => d.headers.find((h) => h.header?.key === name)?.header?.value;
  return {
    status: d.status?.code,
    type: header('content-type'),
    code: header('x-gatehouse-error'),
    body: d.body,
  };
}

test('the IdP unavailable: a browser navigation gets the page, with a retry link to the same path', () => {
  for (const code of ['ERR_OIDC_UNAVAILABLE', 'ERR_JWKS_UNAVAILABLE'] as const) {
    const r = denied(new GatehouseError(code), view('/reports?month=5', NAV));
    assert.equal(r.status, 503);
    assert.match(r.type ?? '', /^text\/html/);
    assert.equal(r.code, code);
    assert.match(r.body, /href="\/reports\?month=5"/);
  }
});

test('the IdP unavailable: API clients, fetches and non-GET requests get the coded JSON', () => {
  const error = new GatehouseError('ERR_OIDC_UNAVAILABLE');
  for (const v of [
    view('/api', { accept: 'application/json' }),
    view('/api', { accept: '*/*' }),
    view('/page', { ...NAV, 'sec-fetch-mode': 'cors' }),
    view('/form', NAV, 'POST'),
  ]) {
    const r = denied(error, v);
    assert.equal(r.status, 503);
    assert.equal(r.type, 'application/json');
    assert.equal(JSON.parse(r.body).error, 'ERR_OIDC_UNAVAILABLE');
  }
});

test('other failures keep the coded JSON even for a browser (unchanged)', () => {
  const r = denied(new GatehouseError('ERR_POLICY_NOT_LOADED'), view('/reports', NAV));
  assert.equal(r.type, 'application/json');
  assert.equal(r.code, 'ERR_POLICY_NOT_LOADED');
});

test('the retry link is never an open redirect: an unsafe path becomes /', () => {
  const r = denied(new GatehouseError('ERR_OIDC_UNAVAILABLE'), view('//evil.example/x', NAV));
  assert.doesNotMatch(r.body, /evil\.example/);
  assert.match(r.body, /href="\/"/);
});
