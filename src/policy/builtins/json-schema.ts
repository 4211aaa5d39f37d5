/**
 * OPA's `json.verify_schema(schema)` and `json.match_schema(document, schema)`, on Ajv (JSON
 * Schema draft-06/07, formats from ajv-formats) where OPA uses gojsonschema.
 *
 * Schema and document are JSON values or JSON text, as in OPA. Results have OPA's shapes:
 * `[true, null]` / `[false, message]`, and `[true, []]` / `[false, errors]` with each error as
 * gojsonschema reports it — `{error, type, field, desc}`, `field` dotted from the root
 * (`(Root)`). The common keywords (`required`, `type`, `additionalProperties`, `enum`, `const`,
 * lengths, bounds, `pattern`, `format`, item counts) use gojsonschema's wording and type names;
 * others carry Ajv's message and the keyword as `type`. `verify_schema`'s message is Ajv's, not
 * gojsonschema's. Remote `$ref`s are never fetched (the schema is then invalid: undefined).
 * Compiled schemas are cached (at most {@link CACHE_MAX}).
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { goJsonMarshal } from './go-json.js';

// ajv-formats is CommonJS with `exports.default`; under NodeNext the default import is the module.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as (ajv: Ajv) => Ajv;

const ajv = addFormats(
  new Ajv({ allErrors: true, strict: false, validateSchema: true, addUsedSchema: false }),
);

/** Most compiled schemas kept. */
const CACHE_MAX = 256;
const cache = new Map<string, ValidateFunction | string>();

/** JSON text or a JSON value, as OPA's schema loader takes it. */
function loadJson(value: unknown): { value: unknown } | undefined {
  if (typeof value !== 'string') return { value };
  try {
    return { value: JSON.parse(value) as unknown };
  } catch {
    return undefined;
  }
}

/** The compiled validator, or Ajv's error message for an invalid schema. */
function compile(schema: unknown): ValidateFunction | string {
  const key = JSON.stringify(schema);
  let entry = cache.get(key);
  if (entry === undefined) {
    try {
      if (typeof schema !== 'object' && typeof schema !== 'boolean')
        throw new Error('schema must be an object or a boolean');
      entry = ajv.compile(schema as object);
    } catch (err) {
      entry = err instanceof Error ? err.message : String(err);
    }
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
    cache.set(key, entry);
  }
  return entry;
}

function field(path: string): string {
  if (path === '') return '(Root)';
  return path
    .slice(1)
    .split('/')
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'))
    .join('.');
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** One Ajv error as gojsonschema's `{error, type, field, desc}`. */
function goError(e: ErrorObject, document: unknown): Record<string, string> {
  const at = field(e.instancePath);
  const p = e.params as Record<string, unknown>;
  const f = at;
  let type: string = e.keyword;
  let desc = e.message ?? e.keyword;
  const value =
    e.instancePath === ''
      ? document
      : e.instancePath
          .slice(1)
          .split('/')
          .reduce<unknown>(
            (v, k) =>
              (v as Record<string, unknown> | undefined)?.[
                k.replaceAll('~1', '/').replaceAll('~0', '~')
              ],
            document,
          );
  switch (e.keyword) {
    case 'required':
      type = 'required';
      desc = `${String(p['missingProperty'])} is required`;
      break;
    case 'type':
      type = 'invalid_type';
      desc = `Invalid type. Expected: ${String(p['type']).split(',').join('/')}, given: ${jsonType(value)}`;
      break;
    case 'additionalProperties':
      type = 'additional_property_not_allowed';
      desc = `Additional property ${String(p['additionalProperty'])} is not allowed`;
      break;
    case 'enum':
      type = 'enum';
      desc = `${at} must be one of the following: ${(p['allowedValues'] as unknown[]).map((v) => goJsonMarshal(v)).join(', ')}`;
      break;
    case 'const':
      type = 'const';
      desc = `${at} does not match: ${goJsonMarshal(p['allowedValue'])}`;
      break;
    case 'minLength':
      type = 'string_gte';
      desc = `String length must be greater than or equal to ${String(p['limit'])}`;
      break;
    case 'maxLength':
      type = 'string_lte';
      desc = `String length must be less than or equal to ${String(p['limit'])}`;
      break;
    case 'pattern':
      type = 'pattern';
      desc = `Does not match pattern '${String(p['pattern'])}'`;
      break;
    case 'format':
      type = 'format';
      desc = `Does not match format '${String(p['format'])}'`;
      break;
    case 'minimum':
      type = 'number_gte';
      desc = `Must be greater than or equal to ${String(p['limit'])}`;
      break;
    case 'maximum':
      type = 'number_lte';
      desc = `Must be less than or equal to ${String(p['limit'])}`;
      break;
    case 'exclusiveMinimum':
      type = 'number_gt';
      desc = `Must be greater than ${String(p['limit'])}`;
      break;
    case 'exclusiveMaximum':
      type = 'number_lt';
      desc = `Must be less than ${String(p['limit'])}`;
      break;
    case 'minItems':
      type = 'array_min_items';
      desc = `Array must have at least ${String(p['limit'])} items`;
      break;
    case 'maxItems':
      type = 'array_max_items';
      desc = `Array must have at most ${String(p['limit'])} items`;
      break;
  }
  return { desc, error: `${f}: ${desc}`, field: f, type };
}

/** `json.verify_schema(schema)`: `[true, null]` or `[false, message]`. */
export function verifySchema(schema: unknown): [boolean, string | null] {
  const loaded = loadJson(schema);
  if (loaded === undefined) return [false, 'jsonschema: invalid JSON'];
  const compiled = compile(loaded.value);
  return typeof compiled === 'string' ? [false, `jsonschema: ${compiled}`] : [true, null];
}

/** `json.match_schema(document, schema)`: `[true, []]` or `[false, errors]`; undefined for an invalid schema. */
export function matchSchema(
  document: unknown,
  schema: unknown,
): [boolean, Array<Record<string, string>>] | undefined {
  const doc = loadJson(document);
  const loaded = loadJson(schema);
  if (doc === undefined || loaded === undefined) return undefined;
  const compiled = compile(loaded.value);
  if (typeof compiled === 'string') return undefined;
  if (compiled(doc.value)) return [true, []];
  return [false, (compiled.errors ?? []).map((e) => goError(e, doc.value))];
}
