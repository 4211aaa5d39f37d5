import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { SCHEMA, type Field, type ObjectField } from './schema.js';
import type { Config, FieldValue } from './types.js';
import { checkSessionStore } from './session-store.js';

/**
 * Validate a parsed configuration document against the schema, fill every default, resolve
 * relative paths against `baseDir`, and freeze the result.
 *
 * @throws GatehouseError `ERR_CONFIG_INVALID` whose message names the key and what is wrong,
 *   e.g. `config: policy.entrypoint: expected a slash-separated rule path such as envoy/authz/allow`.
 */
export function validateConfig(doc: unknown, baseDir: string): Config {
  const problems: string[] = [];
  const value = walk(SCHEMA, doc ?? {}, '', baseDir, problems);
  if (problems.length === 0) resolveDefaults(value);
  // Narrows to Config by checking, not by assertion: the value has the shape the type derived
  // from the schema promises (types.ts), or it is not handed out.
  const config = problems.length === 0 && conformsTo(SCHEMA, value) ? value : undefined;
  if (config !== undefined) {
    checkCrossField(config, problems);
    checkFiles(SCHEMA, config, '', problems);
  }
  if (problems.length > 0) {
    throw new GatehouseError('ERR_CONFIG_INVALID', {
      message: problems.map((p) => `config: ${p}`).join('\n'),
    });
  }
  if (config === undefined) {
    throw new GatehouseError('ERR_INTERNAL', {
      message: 'config: the validated configuration does not have the shape its type declares',
    });
  }
  return deepFreeze(config);
}

/**
 * Whether `value` has the type the schema derives for `field` (types.ts): every key known,
 * every always-present key present, every value of its field's type.
 */
export function conformsTo<F extends Field>(field: F, value: unknown): value is FieldValue<F> {
  return conforms(field, value);
}

function conforms(field: Field, value: unknown): boolean {
  switch (field.type) {
    case 'string':
    case 'secret':
      return typeof value === 'string';
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'enum':
      return typeof value === 'string' && field.values.includes(value);
    case 'list':
      return Array.isArray(value) && value.every((item) => typeof item === 'string');
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
      const members = new Map<string, unknown>(Object.entries(value));
      for (const name of members.keys()) if (!Object.hasOwn(field.fields, name)) return false;
      return Object.entries(field.fields).every(([name, sub]) => {
        const member = members.get(name);
        return member === undefined ? !alwaysPresent(sub) : conforms(sub, member);
      });
    }
  }
}

/** The rule types.ts writes as `AlwaysPresent`, at run time. */
export function alwaysPresent(field: Field): boolean {
  switch (field.type) {
    case 'object':
      return field.optional !== true;
    case 'string':
      return field.default !== undefined || field.required === true;
    case 'boolean':
      return field.default !== undefined || field.resolved === true;
    case 'secret':
      return false;
    default:
      return field.default !== undefined;
  }
}

