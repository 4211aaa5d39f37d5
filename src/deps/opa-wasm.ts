/**
 * The one place that reaches into `@open-policy-agent/opa-wasm` beyond its typed API.
 *
 * Three things Gatehouse needs are not in the SDK's contract:
 * - its own builtin table (the CommonJS module `src/builtins/index.js`), which it consults
 *   before the custom builtins passed to `loadPolicy`, so replacing an SDK builtin (`sprintf`)
 *   means writing into that table;
 * - the `{name: id}` map of the builtins a module imports, which the SDK reads and keeps
 *   private (the module exports it, so it is read the way the SDK does);
 * - the `LoadedPolicy` fields its ABI 1.2 `evaluate` works on (`minorVersion`, `mem`,
 *   `dataAddr`, `dataHeapPtr`, `wasmInstance`), which the fast evaluator below uses to skip
 *   the SDK's intermediate copies;
 * - the module's imports (`opa_builtin0..4`, `opa_abort`, `opa_println`): the SDK's
 *   `_importObject` loads every builtin result with the module's JSON parser, which has no set,
 *   so the module is instantiated here with imports that dispatch builtins as the SDK does
 *   (its table first, then the custom builtins) and load a result holding a {@link RegoSet}
 *   with the module's Rego value parser (`opa_value_parse`); the instance is then handed to the
 *   SDK's exported `LoadedPolicy`, exactly as its `loadPolicy` does.
 *
 * All of these depend on the SDK's internals, so this module refuses to load with any SDK version
 * but {@link OPA_WASM_VERSION} (a test pins the installed and locked versions to it), and a
 * differential test compares the fast evaluator with the SDK's own `evaluate`
 * (test/integration/policy/fast-evaluate.test.ts).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { LoadedPolicy as SdkLoadedPolicy } from '@open-policy-agent/opa-wasm';
import { containsSet, type RegoSet, toRegoText } from './rego-value.js';
import { packageDir, requireVersion } from './version-guard.js';

/** The SDK version this adapter was written and tested for. */
export const OPA_WASM_VERSION = '1.10.0';

requireVersion('@open-policy-agent/opa-wasm', OPA_WASM_VERSION, 'src/deps/opa-wasm.ts');

/**
 * A host builtin: JSON values in (a set argument arrives as an array, as with the SDK), a JSON
 * value, a value holding {@link RegoSet}s, or `undefined` out. `never[]` accepts every
 * builtin's own typed parameters without opening an `any` hole.
 */
export type HostBuiltin = (...args: never[]) => unknown;

/** The parts of the `WebAssembly` global used here (the compiler's `lib` does not declare it). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
const wasmApi = (
  globalThis as unknown as {
    readonly WebAssembly: {
      readonly Memory: new (limits: { initial: number; maximum: number }) => WasmMemory;
      instantiate(bytes: Uint8Array, imports: object): Promise<{ readonly instance: object }>;
    };
  }
).WebAssembly;

const requireCjs = createRequire(import.meta.url);

/** The SDK's `LoadedPolicy` class: exported by its CommonJS entry (its ES entry has only `loadPolicy`). */
const SdkLoadedPolicyClass = (
  requireCjs('@open-policy-agent/opa-wasm') as {
    readonly LoadedPolicy: typeof SdkLoadedPolicy;
  }
).LoadedPolicy;

/** The SDK's builtin table: the same cached CommonJS module object its `opa.js` requires. */
const sdkTable = requireCjs(
  join(packageDir('@open-policy-agent/opa-wasm'), 'src', 'builtins', 'index.js'),
) as Record<string, HostBuiltin>;

/** Names of the builtins the SDK answers from its own JS table, sorted. */
export function sdkBuiltinNames(): string[] {
  return Object.keys(sdkTable).sort();
}

/** The SDK table's entry for `name` (tests check a replacement took). */
export function sdkBuiltin(name: string): HostBuiltin | undefined {
  return Object.hasOwn(sdkTable, name) ? sdkTable[name] : undefined;
}

/**
 * Replace the SDK's own implementation of builtin `name` for every policy loaded afterwards
 * (and before: the SDK looks the table up on each call).
 */
