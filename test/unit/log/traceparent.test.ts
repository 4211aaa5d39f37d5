import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTraceparent } from '../../../src/tracing/traceparent.js';

test('a valid traceparent gives the trace id, the caller span and the sampled flag', () => {
  assert.deepEqual(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'), {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    sampled: true,
  });
  assert.equal(
    parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00')?.sampled,
    false,
  );
  assert.ok(
    parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra'),
    'future versions may add fields',
  );
});

for (const bad of [
  undefined,
  '',
  'garbage',
  'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
  '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
  '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
  '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x',
]) {
  test(`an invalid traceparent is ignored: ${JSON.stringify(bad)}`, () =>
    assert.equal(parseTraceparent(bad), undefined));
}