function walk(
  field: Field,
  value: unknown,
  key: string,
  baseDir: string,
  problems: string[],
): unknown {
  const at = key === '' ? '(top level)' : key;
  switch (field.type) {
    case 'object': {
      if ((value === undefined || value === null) && field.optional === true) return undefined;
      if (value === undefined || value === null) value = {};
      if (typeof value !== 'object' || Array.isArray(value)) {
        problems.push(`${at}: expected a mapping, got ${describe(value)}`);
        return undefined;
      }
      const input = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const name of Object.keys(input)) {
        if (!Object.hasOwn(field.fields, name)) {
          const known = Object.keys(field.fields).join(', ');
          problems.push(`${join(key, name)}: unknown key (known keys here: ${known})`);
        }
      }
      for (const [name, sub] of Object.entries(field.fields)) {
        const v = walk(sub, input[name], join(key, name), baseDir, problems);
        if (v !== undefined) out[name] = v;
      }
      return out;
    }
    case 'string': {
      if ((value === undefined || value === null) && field.required === true)
        problems.push(`${at}: required when ${key.slice(0, key.lastIndexOf('.'))} is configured`);
      if (value === undefined || value === null) return field.default;
      if (typeof value !== 'string' || value === '') {
        problems.push(`${at}: expected a non-empty string, got ${describe(value)}`);
        return undefined;
      }
      if (field.pattern && !field.pattern.test(value)) {
        problems.push(
          `${at}: expected ${field.patternDoc ?? `a value matching ${String(field.pattern)}`}, got ${JSON.stringify(value)}`,
        );
        return undefined;
      }
      return field.path && !isAbsolute(value) ? resolve(baseDir, value) : value;
    }
    case 'integer': {
      if (value === undefined || value === null) return field.default;
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        problems.push(`${at}: expected an integer, got ${describe(value)}`);
        return undefined;
      }
      if (value < field.min || value > field.max) {
        problems.push(`${at}: expected an integer from ${field.min} to ${field.max}, got ${value}`);
        return undefined;
      }
      return value;
    }
    case 'number': {
      if (value === undefined || value === null) return field.default;
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        problems.push(`${at}: expected a number, got ${describe(value)}`);
        return undefined;
      }
      if (value < field.min || value > field.max) {
        problems.push(`${at}: expected a number from ${field.min} to ${field.max}, got ${value}`);
        return undefined;
      }
      return value;
    }
    case 'boolean': {
      if (value === undefined || value === null) return field.default;
      if (typeof value !== 'boolean') {
        problems.push(`${at}: expected true or false, got ${describe(value)}`);
        return undefined;
      }
      return value;
    }
    case 'list': {
      if (value === undefined || value === null)
        return field.default === undefined ? undefined : [...field.default];
      if (!Array.isArray(value)) {
        problems.push(`${at}: expected a list, got ${describe(value)}`);
        return undefined;
      }
      const out: string[] = [];
      value.forEach((item: unknown, i: number) => {
        if (typeof item !== 'string' || item === '')
          problems.push(`${at}[${i}]: expected a non-empty string, got ${describe(item)}`);
        else if (field.pattern && !field.pattern.test(item))
          problems.push(
            `${at}[${i}]: expected ${field.patternDoc ?? 'a valid value'}, got ${JSON.stringify(item)}`,
          );
        else out.push(field.path && !isAbsolute(item) ? resolve(baseDir, item) : item);
      });
      if (field.minItems !== undefined && out.length < field.minItems)
        problems.push(`${at}: expected at least ${field.minItems} item(s)`);
      return out;
    }
    case 'secret':
      return secret(value, at, baseDir, problems);
    case 'enum': {
      if (value === undefined || value === null) return field.default;
      if (typeof value !== 'string' || !field.values.includes(value)) {
        problems.push(`${at}: expected one of ${field.values.join(', ')}, got ${describe(value)}`);
        return undefined;
      }
      return value;
    }
  }
}

/** Resolve a secret now, so a missing file or variable stops the start naming the key. */
function secret(
  value: unknown,
  at: string,
  baseDir: string,
  problems: string[],
): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') {
    if (value === '') problems.push(`${at}: expected a non-empty secret`);
    return value === '' ? undefined : value;
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`${at}: expected {file: PATH}, {env: NAME} or a string, got ${describe(value)}`);
    return undefined;
  }
  const spec = value as Record<string, unknown>;
  const keys = Object.keys(spec);
  if (keys.length !== 1 || (typeof spec['file'] !== 'string' && typeof spec['env'] !== 'string')) {
    problems.push(`${at}: expected exactly one of {file: PATH} or {env: NAME}`);
    return undefined;
  }
  if (typeof spec['env'] === 'string') {
    const v = process.env[spec['env']];
    if (v === undefined || v === '')
      problems.push(`${at}: environment variable ${spec['env']} is not set`);
    return v === '' ? undefined : v;
  }
  const file = spec['file'] as string;
  const path = isAbsolute(file) ? file : resolve(baseDir, file);
  try {
    const text = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    if (text === '') problems.push(`${at}: ${path} is empty`);
    return text;
  } catch (err) {
    problems.push(
      `${at}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
    return undefined;
  }
}

/**
 * Files the configuration names that must be readable now (`readable` lists such as
 * `keys.signing`): a key file that cannot be read stops the start naming the key, not later
 * with only the file name.
 */
function checkFiles(field: ObjectField, value: unknown, prefix: string, problems: string[]): void {
  if (value === undefined || value === null || typeof value !== 'object') return;
  const section = value as Record<string, unknown>;
  for (const [name, sub] of Object.entries(field.fields)) {
    const key = join(prefix, name);
    if (sub.type === 'object') checkFiles(sub, section[name], key, problems);
    else if (sub.type === 'list' && sub.readable === true && Array.isArray(section[name])) {
      (section[name] as string[]).forEach((file, i) => {
        try {
          if (!statSync(file).isFile()) {
            problems.push(`${key}[${i}]: ${file} is not a file`);
            return;
          }
          accessSync(file, constants.R_OK);
        } catch (err) {
          problems.push(
            `${key}[${i}]: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
          );
        }
      });
    }
  }
}

/** Defaults that depend on other keys (`resolved` fields), filled before the cross-field checks. */
function resolveDefaults(value: unknown): void {
  const identity = (value as { identity?: { bearer?: Record<string, unknown> } } | undefined)
    ?.identity;
  const bearer = identity?.bearer;
  // Bearer tokens are on when the operator named the API's audience, and only then by default.
  if (bearer !== undefined && bearer['enabled'] === undefined)
    bearer['enabled'] = (bearer['audiences'] as readonly string[]).length > 0;
}

