/**
 * Reading OPA bundles (`bundle.tar.gz` from `opa build -t wasm`).
 *
 * A bundle is a gzipped tar holding `/policy.wasm`, `/.manifest` (revision, roots and the wasm
 * entrypoints) and data documents: `/data.json` for the root and `<dir>/data.json` for
 * `data.<dir>`. Of the Rego sources OPA also writes into the bundle only the paths are kept: a
 * wasm build strips the rules it compiled from them (src/policy/load.ts compares the paths with
 * the directory it analysed).
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { DEFAULT_TAR_LIMITS, readTar, type TarLimits } from './tar.js';

/** One wasm module listed in the manifest. */
export interface BundleWasmEntry {
  /** Slash-separated entrypoint, e.g. `envoy/authz/allow`. */
  readonly entrypoint: string;
  /** Module path inside the bundle, e.g. `/policy.wasm`. */
  readonly module: string;
}

/** The parts of `/.manifest` Gatehouse reads. */
export interface BundleManifest {
  /** Revision set with `opa build --revision`; empty when none was set. */
  readonly revision: string;
  /** Data roots the bundle owns. */
  readonly roots: readonly string[];
  /** Wasm modules and their entrypoints. */
  readonly wasm: readonly BundleWasmEntry[];
}

/** The contents of a bundle that matter for evaluation. */
export interface PolicyBundle {
  /** The compiled policy module. */
  readonly wasm: Uint8Array;
  /** The merged data document (`{}` when the bundle holds none). */
  readonly data: Record<string, unknown>;
  /** The manifest, when the bundle has one. */
  readonly manifest: BundleManifest | undefined;
  /** Paths of the `.rego` files in the bundle (no leading slash), sorted. */
  readonly regoPaths: readonly string[];
}

/** Bounds applied while reading a bundle. */
export interface BundleLimits extends TarLimits {
  /** Largest gzipped bundle accepted, in bytes. */
  readonly maxCompressedBytes: number;
  /** Largest uncompressed tar accepted, in bytes (refuses gzip bombs). */
  readonly maxUncompressedBytes: number;
}

/** Defaults: far above any real policy bundle, far below what would hurt the process. */
export const DEFAULT_BUNDLE_LIMITS: BundleLimits = Object.freeze({
  ...DEFAULT_TAR_LIMITS,
  maxCompressedBytes: 64 * 1024 * 1024,
  maxUncompressedBytes: 256 * 1024 * 1024,
});

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

function loadError(message: string, cause?: unknown): GatehouseError {
  return new GatehouseError(
    'ERR_POLICY_LOAD',
    cause === undefined ? { message } : { message, cause },
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw loadError(`bundle ${what} is not valid JSON`, err);
  }
}

/** Validates `/.manifest`; unknown fields are OPA's business and are ignored. */
function parseManifest(bytes: Uint8Array): BundleManifest {
  const raw = parseJson(bytes, '/.manifest');
  if (!isRecord(raw)) throw loadError('bundle /.manifest is not a JSON object');
  const revision = raw['revision'] ?? '';
  if (typeof revision !== 'string') throw loadError('bundle /.manifest "revision" is not a string');
  const roots = raw['roots'] ?? [''];
  if (!Array.isArray(roots) || !roots.every((r) => typeof r === 'string')) {
    throw loadError('bundle /.manifest "roots" is not a list of strings');
  }
  const wasmRaw = raw['wasm'] ?? [];
  if (!Array.isArray(wasmRaw)) throw loadError('bundle /.manifest "wasm" is not a list');
  const wasm = wasmRaw.map((item: unknown, i): BundleWasmEntry => {
    if (
      !isRecord(item) ||
      typeof item['entrypoint'] !== 'string' ||
      typeof item['module'] !== 'string'
    ) {
      throw loadError(`bundle /.manifest "wasm[${i}]" needs string "entrypoint" and "module"`);
    }
    return Object.freeze({ entrypoint: item['entrypoint'], module: item['module'] });
  });
  return Object.freeze({
    revision,
    roots: Object.freeze([...(roots as string[])]),
    wasm: Object.freeze(wasm),
  });
}

