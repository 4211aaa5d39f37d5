/**
 * OPA's `strings.render_template(template, vars)`: Go's `text/template` for the part of it
 * policies use, with Go's printing of values as OPA hands them over.
 *
 * Supported: text, `{{ pipeline }}` with `{{-`/`-}}` trimming and comments; `.`, field chains
 * (`.a.b`), `$`, `$x := …` variables; string, number (decimal, hex, `'c'`), `true`/`false`
 * literals; `if`/`else if`/`else`, `range` (arrays, objects in key order, an integer literal;
 * `$i, $v :=`; `else`; `break`/`continue`), `with`/`else`, `|` pipelines and the functions
 * `len`, `index`, `slice`, `not`, `and`, `or`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`, `print`,
 * `println`, `printf` (string arguments), `html`, `js`, `urlquery` (one string argument). A
 * missing key or null prints `<undefined>`, as in OPA. As in OPA, numbers from `vars` are Go
 * `json.Number`s: strings to `eq`/`lt`/`len`/`print`, always true in `if`, printed as their text;
 * literals are Go ints and floats.
 *
 * Where Go's template fails (a parse error, a field of a non-object, an out-of-range `index`,
 * comparing a `json.Number` with an int literal, an unknown function), the result is undefined,
 * as OPA's builtin error is in `opa eval`. A construct outside this subset that Go would run
 * (`define`/`template`/`block`, `call`, `printf` of non-strings, `print` of a missing value, …)
 * throws instead: the evaluation fails closed with `ERR_POLICY_EVAL` and a message naming it.
 */
import { regoText, sprintf } from './sprintf.js';

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipe: Pipe }
  | { kind: 'if' | 'with'; pipe: Pipe; whenTrue: Node[]; else: Node[] }
  | { kind: 'range'; pipe: Pipe; vars: string[]; body: Node[]; else: Node[] }
  | { kind: 'break' | 'continue' };

/** A pipeline: optional variable declaration, then commands joined by `|`. */
interface Pipe {
  readonly decl: string[];
  readonly cmds: Arg[][];
}

type Arg =
  | { kind: 'field'; base: 'dot' | string; path: string[] }
  | { kind: 'lit'; value: unknown }
  | { kind: 'fn'; name: string }
  | { kind: 'sub'; pipe: Pipe };

/** A construct Go runs and Gatehouse does not: reported as an error, never guessed at. */
class Unsupported extends Error {}

/** A number literal in the template: a Go int or float constant (a `vars` number is a JS number). */
class Lit {
  constructor(readonly n: number) {}
}

const FUNCTIONS = new Set([
  'len',
  'index',
  'slice',
  'not',
  'and',
  'or',
  'eq',
  'ne',
  'lt',
  'le',
  'gt',
  'ge',
  'print',
  'println',
  'printf',
  'html',
  'js',
  'urlquery',
]);
/** Go builtins outside the subset. */
const UNSUPPORTED_FUNCTIONS = new Set(['call']);

/** Splits the template into text and action tokens, applying trim markers. */
function lex(src: string): Array<{ text: string } | { action: string }> {
  const out: Array<{ text: string } | { action: string }> = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) {
      out.push({ text: src.slice(i) });
      break;
    }
    let text = src.slice(i, open);
    let start = open + 2;
    if (src.startsWith('- ', start) || (src[start] === '-' && /\s/.test(src[start + 1] ?? ''))) {
      text = text.replace(/\s+$/, '');
      start += 1;
    }
    const close = src.indexOf('}}', start);
    if (close < 0) throw new Failure('unclosed action');
    let end = close;
    let trimAfter = false;
    if (src[close - 1] === '-' && /\s/.test(src[close - 2] ?? '')) {
      end = close - 1;
      trimAfter = true;
    }
    out.push({ text });
    out.push({ action: src.slice(start, end).trim() });
    i = close + 2;
    if (trimAfter) while (i < src.length && /\s/.test(src[i] as string)) i++;
  }
  return out.filter((t) => !('text' in t) || t.text !== '');
}

/** Tokens of one action: strings, words, `(`, `)`, `|`, `:=`, `,`. */
function words(action: string): string[] {
  const re = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|:=|[()|,]|[^\s()|,]+)/y;
  const out: string[] = [];
  let m: RegExpExecArray | null;
  for (m = re.exec(action); m !== null; m = re.exec(action)) out.push(m[1] as string);
  if (re.lastIndex < action.trimEnd().length && out.join('').length === 0)
    throw new Failure('bad action');
  return out;
}

