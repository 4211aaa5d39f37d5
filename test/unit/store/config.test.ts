/**
 * `session.store` is validated at start: defaults, and every inconsistency named by its key.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../../src/config/load.js';

const BASE = 'policy:\n  bundle: b.tar.gz\n';
const store = (yaml: string) => `${BASE}session:\n  store:\n${yaml}`;

test('session.store defaults to the memory store with a 10000-session cache and a 5 s stale window', () => {
  const config = parseConfig(BASE, '/etc/gatehouse');
  assert.deepEqual(config.session.store, {
    kind: 'memory',
    key_prefix: 'gatehouse:',
    cache_size: 10_000,
    cache_max_age_ms: 60_000,
    stale_window_ms: 5000,
    command_timeout_ms: 1000,
    connect_timeout_ms: 2000,
  });
});

test('a redis store with TLS, credentials from the environment and a relative CA path', () => {
  process.env['GATEHOUSE_TEST_REDIS_URL'] = 'rediss://gatehouse:pw@redis.internal:6380';
  try {
    const config = parseConfig(
      store(
        '    kind: redis\n    url: { env: GATEHOUSE_TEST_REDIS_URL }\n    tls: { server_name: redis.internal }\n    stale_window_ms: 0\n',
      ),
      '/etc/gatehouse',
    );
    assert.equal(config.session.store.kind, 'redis');
    assert.equal(config.session.store.url, 'rediss://gatehouse:pw@redis.internal:6380');
    assert.equal(config.session.store.tls?.server_name, 'redis.internal');
    assert.equal(config.session.store.stale_window_ms, 0);
  } finally {
    delete process.env['GATEHOUSE_TEST_REDIS_URL'];
  }
});

const BAD: { name: string; yaml: string; key: RegExp }[] = [
  { name: 'unknown kind', yaml: '    kind: etcd\n', key: /session\.store\.kind: expected one of/ },
  {
    name: 'redis without a URL',
    yaml: '    kind: redis\n',
    key: /session\.store\.url: required with session\.store\.kind: redis/,
  },
  {
    name: 'a URL with the memory store',
    yaml: '    url: redis://127.0.0.1:6379\n',
    key: /session\.store\.url: only with session\.store\.kind: redis/,
  },
  {
    name: 'not a redis URL',
    yaml: '    kind: redis\n    url: http://127.0.0.1:6379\n',
    key: /session\.store\.url: expected redis:\/\/ or rediss:\/\//,
  },
  {
    name: 'TLS settings with a cleartext URL',
    yaml: '    kind: redis\n    url: redis://127.0.0.1:6379\n    tls: { server_name: x }\n',
    key: /session\.store\.tls: needs a rediss:\/\/ URL/,
  },
  {
    name: 'an unreadable CA file',
    yaml: '    kind: redis\n    url: rediss://127.0.0.1:6379\n    tls: { ca_file: /nonexistent/ca.pem }\n',
    key: /session\.store\.tls\.ca_file: cannot read \/nonexistent\/ca\.pem/,
  },
  {
    name: 'an unknown key',
    yaml: '    kind: memory\n    size: 3\n',
    key: /session\.store\.size: unknown key/,
  },
  {
    name: 'a negative cache size',
    yaml: '    cache_size: -1\n',
    key: /session\.store\.cache_size/,
  },
];

for (const c of BAD) {
  test(`session.store is refused at start: ${c.name}`, () => {
    assert.throws(
      () => parseConfig(store(c.yaml), '/etc/gatehouse'),
      (err: unknown) =>
        (err as { code?: string }).code === 'ERR_CONFIG_INVALID' &&
        c.key.test((err as Error).message),
    );
  });
}

test('a redis URL that does not parse is refused without echoing it (it may hold a password)', () => {
  assert.throws(
    () =>
      parseConfig(store('    kind: redis\n    url: "redis://u:s3cret@[bad"\n'), '/etc/gatehouse'),
    (err: unknown) =>
      /session\.store\.url: not a URL/.test((err as Error).message) &&
      !(err as Error).message.includes('s3cret'),
  );
});