/** Loopback: 127.0.0.0/8, ::1, localhost. */
function isLoopback(address: string): boolean {
  return (
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address) ||
    address === '::1' ||
    address === '[::1]' ||
    address === 'localhost'
  );
}

function checkTls(key: string, tls: Config['http']['tls'], problems: string[]): void {
  if (tls === undefined) return;
  if (tls.allowed_clients.length > 0 && tls.client_ca_file === undefined) {
    problems.push(
      `${key}.allowed_clients: needs ${key}.client_ca_file (client identities are only known from verified client certificates)`,
    );
  }
}

function checkCrossField(config: Config, problems: string[]): void {
  checkSessionStore(config.session.store, problems);
  checkTls('grpc.tls', config.grpc.tls, problems);
  checkTls('http.tls', config.http.tls, problems);
  if (
    config.grpc.tls === undefined &&
    !config.grpc.allow_cleartext &&
    !isLoopback(config.grpc.address)
  ) {
    // Cookies and bearer tokens travel in every CheckRequest; in cleartext on a network, anyone
    // on the path reads them, and anything that reaches the port can pose as Gatehouse to Envoy.
    problems.push(
      `grpc.address: ${config.grpc.address} is not a loopback address and grpc.tls is not set: Checks (with cookies and bearer tokens) would cross the network in cleartext; configure grpc.tls (mTLS with client_ca_file), or set grpc.allow_cleartext: true where a mesh sidecar encrypts and authenticates the traffic`,
    );
  }
  checkWebAuthn(config, problems);
  const { bundle, dir } = config.policy;
  if (bundle === undefined && dir === undefined)
    problems.push('policy: set one of policy.bundle or policy.dir');
  if (bundle !== undefined && dir !== undefined)
    problems.push('policy: set only one of policy.bundle and policy.dir, not both');
  const identity = config.identity;
  if (identity !== undefined) {
    if (!identity.scopes.includes('openid')) problems.push('identity.scopes: must include openid');
    if (identity.bearer.enabled && identity.bearer.audiences.length === 0) {
      problems.push(
        'identity.bearer.audiences: required when identity.bearer.enabled is true: the audience your identity provider puts in access tokens for this API (never the client id); or set identity.bearer.enabled: false',
      );
    }
    if (identity.bearer.audiences.includes(identity.client_id)) {
      problems.push(
        'identity.bearer.audiences: must not contain the client id: tokens for the client id are ID tokens, not access tokens for an API',
      );
    }
    if (identity.issuer.startsWith('http://') && !config.development) {
      problems.push(
        'identity.issuer: http:// is allowed only in development mode (development: true); use https',
      );
    }
    if (
      config.workers !== 1 &&
      (config.keys.signing.length === 0 || config.session.secret === undefined)
    ) {
      // Each worker would generate its own key and secret: a session signed by one worker would
      // be refused by the next. Generated keys are per process, so a cluster needs real ones.
      problems.push(
        'workers: more than one worker needs keys.signing and session.secret set (generated development keys differ per worker); run `gatehouse keygen`',
      );
    }
    if (!config.development) {
      if (config.keys.signing.length === 0)
        problems.push(
          'keys.signing: required (generated keys are allowed only in development mode)',
        );
      if (config.session.secret === undefined)
        problems.push(
          'session.secret: required (a generated secret is allowed only in development mode)',
        );
    }
  }
}

/** `device.webauthn`: an RP ID, and origins on it (https, except in development mode). */
function checkWebAuthn(config: Config, problems: string[]): void {
  const webauthn = config.device?.webauthn;
  if (webauthn === undefined) return;
  const rpId = webauthn.rp_id; // required by the schema
  if (webauthn.origins.length === 0)
    problems.push('device.webauthn.origins: at least one origin is required');
  if (webauthn.attestation.formats.length === 0)
    problems.push('device.webauthn.attestation.formats: at least one format is required');
  for (const origin of webauthn.origins) {
    const url = new URL(origin);
    if (url.hostname !== rpId && !url.hostname.endsWith(`.${rpId}`))
      problems.push(
        `device.webauthn.origins: ${origin} is not on the RP ID ${rpId} (its host must be ${rpId} or end with .${rpId})`,
      );
    if (url.protocol === 'http:' && !config.development)
      problems.push(
        `device.webauthn.origins: ${origin}: http:// is allowed only in development mode; use https`,
      );
  }
}

function join(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}.${name}`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string')
    return `${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${String(value)}`;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Every documented key path (`grpc.port`, …), for the docs drift test. */
export function configKeys(field: ObjectField = SCHEMA, prefix = ''): string[] {
  const keys: string[] = [];
  for (const [name, sub] of Object.entries(field.fields)) {
    const key = join(prefix, name);
    keys.push(key);
    if (sub.type === 'object') keys.push(...configKeys(sub, key));
  }
  return keys;
}
