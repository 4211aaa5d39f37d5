import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createReplayCache } from '../../../src/oidc/replay-cache.js';

describe('replay cache', () => {
  const now = 1_700_000_000_000;

  test('a value is accepted once, then refused until it expires', () => {
    const cache = createReplayCache();
    assert.equal(cache.claim('state:a', now + 1000, now), true);
    assert.equal(cache.claim('state:a', now + 1000, now + 500), false);
    assert.equal(
      cache.claim('state:a', now + 3000, now + 1000),
      true,
      'expired entries may be reused',
    );
  });

  test('it stays bounded, dropping expired entries first, then the oldest', () => {
    const cache = createReplayCache(3);
    cache.claim('old', now + 10, now);
    cache.claim('b', now + 10_000, now);
    cache.claim('c', now + 10_000, now);
    cache.claim('d', now + 10_000, now + 100); // 'old' expired: dropped
    assert.equal(cache.size, 3);
    assert.equal(cache.claim('b', now + 10_000, now + 100), false, 'unexpired entries kept');
    cache.claim('e', now + 10_000, now + 100); // full, nothing expired: oldest ('b') dropped
    assert.equal(cache.size, 3);
    assert.equal(cache.claim('c', now + 10_000, now + 100), false);
  });

  test('a bad bound is a programming error', () => {
    assert.throws(() => createReplayCache(0), RangeError);
  });
});
