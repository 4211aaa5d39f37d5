/**
 * Session records encrypted at rest: AES-256-GCM (node:crypto) under a key derived from
 * Gatehouse's session key, with the session id as additional authenticated data, so a record
 * copied under another session id, edited, or encrypted under another key is refused.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { deriveKey } from '../keys/session-secret.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import type { SessionRecord } from './types.js';

/** The keys a store uses, derived once from the session key. */
export interface StoreKeys {
  /** AES-256-GCM key for records. */
  readonly seal: Uint8Array;
  /** HMAC-SHA256 key for the per-user index (the subject never appears in a key name). */
  readonly index: Uint8Array;
}

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Derive the store's keys from the session key (`SessionSecret.key`, itself HKDF-SHA256 of the
 * configured `session.secret`, src/keys/session-secret.ts): one more HKDF-SHA256 step per use,
 * with its own `info`, so the cookie key, the record key and the index key are independent.
 *
 * @example const keys = deriveStoreKeys(secret.key);
 */
export function deriveStoreKeys(sessionKey: Uint8Array): StoreKeys {
  if (sessionKey.length < 32) throw new Error('deriveStoreKeys: the session key must be 32 bytes');
  return Object.freeze({
    seal: deriveKey(sessionKey, 'gatehouse session store records'),
    index: deriveKey(sessionKey, 'gatehouse session store user index'),
  });
}

/** `v1.` + base64url(iv ‖ ciphertext ‖ tag) of the record's JSON, AAD = the session id. */
export function sealRecord(keys: StoreKeys, record: SessionRecord): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keys.seal, iv);
  cipher.setAAD(aad(record.sid));
  const plain = Buffer.from(
    JSON.stringify({
      sid: record.sid,
      sub: record.sub,
      createdAt: record.createdAt,
      expiresAt: record.expiresAt,
      data: record.data,
      ...(record.idp === undefined ? {} : { idp: record.idp }),
    }),
  );
  const body = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  return `${VERSION}.${body.toString('base64url')}`;
}

/**
 * Decrypt and check a sealed record read under `sid`.
 *
 * @throws GatehouseError `ERR_SESSION_RECORD_INVALID` when it is malformed, fails authentication
 *   (tampered, another key, stored under another session id) or does not name `sid`.
 */
export function openRecord(keys: StoreKeys, sid: string, sealed: string): SessionRecord {
  const dot = sealed.indexOf('.');
  if (dot < 0 || sealed.slice(0, dot) !== VERSION) throw invalid('unknown record format');
  const body = Buffer.from(sealed.slice(dot + 1), 'base64url');
  if (body.length < IV_BYTES + TAG_BYTES) throw invalid('record too short');
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keys.seal, body.subarray(0, IV_BYTES));
    decipher.setAAD(aad(sid));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    plain = Buffer.concat([
      decipher.update(body.subarray(IV_BYTES, body.length - TAG_BYTES)),
      decipher.final(),
    ]);
  } catch (cause) {
    throw invalid('record authentication failed', cause);
  }
  const parsed = JSON.parse(plain.toString('utf8')) as unknown;
  if (!isRecord(parsed) || parsed.sid !== sid) throw invalid('record content is malformed');
  return parsed;
}

/**
 * `v1.` + base64url(iv ‖ ciphertext ‖ tag) of `value`'s JSON, with `context` (what the value is
 * and the key it is stored under) as additional authenticated data: device entries and
 * single-use values are sealed like session records, and cannot be moved between keys.
 */
export function sealValue(keys: StoreKeys, context: string, value: unknown): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keys.seal, iv);
  cipher.setAAD(Buffer.from(`gatehouse ${context}`));
  const plain = Buffer.from(JSON.stringify(value));
  const body = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  return `${VERSION}.${body.toString('base64url')}`;
}

/**
 * Decrypt a value sealed by {@link sealValue} under `context`.
 *
 * @throws GatehouseError `ERR_SESSION_RECORD_INVALID` when it is malformed or fails
 *   authentication (tampered, another key, another context).
 */
export function openValue(keys: StoreKeys, context: string, sealed: string): unknown {
  const dot = sealed.indexOf('.');
  if (dot < 0 || sealed.slice(0, dot) !== VERSION) throw invalid('unknown value format');
  const body = Buffer.from(sealed.slice(dot + 1), 'base64url');
  if (body.length < IV_BYTES + TAG_BYTES) throw invalid('value too short');
  try {
    const decipher = createDecipheriv('aes-256-gcm', keys.seal, body.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(`gatehouse ${context}`));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    const plain = Buffer.concat([
      decipher.update(body.subarray(IV_BYTES, body.length - TAG_BYTES)),
      decipher.final(),
    ]);
    return JSON.parse(plain.toString('utf8')) as unknown;
  } catch (cause) {
    throw invalid('value authentication failed', cause);
  }
}

/** HMAC-SHA256(index key, sub), base64url: the name of a user's index. */
export function userIndexId(keys: StoreKeys, sub: string): string {
  return createHmac('sha256', keys.index).update(sub).digest('base64url');
}

/**
 * HMAC-SHA256 of the identity provider's session (`iss`, `sid`), base64url: the name of its
 * index. Keyed with a sub-key of the index key, so it can never equal a user index id.
 */
export function idpIndexId(keys: StoreKeys, iss: string, sid: string): string {
  const key = createHmac('sha256', keys.index).update('gatehouse idp session index').digest();
  return createHmac('sha256', key).update(`${iss}\n${sid}`).digest('base64url');
}

function aad(sid: string): Buffer {
  return Buffer.from(`gatehouse session record ${sid}`);
}

function isRecord(value: unknown): value is SessionRecord {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v['sid'] === 'string' &&
    typeof v['sub'] === 'string' &&
    typeof v['createdAt'] === 'number' &&
    typeof v['expiresAt'] === 'number' &&
    typeof v['data'] === 'object' &&
    v['data'] !== null &&
    !Array.isArray(v['data']) &&
    (v['idp'] === undefined || isIdp(v['idp']))
  );
}

function isIdp(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v['iss'] === 'string' && typeof v['sid'] === 'string';
}

function invalid(detail: string, cause?: unknown): GatehouseError {
  return new GatehouseError('ERR_SESSION_RECORD_INVALID', {
    cause: new Error(detail, cause === undefined ? undefined : { cause }),
  });
}
