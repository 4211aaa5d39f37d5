/**
 * crypto.x509.parse_and_verify_certificates reads "now" from the policy's evaluation clock, and
 * fails closed on what Node cannot judge. Agreement with `opa eval` on the fixture chains is
 * checked by the builtins-vs-opa differential test.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { EvalContext } from '../../../src/policy/builtins/context.js';
import {
  parseAndVerify,
  parseAndVerifyWithOptions,
} from '../../../src/policy/builtins/x509-verify.js';
import { testdata } from '../../support/paths.js';

const pem = (...parts: string[]): string => readFileSync(testdata('x509', ...parts), 'utf8');
const ns = (iso: string): bigint => BigInt(Date.parse(iso)) * 1_000_000n;
const names = (result: unknown): [boolean, string[]] => {
  const [ok, certs] = result as [boolean, Array<{ Subject: { CommonName: string } }>];
  return [ok, certs.map((c) => c.Subject.CommonName)];
};

describe('crypto.x509.parse_and_verify_certificates', () => {
  test('validity is judged at the evaluation clock', () => {
    const chain = pem('ca.pem') + pem('chain', 'future.pem');
    const now = new EvalContext(() => ns('2030-01-01T00:00:00Z'));
    const in2100 = new EvalContext(() => ns('2100-06-01T00:00:00Z'));
    assert.deepEqual(names(parseAndVerify(now)(chain)), [false, []]);
    assert.deepEqual(names(parseAndVerify(in2100)(chain)), [
      true,
      ['api.example.test', 'Gatehouse Test Root CA'],
    ]);
  });

  test('CurrentTime overrides the clock', () => {
    const ctx = new EvalContext(() => ns('2030-01-01T00:00:00Z'));
    const chain = pem('ca.pem') + pem('chain', 'future.pem');
    const at = Number(ns('2100-06-01T00:00:00Z'));
    assert.equal(names(parseAndVerifyWithOptions(ctx)(chain, { CurrentTime: at }))[0], true);
    assert.equal(names(parseAndVerifyWithOptions(ctx)(chain, {}))[0], false);
  });

  test('a signature by another key under the root’s name fails', () => {
    const ctx = new EvalContext();
    assert.deepEqual(parseAndVerify(ctx)(pem('ca.pem') + pem('chain', 'forged.pem')), [false, []]);
  });

  test('a path length or name constraints Node cannot read fail the chain (fail closed)', () => {
    const ctx = new EvalContext();
    const pl0 =
      pem('chain', 'rootpl0.pem') + pem('chain', 'int-pl0.pem') + pem('chain', 'leaf-pl0.pem');
    assert.deepEqual(parseAndVerify(ctx)(pl0), [false, []]);
    assert.deepEqual(
      parseAndVerify(ctx)(pem('chain', 'rootnc.pem') + pem('chain', 'leaf-nc.pem')),
      [false, []],
    );
    // Without a path length, the same shape of chain verifies.
    const ok = pem('ca.pem') + pem('chain', 'int.pem') + pem('chain', 'chain-leaf.pem');
    assert.equal(names(parseAndVerify(ctx)(ok))[0], true);
  });

  test('invalid options are undefined, as OPA’s errors in opa eval', () => {
    const verify = parseAndVerifyWithOptions(new EvalContext());
    const chain = pem('ca.pem') + pem('leaf.pem');
    assert.equal(verify(chain, { Nope: 1 }), undefined);
    assert.equal(verify(chain, { KeyUsages: ['Nope'] }), undefined);
    assert.equal(verify(chain, { CurrentTime: 1.5 }), undefined);
    assert.equal(verify(chain, { DNSName: 1 }), undefined);
    assert.deepEqual(verify('not a certificate', { Nope: 1 }), [false, []]);
  });
});
