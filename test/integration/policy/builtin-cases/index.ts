/**
 * Every differential case of test/integration/policy/builtins-vs-opa.test.ts, by family, and
 * the known differences between Gatehouse and `opa eval`, each with its reason.
 */
import { readFileSync } from 'node:fs';
import { repoPath } from '../../../support/paths.js';
import { EXISTING_CASES } from './existing.js';
import { JSON_SCHEMA_CASES } from './json-schema.js';
import { JWT_CASES } from './jwt.js';
import { MISC_CASES, SET_ARGUMENT_ORDER_CASE, SET_ORDER_CASE } from './misc.js';
import { REGEX_CASES } from './regex.js';
import { TEMPLATE_CASES } from './template.js';
import { TIME_LAYOUT_CASES } from './time-layout.js';
import { X509_CASES, X509_FIELD_COUNT_CASE } from './x509.js';

/** Rego expressions; each is evaluated by Gatehouse (wasm + host builtins) and by `opa eval`. */
export const CASES: readonly string[] = [
  ...EXISTING_CASES,
  ...JWT_CASES,
  ...MISC_CASES,
  ...REGEX_CASES,
  ...TIME_LAYOUT_CASES,
  ...X509_CASES,
  ...JSON_SCHEMA_CASES,
  ...TEMPLATE_CASES,
];

/** The `builtins` section of test/conformance/known-differences.json: id → reason. */
const KNOWN_FILE = repoPath('test', 'conformance', 'known-differences.json');
export const KNOWN_BUILTIN_REASONS: ReadonlyMap<string, string> = new Map(
  (
    JSON.parse(readFileSync(KNOWN_FILE, 'utf8')) as {
      builtins: ReadonlyArray<{ id: string; reason: string }>;
    }
  ).builtins.map((b) => [b.id, b.reason]),
);

/** Case → id of its known difference. */
export const KNOWN_DIFFERENCE_IDS: ReadonlyMap<string, string> = new Map([
  [`sprintf("%v", [12345678901234567890])`, 'big-integers'],
  [`time.format(1700000000123456789)`, 'big-integers'],
  [`urlquery.encode_object({"c": {"z", "y"}})`, 'set-arguments'],
  [SET_ARGUMENT_ORDER_CASE, 'set-arguments'],
  [SET_ORDER_CASE, 'set-order'],
  [`net.cidr_contains("::/0", "::ffff:1.2.3.4")`, 'cidr-contains-mapped'],
  [`time.format([1700000000123456768, "Asia/Tokyo", "RFC1123"])`, 'time-zone-abbreviation'],
  [X509_FIELD_COUNT_CASE, 'x509-fields'],
  [`count(net.cidr_expand("10.0.0.0/15"))`, 'cidr-expand-bound'],
]);

/**
 * Known differences, case → reason; they run as `todo` so a fix shows up. Most come from values
 * crossing the wasm/JS boundary as JSON, or from OPA's own wasm builtins.
 */
export const KNOWN_DIFFERENCES: ReadonlyMap<string, string> = new Map(
  [...KNOWN_DIFFERENCE_IDS].map(([expr, id]) => {
    const reason = KNOWN_BUILTIN_REASONS.get(id);
    if (reason === undefined)
      throw new Error(`known-differences.json has no builtins entry "${id}"`);
    return [expr, reason];
  }),
);
