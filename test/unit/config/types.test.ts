/**
 * The configuration type is derived from the schema (src/config/types.ts). These tests pin what
 * the derivation produces — the compiler checks `Equal` below, so a schema change that changes
 * the type fails `tsc` here until this expectation is updated on purpose — and check at run time
 * that what the validator builds has that shape.
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseConfig } from '../../../src/config/load.js';
import { type Field, type ObjectField, SCHEMA } from '../../../src/config/schema.js';
import type { Config, TlsConfig } from '../../../src/config/types.js';
import { alwaysPresent, conformsTo, validateConfig } from '../../../src/config/validate.js';

/** The shape the schema must derive: every key, its type, required or optional, enum values. */
interface Expected {
  readonly grpc: {
    readonly address: string;
    readonly port: number;
    readonly max_receive_message_bytes: number;
    readonly max_send_message_bytes: number;
    readonly drain_delay_ms: number;
    readonly shutdown_grace_ms: number;
    readonly max_concurrent_streams: number;
    readonly max_connections: number;
    readonly idle_timeout_ms: number;
    readonly message_read_timeout_ms: number;
    readonly tls?: ExpectedTls;
    readonly allow_cleartext: boolean;
  };
  readonly http: { readonly address: string; readonly port: number; readonly tls?: ExpectedTls };
  readonly policy: {
    readonly bundle?: string;
    readonly dir?: string;
    readonly entrypoint: string;
    readonly watch: boolean;
    readonly opa: string;
    readonly rego_version: 'v0' | 'v1';
  };
  readonly workers: number;
  readonly development: boolean;
  readonly identity?: {
    readonly issuer: string;
    readonly client_id: string;
    readonly client_secret?: string;
    readonly scopes: readonly string[];
    readonly groups_claim: string;
    readonly clock_tolerance_seconds: number;
    readonly verified_cache_entries: number;
    readonly bearer: {
      readonly enabled: boolean;
      readonly audiences: readonly string[];
      readonly allow_untyped: boolean;
      readonly algorithms: readonly string[];
    };
    readonly backchannel_logout: {
      readonly max_age_seconds: number;
      readonly require_typ: boolean;
    };
    readonly sign_in_host?: string;
    readonly allowed_hosts: readonly string[];
    readonly post_logout_redirect_path: string;
    readonly timeout_ms: number;
    readonly discovery_timeout_ms: number;
    readonly cache_file?: string;
    readonly static_jwks_file?: string;
    readonly keys_max_age_seconds: number;
    readonly refresh_min_interval_seconds: number;
  };
  readonly session: {
    readonly cookie_name: string;
    readonly ttl_seconds: number;
    readonly absolute_lifetime_seconds: number;
    readonly idle_timeout_seconds: number;
    readonly revalidate_interval_seconds: number;
    readonly revalidate_grace_seconds: number;
    readonly bind_to_host: boolean;
    readonly secret?: string;
    readonly store: {
      readonly kind: 'memory' | 'redis';
      readonly url?: string;
      readonly username?: string;
      readonly password?: string;
      readonly tls?: { readonly ca_file?: string; readonly server_name?: string };
      readonly key_prefix: string;
      readonly cache_size: number;
      readonly cache_max_age_ms: number;
      readonly stale_window_ms: number;
      readonly command_timeout_ms: number;
      readonly connect_timeout_ms: number;
    };
  };
  readonly keys: { readonly signing: readonly string[] };
  readonly headers: {
    readonly assertion: string;
    readonly user: string;
    readonly email: string;
    readonly groups: string;
    readonly assertion_issuer: string;
    readonly assertion_ttl_seconds: number;
    readonly assertion_cache_entries: number;
    readonly assertion_skip_hosts: readonly string[];
  };
  readonly log: {
    readonly level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
    readonly sample_allowed: number;
    readonly include_query: boolean;
  };
  readonly tracing?: {
    readonly otlp_endpoint: string;
    readonly service_name: string;
    readonly sample_ratio: number;
  };
  readonly device?: {
    readonly certificate: {
      readonly ca_file?: string;
      readonly require_client_auth: boolean;
      readonly bind_sessions: boolean;
    };
    readonly xfcc: { readonly trusted: boolean };
    readonly webauthn?: {
      readonly rp_id: string;
      readonly rp_name: string;
      readonly origins: readonly string[];
      readonly attestation: {
        readonly formats: readonly string[];
        readonly aaguids: readonly string[];
      };
      readonly require_user_verification: boolean;
      readonly operator_approval: boolean;
      readonly challenge_ttl_seconds: number;
      readonly proof_interval_seconds: number;
    };
  };
}
interface ExpectedTls {
  readonly cert_file: string;
  readonly key_file: string;
  readonly client_ca_file?: string;
  readonly allowed_clients: readonly string[];
}