export function replaceSdkBuiltin(name: string, impl: HostBuiltin): void {
  sdkTable[name] = impl;
}

/** A compiled policy instantiated by the SDK, seen through what Gatehouse uses of it. */
export interface SdkPolicy {
  /** Entrypoint name (`envoy/authz/allow`) → id. */
  readonly entrypoints: Readonly<Record<string, number>>;
  /** Host builtins the module imports, sorted. */
  readonly importedBuiltins: readonly string[];
  /** Replaces the policy's `data` (the SDK's `setData`). */
  setData(data: unknown): void;
  /**
   * Evaluates entrypoint `entrypoint` for `input` and returns the result set
   * (`[{result: …}]`, or `[]` when undefined): the fast evaluator on ABI ≥ 1.2 modules, else
   * the SDK's `evaluate`. Throws what the SDK throws (often a bare string) when the policy aborts.
   */
  evaluate(input: unknown, entrypoint: number): unknown;
  /** The SDK's own `evaluate`, unchanged: the reference the fast evaluator is tested against. */
  sdkEvaluate(input: unknown, entrypoint: number): unknown;
  /** Whether {@link evaluate} is the fast evaluator (false for modules older than ABI 1.2). */
  readonly fast: boolean;
}

/**
 * Instantiates a compiled policy module with `builtins` as the custom builtins.
 *
 * @throws whatever the SDK throws when the module cannot be instantiated.
 */
export async function instantiatePolicy(
  wasm: Uint8Array,
  memoryLimits: { readonly initial: number; readonly maximum: number },
  builtins: Readonly<Record<string, HostBuiltin>>,
): Promise<SdkPolicy> {
  const memory = new wasmApi.Memory({ ...memoryLimits });
  const custom = { ...builtins };
  const env: { instance?: ModuleInstance; names: Record<number, string> } = { names: {} };
  const imports = hostImports(memory, custom, () => {
    if (env.instance === undefined) throw new Error('builtin called before instantiation');
    return { instance: env.instance, names: env.names };
  });
  // An exact ArrayBuffer-backed copy: the bytes may be a view into a larger buffer.
  const { instance } = await wasmApi.instantiate(new Uint8Array(wasm), imports);
  const moduleInstance = instance as unknown as ModuleInstance;
  const minorVersion = checkAbi(moduleInstance);
  env.instance = moduleInstance;
  env.names = builtinNamesById(moduleInstance, memory);
  const policy = new SdkLoadedPolicyClass(instance as never, memory as never, minorVersion);
  const internals = policy as unknown as PolicyInternals;
  const fast = fastEvaluator(internals);
  return Object.freeze({
    entrypoints: Object.freeze({ ...(policy.entrypoints as Record<string, number>) }),
    importedBuiltins: Object.freeze(importedBuiltins(internals)),
    setData: (data: unknown) => policy.setData(data as object),
    evaluate: fast ?? ((input: unknown, ep: number): unknown => policy.evaluate(input, ep)),
    sdkEvaluate: (input: unknown, ep: number): unknown => policy.evaluate(input, ep),
    fast: fast !== undefined,
  });
}

/** The SDK's LoadedPolicy fields read here (public properties, untyped in its declarations). */
interface PolicyInternals extends Pick<SdkLoadedPolicy, 'evaluate'> {
  readonly minorVersion: number;
  readonly mem: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  readonly dataAddr: number;
  readonly dataHeapPtr: number;
  readonly wasmInstance: ModuleInstance;
}

/** The exports of a module `opa build -t wasm` compiles (ABI 1.x) that are used here. */
interface ModuleInstance {
  readonly exports: {
    readonly opa_wasm_abi_version?: number | { readonly value: number };
    readonly opa_wasm_abi_minor_version?: number | { readonly value: number };
    builtins(): number;
    opa_malloc(size: number): number;
    opa_json_parse(addr: number, len: number): number;
    opa_value_parse(addr: number, len: number): number;
    opa_json_dump(addr: number): number;
    opa_eval(
      reserved: number,
      entrypoint: number,
      data: number,
      input: number,
      inputLen: number,
      heap: number,
      format: number,
    ): number;
  };
}

