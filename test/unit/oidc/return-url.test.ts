import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  isSafeReturnPath,
  requireReturnPath,
  safeAbsoluteReturn,
  safeReturnPath,
} from '../../../src/oidc/return-url.js';
import { testdata } from '../../support/paths.js';

interface Corpus {
  readonly relative: readonly { input: string; safe: boolean; note: string }[];
  readonly absolute: readonly {
    input: string;
    allowedHosts: string[];
    safe: boolean;
    note: string;
  }[];
}
const corpus = JSON.parse(readFileSync(testdata('oidc', 'open-redirects.json'), 'utf8')) as Corpus;

describe('open-redirect corpus: relative return paths', () => {
  test('the corpus is substantial', () => {
    assert.ok(corpus.relative.filter((c) => !c.safe).length >= 40);
  });
  for (const c of corpus.relative) {
    test(`${c.safe ? 'accepts' : 'rejects'} ${JSON.stringify(c.input).slice(0, 60)} (${c.note})`, () => {
      assert.equal(isSafeReturnPath(c.input), c.safe);
      assert.equal(safeReturnPath(c.input, '/home'), c.safe ? c.input : '/home');
      if (c.safe) assert.equal(requireReturnPath(c.input), c.input);
      else assert.throws(() => requireReturnPath(c.input), { code: 'ERR_RETURN_URL_INVALID' });
    });
  }
  test('undefined falls back', () => {
    assert.equal(safeReturnPath(undefined), '/');
    assert.equal(isSafeReturnPath(undefined), false);
  });
});

describe('open-redirect corpus: absolute return URLs (central host hand-off)', () => {
  for (const c of corpus.absolute) {
    test(`${c.safe ? 'accepts' : 'rejects'} ${JSON.stringify(c.input)} for ${c.allowedHosts.join(',')} (${c.note})`, () => {
      const url = safeAbsoluteReturn(c.input, c.allowedHosts);
      assert.equal(url !== undefined, c.safe);
    });
  }
  test('http is accepted only when allowed explicitly (loopback development)', () => {
    assert.equal(safeAbsoluteReturn('http://127.0.0.1:8080/x', ['127.0.0.1:8080']), undefined);
    assert.equal(
      safeAbsoluteReturn('http://127.0.0.1:8080/x', ['127.0.0.1:8080'], { allowHttp: true })?.href,
      'http://127.0.0.1:8080/x',
    );
  });
});
