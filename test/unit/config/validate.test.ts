import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../../src/config/load.js';
import { GatehouseError } from '../../../src/errors/gatehouse-error.js';

const BASE = 'policy:\n  bundle: b.tar.gz\n';

const BAD: { name: string; yaml: string; key: RegExp }[] = [
  { name: 'unknown top-level key', yaml: `${BASE}grpcc: {}\n`, key: /grpcc: unknown key/ },
  { name: 'unknown nested key', yaml: `${BASE}grpc:\n  prot: 1\n`, key: /grpc\.prot: unknown key/ },
  {
    name: 'port not an integer',
    yaml: `${BASE}grpc:\n  port: "9191"\n`,
    key: /grpc\.port: expected an integer/,
  },
  {
    name: 'port out of range',
    yaml: `${BASE}grpc:\n  port: 70000\n`,
    key: /grpc\.port: expected an integer from 0 to 65535/,
  },
  {
    name: 'message size too small',
    yaml: `${BASE}grpc:\n  max_receive_message_bytes: 10\n`,
    key: /grpc\.max_receive_message_bytes/,
  },
  {
    name: 'bad address',
    yaml: `${BASE}http:\n  address: "a b"\n`,
    key: /http\.address: expected a host name or IP address/,
  },
  {
    name: 'no policy source',
    yaml: 'policy:\n  entrypoint: envoy/authz/allow\n',
    key: /policy: set one of policy\.bundle or policy\.dir/,
  },
  {
    name: 'two policy sources',
    yaml: 'policy:\n  bundle: a\n  dir: b\n',
    key: /policy: set only one/,
  },
  {
    name: 'entrypoint in dot form',
    yaml: `${BASE}  entrypoint: envoy.authz.allow\n`,
    key: /policy\.entrypoint: expected a slash-separated rule path/,
  },
  {
    name: 'watch not a boolean',
    yaml: `${BASE}  watch: "yes"\n`,
    key: /policy\.watch: expected true or false/,
  },
  {
    name: 'rego version unknown',
    yaml: `${BASE}  rego_version: v2\n`,
    key: /policy\.rego_version: expected one of v0, v1/,
  },
  {
    name: 'log level unknown',
    yaml: `${BASE}log:\n  level: loud\n`,
    key: /log\.level: expected one of/,
  },
  { name: 'section not a mapping', yaml: `${BASE}grpc: 9191\n`, key: /grpc: expected a mapping/ },
  { name: 'duplicate key', yaml: `${BASE}grpc:\n  port: 1\n  port: 2\n`, key: /not valid YAML/ },
  { name: 'not YAML', yaml: 'policy: [\n', key: /not valid YAML/ },
  {
    name: 'identity without issuer',
    yaml: `${BASE}development: true\nidentity:\n  client_id: g\n`,
    key: /identity\.issuer: required/,
  },
  {
    name: 'http issuer outside development',
    yaml: `${BASE}identity:\n  issuer: http://idp\n  client_id: g\nkeys:\n  signing: [k.pem]\nsession:\n  secret: ${'x'.repeat(32)}\n`,
    key: /identity\.issuer: http:\/\/ is allowed only in development/,
  },
  {
    name: 'no signing keys outside development',
    yaml: `${BASE}identity:\n  issuer: https://idp\n  client_id: g\n`,
    key: /keys\.signing: required/,
  },
  {
    name: 'no session secret outside development',
    yaml: `${BASE}identity:\n  issuer: https://idp\n  client_id: g\n`,
    key: /session\.secret: required/,
  },
  {
    name: 'secret file missing',
    yaml: `${BASE}session:\n  secret: { file: /nonexistent/secret }\n`,
    key: /session\.secret: cannot read \/nonexistent\/secret: ENOENT/,
  },
  {
    name: 'secret env unset',
    yaml: `${BASE}identity:\n  issuer: https://idp\n  client_id: g\n  client_secret: { env: GATEHOUSE_TEST_UNSET_VAR }\n`,
    key: /identity\.client_secret: environment variable GATEHOUSE_TEST_UNSET_VAR is not set/,
  },
  {
    name: 'secret with two sources',
    yaml: `${BASE}session:\n  secret: { file: a, env: B }\n`,
    key: /session\.secret: expected exactly one of/,
  },
  // Issue 12 point 1: no bearer tokens without an audience of their own.
  {
    name: 'bearer enabled without audiences',
    yaml: `${BASE}development: true\nidentity:\n  issuer: https://idp\n  client_id: g\n  bearer:\n    enabled: true\n`,
    key: /identity\.bearer\.audiences: required when identity\.bearer\.enabled is true/,
  },
  {
    name: 'bearer audience is the client id',
    yaml: `${BASE}development: true\nidentity:\n  issuer: https://idp\n  client_id: g\n  bearer:\n    audiences: [api://x, g]\n`,
    key: /identity\.bearer\.audiences: must not contain the client id/,
  },
  {
    name: 'scopes without openid',
    yaml: `${BASE}development: true\nidentity:\n  issuer: https://idp\n  client_id: g\n  scopes: [email]\n`,
    key: /identity\.scopes: must include openid/,
  },
  {
    name: 'symmetric bearer algorithm',
    yaml: `${BASE}development: true\nidentity:\n  issuer: https://idp\n  client_id: g\n  bearer:\n    algorithms: [HS256]\n`,
    key: /identity\.bearer\.algorithms\[0\]: expected an asymmetric JWS algorithm/,
  },
  {
    name: 'session cookie without __Host- prefix',
    yaml: `${BASE}session:\n  cookie_name: sid\n`,
    key: /session\.cookie_name: expected a cookie name starting with __Host-/,
  },
  {
    name: 'issuer not a URL',
    yaml: `${BASE}development: true\nidentity:\n  issuer: idp.example.com\n  client_id: g\n`,
    key: /identity\.issuer: expected an http\(s\) URL/,
  },
  {
    name: 'signing key file missing',
    yaml: `${BASE}keys:\n  signing: [/nonexistent/signing.pem]\n`,
    key: /keys\.signing\[0\]: cannot read \/nonexistent\/signing\.pem: ENOENT/,
  },
  {
    name: 'signing key is a folder',
    yaml: `${BASE}keys:\n  signing: [/tmp]\n`,
    key: /keys\.signing\[0\]: \/tmp is not a file/,
  },
  {
    name: 'signing keys not a list',
    yaml: `${BASE}keys:\n  signing: k.pem\n`,
    key: /keys\.signing: expected a list/,
  },
  {
    name: 'sample_allowed above 1',
    yaml: `${BASE}log:\n  sample_allowed: 1.5\n`,
    key: /log\.sample_allowed: expected a number from 0 to 1, got 1\.5/,
  },
  {
    name: 'sample_allowed not a number',
    yaml: `${BASE}log:\n  sample_allowed: "10%"\n`,
    key: /log\.sample_allowed: expected a number/,
  },
  {
    name: 'include_query not a boolean',
    yaml: `${BASE}log:\n  include_query: 1\n`,
    key: /log\.include_query: expected true or false/,
  },
  {
    name: 'tracing without an endpoint',
    yaml: `${BASE}tracing:\n  service_name: gh\n`,
    key: /tracing\.otlp_endpoint: required when tracing is configured/,
  },
  {
    name: 'tracing endpoint not a URL',
    yaml: `${BASE}tracing:\n  otlp_endpoint: collector:4318\n`,
    key: /tracing\.otlp_endpoint: expected an http\(s\) URL/,
  },
  {
    name: 'tracing sample ratio negative',
    yaml: `${BASE}tracing:\n  otlp_endpoint: http://c:4318/v1/traces\n  sample_ratio: -1\n`,
    key: /tracing\.sample_ratio: expected a number from 0 to 1/,
  },
  {
    name: 'unknown tracing key',
    yaml: `${BASE}tracing:\n  otlp_endpoint: http://c:4318/v1/traces\n  exporter: grpc\n`,
    key: /tracing\.exporter: unknown key/,
  },
  {
    name: 'identity header with upper case',
    yaml: `${BASE}headers:\n  user: X-User\n`,
    key: /headers\.user: expected a lower-case HTTP header name/,
  },
];