/** `exports.x` of a global: a number in old runtimes, a `WebAssembly.Global` in current ones. */
function globalValue(g: number | { readonly value: number } | undefined): number | undefined {
  return typeof g === 'number' ? g : g?.value;
}

/** The SDK's ABI check (`_preparePolicy`): major version 1; returns the minor version. */
function checkAbi(instance: ModuleInstance): number {
  const major = globalValue(instance.exports.opa_wasm_abi_version);
  if (major !== undefined && major !== 1) throw `unsupported ABI version ${major}`;
  return globalValue(instance.exports.opa_wasm_abi_minor_version) ?? 0;
}

/** Builtin id → name, from the module's `builtins` export (as the SDK reads it). */
function builtinNamesById(instance: ModuleInstance, memory: WasmMemory): Record<number, string> {
  const byName = JSON.parse(
    readCString(memory, instance.exports.opa_json_dump(instance.exports.builtins())),
  ) as Record<string, number>;
  const names: Record<number, string> = {};
  for (const [name, id] of Object.entries(byName)) names[id] = name;
  return names;
}

/**
 * The module's imports, as the SDK's `_importObject` builds them, except that a builtin result
 * holding a {@link RegoSet} is loaded with `opa_value_parse` (see {@link loadResult}).
 */
function hostImports(
  memory: WasmMemory,
  custom: Readonly<Record<string, HostBuiltin>>,
  module: () => { instance: ModuleInstance; names: Readonly<Record<number, string>> },
): object {
  const call = (id: number, argAddrs: readonly number[]): number => {
    const { instance, names } = module();
    const name = names[id];
    const impl =
      (name !== undefined && Object.hasOwn(sdkTable, name) ? sdkTable[name] : undefined) ??
      (name !== undefined && Object.hasOwn(custom, name) ? custom[name] : undefined);
    if (impl === undefined) throw { message: `not implemented: built-in function ${id}: ${name}` };
    const args = argAddrs.map(
      (addr) => JSON.parse(readCString(memory, instance.exports.opa_json_dump(addr))) as never,
    );
    return loadResult(instance, memory, impl(...args));
  };
  return {
    env: {
      memory,
      opa_abort: (addr: number) => {
        throw readCString(memory, addr);
      },
      opa_println: (addr: number) => {
        console.log(readCString(memory, addr));
      },
      opa_builtin0: (id: number, _ctx: number) => call(id, []),
      opa_builtin1: (id: number, _ctx: number, a: number) => call(id, [a]),
      opa_builtin2: (id: number, _ctx: number, a: number, b: number) => call(id, [a, b]),
      opa_builtin3: (id: number, _ctx: number, a: number, b: number, c: number) =>
        call(id, [a, b, c]),
      opa_builtin4: (id: number, _ctx: number, a: number, b: number, c: number, d: number) =>
        call(id, [a, b, c, d]),
    },
  };
}

const resultEncoder = new TextEncoder();

/**
 * Writes a builtin's result into the module and returns its address (0: undefined). A plain
 * JSON result (or JSON text in an `ArrayBuffer`) goes through `opa_json_parse`, as in the SDK's
 * `_loadJSON`; one holding a
 * {@link RegoSet} is written in Rego value syntax and read with `opa_value_parse`.
 */
function loadResult(instance: ModuleInstance, memory: WasmMemory, result: unknown): number {
  if (result === undefined) return 0;
  // An ArrayBuffer is JSON text to load verbatim (src/policy/builtins/raw-json.ts), as in the SDK.
  const rego = !(result instanceof ArrayBuffer) && containsSet(result);
  const bytes =
    result instanceof ArrayBuffer
      ? new Uint8Array(result)
      : resultEncoder.encode(rego ? toRegoText(result) : JSON.stringify(result));
  const addr = instance.exports.opa_malloc(bytes.byteLength);
  new Uint8Array(memory.buffer).set(bytes, addr);
  const parsed = rego
    ? instance.exports.opa_value_parse(addr, bytes.byteLength)
    : instance.exports.opa_json_parse(addr, bytes.byteLength);
  if (parsed === 0) throw rego ? 'failed to parse rego value' : 'failed to parse json value';
  return parsed;
}

