/**
 * The configuration schema: every key Gatehouse accepts, its type, default and one-line
 * description. `validate.ts` walks it; `docs/reference/config.md` documents it and a drift test
 * keeps the two in step. Unknown keys are errors, never silently dropped.
 */

interface FieldBase {
  /** One line for the reference docs. */
  readonly doc: string;
}

export interface StringField extends FieldBase {
  readonly type: 'string';
  readonly default?: string;
  /** Resolve relative to the config file's folder. */
  readonly path?: boolean;
  readonly pattern?: RegExp;
  readonly patternDoc?: string;
}
export interface IntegerField extends FieldBase {
  readonly type: 'integer';
  readonly default?: number;
  readonly min: number;
  readonly max: number;
}
export interface BooleanField extends FieldBase {
  readonly type: 'boolean';
  readonly default?: boolean;
}
export interface EnumField extends FieldBase {
  readonly type: 'enum';
  readonly values: readonly string[];
  readonly default?: string;
}
export interface ObjectField extends FieldBase {
  readonly type: 'object';
  readonly fields: Readonly<Record<string, Field>>;
}

export type Field = StringField | IntegerField | BooleanField | EnumField | ObjectField;

const HOST = /^[A-Za-z0-9.:\-[\]]+$/;

export const SCHEMA = {
  type: 'object',
  doc: 'Gatehouse configuration.',
  fields: {
    grpc: {
      type: 'object',
      doc: 'The gRPC listener Envoy calls: ext_authz v3 Check and grpc.health.v1.',
      fields: {
        address: { type: 'string', default: '0.0.0.0', pattern: HOST, patternDoc: 'a host name or IP address', doc: 'Address to bind.' },
        port: { type: 'integer', default: 9191, min: 0, max: 65535, doc: 'Port to bind (0 picks a free port).' },
        max_receive_message_bytes: {
          type: 'integer', default: 4 * 1024 * 1024, min: 1024, max: 64 * 1024 * 1024,
          doc: 'Largest CheckRequest accepted; larger ones are refused with RESOURCE_EXHAUSTED (Envoy then denies).',
        },
        max_send_message_bytes: {
          type: 'integer', default: 4 * 1024 * 1024, min: 1024, max: 64 * 1024 * 1024,
          doc: 'Largest CheckResponse sent.',
        },
        shutdown_grace_ms: {
          type: 'integer', default: 10_000, min: 0, max: 600_000,
          doc: 'On SIGTERM: how long in-flight Checks may take to finish before connections are closed.',
        },
      },
    },
    http: {
      type: 'object',
      doc: 'The HTTP listener for health, readiness, metrics and JWKS. Keep it off the public network.',
      fields: {
        address: { type: 'string', default: '127.0.0.1', pattern: HOST, patternDoc: 'a host name or IP address', doc: 'Address to bind.' },
        port: { type: 'integer', default: 9192, min: 0, max: 65535, doc: 'Port to bind (0 picks a free port).' },
      },
    },
    policy: {
      type: 'object',
      doc: 'The Rego policy: a bundle built with `opa build -t wasm`, or a folder of .rego compiled with `opa` at start and on change. Exactly one of `bundle` and `dir`.',
      fields: {
        bundle: { type: 'string', path: true, doc: 'Path to bundle.tar.gz from `opa build -t wasm -e <entrypoint>`.' },
        dir: { type: 'string', path: true, doc: 'Folder of .rego files (`*_test.rego` ignored), compiled with the `opa` CLI.' },
        entrypoint: {
          type: 'string', default: 'envoy/authz/allow', pattern: /^[A-Za-z_][A-Za-z0-9_]*(\/[A-Za-z_][A-Za-z0-9_]*)*$/,
          patternDoc: 'a slash-separated rule path such as envoy/authz/allow', doc: 'The rule whose value is the decision.',
        },
        watch: { type: 'boolean', default: true, doc: 'Reload when the bundle or a .rego file changes (SIGHUP always reloads).' },
        opa: { type: 'string', default: 'opa', doc: 'The `opa` binary used to compile `dir` (a path, or a name looked up on PATH).' },
      },
    },
    log: {
      type: 'object',
      doc: 'Logging (pino JSON lines on stdout).',
      fields: {
        level: { type: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info', doc: 'Minimum level written.' },
      },
    },
  },
} as const satisfies ObjectField;
