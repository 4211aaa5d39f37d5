/**
 * The configuration's TypeScript type, derived from the schema (src/config/schema.ts, written
 * `as const`): a key, its type, whether it is always present and an enum's values are written
 * once, in the schema, and the compiler follows it. The validator checks at run time that what
 * it built has this shape ({@link conformsTo} in validate.ts) before handing it out.
 *
 * How a field becomes a property:
 * - `string`, `secret` → `string`; `integer`, `number` → `number`; `boolean` → `boolean`;
 *   `enum` → the union of its `values`; `list` → `readonly string[]`; `object` → its section.
 * - Always present: a field with a `default`, a `required` field (of an optional section), a
 *   `resolved` boolean (derived from other keys), a section that is not `optional`.
 *   Everything else is optional (`?:`): absent unless given.
 */
import type { SCHEMA } from './schema.js';

/** The validated value of a schema field `F`. */
export type FieldValue<F> = F extends { readonly type: 'string' | 'secret' }
  ? string
  : F extends { readonly type: 'integer' | 'number' }
    ? number
    : F extends { readonly type: 'boolean' }
      ? boolean
      : F extends { readonly type: 'enum'; readonly values: readonly (infer V)[] }
        ? V
        : F extends { readonly type: 'list' }
          ? readonly string[]
          : F extends { readonly type: 'object'; readonly fields: infer Fields }
            ? Section<Fields>
            : never;

/** Whether a validated configuration always holds field `F` (see the module comment). */
type AlwaysPresent<F> = F extends { readonly type: 'object' }
  ? F extends { readonly optional: true }
    ? false
    : true
  : F extends
        | { readonly default: unknown }
        | { readonly required: true }
        | { readonly resolved: true }
    ? true
    : false;

/** One object in plain `{ … }` form (so editors show the keys, not an intersection). */
type Flat<T> = { [K in keyof T]: T[K] };

/** A section: its always-present fields required, the others optional; all read-only. */
type Section<Fields> = Flat<
  {
    readonly [K in keyof Fields as AlwaysPresent<Fields[K]> extends true ? K : never]: FieldValue<
      Fields[K]
    >;
  } & {
    readonly [K in keyof Fields as AlwaysPresent<Fields[K]> extends true ? never : K]?: FieldValue<
      Fields[K]
    >;
  }
>;

/** The validated, fully-defaulted, frozen configuration. */
export type Config = FieldValue<typeof SCHEMA>;

/** A listener's TLS (`grpc.tls`, `http.tls`); see src/tls/files.ts. */
export type TlsConfig = NonNullable<Config['grpc']['tls']>;

/** `session.store`; see src/store/open.ts. */
export type SessionStoreConfig = Config['session']['store'];

/** `device.webauthn`: enrolled devices; see src/device/webauthn/settings.ts. */
export type WebAuthnConfig = NonNullable<NonNullable<Config['device']>['webauthn']>;