function parsePipe(tokens: string[]): Pipe {
  let t = tokens;
  const decl: string[] = [];
  const assign = t.indexOf(':=');
  if (assign >= 0) {
    for (const v of t.slice(0, assign)) if (v !== ',') decl.push(v);
    if (decl.some((v) => !/^\$[A-Za-z0-9_]*$/.test(v)) || decl.length === 0 || decl.length > 2)
      throw new Failure('declaration');
    t = t.slice(assign + 1);
  }
  const cmds: Arg[][] = [[]];
  for (let i = 0; i < t.length; i++) {
    const w = t[i] as string;
    if (w === '|') {
      cmds.push([]);
      continue;
    }
    if (w === '(') {
      let depth = 1;
      let j = i + 1;
      for (; j < t.length && depth > 0; j++) depth += t[j] === '(' ? 1 : t[j] === ')' ? -1 : 0;
      if (depth !== 0) throw new Failure('parenthesis');
      (cmds[cmds.length - 1] as Arg[]).push({
        kind: 'sub',
        pipe: parsePipe(t.slice(i + 1, j - 1)),
      });
      i = j - 1;
      continue;
    }
    (cmds[cmds.length - 1] as Arg[]).push(parseArg(w));
  }
  if (cmds.some((c) => c.length === 0)) throw new Failure('empty command');
  return { decl, cmds };
}

function parseArg(w: string): Arg {
  if (w.startsWith('"')) return { kind: 'lit', value: JSON.parse(w) as string };
  if (w.startsWith('`')) return { kind: 'lit', value: w.slice(1, -1) };
  if (w === 'true' || w === 'false') return { kind: 'lit', value: w === 'true' };
  if (/^[-+]?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/.test(w) || /^[-+]?0[xX][0-9a-fA-F]+$/.test(w))
    return { kind: 'lit', value: new Lit(Number(w)) };
  if (/^'(?:[^'\\]|\\[nt\\'])'$/.test(w))
    return {
      kind: 'lit',
      value: new Lit(
        (JSON.parse(`"${w.slice(1, -1).replace("\\'", "'")}"`) as string).codePointAt(0) as number,
      ),
    };
  if (w === '.') return { kind: 'field', base: 'dot', path: [] };
  if (w.startsWith('.')) return { kind: 'field', base: 'dot', path: w.slice(1).split('.') };
  if (w.startsWith('$')) {
    const [base, ...path] = w.split('.');
    return { kind: 'field', base: base as string, path };
  }
  if (FUNCTIONS.has(w)) return { kind: 'fn', name: w };
  if (UNSUPPORTED_FUNCTIONS.has(w)) throw new Unsupported(`the function ${w}`);
  throw new Failure(`function "${w}" not defined`); // Go's parse error too
}

/** Builds the tree; `end`/`else` close the innermost block. */
function parse(src: string): Node[] {
  const tokens = lex(src);
  let pos = 0;
  let rangeDepth = 0;
  const block = (): { nodes: Node[]; stop: string } => {
    const nodes: Node[] = [];
    while (pos < tokens.length) {
      const tok = tokens[pos++] as { text: string } | { action: string };
      if ('text' in tok) {
        nodes.push({ kind: 'text', text: tok.text });
        continue;
      }
      const a = tok.action;
      if (a.startsWith('/*') && a.endsWith('*/')) continue;
      const w = words(a);
      const head = w[0];
      if (head === 'end') return { nodes, stop: 'end' };
      if (head === 'else') return { nodes, stop: a };
      if (head === 'if' || head === 'with' || head === 'range') {
        nodes.push(control(head, parsePipe(w.slice(1))));
        continue;
      }
      if (head === 'define' || head === 'template' || head === 'block')
        throw new Unsupported(`{{${head}}}`);
      if (head === 'break' || head === 'continue') {
        if (w.length !== 1 || rangeDepth === 0) throw new Failure(`{{${head}}} outside {{range}}`);
        nodes.push({ kind: head });
        continue;
      }
      nodes.push({ kind: 'action', pipe: parsePipe(w) });
    }
    return { nodes, stop: 'eof' };
  };
  /** An `if`/`with`/`range` through its `end`; `else if` nests an `if` that shares the `end`. */
  const control = (head: 'if' | 'with' | 'range', pipe: Pipe): Node => {
    if (head === 'range') rangeDepth++;
    const body = block();
    if (head === 'range') rangeDepth--;
    let elseNodes: Node[] = [];
    if (body.stop.startsWith('else')) {
      const rest = words(body.stop).slice(1);
      if (rest[0] === 'if' && head === 'if') {
        elseNodes = [control('if', parsePipe(rest.slice(1)))];
      } else if (rest.length === 0) {
        const e = block();
        if (e.stop !== 'end') throw new Failure('else');
        elseNodes = e.nodes;
      } else if (rest[0] === 'with' && head === 'with') {
        throw new Unsupported('{{else with}}');
      } else {
        throw new Failure('else');
      }
    } else if (body.stop !== 'end') {
      throw new Failure('unterminated block');
    }
    if (head === 'range')
      return {
        kind: 'range',
        pipe: { decl: [], cmds: pipe.cmds },
        vars: pipe.decl,
        body: body.nodes,
        else: elseNodes,
      };
    return { kind: head, pipe, whenTrue: body.nodes, else: elseNodes };
  };
  const top = block();
  if (top.stop !== 'eof') throw new Failure('unexpected end');
  return top.nodes;
}