function readCString(memory: { readonly buffer: ArrayBufferLike }, addr: number): string {
  const bytes = new Uint8Array(memory.buffer);
  let end = addr;
  while (end < bytes.length && bytes[end] !== 0) end++;
  return new TextDecoder().decode(bytes.subarray(addr, end));
}

/** The `{name: id}` map of host builtins a module imports (its `builtins` export). */
function importedBuiltins(p: PolicyInternals): string[] {
  const exports = p.wasmInstance.exports;
  const map = JSON.parse(readCString(p.mem, exports.opa_json_dump(exports.builtins()))) as Record<
    string,
    number
  >;
  return Object.keys(map).sort();
}

const WASM_PAGE = 65_536;

/** ES2024 string methods (Node ≥ 20), not in the compiler's `lib`. */
type Es2024String = { isWellFormed(): boolean; toWellFormed(): string };
const isWellFormed = (s: string): boolean => (s as unknown as Es2024String).isWellFormed();
const toWellFormed = (s: string): string => (s as unknown as Es2024String).toWellFormed();

/** `JSON.stringify` replacer: every lone surrogate, in strings and in keys, becomes U+FFFD. */
function wellFormed(_key: string, value: unknown): unknown {
  if (typeof value === 'string') return toWellFormed(value);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  if (keys.every(isWellFormed)) return value;
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const key of keys) out[toWellFormed(key)] = (value as Record<string, unknown>)[key];
  return out;
}

/**
 * The SDK's ABI 1.2 `evaluate` without its intermediate copies: the input is stringified once and
 * UTF-8-encoded straight into wasm memory at the data heap pointer (the SDK encodes into a new
 * buffer, then copies it in), and the result's NUL terminator is found natively (the SDK scans
 * byte by byte in JavaScript). Same calls into the module (`opa_eval` with the same arguments),
 * same result. `undefined` for modules older than ABI 1.2 (the SDK's evaluate is used).
 */
function fastEvaluator(
  p: PolicyInternals,
): ((input: unknown, entrypoint: number) => unknown) | undefined {
  if (!(p.minorVersion >= 2) || typeof p.wasmInstance?.exports?.opa_eval !== 'function')
    return undefined;
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  return (input, entrypoint) => {
    const memory = p.mem;
    const inputAddr = p.dataHeapPtr;
    let inputLen = 0;
    if (input) {
      let text = JSON.stringify(input);
      // A lone surrogate (from a `\ud800` escape in a JSON body) comes out as `\ud800`, which
      // OPA's JSON parser refuses ("illegal string escape character"): the whole evaluation
      // failed, whatever the policy read. Go's JSON (the plugin) decodes it as U+FFFD; so does
      // this, on the rare text that has one (a backslash followed by `ud` in a string also
      // matches, and only costs the second pass).
      if (text.includes('\\ud')) text = JSON.stringify(input, wellFormed);
      // Room for the likely size first (ASCII), then for the worst case (3 bytes per UTF-16 unit).
      let room = memory.buffer.byteLength - inputAddr;
      if (room < text.length) memory.grow(Math.ceil((text.length - room) / WASM_PAGE));
      let { read, written } = encoder.encodeInto(text, new Uint8Array(memory.buffer, inputAddr));
      if (read < text.length) {
        room = memory.buffer.byteLength - inputAddr;
        memory.grow(Math.ceil((text.length * 3 - room) / WASM_PAGE));
        ({ read, written } = encoder.encodeInto(text, new Uint8Array(memory.buffer, inputAddr)));
      }
      inputLen = written;
    }
    const ret = p.wasmInstance.exports.opa_eval(
      0,
      entrypoint,
      p.dataAddr,
      inputLen === 0 ? 0 : inputAddr,
      inputLen,
      inputAddr + inputLen,
      0,
    );
    const bytes = new Uint8Array(memory.buffer);
    const end = bytes.indexOf(0, ret);
    return JSON.parse(decoder.decode(bytes.subarray(ret, end < 0 ? bytes.length : end)));
  };
}
