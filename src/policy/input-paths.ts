/**
 * Which parts of `input` a policy can read: a conservative static analysis of the policy's
 * modules, as OPA itself parses them (`opa parse --format json`, see src/policy/rego-ast.ts).
 *
 * It over-approximates. Every reference to `input` that starts with constant string keys
 * (`input.identity.groups`, `input["parsed_path"][0]`, `input.attributes.request.http.headers[h]`)
 * keeps the whole subtree under those keys (`identity.groups`, `parsed_path`,
 * `attributes.request.http.headers`); `import input.a.b` keeps `a.b`. `input` used any other way
 * keeps everything: as a bare term (`walk(input)`, `json.marshal(input)`, `print(input)`,
 * `object.get(input, …)`, a function argument, a template string), with a first key that is not
 * a constant string (`input[x]`, `input[0]`), `import input`, and any `with input… as …`. So does
 * a module whose shape is not the one expected. The walk is generic: it visits every object and
 * array of the AST (heads, bodies, comprehensions, `every`, `some … in`, `else`, defaults,
 * function arguments), so a construct added to Rego later is still walked.
 */

/** Every path of `input` the policy can read, as lists of keys; `'all'` when it may read anything. */
export type InputPaths = 'all' | readonly (readonly string[])[];

/** Thrown inside the walk to stop at the first use of `input` that keeps everything. */
class ReadsEverything {}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{"type": "var", "value": "input"}`: the root document `input` as a term. */
function isInputVar(node: unknown): boolean {
  return isRecord(node) && node['type'] === 'var' && node['value'] === 'input';
}

/** Whether a term (a `with` target) is `input` or a reference into it. */
function isInputRooted(term: unknown): boolean {
  if (isInputVar(term)) return true;
  return isRecord(term) && term['type'] === 'ref' && Array.isArray(term['value'])
    ? isInputVar(term['value'][0])
    : false;
}

function walk(node: unknown, paths: string[][]): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, paths);
    return;
  }
  if (!isRecord(node)) return;
  if (isInputVar(node)) throw new ReadsEverything();
  // `with input as …` / `with input.a as …`: the policy rewrites input; keep it all.
  const withs = node['with'];
  if (Array.isArray(withs) && withs.some((w) => isRecord(w) && isInputRooted(w['target'])))
    throw new ReadsEverything();
  if (node['type'] === 'ref' && Array.isArray(node['value']) && isInputVar(node['value'][0])) {
    const terms: readonly unknown[] = node['value'];
    const keys: string[] = [];
    let i = 1;
    for (; i < terms.length; i++) {
      const term = terms[i];
      if (!isRecord(term) || term['type'] !== 'string' || typeof term['value'] !== 'string') break;
      keys.push(term['value']);
    }
    if (keys.length === 0) throw new ReadsEverything();
    paths.push(keys);
    // What follows the constant keys may itself refer to input: `input.a[input.b]`.
    for (; i < terms.length; i++) walk(terms[i], paths);
    return;
  }
  for (const value of Object.values(node)) walk(value, paths);
}

/** Drops paths under a kept path and duplicates; sorts the rest (stable output for tests and logs). */
function minimise(paths: readonly (readonly string[])[]): string[][] {
  const sorted = [...paths].sort((a, b) => a.length - b.length);
  const kept: string[][] = [];
  for (const path of sorted) {
    const covered = kept.some(
      (k) => k.length <= path.length && k.every((key, i) => key === path[i]),
    );
    if (!covered) kept.push([...path]);
  }
  const text = (p: readonly string[]): string => JSON.stringify(p);
  return kept.sort((a, b) => (text(a) < text(b) ? -1 : text(a) > text(b) ? 1 : 0));
}

/**
 * The parts of `input` the given modules can read.
 *
 * @param modules every module of the policy, each the JSON AST `opa parse --format json` prints.
 * @returns the minimal list of kept paths (none under another), or `'all'`.
 * @example
 *   inputPathsOf([ast]); // e.g. [['attributes', 'request', 'http', 'method'], ['identity', 'groups'], ['parsed_path']]
 */
export function inputPathsOf(modules: readonly unknown[]): InputPaths {
  const paths: string[][] = [];
  try {
    for (const module of modules) {
      // Not the shape `opa parse` prints: nothing here can be trusted.
      if (!isRecord(module) || !isRecord(module['package'])) return 'all';
      walk(module, paths);
    }
  } catch (err) {
    if (err instanceof ReadsEverything) return 'all';
    throw err;
  }
  return minimise(paths);
}
