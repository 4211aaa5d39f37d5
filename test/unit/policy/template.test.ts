/**
 * strings.render_template outside its subset: what Go would run and Gatehouse does not throws a
 * clear error (the evaluation fails closed with ERR_POLICY_EVAL) instead of rendering a guess.
 * Agreement with `opa eval` inside the subset is checked by the builtins-vs-opa differential test.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderTemplate } from '../../../src/policy/builtins/template.js';

describe('strings.render_template outside the subset', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['{{define "x"}}a{{end}}{{template "x"}}', {}, /\{\{define\}\} is not supported/],
    ['{{block "x" .}}a{{end}}', {}, /\{\{block\}\} is not supported/],
    ['{{call .f}}', { f: 1 }, /the function call is not supported/],
    ['{{printf "%d" .n}}', { n: 3 }, /printf of anything but strings is not supported/],
    ['{{printf "%v" .o}}', { o: { k: 1 } }, /printf of anything but strings/],
    ['{{print .missing}}', {}, /printing a missing or null value/],
    ['{{eq .missing "x"}}', {}, /comparing a missing or null value/],
    ['{{html .a}}', { a: [1] }, /html of anything but one string/],
    ['{{with .a}}x{{else with .b}}y{{end}}', { a: '', b: 'z' }, /\{\{else with\}\}/],
  ];
  for (const [template, vars, message] of cases) {
    test(template, () => {
      assert.throws(
        () => renderTemplate(template, vars),
        (err: unknown) =>
          err instanceof Error &&
          /^strings\.render_template: /.test(err.message) &&
          message.test(err.message),
      );
    });
  }

  test('a Go template error stays undefined, as in opa eval', () => {
    assert.equal(renderTemplate('{{.a', { a: 1 }), undefined);
    assert.equal(renderTemplate('{{nope}}', {}), undefined);
    assert.equal(renderTemplate('{{index .a 3}}', { a: [1] }), undefined);
  });

  test('inside the subset it renders', () => {
    assert.equal(
      renderTemplate('{{range $i, $u := .users}}{{if $i}}, {{end}}{{$u | printf "<%s>"}}{{end}}', {
        users: ['a', 'b'],
      }),
      '<a>, <b>',
    );
  });
});