for (const c of BAD) {
  test(`bad config is refused naming the key: ${c.name}`, () => {
    assert.throws(
      () => parseConfig(c.yaml, '/etc/gatehouse'),
      (err: unknown) =>
        err instanceof GatehouseError &&
        err.code === 'ERR_CONFIG_INVALID' &&
        c.key.test(err.message),
    );
  });
}

test('defaults are filled, paths resolved against the config folder, and the result frozen', () => {
  const config = parseConfig(BASE, '/etc/gatehouse');
  assert.equal(config.grpc.port, 9191);
  assert.equal(config.http.address, '127.0.0.1');
  assert.equal(config.policy.entrypoint, 'envoy/authz/allow');
  assert.equal(config.policy.bundle, '/etc/gatehouse/b.tar.gz');
  assert.equal(config.policy.rego_version, 'v1', 'policies are Rego v1 unless told');
  assert.equal(
    parseConfig(`${BASE}  rego_version: v0\n`, '/etc/gatehouse').policy.rego_version,
    'v0',
  );
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.grpc));
  assert.equal(config.identity, undefined, 'no identity section: everyone is anonymous');
  assert.equal(config.log.sample_allowed, 1, 'every allowed decision is logged by default');
  assert.equal(config.log.include_query, false);
  assert.equal(config.tracing, undefined, 'no tracing section: tracing is off');
});

test('secrets are read from files and environment variables at start', () => {
  process.env['GATEHOUSE_TEST_CLIENT_SECRET'] = 'from-env';
  try {
    const config = parseConfig(
      `${BASE}development: true\nidentity:\n  issuer: http://127.0.0.1:9000\n  client_id: g\n  client_secret: { env: GATEHOUSE_TEST_CLIENT_SECRET }\n`,
      '/etc/gatehouse',
    );
    assert.equal(config.identity?.client_secret, 'from-env');
    assert.deepEqual(config.identity?.scopes, ['openid', 'email', 'profile', 'offline_access']);
  } finally {
    delete process.env['GATEHOUSE_TEST_CLIENT_SECRET'];
  }
});

test('bearer tokens are off without audiences and on with them, unless configured (issue 12 point 1)', () => {
  const base = `${BASE}development: true\nidentity:\n  issuer: https://idp\n  client_id: g\n`;
  const off = parseConfig(base, '/etc/gatehouse');
  assert.equal(off.identity?.bearer.enabled, false);
  assert.deepEqual(off.identity?.bearer.audiences, []);
  assert.equal(off.identity?.bearer.allow_untyped, false);
  const on = parseConfig(
    `${base}  bearer:\n    audiences: [https://api.example.com]\n`,
    '/etc/gatehouse',
  );
  assert.equal(on.identity?.bearer.enabled, true);
  const explicitOff = parseConfig(
    `${base}  bearer:\n    enabled: false\n    audiences: [https://api.example.com]\n`,
    '/etc/gatehouse',
  );
  assert.equal(explicitOff.identity?.bearer.enabled, false);
});