/** Places `value` at `path` (segments) inside `root`, merging objects. */
function mergeAt(
  root: Record<string, unknown>,
  path: readonly string[],
  value: unknown,
  file: string,
): void {
  if (path.length === 0) {
    if (!isRecord(value)) throw loadError(`bundle ${file} must hold a JSON object`);
    for (const [key, v] of Object.entries(value)) mergeAt(root, [key], v, file);
    return;
  }
  let node = root;
  for (const segment of path.slice(0, -1)) {
    const next = node[segment];
    if (next === undefined) node = node[segment] = {};
    else if (isRecord(next)) node = next;
    else throw loadError(`bundle ${file} conflicts with other data at ${segment}`);
  }
  const last = path[path.length - 1] as string;
  const existing = node[last];
  if (existing === undefined) node[last] = value;
  else if (isRecord(existing) && isRecord(value))
    for (const [key, v] of Object.entries(value)) mergeAt(existing, [key], v, file);
  else throw loadError(`bundle ${file} conflicts with other data at ${path.join('/')}`);
}

/**
 * Reads a gzipped OPA bundle from memory.
 *
 * @throws GatehouseError `ERR_POLICY_LOAD` when the archive is corrupt, hostile (path
 *   traversal, oversized), has no wasm module, or has a malformed manifest or data file.
 * @example
 *   const bundle = readBundle(await readFile('policies/build/bundle.tar.gz'));
 */
export function readBundle(
  gzipped: Uint8Array,
  limits: BundleLimits = DEFAULT_BUNDLE_LIMITS,
): PolicyBundle {
  if (gzipped.length > limits.maxCompressedBytes)
    throw loadError(`bundle is larger than ${limits.maxCompressedBytes} bytes`);
  let tar: Buffer;
  try {
    tar = gunzipSync(gzipped, { maxOutputLength: limits.maxUncompressedBytes });
  } catch (err) {
    throw loadError(
      'bundle is not a readable gzip archive (or expands beyond the size limit)',
      err,
    );
  }
  let entries: ReturnType<typeof readTar>;
  try {
    entries = readTar(tar, limits);
  } catch (err) {
    throw loadError(
      `bundle archive is invalid: ${err instanceof Error ? err.message : String(err)}`,
      err,
    );
  }

  const files = new Map<string, Uint8Array>();
  for (const entry of entries) {
    if (files.has(entry.path)) throw loadError(`bundle holds /${entry.path} twice`);
    files.set(entry.path, entry.data);
  }

  const manifestBytes = files.get('.manifest');
  const manifest = manifestBytes === undefined ? undefined : parseManifest(manifestBytes);

  const modules = new Set((manifest?.wasm ?? []).map((w) => w.module.replace(/^\/+/, '')));
  if (modules.size > 1) {
    throw loadError(
      `bundle holds ${modules.size} wasm modules; Gatehouse evaluates one (build with a single \`opa build -t wasm\`)`,
    );
  }
  const modulePath = modules.values().next().value ?? 'policy.wasm';
  const wasm = files.get(modulePath);
  if (wasm === undefined)
    throw loadError(`bundle has no /${modulePath}; build it with \`opa build -t wasm\``);
  if (!WASM_MAGIC.every((b, i) => wasm[i] === b))
    throw loadError(`bundle /${modulePath} is not a WebAssembly module`);

  const data: Record<string, unknown> = {};
  // Shallow paths first, so a nested data.json merges into what its parent declared.
  const dataFiles = [...files.keys()]
    .filter((p) => p === 'data.json' || p.endsWith('/data.json'))
    .sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : 1));
  for (const path of dataFiles) {
    const segments = path.split('/').slice(0, -1);
    mergeAt(data, segments, parseJson(files.get(path) as Uint8Array, `/${path}`), `/${path}`);
  }

  const regoPaths = Object.freeze([...files.keys()].filter((p) => p.endsWith('.rego')).sort());
  return Object.freeze({ wasm, data, manifest, regoPaths });
}

/**
 * Reads a gzipped OPA bundle from a file.
 *
 * @throws GatehouseError `ERR_POLICY_LOAD` when the file cannot be read or the bundle is invalid.
 */
export async function readBundleFile(
  path: string,
  limits: BundleLimits = DEFAULT_BUNDLE_LIMITS,
): Promise<PolicyBundle> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw loadError(`cannot read policy bundle ${path}`, err);
  }
  return readBundle(bytes, limits);
}
