/**
 * The input analysis (src/policy/input-paths.ts) on ASTs from the real `opa parse`: the kept
 * paths for each construct that narrows, and "everything" for each use of `input` that must not.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inputPathsOf, type InputPaths } from '../../../src/policy/input-paths.js';
import { parseRegoModules } from '../../../src/policy/rego-ast.js';
import { requireTool } from '../../support/tools.js';

const V1 = 'package t\n\nimport rego.v1\n\n';

async function analyse(
  opa: string,
  modules: readonly string[],
  regoVersion: 'v0' | 'v1' = 'v1',
): Promise<InputPaths> {
  const sources = modules.map((text, i) => ({ path: `m${i}.rego`, text }));
  return inputPathsOf(await parseRegoModules(sources, { opaPath: opa, regoVersion }));
}

/** [what, module body (after `package t` and `import rego.v1`), expected kept paths]. */
const NARROWED: ReadonlyArray<readonly [string, string, InputPaths]> = [
  ['no use of input', 'allow := true', []],
  ['a dotted reference', 'allow if input.identity.authenticated', [['identity', 'authenticated']]],
  [
    'a bracketed string key',
    'allow if input["parsed_body"]["amount"] > 1',
    [['parsed_body', 'amount']],
  ],
  [
    'a number index keeps the whole array',
    'allow if input.parsed_path[0] == "api"',
    [['parsed_path']],
  ],
  [
    'a variable key keeps the whole object',
    'allow if { some h; input.attributes.request.http.headers[h] == "x" }',
    [['attributes', 'request', 'http', 'headers']],
  ],
  [
    'a shorter path covers a longer one',
    'allow if { input.identity.groups[_] == "a"; input.identity }',
    [['identity']],
  ],
  [
    'the rule head (ref head, key and value)',
    'a.b[input.k] := input.v\nc contains input.w if true',
    [['k'], ['v'], ['w']],
  ],
  [
    'comprehensions',
    'x := [v | some v in input.a]\ny := {k: v | some k, v in input.b}\nz := {v | v := input.c[_]}',
    [['a'], ['b'], ['c']],
  ],
  ['every', 'allow if every v in input.list { v != input.bad }', [['bad'], ['list']]],
  ['some … in', 'allow if { some k, v in input.map; v == k }', [['map']]],
  ['function arguments and bodies', 'f(x) := input.fa[x]\nallow if f(input.fb)', [['fa'], ['fb']]],
  ['else', 'allow := 1 if input.e1 else := 2 if input.e2', [['e1'], ['e2']]],
  [
    'a key that is itself a reference into input',
    'allow if input.m[input.key] == 1',
    [['key'], ['m']],
  ],
  ['a `with` on data, not input', 'r if data.d.x\nallow if r with data.d.x as input.w', [['w']]],
  [
    'import input.a.b',
    'import input.attributes.request\nallow if request.http.method == "GET"',
    [['attributes', 'request']],
  ],
  [
    'import input.a.b as c',
    'import input.identity as who\nallow if who.sub == "a"',
    [['identity']],
  ],
  ['a template string', 'x := $"user {input.identity.sub}"', [['identity', 'sub']]],
];

/** [what, module body]: each must keep everything. */
const EVERYTHING: ReadonlyArray<readonly [string, string]> = [
  ['walk(input)', 'allow if { walk(input, [_, v]); v == "x" }'],
  ['json.marshal(input)', 'allow if contains(json.marshal(input), "x")'],
  ['print(input)', 'allow if { print(input); true }'],
  ['object.get(input, …)', 'allow if object.get(input, ["a", "b"], "") == "x"'],
  ['input[x] with a variable first key', 'allow if { some k; input[k].b == "x" }'],
  ['input[k] with k bound to a string', 'allow if { k := "a"; input[k] == "x" }'],
  ['input[0]', 'allow if input[0] == "x"'],
  ['bare input assigned', 'allow if { x := input; x.a == 1 }'],
  ['bare input as a function argument', 'f(x) := x.a\nallow if f(input) == 1'],
  ['some … in input', 'allow if { some k, v in input; v == k }'],
  ['every … in input', 'allow if every v in input { v != 1 }'],
  ['input in a comprehension', 'x := [v | some v in input]'],
  ['input in a rule head', 'x := input'],
  ['input in an else', 'allow := 1 if false else := input'],
  ['with input as …', 'r if input.a\nallow if r with input as {"a": true}'],
  ['with input.a as …', 'r if input.a\nallow if r with input.a as true'],
  ['import input', 'import input\nallow if input.a'],
  ['import input as x', 'import input as req\nallow if req.a'],
  ['input in a template string', 'x := $"all: {input}"'],
];

describe('inputPathsOf: what a policy can read of input', () => {
  for (const [what, body, expected] of NARROWED) {
    test(`keeps only what it reads: ${what}`, async (t) => {
      const opa = requireTool(t, 'opa');
      if (opa === undefined) return;
      assert.deepEqual(await analyse(opa, [V1 + body]), expected);
    });
  }

  for (const [what, body] of EVERYTHING) {
    test(`keeps everything: ${what}`, async (t) => {
      const opa = requireTool(t, 'opa');
      if (opa === undefined) return;
      assert.equal(await analyse(opa, [V1 + body]), 'all');
    });
  }

  test('every module counts: one use of bare input in any module keeps everything', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    const narrow = `${V1}allow if input.identity.authenticated`;
    assert.deepEqual(await analyse(opa, [narrow, 'package u\n\nx := input.b']), [
      ['b'],
      ['identity', 'authenticated'],
    ]);
    assert.equal(await analyse(opa, [narrow, 'package u\n\nx := walk(input)']), 'all');
  });

  test('v0 modules are parsed as opa build --v0-compatible parses them', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    const v0 = 'package t\n\ndefault allow = false\n\nallow { input.parsed_path[0] == "api" }\n';
    assert.deepEqual(await analyse(opa, [v0], 'v0'), [['parsed_path']]);
    await assert.rejects(analyse(opa, [v0], 'v1'));
    assert.equal(await analyse(opa, ['package t\n\nallow { walk(input, _) }\n'], 'v0'), 'all');
  });

  test('a module OPA cannot parse is an error (the loader then hands over everything)', async (t) => {
    const opa = requireTool(t, 'opa');
    if (opa === undefined) return;
    await assert.rejects(analyse(opa, [`${V1}allow if {`]));
  });

  test('an AST of an unexpected shape keeps everything', () => {
    assert.equal(inputPathsOf([{ rules: [] }]), 'all');
    assert.equal(inputPathsOf(['package t']), 'all');
    assert.equal(inputPathsOf([null]), 'all');
  });
});