const MISSING = Symbol('missing');
type Value = unknown;

/** A failure Go's template has too: the result is undefined, as in `opa eval`. */
class Failure extends Error {}

/** `{{break}}` and `{{continue}}` unwinding to their range. */
class LoopControl {
  constructor(readonly kind: 'break' | 'continue') {}
}

function isObject(v: Value): v is Record<string, Value> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Lit);
}

function truthy(v: Value): boolean {
  if (v === MISSING || v === null || v === undefined || v === false || v === '') return false;
  if (v instanceof Lit) return v.n !== 0;
  if (Array.isArray(v)) return v.length > 0;
  if (isObject(v)) return Object.keys(v).length > 0;
  return true; // numbers are json.Number strings in Go: never empty
}

/** Go's `%v` of a value inside a composite. */
function goValue(v: Value): string {
  if (v === null || v === MISSING) return '<nil>';
  if (typeof v === 'string') return v;
  if (v instanceof Lit) return regoText(v.n);
  if (typeof v === 'number' || typeof v === 'boolean') return regoText(v);
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (isObject(v))
    return `map[${Object.keys(v)
      .sort()
      .map((k) => `${k}:${goValue(v[k])}`)
      .join(' ')}]`;
  return String(v);
}

function print(v: Value): string {
  return v === null || v === MISSING ? '<undefined>' : goValue(v);
}

interface Scope {
  dot: Value;
  vars: Map<string, Value>;
}

function field(base: Value, path: readonly string[]): Value {
  let v = base;
  for (const key of path) {
    if (v === MISSING || v === null) return MISSING;
    if (!isObject(v)) throw new Failure(`can't evaluate field ${key}`);
    v = Object.hasOwn(v, key) ? v[key] : MISSING;
  }
  return v;
}

function evalArg(a: Arg, s: Scope): Value {
  switch (a.kind) {
    case 'lit':
      return a.value;
    case 'sub':
      return evalPipe(a.pipe, s);
    case 'fn':
      return call(a.name, []);
    case 'field': {
      if (a.base === 'dot') return field(s.dot, a.path);
      if (!s.vars.has(a.base)) throw new Failure(`undefined variable ${a.base}`);
      return field(s.vars.get(a.base), a.path);
    }
  }
}

/** Go's `basicKind` for comparisons: a `vars` number is a json.Number, a string. */
function kindOf(v: Value): {
  kind: 'string' | 'bool' | 'int' | 'float';
  key: string | number | boolean;
} {
  if (typeof v === 'string') return { kind: 'string', key: v };
  if (typeof v === 'number') return { kind: 'string', key: regoText(v) };
  if (typeof v === 'boolean') return { kind: 'bool', key: v };
  if (v instanceof Lit) return { kind: Number.isInteger(v.n) ? 'int' : 'float', key: v.n };
  if (v === MISSING || v === null) throw new Unsupported('comparing a missing or null value');
  throw new Failure('invalid type for comparison');
}

/** Go's `eq`/`lt` operands: same basic kind; booleans only for equality. */
function compare(a: Value, b: Value, ordered: boolean): number {
  const x = kindOf(a);
  const y = kindOf(b);
  if (x.kind !== y.kind) throw new Failure('incompatible types for comparison');
  if (x.kind === 'bool') {
    if (ordered) throw new Failure('invalid type for comparison');
    return x.key === y.key ? 0 : 1;
  }
  if (x.kind === 'string')
    return Buffer.compare(Buffer.from(x.key as string), Buffer.from(y.key as string));
  return (x.key as number) - (y.key as number);
}

/** An index argument: an int literal (a json.Number is a string to Go). */
function intArg(v: Value): number {
  if (v instanceof Lit && Number.isInteger(v.n)) return v.n;
  throw new Failure('cannot index with a non-integer');
}

