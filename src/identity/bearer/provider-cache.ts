/**
 * The identity provider's last good discovery document and JWKS, kept in one file so that a
 * Gatehouse that starts while the IdP is unreachable still verifies bearer tokens.
 *
 * Written atomically (a private temporary file in the same folder, fsync, rename), readable and
 * writable only by the service user (mode 0600). Read back only when it is for the configured
 * issuer and younger than the configured maximum age; anything else is ignored with a reason.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { JSONWebKeySet } from 'jose';

/** What the file holds. */
export interface ProviderSnapshot {
  /** The configured `identity.issuer` (as given), so a file for another IdP is never used. */
  readonly configuredIssuer: string;
  /** The discovery document as the IdP served it. */
  readonly discovery: Readonly<Record<string, unknown>>;
  /** The JWKS from the document's `jwks_uri`. */
  readonly jwks: JSONWebKeySet;
  /** When the JWKS was fetched (ms since the epoch): the maximum age counts from here. */
  readonly fetchedAt: number;
}

/** The file format's version; another version is ignored, never guessed at. */
const FORMAT = 'gatehouse-idp-cache/1';

/** Result of {@link readProviderCache}: the snapshot, or why none is usable. */
export type CacheRead = { readonly snapshot: ProviderSnapshot } | { readonly problem: string };

/**
 * Read the cache file. Never throws: a missing, unreadable, malformed, foreign or too old file,
 * or one that another user owns or may write, is a `problem` (for the log), and Gatehouse
 * carries on without it.
 */
export async function readProviderCache(
  path: string,
  expect: { readonly issuer: string; readonly maxAgeMs: number; readonly now?: number },
): Promise<CacheRead> {
  let text: string;
  try {
    // Whoever can write this file chooses the keys Gatehouse trusts: only its own user may.
    const info = await stat(path);
    if ((info.mode & 0o022) !== 0)
      return {
        problem: `${path} is writable by other users (mode ${(info.mode & 0o777).toString(8)}); expected 0600`,
      };
    const uid = process.getuid?.();
    if (uid !== undefined && info.uid !== uid)
      return { problem: `${path} belongs to user ${info.uid}, not to this process's user ${uid}` };
    text = await readFile(path, 'utf8');
  } catch (err) {
    return {
      problem: `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { problem: `${path} is not JSON` };
  }
  if (!isRecord(doc) || doc['format'] !== FORMAT)
    return { problem: `${path} is not a ${FORMAT} file` };
  const { configured_issuer: configuredIssuer, discovery, jwks, fetched_at: fetchedAt } = doc;
  if (
    typeof configuredIssuer !== 'string' ||
    !isRecord(discovery) ||
    !isJwks(jwks) ||
    typeof fetchedAt !== 'number' ||
    !Number.isFinite(fetchedAt)
  ) {
    return { problem: `${path} is incomplete` };
  }
  if (configuredIssuer !== expect.issuer)
    return { problem: `${path} is for issuer ${configuredIssuer}, not ${expect.issuer}` };
  if (typeof discovery['issuer'] !== 'string' || typeof discovery['jwks_uri'] !== 'string')
    return { problem: `${path}: the discovery document lacks issuer or jwks_uri` };
  const age = (expect.now ?? Date.now()) - fetchedAt;
  if (age > expect.maxAgeMs)
    return {
      problem: `${path} is ${Math.round(age / 1000)} s old, more than the maximum age ${Math.round(expect.maxAgeMs / 1000)} s`,
    };
  if (age < -60_000) return { problem: `${path} was written in the future (clock skew?)` };
  return { snapshot: Object.freeze({ configuredIssuer, discovery, jwks, fetchedAt }) };
}

/**
 * Write the cache file atomically, mode 0600. The folder must exist and be writable.
 *
 * @throws Error (the file system's) when it cannot be written; the previous file is then intact.
 */
export async function writeProviderCache(path: string, snapshot: ProviderSnapshot): Promise<void> {
  const body = `${JSON.stringify({
    format: FORMAT,
    configured_issuer: snapshot.configuredIssuer,
    fetched_at: snapshot.fetchedAt,
    written_at: new Date().toISOString(),
    discovery: snapshot.discovery,
    jwks: snapshot.jwks,
  })}\n`;
  const temp = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );
  // 'wx': never follow or reuse an existing file at the temporary name.
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(body, 'utf8');
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isJwks(value: unknown): value is JSONWebKeySet {
  return isRecord(value) && Array.isArray(value['keys']) && value['keys'].every(isRecord);
}