/** True only when A and B are the same type (optional vs required and readonly included). */
type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
// Compile-time checks: `tsc` fails here when the derived type drifts from the expectation.
const configMatches: Equal<Config, Expected> = true;
const tlsMatches: Equal<TlsConfig, ExpectedTls> = true;

test('the type derived from the schema is the expected one (checked by tsc)', () => {
  assert.equal(configMatches && tlsMatches, true);
});

/** Every field of the schema with its dotted key. */
function fields(section: ObjectField = SCHEMA, prefix = ''): Array<[string, Field]> {
  const out: Array<[string, Field]> = [];
  for (const [name, field] of Object.entries(section.fields)) {
    const key = prefix === '' ? name : `${prefix}.${name}`;
    out.push([key, field]);
    if (field.type === 'object') out.push(...fields(field, key));
  }
  return out;
}

function lookup(value: unknown, key: string): unknown {
  let at: unknown = value;
  for (const part of key.split('.')) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = new Map<string, unknown>(Object.entries(at)).get(part);
  }
  return at;
}

describe('what the validator builds has the derived shape', () => {
  test('with every optional section given only its required keys, exactly the always-present keys are set', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-config-types-'));
    const secret = join(dir, 'secret');
    await writeFile(secret, 'x'.repeat(43));
    const tls = '  tls:\n    cert_file: c.pem\n    key_file: k.pem\n';
    const config = parseConfig(
      [
        'development: true',
        'policy:\n  bundle: b.tar.gz',
        `grpc:\n${tls}`,
        `http:\n${tls}`,
        'identity:\n  issuer: https://idp.example\n  client_id: gatehouse',
        'tracing:\n  otlp_endpoint: http://collector:4318/v1/traces',
        'device:\n  webauthn:\n    rp_id: example.com\n    origins: [https://example.com]',
      ].join('\n'),
      dir,
    );
    const given = new Set([
      'grpc.tls',
      'http.tls',
      'identity',
      'tracing',
      'device',
      'device.webauthn',
      'device.webauthn.rp_id',
      'device.webauthn.origins',
      'policy.bundle',
      'grpc.tls.cert_file',
      'grpc.tls.key_file',
      'http.tls.cert_file',
      'http.tls.key_file',
      'identity.issuer',
      'identity.client_id',
      'tracing.otlp_endpoint',
    ]);
    for (const [key, field] of fields()) {
      const present = lookup(config, key) !== undefined;
      if (given.has(key) || alwaysPresent(field)) assert.ok(present, `${key} is always present`);
      else assert.ok(!present, `${key} is absent unless given`);
    }
    assert.ok(conformsTo(SCHEMA, config));
  });

  test('the smallest configuration leaves out every optional section', () => {
    const config = validateConfig({ policy: { bundle: 'b.tar.gz' } }, '/');
    assert.equal(config.identity, undefined);
    assert.equal(config.tracing, undefined);
    assert.equal(config.grpc.tls, undefined);
    assert.ok(conformsTo(SCHEMA, config));
  });

  test('conformsTo refuses what the type does not allow', () => {
    const good = validateConfig({ policy: { bundle: 'b.tar.gz' } }, '/');
    const copy = (): Record<string, Record<string, unknown>> =>
      JSON.parse(JSON.stringify(good)) as Record<string, Record<string, unknown>>;
    const cases: Array<[string, (c: Record<string, Record<string, unknown>>) => void]> = [
      ['an always-present key missing', (c) => delete c['grpc']?.['port']],
      [
        'a string where a number belongs',
        (c) => ((c['grpc'] as Record<string, unknown>)['port'] = '1'),
      ],
      [
        'a value outside the enum',
        (c) => ((c['log'] as Record<string, unknown>)['level'] = 'loud'),
      ],
      ['an unknown key', (c) => ((c['log'] as Record<string, unknown>)['extra'] = 1)],
      ['a list of non-strings', (c) => ((c['keys'] as Record<string, unknown>)['signing'] = [1])],
      [
        'an optional section without its required key',
        (c) => ((c as Record<string, unknown>)['tracing'] = { service_name: 'g', sample_ratio: 1 }),
      ],
    ];
    assert.ok(conformsTo(SCHEMA, copy()));
    for (const [name, spoil] of cases) {
      const c = copy();
      spoil(c);
      assert.equal(conformsTo(SCHEMA, c), false, name);
    }
  });
});