/** Go's `fmt.Sprint`: a space between operands when neither is a string (json.Number is one). */
function sprint(args: readonly Value[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (a === MISSING || a === null) throw new Unsupported('printing a missing or null value');
    const isString = (v: Value): boolean => typeof v === 'string' || typeof v === 'number';
    if (i > 0 && !isString(a) && !isString(args[i - 1])) out += ' ';
    out += goValue(a);
  });
  return out;
}

/** The one string argument of `html`, `js`, `urlquery`. */
function oneString(name: string, args: readonly Value[]): string {
  const [x] = args;
  if (args.length !== 1 || typeof x !== 'string')
    throw new Unsupported(`${name} of anything but one string`);
  return x;
}

function htmlEscape(x: string): string {
  const map: Record<string, string> = {
    '<': '&lt;',
    '>': '&gt;',
    '&': '&amp;',
    "'": '&#39;',
    '"': '&#34;',
    '\0': '\uFFFD',
  };
  return x.replace(/[<>&'"\0]/g, (c) => map[c] as string);
}

function jsEscape(x: string): string {
  let out = '';
  for (const ch of x) {
    const c = ch.codePointAt(0) as number;
    if (ch === '\\' || ch === "'" || ch === '"') out += `\\${ch}`;
    else if (ch === '<' || ch === '>' || ch === '&' || ch === '=' || c < 0x20)
      out += `\\u${c.toString(16).toUpperCase().padStart(4, '0')}`;
    else if (/[\p{L}\p{M}\p{N}\p{P}\p{S}\p{Zs}]/u.test(ch)) out += ch;
    else throw new Unsupported('js of a non-printable character');
  }
  return out;
}

/** Go's `url.QueryEscape`. */
function queryEscape(x: string): string {
  return encodeURIComponent(x)
    .replace(/[!'()*]/g, (c) => `%${(c.codePointAt(0) as number).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

function call(name: string, args: Value[]): Value {
  switch (name) {
    case 'len': {
      const [x] = args;
      if (args.length !== 1) throw new Failure('len arity');
      if (typeof x === 'string') return new Lit(Buffer.byteLength(x));
      if (typeof x === 'number') return new Lit(Buffer.byteLength(regoText(x)));
      if (Array.isArray(x)) return new Lit(x.length);
      if (isObject(x)) return new Lit(Object.keys(x).length);
      throw new Failure('len of a value that has none');
    }
    case 'index': {
      if (args.length < 1) throw new Failure('index arity');
      let v = args[0];
      for (const k of args.slice(1)) {
        if (Array.isArray(v)) {
          const i = intArg(k);
          if (i < 0 || i >= v.length) throw new Failure('index out of range');
          v = v[i];
        } else if (isObject(v) && typeof k === 'string') v = Object.hasOwn(v, k) ? v[k] : MISSING;
        else throw new Failure('cannot index');
      }
      return v;
    }
    case 'slice': {
      const [x, ...idx] = args;
      const bounds = idx.map(intArg);
      if (typeof x === 'string') {
        if (bounds.length > 2) throw new Failure('cannot 3-index slice a string');
        const bytes = Buffer.from(x);
        const [i = 0, j = bytes.length] = bounds;
        if (i < 0 || j < i || j > bytes.length) throw new Failure('slice out of range');
        const part = bytes.subarray(i, j);
        if (Buffer.from(part.toString('utf8')).length !== part.length)
          throw new Unsupported('slicing a string inside a UTF-8 sequence');
        return part.toString('utf8');
      }
      if (Array.isArray(x)) {
        const [i = 0, j = x.length] = bounds;
        if (bounds.length > 2 || i < 0 || j < i || j > x.length)
          throw new Failure('slice out of range');
        return x.slice(i, j);
      }
      throw new Failure('cannot slice');
    }
    case 'not':
      if (args.length !== 1) throw new Failure('not arity');
      return !truthy(args[0]);
    case 'and': {
      if (args.length < 1) throw new Failure('and arity');
      for (const a of args) if (!truthy(a)) return a;
      return args[args.length - 1];
    }
    case 'or': {
      if (args.length < 1) throw new Failure('or arity');
      for (const a of args) if (truthy(a)) return a;
      return args[args.length - 1];
    }
    case 'eq':
    case 'ne': {
      if (args.length < 2 || (name === 'ne' && args.length !== 2))
        throw new Failure(`${name} arity`);
      const [x, ...ys] = args;
      const equal = ys.some((y) => compare(x, y, false) === 0);
      return name === 'eq' ? equal : !equal;
    }
    case 'lt':
    case 'le':
    case 'gt':
    case 'ge': {
      if (args.length !== 2) throw new Failure(`${name} arity`);
      const c = compare(args[0], args[1], true);
      return name === 'lt' ? c < 0 : name === 'le' ? c <= 0 : name === 'gt' ? c > 0 : c >= 0;
    }
    case 'print':
      return sprint(args);
    case 'println':
      return `${args.map((a) => sprint([a])).join(' ')}\n`;
    case 'printf': {
      const [format, ...rest] = args;
      if (typeof format !== 'string') throw new Failure('printf format');
      if (!rest.every((a) => typeof a === 'string'))
        throw new Unsupported('printf of anything but strings');
      const out = sprintf(format, rest);
      if (out === undefined) throw new Unsupported('printf format');
      return out;
    }
    case 'html':
      return htmlEscape(oneString(name, args));
    case 'js':
      return jsEscape(oneString(name, args));
    case 'urlquery':
      return queryEscape(oneString(name, args));
  }
  throw new Unsupported(name);
}

function evalCmd(cmd: Arg[], s: Scope, piped: Value | typeof NONE): Value {
  const [head, ...rest] = cmd as [Arg, ...Arg[]];
  if (head.kind === 'fn') {
    const args = rest.map((a) => evalArg(a, s));
    if (piped !== NONE) args.push(piped);
    return call(head.name, args);
  }
  if (rest.length > 0 || piped !== NONE) throw new Failure('arguments to a non-function');
  return evalArg(head, s);
}

const NONE = Symbol('none');

function evalPipe(p: Pipe, s: Scope): Value {
  let v: Value | typeof NONE = NONE;
  for (const cmd of p.cmds) v = evalCmd(cmd, s, v);
  if (p.decl.length === 1) s.vars.set(p.decl[0] as string, v);
  else if (p.decl.length > 1) throw new Failure('declaration');
  return v;
}

function rangeEntries(v: Value): Array<[Value, Value]> {
  if (Array.isArray(v)) return v.map((x, i) => [new Lit(i), x]);
  if (isObject(v))
    return Object.keys(v)
      .sort()
      .map((k) => [k, v[k]]);
  if (v instanceof Lit && Number.isInteger(v.n))
    return Array.from({ length: Math.max(0, v.n) }, (_, i) => [new Lit(i), new Lit(i)]);
  if (v === MISSING || v === null) return [];
  throw new Failure("range can't iterate");
}

function exec(nodes: readonly Node[], s: Scope, out: string[]): void {
  for (const n of nodes) {
    switch (n.kind) {
      case 'text':
        out.push(n.text);
        break;
      case 'action': {
        const v = evalPipe(n.pipe, s);
        if (n.pipe.decl.length === 0) out.push(print(v));
        break;
      }
      case 'if':
        exec(truthy(evalPipe(n.pipe, s)) ? n.whenTrue : n.else, s, out);
        break;
      case 'with': {
        const v = evalPipe(n.pipe, s);
        if (truthy(v)) exec(n.whenTrue, { dot: v, vars: s.vars }, out);
        else exec(n.else, s, out);
        break;
      }
      case 'break':
      case 'continue':
        throw new LoopControl(n.kind);
      case 'range': {
        const entries = rangeEntries(evalPipe(n.pipe, s));
        if (entries.length === 0) exec(n.else, s, out);
        for (const [k, x] of entries) {
          const vars = new Map(s.vars);
          if (n.vars.length === 1) vars.set(n.vars[0] as string, x);
          if (n.vars.length === 2) {
            vars.set(n.vars[0] as string, k);
            vars.set(n.vars[1] as string, x);
          }
          try {
            exec(n.body, { dot: x, vars }, out);
          } catch (err) {
            if (!(err instanceof LoopControl)) throw err;
            if (err.kind === 'break') break;
          }
        }
        break;
      }
    }
  }
}

/** `strings.render_template(template, vars)`. */
export function renderTemplate(template: unknown, vars: unknown): string | undefined {
  if (typeof template !== 'string' || !isObject(vars)) return undefined;
  try {
    const out: string[] = [];
    exec(parse(template), { dot: vars, vars: new Map([['$', vars]]) }, out);
    return out.join('');
  } catch (err) {
    if (err instanceof Unsupported)
      throw new Error(
        `strings.render_template: ${err.message} is not supported by Gatehouse (docs/reference/policy.md#builtins)`,
      );
    if (err instanceof Failure || err instanceof SyntaxError) return undefined;
    throw err;
  }
}
